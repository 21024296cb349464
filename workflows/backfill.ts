// One table's backfill: chunks planned a page at a time and copied through a sliding window
// of activities (any number of copy workers share the queue). Live progress is answered by a
// query (no history cost); the parent hears only of state changes (planning, copying, done,
// failed) plus a rare backstop, so its history stays small however long the copy runs. The
// Temporal UI shows this table's own search attributes, upserted at most once a minute. The
// run continues-as-new every `backfill.chunksPerRun` chunks (default 400). Once the rows are in, the
// table's own key and indexes are built here (finishLoad), overlapping other tables' copies.
import {
  ActivityCancellationType,
  ApplicationFailure,
  isCancellation,
  continueAsNew,
  log,
  patched,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { addChunkTime, BackfillInput, BackfillProgress, ChunkQueueState, emptyChunkTimes } from '../contracts/backfill';
import { backfillProgressQuery, backfillProgressSignal, chunkControlQuery, pauseSignal, resumeSignal, throttleSignal } from '../contracts/messages';
import { taskQueues } from '../contracts/queues';
import { searchAttributes } from '../contracts/search-attributes';
import { drainChunks, pageSize } from './chunk-queue';
import { parseRate } from './payloads';
import { innermostMessage } from './failures';

// Each report costs the parent ~4 history events: state changes always, else this rarely.
const REPORT_EVERY_MS = 10 * 60_000;
const SEARCH_ATTRIBUTES_EVERY_MS = 60_000;

const { planChunks } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DataError'] },
});

const { copyChunk } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '6 hours',
  // Generous: a stall shorter than this is not taken for a dead worker (a retry would have to
  // wait for the stalled attempt's chunk lock anyway); a killed worker's chunk is retried
  // elsewhere, from its cursor, within a minute.
  heartbeatTimeout: '60 seconds',
  // On abort, wait until each copy has stopped writing before the table reports aborted.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DataError'] },
});

// A table's own key and indexes, built as soon as its rows are in (see Target.finishLoad).
const { finishLoad } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DataError'] },
});

// Asked only when a report to the migration fails: has the migration ended?
const { migrationExecutionStatus } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '10 seconds', maximumAttempts: 5 },
});

export async function backfillTable(input: BackfillInput): Promise<BackfillProgress> {
  const { spec, plan } = input;
  const parallelism = spec.backfill.parallelism;
  let paused = input.paused;
  let tableRate = input.throttle ?? 0;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  // The migration sends this table's share; an operator may send it from the UI too.
  setHandler(throttleSignal, (payload: unknown) => {
    const rate = parseRate(payload);
    if (rate.ok) tableRate = rate.value;
    else log.warn(`refused throttle: ${rate.reason}`);
  });
  // Each running copy takes an equal share of the table's rate.
  setHandler(chunkControlQuery, () => ({ rowsPerSecond: tableRate > 0 ? Math.max(1, Math.floor(tableRate / parallelism)) : 0, paused }));

  const state: ChunkQueueState<BackfillProgress> = input.carried ?? {
    pending: [],
    planFrom: null,
    planned: false,
    plannedRows: 0,
    nextIndex: 0,
    progress: {
      table: plan.display, state: 'planning', rowsTotal: plan.estimatedRows, rowsCopied: 0, chunksDone: 0,
      chunksTotal: Math.max(1, Math.ceil(plan.estimatedRows / plan.chunkRows)), chunksResumed: 0, copyStartedAt: null, planned: false,
    },
  };
  const progress = state.progress;
  setHandler(backfillProgressQuery, () => progress);

  const parent = getExternalWorkflowHandle(input.parentId);
  let lastReport = Date.now();
  let lastUpsert = 0;
  const report = async (force = false) => {
    if (force || Date.now() - lastUpsert >= SEARCH_ATTRIBUTES_EVERY_MS) {
      lastUpsert = Date.now();
      upsertSearchAttributes([
        { key: searchAttributes.phase, value: `backfill:${progress.state}` },
        { key: searchAttributes.rowsCopied, value: progress.rowsCopied },
        { key: searchAttributes.rowsTotal, value: progress.rowsTotal },
        { key: searchAttributes.progress, value: progress.rowsTotal ? Math.min(1, progress.rowsCopied / progress.rowsTotal) : 0 },
      ]);
    }
    if (!force && Date.now() - lastReport < REPORT_EVERY_MS) return;
    lastReport = Date.now();
    try {
      await parent.signal(backfillProgressSignal, { ...progress });
    } catch {
      // The migration may be gone (terminated): this child is abandoned on its close, so it
      // stops by itself rather than copy on for nobody.
      const owner = await migrationExecutionStatus({ migrationId: input.parentId }).catch(() => 'RUNNING');
      if (owner !== 'RUNNING') ownerGone = owner;
    }
  };
  let ownerGone: string | null = null;
  const stopIfOrphaned = () => {
    if (ownerGone) throw ApplicationFailure.nonRetryable(`the migration ${input.parentId} is ${ownerGone.toLowerCase()}: ${plan.display}'s backfill stops`, 'MigrationGone');
  };
  // A failure the operator should read in the migration's status (not an abort, not an orphan's stop).
  const reportFailure = async (err: unknown) => {
    if (isCancellation(err) || ownerGone) return;
    progress.state = 'failed';
    progress.error = innermostMessage(err);
    await report(true);
  };
  if (!input.carried) {
    // Not waited for: the parent only shows the state, and planning need not wait a round trip
    // for it. Runs recorded before this waited (then scheduled planning in a later task).
    if (patched('report-planning-without-waiting')) void report(true);
    else await report(true);
  }

  let outcome: 'done' | 'continue';
  try {
    outcome = await drainChunks({
      state,
      parallelism,
      chunksPerRun: spec.backfill.chunksPerRun,
      planPage: (from) => planChunks({ spec, plan, from, maxChunks: pageSize(spec.backfill.chunksPerRun) }),
      onPlanned: () => {
        // Until planning has covered the table, totals are the larger of estimate and count so far.
        progress.planned = state.planned;
        progress.rowsTotal = state.planned ? state.plannedRows : Math.max(state.plannedRows, plan.estimatedRows);
        progress.chunksTotal = progress.planned ? state.nextIndex : Math.max(state.nextIndex, progress.chunksTotal);
        if (progress.state === 'planning') {
          progress.state = 'copying';
          progress.copyStartedAt = new Date(Date.now()).toISOString();
          void report(true);
        }
      },
      isPaused: () => paused,
      runChunk: async (chunk) => {
        const began = Date.now();
        const result = await copyChunk({ spec, plan, chunk, maxRowsPerSecond: tableRate > 0 ? Math.max(1, Math.floor(tableRate / parallelism)) : 0 });
        progress.rowsCopied += result.rows;
        progress.chunksDone += 1;
        if (result.resumed) progress.chunksResumed += 1;
        // The rehearsal report's figures: workflow time, so replay gives the same (no command added).
        addChunkTime((progress.chunkTimes ??= emptyChunkTimes()), (Date.now() - began) / 1000);
        progress.retries = (progress.retries ?? 0) + Math.max(0, (result.attempt ?? 1) - 1);
        progress.copyFinishedAt = new Date(Date.now()).toISOString();
        await report();
        stopIfOrphaned();
      },
    });
  } catch (err) {
    await reportFailure(err);
    throw err;
  }
  if (outcome === 'continue') {
    await continueAsNew<typeof backfillTable>({ ...input, paused, throttle: tableRate, carried: state });
  }
  // The table's key and indexes need only its own rows: built now, while other tables may
  // still copy, instead of in the migration's indexes phase after every table (which still
  // runs them and finds them built). Runs recorded before this step have no such command.
  if (patched('finish-load-in-table')) {
    progress.state = 'indexing';
    void report(true);
    try {
      await finishLoad({ spec, plan });
    } catch (err) {
      await reportFailure(err);
      throw err;
    }
  }
  progress.state = 'done';
  await report(true);
  return progress;
}
