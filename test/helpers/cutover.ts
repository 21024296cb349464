// Shared by the cutover tests: worker processes that can be killed, waiting on a condition,
// an application role, and reading what the fence ledger holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { repoRoot } from './stack';
import { ferryAsync, type CliRun } from './cli';

export function spawnWorker(queue: 'all' | 'control' | 'copy' | 'cdc', log: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'ferry.js'), 'worker', '--queue', queue], { env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  return child;
}

export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 180_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `ferry cutover` once `--check` passes. Under load the gates can flip between the check and
 * the approval (the sync going from caught up to replaying): a refusal by the gates is retried,
 * as an operator would. `wait`: follow the attempt to its end (the CLI's answer is returned).
 */
export async function cutOverWhenAllowed(id: string, wait: boolean, timeoutMs = 3 * 60_000): Promise<CliRun> {
  return until(
    'a cutover the gates allow',
    async () => {
      if ((await ferryAsync(['cutover', '--id', id, '--check'])).code !== 0) return null;
      const r = await ferryAsync(['cutover', '--id', id, ...(wait ? ['--wait'] : [])]);
      return /refused: the gates/.test(r.err) ? null : r;
    },
    timeoutMs,
    1_000,
  );
}

/** A login role for the application (the stack trusts loopback connections), with writes on the given tables. */
export async function createAppRole(adminUrl: string, role: string, databaseUrl: string, tables: string[]): Promise<string> {
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN`);
  } finally {
    await admin.end();
  }
  const db = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    for (const t of tables) await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${role}`);
    await db.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
  } finally {
    await db.end();
  }
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = '';
  return url.toString();
}

export async function dropRole(adminUrl: string, role: string): Promise<void> {
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  try {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await admin.end();
  }
}

/** The fence ledger's rows for a migration (none when the table does not exist). */
export async function fenceRows(pool: Pool, migrationId: string): Promise<number> {
  const t = await pool.query(`SELECT (to_regclass('_ferry.fences') IS NOT NULL)::text AS e`);
  if (t.rows[0].e !== 'true') return 0;
  return (await pool.query('SELECT count(*)::int AS n FROM _ferry.fences WHERE migration = $1', [migrationId])).rows[0].n as number;
}

export async function canWrite(pool: Pool, role: string, table: string): Promise<boolean> {
  const r = await pool.query(`SELECT has_table_privilege($1, $2, 'INSERT')::text AS ok`, [role, table]);
  return r.rows[0].ok === 'true';
}
