// Ferry's marker table on the source. Rows written here travel the same road as the table
// changes (WAL → Debezium → Kafka), so seeing one on Kafka proves capture works and says how
// long the trip took. Several migrations share the table: one row per (migration, kind),
// upserted, so it never grows; consumers keep only their migration's events.
//   kind 'start'     the start marker written by prepareCapture (a fresh token per attempt)
//   kind 'heartbeat' written by the sync every few seconds to measure lag
//   kind 'drain'     written by the cutover after the fence: the sync has drained once it is past it
//   kind 'connector' written by Debezium itself (heartbeat.action.query) so the slot keeps
//                    advancing while nothing else that is captured changes (during a backfill)
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { inTransaction } from '../../connections';
import { createIfMissing } from '../create-if-missing';

export const MARKER_SCHEMA = '_ferry';
export const MARKER_TABLE = 'cdc_marker';
export const markerTable = { schema: MARKER_SCHEMA, name: MARKER_TABLE };

export type MarkerKind = 'start' | 'heartbeat' | 'drain' | 'connector';

/** Creates the schema and table if missing; safe to run concurrently and repeatedly. */
export async function ensureMarkerTable(pool: Pool): Promise<void> {
  const ddl = `CREATE SCHEMA IF NOT EXISTS ${MARKER_SCHEMA};
    CREATE TABLE IF NOT EXISTS ${MARKER_SCHEMA}.${MARKER_TABLE} (
      migration text, kind text, seq bigint NOT NULL, token text, written_at timestamptz NOT NULL,
      PRIMARY KEY (migration, kind))`;
  await createIfMissing(pool, ddl);
}

/** The upsert every kind uses: seq counts writes, written_at is the source's clock at the write. */
function upsertSql(migration: string, kind: string, token: string | null): { text: string; values: unknown[] } {
  return {
    text: `INSERT INTO ${MARKER_SCHEMA}.${MARKER_TABLE} AS m (migration, kind, seq, token, written_at)
           VALUES ($1, $2, 1, $3, clock_timestamp())
           ON CONFLICT (migration, kind) DO UPDATE SET seq = m.seq + 1, token = excluded.token, written_at = excluded.written_at
           RETURNING m.seq::text AS seq, to_json(m.written_at) #>> '{}' AS written_at`,
    values: [migration, kind, token],
  };
}

/** Writes the start marker with a fresh token; its event on Kafka is what prepareCapture waits for. */
export async function writeStartMarker(pool: Pool, migrationId: string): Promise<{ token: string; seq: string; writtenAt: Date }> {
  const token = randomUUID();
  const { rows } = await pool.query<{ seq: string; written_at: string }>(upsertSql(migrationId, 'start', token));
  return { token, seq: rows[0].seq, writtenAt: new Date(rows[0].written_at) };
}

/** One heartbeat row (kind 'heartbeat', seq + 1). The sync times its trip to the target. */
export async function writeHeartbeat(pool: Pool, migrationId: string): Promise<{ seq: string; writtenAt: Date }> {
  const { rows } = await pool.query<{ seq: string; written_at: string }>(upsertSql(migrationId, 'heartbeat', null));
  return { seq: rows[0].seq, writtenAt: new Date(rows[0].written_at) };
}

/**
 * The cutover's drain marker, written after the fence: returns the WAL position after its
 * commit, which the replication slot must confirm before the drain can end.
 */
export async function writeDrainMarker(pool: Pool, migrationId: string): Promise<{ seq: string; lsn: string }> {
  // The position right after the marker's row, read inside its transaction: its commit comes
  // after it, so a slot that confirmed this position has processed the marker's commit. (The
  // WAL position after the commit would wait for some later transaction to be confirmed.)
  return inTransaction(pool, async (db) => {
    const { rows } = await db.query<{ seq: string }>(upsertSql(migrationId, 'drain', randomUUID()));
    const lsn = await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    return { seq: rows[0].seq, lsn: lsn.rows[0].lsn };
  });
}

/** Forgets a migration's rows (the table itself is shared, so it stays). */
export async function deleteMarkers(pool: Pool, migrationId: string): Promise<void> {
  const exists = await pool.query(`SELECT to_regclass('${MARKER_SCHEMA}.${MARKER_TABLE}') IS NOT NULL AS e`);
  if (exists.rows[0].e === true || exists.rows[0].e === 't') {
    await pool.query(`DELETE FROM ${MARKER_SCHEMA}.${MARKER_TABLE} WHERE migration = $1`, [migrationId]);
  }
}

/**
 * The statement Debezium runs on each of its heartbeats (heartbeat.action.query): a captured
 * write, so the connector has an LSN to confirm and the slot does not pin WAL while the
 * captured tables are quiet. It is plain SQL in the connector config, hence the literal.
 */
export function connectorHeartbeatQuery(migrationId: string): string {
  const literal = `'${migrationId.replace(/'/g, "''")}'`;
  return (
    `INSERT INTO ${MARKER_SCHEMA}.${MARKER_TABLE} AS m (migration, kind, seq, token, written_at) VALUES (${literal}, 'connector', 1, NULL, clock_timestamp()) ` +
    `ON CONFLICT (migration, kind) DO UPDATE SET seq = m.seq + 1, written_at = excluded.written_at`
  );
}

export interface MarkerRow {
  migration: string;
  kind: string;
  /** bigint as a decimal string. */
  seq: string;
  token: string | null;
  /** ISO 8601, as Debezium sends timestamptz. */
  writtenAt: string;
}

/** A marker event's `after` image, or null when it is not a marker row (or a delete). */
export function markerFromEvent(after: Record<string, unknown> | null | undefined): MarkerRow | null {
  if (!after || typeof after.migration !== 'string' || typeof after.kind !== 'string') return null;
  return {
    migration: after.migration,
    kind: after.kind,
    seq: String(after.seq),
    token: typeof after.token === 'string' ? after.token : null,
    writtenAt: String(after.written_at),
  };
}

/**
 * The reverse sync from change streams (a MongoDB target) records on the source each marker it
 * has passed, one row per stream (kind `reverse:<collection>`), once everything before the
 * marker in that stream is applied: the rollback's drain waits for every stream's row.
 */
export async function recordPassedMarker(pool: Pool, migrationId: string, stream: string, token: string): Promise<void> {
  await pool.query(upsertSql(migrationId, `reverse:${stream}`, token));
}

/** How many streams have passed the marker `token`. */
export async function streamsPastMarker(pool: Pool, migrationId: string, token: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${MARKER_SCHEMA}.${MARKER_TABLE} WHERE migration = $1 AND kind LIKE 'reverse:%' AND token = $2`, [migrationId, token]);
  return rows[0].n;
}
