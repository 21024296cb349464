// One keyset batch from a PostgreSQL source into a PostgreSQL target, streamed with COPY:
// the rows never become JavaScript values, so the copy costs about what pg_dump | psql costs.
//
//   source (REPEATABLE READ, read only)          target (one transaction)
//   1. bounds: count and last key of the batch    2. DELETE (after, last]     ← replay-safe
//   3. COPY (SELECT … (after, last]) TO STDOUT ──▶ COPY t FROM STDIN          4. COMMIT
//
// Steps 1 and 3 share one snapshot, so the rows streamed are exactly the rows counted even
// while the source is written to; the caller stops a chunk when a batch is short, and a
// count taken outside the snapshot could end a chunk early.
//
// Step 2 makes a replay exact: what an earlier attempt wrote in the range goes, rows the
// source has deleted since included, so the COPY never meets a duplicate key. A short batch
// (the source has no more rows in the chunk) deletes up to the chunk's end, (after, hi). The
// copy activity asks for one DELETE per attempt instead (replay 'rest' on its first batch,
// (after, hi); 'none' after it: one attempt of a chunk writes at a time, chunk-lock.ts).
// The range is the source's order: on the target it is evaluated with a COLLATE ordering
// text like the source (key-ranges.ts). Under the target database's own default it would
// hold other rows where the two order text differently, and delete rows other batches copied.
import type { Pool, PoolClient } from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { ChunkRange } from '../../contracts/backfill';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import { quoteIdent, quoteQualified } from './identifiers';
import { keyCollations, keySql, keyCompare as targetKeyCompare } from './key-ranges';
import type { BatchCopied, Replay } from '../engine';

/** Types below this oid are built in: their oids are the same in every database. */
const firstUserOid = 16384;

/**
 * Binary COPY is exact and cheaper to parse, but array and record values carry their element
 * type oids, which differ between databases for user-defined types, and extension types may
 * have no binary I/O at all. Such tables go as text, which (with both pools' ISO/UTC/exact
 * float settings) reads back the same values.
 */
export function copyFormat(columns: ColumnInfo[]): 'binary' | 'text' {
  const portable = (c: ColumnInfo) =>
    c.typeOid < firstUserOid ||
    (c.typeCategory === 'e' && c.elementOid === 0) ||
    (c.typeCategory === 'd' && c.baseOid < firstUserOid);
  return columns.filter((c) => !c.generated).every(portable) ? 'binary' : 'text';
}

/**
 * `(k1, k2) op (v1::t1, v2::t2)` on the source, as readBatch compares keys (a key column with
 * an explicit collation under it; the planner drops a COLLATE equal to the column's).
 */
function keyCompare(plan: TablePlan, op: string, values: string[], value: (v: string, type: string) => string): string {
  const cols = plan.key.map((k) => plan.columns.find((c) => c.name === k)!);
  const collate = (c: ColumnInfo) => (c.collation ? ` COLLATE ${c.collation}` : '');
  const left = cols.map((c) => quoteIdent(c.name) + collate(c));
  return `(${left.join(', ')}) ${op} (${cols.map((c, i) => value(values[i], c.type)).join(', ')})`;
}

/** The range of a batch on the source: key > after (or >= range.lo at the start) and, optionally, <= last / < range.hi. */
export function rangeWhere(plan: TablePlan, range: ChunkRange, after: string[] | null, last: string[] | null, value: (v: string, type: string) => string): string {
  const where: string[] = [];
  if (after) where.push(keyCompare(plan, '>', after, value));
  else if (range.lo) where.push(keyCompare(plan, '>=', range.lo, value));
  if (last) where.push(keyCompare(plan, '<=', last, value));
  else if (range.hi) where.push(keyCompare(plan, '<', range.hi, value));
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

function keyOrder(plan: TablePlan, dir = ''): string {
  return plan.key.map((k) => quoteIdent(k) + dir).join(', ');
}

/** Count and last key of the next batch: a LIMIT over the key index, never OFFSET. */
async function batchBounds(src: PoolClient, plan: TablePlan, range: ChunkRange, after: string[] | null, limit: number): Promise<{ rows: number; last: string[] | null }> {
  const params: unknown[] = [];
  const param = (v: string, type: string) => {
    params.push(v);
    return `$${params.length}::${type}`;
  };
  const where = rangeWhere(plan, range, after, null, param);
  params.push(limit);
  const res = await src.query(
    `WITH b AS (SELECT ${keyOrder(plan)} FROM ${quoteQualified(plan.table)}${where} ORDER BY ${keyOrder(plan)} LIMIT $${params.length})
     SELECT (SELECT count(*) FROM b)::text AS n,
            (SELECT json_build_array(${plan.key.map((k) => `${quoteIdent(k)}::text`).join(', ')})::text FROM b ORDER BY ${keyOrder(plan, ' DESC')} LIMIT 1) AS last`,
    params,
  );
  const { n, last } = res.rows[0];
  return { rows: Number(n), last: last ? JSON.parse(last) : null };
}

/**
 * Deletes the target rows of `range` past `after` (from range.lo when null) up to `last`
 * (null: to range.hi), the range read in the source's key order. In the caller's transaction.
 */
export async function clearRange(tgt: PoolClient, plan: TablePlan, collations: Array<string | null>, range: ChunkRange, after: string[] | null, last: string[] | null): Promise<void> {
  const k = keySql(plan, collations, '');
  const params: unknown[] = [];
  const where: string[] = [];
  if (after) where.push(targetKeyCompare(k, '>', after, params));
  else if (range.lo) where.push(targetKeyCompare(k, '>=', range.lo, params));
  if (last) where.push(targetKeyCompare(k, '<=', last, params));
  else if (range.hi) where.push(targetKeyCompare(k, '<', range.hi, params));
  await tgt.query(`DELETE FROM ${quoteQualified(plan.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params);
}

/**
 * Copies the next batch of `range` (at most `limit` rows after `after`) from source to target,
 * first deleting on the target what `replay` says (see Replay).
 * Clients come from the pools and always go back; one that saw a failed COPY is destroyed
 * (release(err)), which also rolls back whatever its transaction had done.
 */
export async function copyBatchStreaming(
  plan: TablePlan,
  source: Pool,
  target: Pool,
  range: ChunkRange,
  after: string[] | null,
  limit: number,
  replay: Replay = 'batch',
): Promise<BatchCopied> {
  // Read before any client is taken from either pool (a pool of one must not wait on itself).
  // A ConfigurationError when the target has no collation that orders like the source's.
  const collations = replay === 'none' ? null : (await keyCollations(source, target, plan)).target;
  const src = await source.connect();
  let tgt: PoolClient | undefined;
  let failure: Error | undefined;
  try {
    await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const bounds = await batchBounds(src, plan, range, after, limit);
    // The source has no row past this batch in the range: the target must have none either.
    const toEnd = replay === 'rest' || bounds.rows < limit;
    if (bounds.rows === 0 || !bounds.last) {
      if (collations) {
        tgt = await target.connect();
        await clearRange(tgt, plan, collations, range, after, null);
      }
      await src.query('COMMIT');
      return { rows: 0, last: null };
    }
    const last = bounds.last;
    const cols = plan.columns.filter((c) => !c.generated).map((c) => quoteIdent(c.name)).join(', ');
    const format = copyFormat(plan.columns);
    // COPY takes no bind parameters: key values are inlined as escaped literals.
    const literal = (v: string, type: string) => `${src.escapeLiteral(v)}::${type}`;
    const copyOut = `COPY (SELECT ${cols} FROM ${quoteQualified(plan.table)}${rangeWhere(plan, range, after, last, literal)}) TO STDOUT (FORMAT ${format})`;

    tgt = await target.connect();
    await tgt.query('BEGIN');
    if (collations) await clearRange(tgt, plan, collations, range, after, toEnd ? null : last);
    const sink = tgt.query(copyFrom(`COPY ${quoteQualified(plan.table)} (${cols}) FROM STDIN (FORMAT ${format})`));
    const out = src.query(copyTo(copyOut));
    // pipeline rejects on an error of either stream and destroys the other one.
    await pipeline(out, sink);
    if (sink.rowCount !== bounds.rows) {
      throw new Error(`${plan.display}: copied ${sink.rowCount} rows where the source snapshot counted ${bounds.rows}; retrying the batch`);
    }
    await tgt.query('COMMIT');
    await src.query('COMMIT');
    return { rows: bounds.rows, last };
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    // Destroying a client whose transaction failed rolls it back server-side at once; a
    // client mid-COPY cannot be reused anyway.
    src.release(failure);
    tgt?.release(failure);
  }
}
