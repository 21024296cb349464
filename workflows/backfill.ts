// One table's backfill: plan key-range chunks, then copy them through a sliding window of
// activities (any number of copy workers share the queue). Progress goes to the parent
// migration by signal, at most every few seconds; the run continues-as-new every
// `backfill.chunksPerRun` chunks (default 400) so history stays small however large the table.
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import {
  BackfillInput,
  BackfillProgress,
  ChunkRange,
  backfillProgressSignal,
  pauseSignal,
  resumeSignal,
  taskQueues,
} from './definitions';

const REPORT_EVERY_MS = 5_000;

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
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

export async function backfillTable(input: BackfillInput): Promise<BackfillProgress> {
  const { spec, plan } = input;
  let paused = input.paused;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

  const parent = getExternalWorkflowHandle(input.parentId);
  let lastReport = 0;
  const report = async (force = false) => {
    if (!force && Date.now() - lastReport < REPORT_EVERY_MS) return;
    lastReport = Date.now();
    await parent.signal(backfillProgressSignal, { ...progress });
  };

  let chunks: ChunkRange[];
  let next: number;
  let progress: BackfillProgress;
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

  while (next < chunks.length && startedThisRun < spec.backfill.chunksPerRun) {
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
  await condition(() => inFlight.size === 0);
  if (failure !== undefined) {
    progress.state = 'failed';
    await report(true);
    throw failure;
  }
  if (next < chunks.length) {
    await continueAsNew<typeof backfillTable>({ ...input, paused, carried: { chunks, next, progress } });
  }
  progress.state = 'done';
  await report(true);
  return progress;
}
