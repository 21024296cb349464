// Backfill activities: plan a table's chunks a page at a time, and copy one chunk by keyset
// batches while heartbeating a cursor, so a retry on any worker continues where the last
// attempt stopped. Throttle and pause are read live from the table's workflow between batches.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { ChunkControl, ChunkCursor, ChunkResult, ChunkTask } from '../../contracts/backfill';
import { chunkControlQuery } from '../../contracts/messages';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../../engines/connections';
import { planChunkPage, type ChunkPage } from '../../engines/postgres/source';
import { Target } from '../../engines/engine';
import { openTarget } from '../../engines';
import { rethrowClassified } from '../../engines/errors';
import { chunkLockKey, lockChunk, type ChunkLock } from '../../engines/postgres/chunk-lock';

const targets = new Map<string, Target>();
const CONTROL_POLL_MS = 2_000;

/**
 * One Target per target reference per process, so compiled statements are built once. Keyed
 * by everything a Target reads from its spec (two migrations into one target may differ in
 * source or mode); the statements it keeps are rebuilt after a failure (see PostgresTarget).
 */
export function targetFor(spec: Spec): Target {
  const id = JSON.stringify([spec.source.url, spec.target, spec.mode]);
  let t = targets.get(id);
  if (!t) targets.set(id, (t = openTarget(spec)));
  return t;
}

export async function planChunks(input: { spec: Spec; plan: TablePlan; from: string[] | null; maxChunks: number }): Promise<ChunkPage> {
  const pool = pgPool(input.spec.source.url);
  const stop = setInterval(() => Context.current().heartbeat(), 5_000);
  try {
    return await planChunkPage(pool, input.plan, input.plan.chunkRows, input.from, input.maxChunks).catch((err) =>
      rethrowClassified(err, `planning chunks of ${input.plan.display}`),
    );
  } finally {
    clearInterval(stop);
  }
}

/**
 * The table workflow's live throttle and pause, asked by query every couple of seconds
 * (queries cost no history); if the workflow cannot answer, the last known values hold.
 */
function liveControl(initial: ChunkControl): { current: () => ChunkControl; stop: () => void } {
  const ctx = Context.current();
  let control = initial;
  let asking = false;
  const workflowId = ctx.info.workflowExecution?.workflowId;
  // An activity run without a client (a MockActivityEnvironment in tests) keeps its initial values.
  let client: typeof ctx.client | undefined;
  try {
    client = ctx.client;
  } catch {
    client = undefined;
  }
  const timer = setInterval(() => {
    if (asking || !workflowId || !client) return;
    asking = true;
    client.workflow
      .getHandle(workflowId)
      .query(chunkControlQuery)
      .then((c) => void (control = c))
      .catch(() => undefined)
      .finally(() => (asking = false));
  }, CONTROL_POLL_MS);
  return { current: () => control, stop: () => clearInterval(timer) };
}

export async function copyChunk(task: ChunkTask): Promise<ChunkResult> {
  const ctx = Context.current();
  const saved = ctx.info.heartbeatDetails as ChunkCursor | undefined;
  const { plan, chunk, spec } = task;
  const batchRows = spec.backfill.batchRows;
  const pool = pgPool(spec.source.url);
  const target = targetFor(spec);
  const control = liveControl({ rowsPerSecond: task.maxRowsPerSecond, paused: false });

  let cursor: ChunkCursor | undefined = saved;
  const started = Date.now();
  // Heartbeat the last committed cursor while a slow batch is in flight too, so a slow
  // target is not mistaken for a dead worker (which would start a second attempt).
  // Before the first cursor exists, wait a little: the SDK sends one heartbeat at once and
  // holds later ones for most of the timeout, so an empty early beat would hide the cursor.
  const keepAlive = setInterval(() => (cursor || Date.now() - started > 5_000) && ctx.heartbeat(cursor), 2_000);
  let lock: ChunkLock | undefined;
  // The attempt's first batch clears the rest of the chunk on the target (what earlier attempts
  // left past the cursor); its later batches write into that cleared range.
  let replay: 'rest' | 'none' = 'rest';
  try {
    // No other attempt of this chunk writes while this one holds the lock (see engines/postgres/chunk-lock.ts);
    // waiting for it heartbeats the cursor this attempt started from.
    lock = await lockChunk(spec.source.url, chunkLockKey(spec, plan, chunk), { heartbeat: () => ctx.heartbeat(cursor), sleep: (ms) => ctx.sleep(ms) });
    for (;;) {
      // Pause takes effect between batches: the cursor is committed, nothing is in flight.
      while (control.current().paused && !ctx.cancellationSignal.aborted) await ctx.sleep(500).catch(() => undefined);
      // Cancelled, or its heartbeat rejected (timed out: a retry is already scheduled): stop
      // writing and release the lock, so the retry starts from the last committed cursor.
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`chunk copy cancelled (${String(ctx.cancellationSignal.reason ?? 'cancelled')})`);
      await lock.check();
      const batchStarted = Date.now();
      const batch = await target
        .copyBatch(plan, pool, chunk, cursor?.after ?? null, batchRows, replay)
        .catch((err) => rethrowClassified(err, `copying ${plan.display}`));
      replay = 'none';
      if (batch.last === null) break;
      // The cursor moves only after the write: a crash replays at most one batch.
      cursor = { after: batch.last, rows: (cursor?.rows ?? 0) + batch.rows };
      ctx.heartbeat(cursor);
      if (batch.rows < batchRows) break;
      const rate = control.current().rowsPerSecond;
      if (rate > 0) {
        const wait = (batch.rows / rate) * 1000 - (Date.now() - batchStarted);
        if (wait > 0) await ctx.sleep(wait);
      }
    }
  } finally {
    clearInterval(keepAlive);
    control.stop();
    await lock?.release();
  }
  return { index: chunk.index, rows: cursor?.rows ?? 0, resumed: saved !== undefined };
}
