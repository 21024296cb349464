// Backfill activities: plan a table's chunks, and copy one chunk by keyset batches while
// heartbeating a cursor, so a retry on any worker continues where the last attempt stopped.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Spec } from './spec';
import type { ChunkCursor, ChunkRange, ChunkResult, ChunkTask, TablePlan } from '../workflows/definitions';
import { pgPool } from './connections';
import { planChunkRanges } from './source/postgres';
import { openTarget, Target } from './target/target';
import { rethrowClassified } from './errors';

const targets = new Map<string, Target>();

/** One Target per target reference per process, so mappers and statements are built once. */
function targetFor(spec: Spec): Target {
  const id = `${spec.target.url}|${spec.target.database ?? ''}`;
  let t = targets.get(id);
  if (!t) targets.set(id, (t = openTarget(spec)));
  return t;
}

export async function planChunks(input: { spec: Spec; plan: TablePlan }): Promise<{ chunks: ChunkRange[]; rows: number }> {
  const pool = pgPool(input.spec.source.url);
  const stop = setInterval(() => Context.current().heartbeat(), 5_000);
  try {
    return await planChunkRanges(pool, input.plan, input.spec.backfill.chunkRows);
  } finally {
    clearInterval(stop);
  }
}

export async function copyChunk(task: ChunkTask): Promise<ChunkResult> {
  const ctx = Context.current();
  const saved = ctx.info.heartbeatDetails as ChunkCursor | undefined;
  const { plan, chunk, spec } = task;
  const batchRows = spec.backfill.batchRows;
  const pool = pgPool(spec.source.url);
  const target = targetFor(spec);

  let cursor: ChunkCursor | undefined = saved;
  let rowsThisAttempt = 0;
  const started = Date.now();
  // Heartbeat the last committed cursor while a slow batch is in flight too, so a slow
  // target is not mistaken for a dead worker (which would start a second attempt).
  // Before the first cursor exists, wait a little: the SDK sends one heartbeat at once and
  // holds later ones for most of the timeout, so an empty early beat would hide the cursor.
  const keepAlive = setInterval(() => (cursor || Date.now() - started > 5_000) && ctx.heartbeat(cursor), 2_000);
  try {
    for (;;) {
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('chunk copy cancelled');
      const batch = await target
        .copyBatch(plan, pool, chunk, cursor?.after ?? null, batchRows)
        .catch((err) => rethrowClassified(err, `copying ${plan.display}`));
      if (batch.last === null) break;
      rowsThisAttempt += batch.rows;
      // The cursor moves only after the write: a crash replays at most one batch.
      cursor = { after: batch.last, rows: (cursor?.rows ?? 0) + batch.rows };
      ctx.heartbeat(cursor);
      if (batch.rows < batchRows) break;
      if (task.maxRowsPerSecond > 0) {
        const wait = (rowsThisAttempt / task.maxRowsPerSecond) * 1000 - (Date.now() - started);
        if (wait > 0) await ctx.sleep(wait);
      }
    }
  } finally {
    clearInterval(keepAlive);
  }
  return { index: chunk.index, rows: cursor?.rows ?? 0, resumed: saved !== undefined };
}
