// The reverse sync from a MongoDB target after the switch: runs the change-stream apply activity
// on the cdc queue over and over (each run applies for sync.runSeconds, then returns its resume
// tokens), keeps the live figures the activity signals, reports them to the migration as the
// reverse direction, and continues-as-new before its history grows large. Only tokens and
// counts pass through here, never a document.
import { ActivityCancellationType, CancellationScope, condition, ContinueAsNew, continueAsNew, getExternalWorkflowHandle, isCancellation, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { abortSignal, pauseSignal, resumeSignal, syncProgressQuery, syncProgressSignal, syncReportSignal } from '../contracts/messages';
import { taskQueues } from '../contracts/queues';
import type { StreamStart } from '../contracts/reverse';
import { searchAttributes } from '../contracts/search-attributes';
import type { Spec } from '../contracts/spec';
import type { SyncProgress } from '../contracts/sync';
import type { TablePlan } from '../contracts/tables';
import { innermostMessage } from './failures';
import { parseSyncProgress } from './payloads';

export interface StreamSyncInput {
  spec: Spec;
  plans: TablePlan[];
  streams: StreamStart[];
  parentId: string;
  paused: boolean;
  /** A rehearsal's rollback drill: the streams are read and their markers passed, nothing is written to the source (engines/drill.ts). */
  drill?: boolean;
  carried?: { progress: SyncProgress };
}

const { applyStreamChanges } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.cdc,
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['EventsLost', 'ConfigurationError', 'SpecError'] },
});

const REPORT_EVERY_MS = 60_000;

export async function syncStreams(input: StreamSyncInput): Promise<SyncProgress> {
  const { spec, plans, parentId } = input;
  let streams = input.streams;
  let paused = input.paused;
  let stop = false;
  let run: CancellationScope | null = null;
  let progress: SyncProgress = input.carried?.progress ?? { state: 'replaying', eventsApplied: 0, eventsPerSecond: 0, lagSeconds: 0, lagEvents: 0, heartbeatSeconds: null, deadLetters: 0, slot: null, alerts: [], columnsAdded: [], updatedAt: new Date(Date.now()).toISOString() };
  const parent = getExternalWorkflowHandle(parentId);
  let lastKey = '';
  let lastReport = 0;
  const report = async (final = false, error?: string) => {
    const key = `${progress.state}|${progress.deadLetters}`;
    if (!final && key === lastKey && Date.now() - lastReport < REPORT_EVERY_MS) return;
    lastKey = key;
    lastReport = Date.now();
    upsertSearchAttributes([
      { key: searchAttributes.phase, value: `reverse-sync:${progress.state}` },
      { key: searchAttributes.reverseLagSeconds, value: progress.lagSeconds },
    ]);
    await parent.signal(syncReportSignal, { progress, plans: null, final, direction: 'reverse', ...(error ? { error } : {}) }).catch(() => undefined);
  };
  setHandler(syncProgressQuery, () => progress);
  setHandler(syncProgressSignal, (payload: unknown) => {
    const parsed = parseSyncProgress(payload);
    if (!parsed.ok) return;
    progress = { ...parsed.value, state: paused ? 'stopped' : parsed.value.state };
    void report();
  });
  setHandler(abortSignal, () => {
    stop = true;
    run?.cancel();
  });
  setHandler(pauseSignal, () => {
    paused = true;
    run?.cancel();
  });
  setHandler(resumeSignal, () => void (paused = false));

  try {
    for (let runs = 0; ; runs++) {
      if (stop) break;
      if (paused) {
        progress = { ...progress, state: 'stopped' };
        await report();
        await condition(() => !paused || stop);
        continue;
      }
      if (runs >= spec.sync!.runsPerWorkflow || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof syncStreams>({ ...input, streams, paused, carried: { progress } });
      }
      run = new CancellationScope();
      const scope = run;
      try {
        const r = await scope.run(() => applyStreamChanges({ spec, plans, streams, migrationId: parentId, runForMs: spec.sync!.runSeconds * 1000, totals: { eventsApplied: progress.eventsApplied }, ...(input.drill ? { drill: true } : {}) }));
        streams = r.streams;
        progress = r.progress;
        await report();
      } catch (err) {
        // Stopped or paused between batches: the tokens of the last run stand (what it applied since is applied again, harmlessly).
        if (isCancellation(err) && (stop || paused)) continue;
        throw err;
      } finally {
        run = null;
      }
    }
    progress = { ...progress, state: 'stopped' };
    await report(true);
    return progress;
  } catch (err) {
    if (!isCancellation(err) && !(err instanceof ContinueAsNew)) {
      progress = { ...progress, state: 'stopped' };
      await CancellationScope.nonCancellable(() => report(true, innermostMessage(err)));
    }
    throw err;
  }
}
