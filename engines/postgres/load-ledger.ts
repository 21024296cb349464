// What a PostgreSQL target remembers about a table Ferry is loading, in _ferry beside the
// data. A table Ferry creates is loaded without its key: building the key's index once after
// the load is several times cheaper than maintaining it row by row (pgcopydb does the same).
// Without the key, a chunk cannot be replayed by deleting its key range (that would scan the
// whole table), so each chunk is copied in one transaction that also records it here:
//
//   _ferry.loading_tables  one row per table created without its key: the key clause to add
//                          after the load (finishTable), written in the CREATE TABLE's transaction
//   _ferry.copied_chunks   one row per chunk committed into such a table, written in the chunk's
//                          own COPY transaction, so "the rows are there" and "the chunk is
//                          recorded" are one fact: an attempt that finds its chunk recorded
//                          copies nothing (its predecessor committed and then died), one that
//                          does not finds the range empty (its predecessor rolled back)
//
// Adding the key deletes the table's rows from both in the same transaction; from then on the
// table is an ordinary keyed table, whose chunks replay by deleting their range first.
import type { Pool, PoolClient } from 'pg';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { inTransaction } from '../connections';
import { quoteQualified } from './identifiers';
import { SHARED, createRecorded, ensureFerrySchema, ferryTable } from './created-ledger';

type Db = Pick<PoolClient, 'query'>;

/** Created in the first CREATE TABLE's transaction that needs them (recordLoading), and recorded in Ferry's ledger (created-ledger.ts). */
const LEDGER_DDL: Array<[string, string]> = [
  ['loading_tables', `CREATE TABLE _ferry.loading_tables (
     table_oid oid PRIMARY KEY, table_name text NOT NULL, key_clause text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`],
  ['copied_chunks', `CREATE TABLE _ferry.copied_chunks (
     table_oid oid NOT NULL, chunk text NOT NULL, rows bigint NOT NULL, copied_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (table_oid, chunk))`],
];

/**
 * Records, in the caller's CREATE TABLE transaction (after the CREATE, so a user who may not
 * create the table hears about the table first), that `plan`'s table awaits `keyClause`.
 */
export async function recordLoading(db: Db, plan: TablePlan, keyClause: string): Promise<void> {
  await ensureFerrySchema(db);
  for (const [name, sql] of LEDGER_DDL) await createRecorded(db, SHARED, 'ferry-table', ferryTable(name), [sql]);
  await db.query(
    `INSERT INTO _ferry.loading_tables (table_oid, table_name, key_clause) VALUES (to_regclass($1)::oid, $2, $3)
     ON CONFLICT (table_oid) DO UPDATE SET key_clause = EXCLUDED.key_clause`,
    [quoteQualified(plan.table), plan.display, keyClause],
  );
}

export interface LoadState {
  oid: string;
  /** The key clause still to add, when the table is being loaded without it; null for a keyed table. */
  pendingKey: string | null;
}

/** Whether the table is loading without its key. Reads nothing that must exist: a target that never had the ledger answers "keyed". */
export async function loadState(db: Db, table: TablePlan['table']): Promise<LoadState | null> {
  // A user who may not read the ledger (another role made it) cannot have loaded a table
  // into it either: its tables count as keyed, and are checked for their key as such.
  const res = await db.query(
    `SELECT to_regclass($1)::oid::text AS oid,
            -- (to_regclass itself refuses a schema the user may not use: asked only after.)
            CASE WHEN NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = '_ferry') OR NOT has_schema_privilege('_ferry', 'USAGE') THEN false
                 WHEN to_regclass('_ferry.loading_tables') IS NULL THEN false
                 ELSE has_table_privilege('_ferry.loading_tables', 'SELECT') END::text AS ledger`,
    [quoteQualified(table)],
  );
  const { oid, ledger } = res.rows[0];
  if (!oid) return null;
  // (Every value comes back as text: see connections.ts.)
  if (ledger !== 'true') return { oid, pendingKey: null };
  const pending = await db.query(`SELECT key_clause FROM _ferry.loading_tables WHERE table_oid = $1::oid`, [oid]);
  return { oid, pendingKey: pending.rows[0]?.key_clause ?? null };
}

/** The ledger's name for a chunk: its key range, which is all an attempt knows of it. */
export function chunkId(range: ChunkRange): string {
  return JSON.stringify([range.lo, range.hi]);
}

/** Rows a committed attempt recorded for this chunk, or null. Takes the row's lock, so a twin attempt waits for the first to end. */
export async function recordedChunk(db: Db, oid: string, range: ChunkRange): Promise<number | null> {
  const res = await db.query(`SELECT rows::text AS n FROM _ferry.copied_chunks WHERE table_oid = $1::oid AND chunk = $2 FOR UPDATE`, [oid, chunkId(range)]);
  return res.rowCount ? Number(res.rows[0].n) : null;
}

/**
 * In the chunk's COPY transaction: the chunk is copied. Should a twin attempt have recorded it
 * first (the chunk lock makes that all but impossible), this one throws a retryable error, so
 * its rows roll back and its retry finds the chunk recorded.
 */
export async function recordChunk(db: Db, oid: string, range: ChunkRange, rows: number): Promise<void> {
  const res = await db.query(`INSERT INTO _ferry.copied_chunks (table_oid, chunk, rows) VALUES ($1::oid, $2, $3) ON CONFLICT DO NOTHING`, [oid, chunkId(range), rows]);
  if (res.rowCount === 0) throw new Error(`chunk ${chunkId(range)} was committed by another attempt meanwhile: rolling this one back`);
}

/**
 * A table found loading when a migration prepares it again was left by a run that never
 * finished its load (its chunk ranges need not match this run's): empty it and its ledger, in
 * one transaction, and copy it afresh. Only a table Ferry created is ever in this state.
 */
export async function restartLoad(db: Db, plan: TablePlan, oid: string): Promise<void> {
  await db.query(`TRUNCATE ${quoteQualified(plan.table)}`);
  await db.query(`DELETE FROM _ferry.copied_chunks WHERE table_oid = $1::oid`, [oid]);
}

/**
 * Adds the key of a table loaded without it, and forgets the table's load, in one transaction
 * (serialized on the table's ledger row): safe to call again, and from another table's
 * finishing (a foreign key that references this key). Does nothing for a keyed table;
 * `starting` hears the key clause before it is built.
 */
export async function addPendingKey(pool: Pool, table: TablePlan['table'], starting: (keyClause: string) => void = () => undefined): Promise<void> {
  await inTransaction(pool, async (client) => {
    const state = await loadState(client, table);
    if (!state?.pendingKey) return;
    const locked = await client.query(`SELECT key_clause FROM _ferry.loading_tables WHERE table_oid = $1::oid FOR UPDATE`, [state.oid]);
    // Another run added it while this one waited for the row.
    if (locked.rowCount === 0) return;
    starting(locked.rows[0].key_clause);
    // The index build sorts every key once: give it room (this transaction only).
    await client.query(`SELECT set_config('maintenance_work_mem', '256MB', true) WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < 256 * 1024 * 1024`);
    await client.query(`ALTER TABLE ${quoteQualified(table)} ADD ${locked.rows[0].key_clause}`);
    await client.query(`DELETE FROM _ferry.copied_chunks WHERE table_oid = $1::oid`, [state.oid]);
    await client.query(`DELETE FROM _ferry.loading_tables WHERE table_oid = $1::oid`, [state.oid]);
  });
}
