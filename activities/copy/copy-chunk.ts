// Backfill activities: plan a table's chunks a page at a time, and copy one chunk, the way its
// target engine copies one (PostgreSQL: one COPY in one transaction; MongoDB: keyset batches
// behind a heartbeated cursor), exactly once in effect whatever earlier attempts did. Throttle
// and pause are read live from the table's workflow and kept as the rows go by.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { ChunkControl, ChunkCursor, ChunkResult, ChunkTask } from '../../contracts/backfill';
import { chunkControlQuery } from '../../contracts/messages';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../../engines/connections';
import { planChunkPage, type ChunkPage } from '../../engines/postgres/chunk-plan';
import { ChunkYielded, Target } from '../../engines/engine';
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

/** How long a chunk holding an open transaction may stay paused before it gives the transaction up. */
const PAUSE_HOLD_MS = 10_000;

/**
 * The pace a chunk copy keeps (see ChunkCopyControl.pace): a pause waits (or, holding an open
 * transaction, gives it up after PAUSE_HOLD_MS), the throttle is a budget of rows per second
 * since the rate last changed, and a cancelled attempt or a lost chunk lock stops the copy.
 */
function pacer(ctx: Context, control: ReturnType<typeof liveControl>, lock: ChunkLock) {
  let rate = -1;
  let since = 0;
  let rowsSince = 0;
  return async (rows: number, holding = false): Promise<void> => {
    const pausedAt = Date.now();
    while (control.current().paused && !ctx.cancellationSignal.aborted) {
      if (holding && Date.now() - pausedAt > PAUSE_HOLD_MS) throw new ChunkYielded();
      await ctx.sleep(500).catch(() => undefined);
    }
    await stillOwned();
    const now = Date.now();
    const current = control.current().rowsPerSecond;
    if (current !== rate || now - pausedAt > 1_000) {
      rate = current;
      since = now;
      rowsSince = 0;
    }
    rowsSince += rows;
    if (rate > 0) {
      const wait = (rowsSince / rate) * 1000 - (now - since);
      if (wait > 0) {
        await ctx.sleep(wait);
        await stillOwned();
      }
    }
  };
  // Cancelled, or its heartbeat rejected (timed out: a retry is already scheduled), or its lock
  // lost: stop writing and release the lock, so the retry starts from the last committed cursor.
  async function stillOwned(): Promise<void> {
    if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`chunk copy cancelled (${String(ctx.cancellationSignal.reason ?? 'cancelled')})`);
    await lock.check();
  }
}

export async function copyChunk(task: ChunkTask): Promise<ChunkResult> {
  const ctx = Context.current();
  const saved = ctx.info.heartbeatDetails as ChunkCursor | undefined;
  const { plan, chunk, spec } = task;
  const pool = pgPool(spec.source.url);
  const target = targetFor(spec);
  const control = liveControl({ rowsPerSecond: task.maxRowsPerSecond, paused: false });

  let cursor: ChunkCursor | undefined = saved;
  const started = Date.now();
  // Heartbeat the last committed cursor while a slow write is in flight too, so a slow
  // target is not mistaken for a dead worker (which would start a second attempt).
  // Before the first cursor exists, wait a little: the SDK sends one heartbeat at once and
  // holds later ones for most of the timeout, so an empty early beat would hide the cursor.
  const keepAlive = setInterval(() => (cursor || Date.now() - started > 5_000) && ctx.heartbeat(cursor), 2_000);
  let lock: ChunkLock | undefined;
  try {
    // No other attempt of this chunk writes while this one holds the lock (see engines/postgres/chunk-lock.ts);
    // waiting for it heartbeats the cursor this attempt started from.
    lock = await lockChunk(spec.source.url, chunkLockKey(spec, plan, chunk), { heartbeat: () => ctx.heartbeat(cursor), sleep: (ms) => ctx.sleep(ms) });
    const pace = pacer(ctx, control, lock);
    const committed = (c: ChunkCursor) => {
      cursor = c;
      ctx.heartbeat(c);
    };
    for (;;) {
      try {
        const copied = await target.copyChunk(plan, pool, chunk, { resumeFrom: cursor, batchRows: spec.backfill.batchRows, committed, pace });
        return { index: chunk.index, rows: copied.rows, resumed: saved !== undefined || ctx.info.attempt > 1, attempt: ctx.info.attempt };
      } catch (err) {
        if (!(err instanceof ChunkYielded)) rethrowClassified(err, `copying ${plan.display}`);
        // Paused with a transaction open: it was rolled back; copy the chunk again once resumed.
        await pace(0);
      }
    }
  } finally {
    clearInterval(keepAlive);
    control.stop();
    await lock?.release();
  }
}
