// The source's record of every fence Ferry has put up: written in the same transaction as the
// fence itself (or before it, for a fence outside PostgreSQL such as a PgBouncer PAUSE), so a
// crash at any instant leaves a row that says what to undo. The un-fence reads it back and
// deletes it in the transaction that lifts the fence; `ferry cleanup` can do the same for a
// migration whose workflow is gone.
import type { Pool, PoolClient } from 'pg';
import { MARKER_SCHEMA } from './capture/marker';
import { createIfMissing } from './create-if-missing';

export const FENCE_TABLE = `${MARKER_SCHEMA}.fences`;

export type FenceKind = 'role' | 'pgbouncer';

export interface FenceRecord {
  migration: string;
  kind: FenceKind;
  /** `role table` for a role fence, the database name for PgBouncer. */
  subject: string;
  /** What undoing needs: the privileges revoked, or how to reach PgBouncer (a reference, never a password). */
  detail: Record<string, unknown>;
  fencedAt: string;
}

export async function ensureFenceTable(db: Pool | PoolClient): Promise<void> {
  const ddl = `CREATE SCHEMA IF NOT EXISTS ${MARKER_SCHEMA};
    CREATE TABLE IF NOT EXISTS ${FENCE_TABLE} (
      migration text NOT NULL, kind text NOT NULL, subject text NOT NULL, detail jsonb NOT NULL,
      fenced_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (migration, kind, subject))`;
  await createIfMissing(db, ddl);
}

/** Records a fence unless one is recorded already (a retried fence keeps what was held before the first attempt). */
export async function recordFence(db: Pool | PoolClient, r: Omit<FenceRecord, 'fencedAt'>): Promise<void> {
  await db.query(`INSERT INTO ${FENCE_TABLE} (migration, kind, subject, detail) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [r.migration, r.kind, r.subject, JSON.stringify(r.detail)]);
}

export async function recordedFences(db: Pool | PoolClient, migration: string, kind?: FenceKind): Promise<FenceRecord[]> {
  const exists = await db.query(`SELECT (to_regclass('${FENCE_TABLE}') IS NOT NULL)::text AS e`);
  if (exists.rows[0].e !== 'true') return [];
  const { rows } = await db.query<{ migration: string; kind: FenceKind; subject: string; detail: string | Record<string, unknown>; fenced_at: string }>(
    `SELECT migration, kind, subject, detail::text AS detail, to_json(fenced_at) #>> '{}' AS fenced_at FROM ${FENCE_TABLE} WHERE migration = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY fenced_at, subject`,
    [migration, kind ?? null],
  );
  return rows.map((r) => ({ migration: r.migration, kind: r.kind, subject: r.subject, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail, fencedAt: r.fenced_at }));
}

export async function forgetFence(db: Pool | PoolClient, migration: string, kind: FenceKind, subject: string): Promise<void> {
  await db.query(`DELETE FROM ${FENCE_TABLE} WHERE migration = $1 AND kind = $2 AND subject = $3`, [migration, kind, subject]);
}
