// Other PostgreSQL majors beside the stack's 15: started on demand by `stack.sh pg MAJOR up`
// (installed from Maven Central the first time), and throwaway databases on any server.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { repoRoot } from './stack';

const stackSh = join(repoRoot, 'scripts', 'stack', 'stack.sh');

export interface MajorServer {
  /** Superuser URL of the server's postgres database. */
  adminUrl: string;
  /** What `pg MAJOR up` said (installed, started or already running, and how long it took). */
  report: string;
}

/** Installs and starts PostgreSQL `major`; a reason to skip instead when that fails. */
export function startMajor(major: number): MajorServer | { skip: string } {
  try {
    const report = execFileSync('bash', [stackSh, 'pg', String(major), 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000 }).trim();
    const adminUrl = execFileSync('bash', [stackSh, 'pg', String(major), 'url'], { encoding: 'utf8' }).trim();
    return { adminUrl, report };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    // stack.sh's own verdict, and Maven's first error line (what it could not resolve).
    const lines = `${e.stderr ?? ''}\n${e.stdout ?? ''}`.split('\n').map((l) => l.trim());
    const why = [lines.find((l) => l.startsWith('[ERROR] ')), ...lines.filter((l) => l.startsWith('stack:'))].filter(Boolean);
    return { skip: `PostgreSQL ${major} could not be installed or started (stack.sh pg ${major} up): ${why.length ? why.join(' | ') : e.message}` };
  }
}

/** Creates database prefix_<random> on the server of adminUrl (options: CREATE DATABASE clauses) and returns its URL. */
export async function createDatabaseOn(adminUrl: string, prefix: string, options = ''): Promise<string> {
  const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name} ${options}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabaseOn(url: string): Promise<void> {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const pool = new Pool({ connectionString: admin.toString(), max: 1 });
  try {
    await pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await pool.end();
  }
}
