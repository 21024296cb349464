// The publication and replication slot a capture uses on a PostgreSQL database: created or
// converged (a retried prepare ends in the same state), and looked up by name.
import type { Pool } from 'pg';
import type { TablePlan } from '../../../contracts/tables';
import { quoteIdent, quoteQualified } from '../identifiers';
import { markerTable } from './marker';
import { jsonRows } from './source-checks';

/** Creates the publication, or sets its tables if it exists: the result is the same either way. */
export async function ensurePublication(pool: Pool, name: string, plans: TablePlan[]): Promise<void> {
  const tables = [...plans.map((p) => quoteQualified(p.table)), quoteQualified(markerTable)].join(', ');
  // via_root: a partitioned table's changes arrive under the parent's name (and topic), not its leaves'.
  const exists = await pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  if (!exists.rowCount) {
    try {
      await pool.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables} WITH (publish_via_partition_root = true)`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '42710') throw err; // created meanwhile by a concurrent attempt
    }
  }
  await pool.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${tables}`);
  await pool.query(`ALTER PUBLICATION ${quoteIdent(name)} SET (publish_via_partition_root = true)`);
}

export async function slotActive(pool: Pool, name: string): Promise<{ exists: boolean; active: boolean; pid: number | null }> {
  const [r] = await jsonRows<{ active: boolean; pid: number | null }>(pool, 'SELECT active, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [name]);
  return r ? { exists: true, active: r.active, pid: r.pid } : { exists: false, active: false, pid: null };
}

/** Whether a slot and a publication of this name exist (a name is free only when nothing of it is another's). */
export async function captureObjectsExist(pool: Pool, name: string): Promise<{ slot: boolean; pub: boolean }> {
  const [facts] = await jsonRows<{ slot: boolean; pub: boolean }>(
    pool,
    'SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1) AS slot, EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS pub',
    [name],
  );
  return facts;
}
