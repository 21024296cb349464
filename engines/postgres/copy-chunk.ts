// One whole chunk from a PostgreSQL source into a PostgreSQL target: one COPY stream in one
// target transaction, the bytes passing through untouched (binary where portable).
//
//   source                                         target (one transaction)
//                                                  1. keyed table: DELETE [lo, hi)     ← replay-safe
//                                                     loading table: is the chunk recorded? then done
//   2. COPY (SELECT … [lo, hi)) TO STDOUT  ──▶     COPY t FROM STDIN
//                                                  3. loading table: record the chunk; COMMIT
//
// An attempt either commits the whole chunk or leaves nothing (a killed worker's session
// rolls back), so a retry redoes the chunk from its start: exactly once in effect. A table
// Ferry created is loaded without its key (load-ledger.ts), so step 1 cannot delete a range
// cheaply; there the ledger row committed with the rows tells a retry that its predecessor
// committed before dying. A table that has its key (it existed, or its load is finished)
// replays the old way: its range is deleted first, in the same transaction.
//
// The source side is a single statement, so it reads one snapshot. Throttle and pause act on
// the stream as it flows (copy-rows.ts): backpressure holds both COPYs while the pace waits.
import type { Pool, PoolClient } from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { quoteIdent, quoteQualified } from './identifiers';
import { keyCollations } from './key-ranges';
import { clearRange, copyFormat, rangeWhere } from './copy';
import { pacedRows } from './copy-rows';
import { loadState, recordChunk, recordedChunk } from './load-ledger';
import type { ChunkCopied, ChunkCopyControl } from '../engine';

export async function copyChunkWhole(plan: TablePlan, source: Pool, target: Pool, range: ChunkRange, control: ChunkCopyControl): Promise<ChunkCopied> {
  // Read before any client is taken from either pool (a pool of one must not wait on itself).
  // A ConfigurationError when the target has no collation that orders like the source's.
  const collations = (await keyCollations(source, target, plan)).target;
  await control.pace(0);
  const tgt = await target.connect();
  let src: PoolClient | undefined;
  let failure: Error | undefined;
  try {
    await tgt.query('BEGIN');
    const state = await loadState(tgt, plan.table);
    if (!state) throw new Error(`${plan.display} is not on the target (dropped since it was prepared?); retrying the chunk`);
    if (state.pendingKey) {
      const recorded = await recordedChunk(tgt, state.oid, range);
      if (recorded !== null) {
        await tgt.query('COMMIT');
        return { rows: recorded };
      }
    } else {
      await clearRange(tgt, plan, collations, range, null, null);
    }
    const cols = plan.columns.filter((c) => !c.generated).map((c) => quoteIdent(c.name)).join(', ');
    const format = copyFormat(plan.columns);
    src = await source.connect();
    // COPY takes no bind parameters: key values are inlined as escaped literals.
    const literal = (v: string, type: string) => `${src!.escapeLiteral(v)}::${type}`;
    const copyOut = `COPY (SELECT ${cols} FROM ${quoteQualified(plan.table)}${rangeWhere(plan, range, null, null, literal)}) TO STDOUT (FORMAT ${format})`;
    const sink = tgt.query(copyFrom(`COPY ${quoteQualified(plan.table)} (${cols}) FROM STDIN (FORMAT ${format})`));
    const paced = pacedRows(format, (rows) => control.pace(rows, true));
    // pipeline rejects on an error of any stream and destroys the others.
    await pipeline(src.query(copyTo(copyOut)), paced, sink);
    const rows = Number(sink.rowCount);
    if (paced.counter.rows !== rows) throw new Error(`${plan.display}: the target took ${rows} rows of a stream of ${paced.counter.rows}; retrying the chunk`);
    if (state.pendingKey) await recordChunk(tgt, state.oid, range, rows);
    // Commit only while this attempt still owns the chunk (not cancelled, its lock held).
    await control.pace(0, true);
    await tgt.query('COMMIT');
    return { rows };
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    // Destroying a client whose transaction failed rolls it back server-side at once; a
    // client mid-COPY cannot be reused anyway.
    src?.release(failure);
    tgt.release(failure);
  }
}
