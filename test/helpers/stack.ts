// Test access to the real local stack (`ferry stack up`): its addresses, and throwaway
// databases so suites never share state.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';

export const repoRoot = join(__dirname, '..', '..');

/** Loads `ferry stack env` into process.env unless the caller already exported it. */
export function loadStackEnv(): void {
  if (process.env.FERRY_SOURCE_URL && process.env.TEMPORAL_ADDRESS) return;
  const out = execFileSync('bash', [join(repoRoot, 'scripts', 'stack', 'stack.sh'), 'env'], { encoding: 'utf8' });
  for (const m of out.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)) {
    process.env[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
}

export function adminUrl(): string {
  loadStackEnv();
  const url = new URL(process.env.FERRY_SOURCE_URL!);
  url.pathname = '/postgres';
  return url.toString();
}

/** Creates an empty database named prefix_<random> and returns its URL. */
export async function createDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new Pool({ connectionString: adminUrl(), max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.FERRY_SOURCE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new Pool({ connectionString: adminUrl(), max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Names this test process's databases, so its cleanup never drops another run's. */
export const runToken = `r${process.pid.toString(36)}`;

export function uniqueName(prefix: string): string {
  return `${prefix}_${runToken}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Drops the database and creates an empty one of the same name: a target reset. */
export async function recreateDatabase(url: string): Promise<void> {
  await dropDatabase(url);
  const admin = new Pool({ connectionString: adminUrl(), max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${new URL(url).pathname.slice(1)}`);
  } finally {
    await admin.end();
  }
}
