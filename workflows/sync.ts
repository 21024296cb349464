// The sync child of an online migration: runs the apply activity on the cdc queue over and
// over (each run consumes for a few minutes, then returns), keeps the live figures the
// activity signals for queries, tells the migration what changed, and continues-as-new before
// its history grows large. Row data never passes through here: only offsets and counts.
import {
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
  condition,
  ContinueAsNew,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import { TopicOffset } from '../contracts/capture';
import { abortSignal, pauseSignal, holdSignal, resumeSignal, skipPoisonSignal, syncProgressQuery, syncProgressSignal, syncReportSignal } from '../contracts/messages';
import { taskQueues } from '../contracts/queues';
import { searchAttributes } from '../contracts/search-attributes';
import { SyncInput, SyncProgress } from '../contracts/sync';
import { innermostMessage } from './failures';
import { parseSyncProgress } from './payloads';
import { furthestOffsets, samePosition } from '../contracts/offsets';

/** Unchanged figures reach the migration this often; a state, alert or dead-letter change at once. */
const REPORT_EVERY_MS = 5 * 60_000;
/** The activity's own limit: its longest run (sync.runSeconds ≤ 1 h) plus time to stop cleanly. */
const START_TO_CLOSE_MS = 70 * 60_000;
const HISTORY_LIMIT = 8_000;

const { applyChanges } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.cdc,
  startToCloseTimeout: START_TO_CLOSE_MS,
  // The activity heartbeats every few seconds; a dead worker is noticed within this.
  heartbeatTimeout: '30 seconds',
  // The consumer leaves its group and stops writing before the sync counts as stopped, so the
  // migration releases the connector and slot only after the last write.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['UnfollowableChange', 'EventsLost', 'ConfigurationError', 'SpecError'] },
});

// Asked between runs: is the migration that owns this sync still running?
const { migrationExecutionStatus, releaseCapture } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

/** How long a halted or paused sync waits before it checks again that its migration still runs. */
const OWNER_CHECK_MS = 5 * 60_000;
const OWNER_CHECK_PATCH = 'sync-owner-check';

function initialProgress(): SyncProgress {
  return { state: 'replaying', eventsApplied: 0, eventsPerSecond: 0, lagSeconds: 0, lagEvents: 0, heartbeatSeconds: null, deadLetters: 0, slot: null, alerts: [], columnsAdded: [], updatedAt: new Date(Date.now()).toISOString() };
}

export async function syncChanges(input: SyncInput): Promise<SyncProgress> {
  const { spec, capture, parentId } = input;
  /** The reverse sync (spec and capture reversed): the same loop, reported as the reverse direction. */
  const reverse = input.direction === 'reverse';
  let plans = input.plans;
  let progress: SyncProgress = input.carried?.progress ?? initialProgress();
  const skip: TopicOffset[] = [...(input.carried?.skip ?? [])];
  let offsets: TopicOffset[] = [...(input.carried?.offsets ?? [])];
  let holds: string[] = [...(input.carried?.holds ?? [])];
  let paused = input.paused;
  /** The halted event the operator chose to go past (`ferry skip`); resume alone never skips. */
  let skipRequested: TopicOffset | null = null;
  let run: CancellationScope | null = null;
  let stoppedByPause = false;
  const parent = getExternalWorkflowHandle(parentId);
  let lastReport = 0;
  let lastKey = '';
  let runs = 0;

  const report = async (plansChanged = false, final = false, error?: string) => {
    // Alerts carry running counters ("inactive for 42 s"): compare them without digits, or
    // every report would count as a change and fill the migration's history.
    const key = `${progress.state}|${progress.alerts.map((a) => a.replace(/\d+/g, '#')).join('|')}|${progress.deadLetters}`;
    if (!final && !plansChanged && key === lastKey && Date.now() - lastReport < REPORT_EVERY_MS) return;
    lastKey = key;
    lastReport = Date.now();
    upsertSearchAttributes([
      { key: searchAttributes.phase, value: `${reverse ? 'reverse-sync' : 'sync'}:${progress.state}` },
      { key: reverse ? searchAttributes.reverseLagSeconds : searchAttributes.lagSeconds, value: progress.lagSeconds },
    ]);
    await parent.signal(syncReportSignal, { progress, plans: plansChanged ? plans : null, final, ...(reverse ? { direction: 'reverse' as const } : {}), ...(error ? { error } : {}) }).catch(() => undefined);
  };

  // Runs started before these checks existed replay without them: their histories hold no
  // owner-check activity and no timer in the paused and halted waits.
  const ownerChecks = patched(OWNER_CHECK_PATCH);

  setHandler(syncProgressQuery, () => progress);
  setHandler(syncProgressSignal, (payload: unknown) => {
    const parsed = parseSyncProgress(payload);
    if (!parsed.ok) return log.warn(`refused syncProgress: ${parsed.reason}`);
    const p = parsed.value;
    // While an apply run is in flight its consumer may still write: held only once it has stopped.
    progress = { ...p, state: paused || holds.length ? 'stopped' : p.state, heldBy: run ? [] : holds };
    void report();
  });
  setHandler(holdSignal, (h) => {
    if (!h || typeof h.holder !== 'string') return;
    if (h.hold && !holds.includes(h.holder)) {
      holds = [...holds, h.holder];
      stoppedByPause = true;
      run?.cancel();
    } else if (!h.hold) holds = holds.filter((x) => x !== h.holder);
    // No run in flight (halted, paused, between runs): nothing writes, so it is held now.
    if (!run) progress = { ...progress, heldBy: holds };
  });
  /** Holders that ended without letting go (a terminated repair) no longer hold the sync. */
  const dropEndedHolders = async () => {
    for (const holder of holds) {
      // A check that fails (Temporal unreachable) keeps the hold: the next check asks again.
      const state = await migrationExecutionStatus({ migrationId: holder }).catch(() => 'RUNNING');
      if (state !== 'RUNNING') holds = holds.filter((x) => x !== holder);
    }
  };
  setHandler(pauseSignal, () => {
    paused = true;
    stoppedByPause = true;
    run?.cancel();
  });
  // The migration stops its sync by signal: a cancel request names the child's first run and
  // never reaches a run that has continued-as-new since.
  let stopRequested = false;
  setHandler(abortSignal, () => {
    stopRequested = true;
    run?.cancel();
  });
  setHandler(resumeSignal, () => {
    paused = false;
  });
  setHandler(skipPoisonSignal, (position) => {
    // Only the event the sync waits at: a stale skip must never pass a later poison event.
    if (samePosition(progress.halted?.position, position)) skipRequested = position;
  });

  /**
   * The migration that started this sync ended without stopping it (terminated, or its
   * history deleted): nobody else will release capture, so the sync does, and returns.
   */
  const orphaned = async (): Promise<boolean> => {
    if (!ownerChecks) return false;
    // A check that fails (Temporal unreachable) must not end a healthy sync: ask again next time.
    const owner = await migrationExecutionStatus({ migrationId: parentId }).catch(() => 'RUNNING');
    if (owner === 'RUNNING') return false;
    const released = await releaseCapture({ spec, captureName: capture.name, migrationId: parentId });
    const left = released.left.length ? `; not removed: ${released.left.map((l) => l.what).join(', ')} (run ferry cleanup --id ${parentId})` : '';
    progress = { ...progress, state: 'stopped', alerts: [`the migration ${parentId} is ${owner.toLowerCase()}: the sync released change capture ${capture.name} and stopped${left}`] };
    return true;
  };

  // A cancel request (the migration ending) must never be carried into a new run and lost
  // there: an apply run that completes despite it, or a swallowed signal, comes back here.
  const root = CancellationScope.current();
  const stopIfCancelled = () => {
    if (root.consideredCancelled) throw new CancelledFailure('the migration stopped the sync');
  };

  try {
    for (;;) {
      stopIfCancelled();
      if (stopRequested) {
        // The consumer has left its group: the migration may now remove the connector and slot.
        progress = { ...progress, state: 'stopped' };
        await report(false, true);
        return progress;
      }
      if (paused || holds.length) {
        progress = { ...progress, state: 'stopped', heldBy: holds };
        await report();
        const held = [...holds];
        const woken = () => (!paused && !holds.length) || stopRequested || holds.join() !== held.join();
        if (!ownerChecks) await condition(woken);
        else if (!(await condition(woken, OWNER_CHECK_MS))) {
          if (await orphaned()) return progress;
          await dropEndedHolders();
        }
        continue;
      }
      const info = workflowInfo();
      stopIfCancelled();
      if (runs >= spec.sync!.runsPerWorkflow || info.continueAsNewSuggested || info.historyLength > HISTORY_LIMIT) {
        await continueAsNew<typeof syncChanges>({ ...input, plans, paused, carried: { progress, skip, offsets, holds } });
      }
      stoppedByPause = false;
      run = new CancellationScope();
      const scope = run;
      let result;
      try {
        result = await scope.run(() =>
          applyChanges({ spec, plans, capture, migrationId: parentId, runForMs: spec.sync!.runSeconds * 1000, skip, resumeFrom: offsets, ...(input.drill ? { drill: true } : {}), totals: { eventsApplied: progress.eventsApplied, columnsAdded: progress.columnsAdded, caughtUp: progress.state === 'caught-up', lagSeconds: progress.lagSeconds } }),
        );
      } catch (err) {
        // A pause stops the consumer between batches; anything else (the migration ending) ends the sync.
        if (isCancellation(err) && (stoppedByPause || stopRequested)) continue;
        throw err;
      } finally {
        run = null;
        runs += 1;
      }
      const plansChanged = JSON.stringify(result.plans.map((p) => p.columns.length)) !== JSON.stringify(plans.map((p) => p.columns.length));
      plans = result.plans;
      progress = result.progress;
      offsets = furthestOffsets(offsets, result.offsets ?? []);
      await report(plansChanged);
      if (result.halted) {
        // spec sync.onPoison = halt: wait for the operator's skip (its own verb: a pause and
        // resume while halted must not go past the event unasked).
        const halt = result.halted.position;
        // A skip for this very event may have come while the run was ending (the run's last
        // report already named it): keep it; forget only a skip of another event.
        if (!samePosition(skipRequested, halt)) skipRequested = null;
        if (!ownerChecks) await condition(() => skipRequested !== null || stopRequested);
        else {
          for (;;) {
            if (await condition(() => skipRequested !== null || stopRequested, OWNER_CHECK_MS)) break;
            if (await orphaned()) return progress;
          }
        }
        if (skipRequested) {
          skip.push(halt);
          skipRequested = null;
          progress = { ...progress, state: 'replaying', alerts: [], halted: null };
          if (ownerChecks) await report();
        }
        continue;
      }
      if (await orphaned()) return progress;
    }
  } catch (err) {
    // Cancelled (the migration ended): the last report still tells it the consumer has stopped.
    if (isCancellation(err)) {
      progress = { ...progress, state: 'stopped' };
      await CancellationScope.nonCancellable(() => report(false, true));
    } else if (!(err instanceof ContinueAsNew)) {
      // The migration may have continued-as-new since it started this sync: it hears of the
      // failure from the sync itself, not from a child result.
      progress = { ...progress, state: 'stopped' };
      await CancellationScope.nonCancellable(() => report(false, true, innermostMessage(err)));
    }
    throw err;
  }
}
