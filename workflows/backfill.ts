// One table's backfill: plan key-range chunks, then copy them through a sliding window of
// activities (any number of copy workers share the queue). Live progress is answered by a
// query (no history cost); the parent hears only of state changes (planning, copying, done,
// failed) plus a rare backstop, so its history stays small however long the copy runs. The
// Temporal UI shows this table's own search attributes, upserted at most once a minute. The
// run continues-as-new every `backfill.chunksPerRun` chunks (default 400).
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  isCancellation,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import {
  BackfillInput,
  BackfillProgress,
  ChunkRange,
  backfillProgressQuery,
  backfillProgressSignal,
  pauseSignal,
  searchAttributes,
  resumeSignal,
  taskQueues,
} from './definitions';

// Each report costs the parent ~4 history events: state changes always, else this rarely.
const REPORT_EVERY_MS = 10 * 60_000;
const SEARCH_ATTRIBUTES_EVERY_MS = 60_000;
const DEFAULT_CHUNKS_PER_RUN = 400;

const { planChunks } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

const { copyChunk } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '6 hours',
  // Short: a killed worker's chunk is retried elsewhere (from its cursor) within seconds.
  heartbeatTimeout: '10 seconds',
  // On abort, wait until each copy has stopped writing before the table reports aborted.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

export async function backfillTable(input: BackfillInput): Promise<BackfillProgress> {
  const { spec, plan } = input;
  let paused = input.paused;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

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
    await parent.signal(backfillProgressSignal, { ...progress });
  };

  let chunks: ChunkRange[];
  let next: number;
  let progress: BackfillProgress;
  setHandler(backfillProgressQuery, () => progress);
  if (input.carried) {
    ({ chunks, next, progress } = input.carried);
  } else {
    progress = { table: plan.display, state: 'planning', rowsTotal: plan.estimatedRows, rowsCopied: 0, chunksDone: 0, chunksTotal: 0, chunksResumed: 0 };
    await report(true);
    const planned = await planChunks({ spec, plan });
    chunks = planned.chunks;
    next = 0;
    progress = { ...progress, state: 'copying', rowsTotal: planned.rows, chunksTotal: chunks.length };
    await report(true);
  }

  const parallelism = spec.backfill.parallelism;
  const perChunkRate = spec.backfill.maxRowsPerSecond > 0 ? Math.max(1, Math.floor(spec.backfill.maxRowsPerSecond / parallelism)) : 0;
  const inFlight = new Set<number>();
  let failure: unknown;
  let startedThisRun = 0;

  try {
    while (next < chunks.length && startedThisRun < (spec.backfill.chunksPerRun ?? DEFAULT_CHUNKS_PER_RUN)) {
      // Pause takes effect between chunks: running chunks finish, no new one starts.
      await condition(() => failure !== undefined || (!paused && inFlight.size < parallelism));
      if (failure !== undefined) break;
      const chunk = chunks[next++];
      startedThisRun++;
      inFlight.add(chunk.index);
      copyChunk({ spec, plan, chunk, maxRowsPerSecond: perChunkRate })
        .then(async (result) => {
          progress.rowsCopied += result.rows;
          progress.chunksDone += 1;
          if (result.resumed) progress.chunksResumed += 1;
          await report();
        })
        .catch((err) => void (failure ??= err))
        .finally(() => inFlight.delete(chunk.index));
    }
  } finally {
    // Whatever ends the loop (a failure, an abort), copies in flight settle first: after an
    // abort, no chunk is still writing once this table reports.
    await CancellationScope.nonCancellable(() => condition(() => inFlight.size === 0));
  }
  if (failure !== undefined) {
    if (!isCancellation(failure)) {
      progress.state = 'failed';
      await report(true);
    }
    throw failure;
  }
  if (next < chunks.length) {
    // Only the chunks still to copy travel on: the input shrinks run after run.
    await continueAsNew<typeof backfillTable>({ ...input, paused, carried: { chunks: chunks.slice(next), next: 0, progress } });
  }
  progress.state = 'done';
  await report(true);
  return progress;
}
