// The migration: phases in order, operator messages, and the status everyone reads (the CLI
// by query, the Temporal UI by search attributes). Row data never passes through here:
// only the plan (names, columns, keys), counts and the verification summary.
import {
  ActivityCancellationType,
  ApplicationFailure,
  ChildWorkflowCancellationType,
  CancellationScope,
  condition,
  continueAsNew,
  ParentClosePolicy,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import type { CaptureInfo } from '../contracts/capture';
import { backfillWorkflowId, syncWorkflowId } from '../contracts/ids';
import { abortSignal, backfillProgressSignal, pauseSignal, resumeSignal, skipPoisonSignal, skipPoisonUpdate, statusQuery, syncReportSignal, throttleSignal } from '../contracts/messages';
import { MigrationInput, MigrationStatus, Phase } from '../contracts/migration';
import { taskQueues } from '../contracts/queues';
import { searchAttributes } from '../contracts/search-attributes';
import type { SkipRequest } from '../contracts/sync';
import { TablePlan } from '../contracts/tables';
import type { VerificationResult } from '../contracts/verify';
import { formatProblem, parseSpecShape } from '../contracts/spec';
import { positionText } from '../contracts/offsets';
import { innermostMessage } from './failures';
import { parseBackfillProgress, parseRate, parseReason, parseSyncReport } from './payloads';
import { syncChanges } from './sync';
import { backfillTable } from './backfill';
import { needsRecheck, recheckRound, RECHECK_ROUNDS, verifyTables } from './verify';
import { inWindow } from './window';
import { runBackfillPhase, stopBackfills } from './backfill-phase';

/** New migrations drive the backfill from the children's reports, so it can continue-as-new. */
const BACKFILL_HANDOVER_PATCH = 'backfill-continue-as-new';
/** New migrations validate their own input. */
const VALIDATE_INPUT_PATCH = 'validate-input';
/** New migrations abandon their sync child on close and continue-as-new during the sync. */
const SYNC_HANDOVER_PATCH = 'sync-continue-as-new';

const { prepareMigration } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// Building an index or validating a foreign key on a big table takes a while; the activity
// heartbeats while each statement runs, so a killed worker is noticed in minutes, not a day.
const { finishTable } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DataError'] },
});

// Change capture set-up waits for the connector and the start marker; the re-check waits for the sync.
const { prepareCapture, releaseCapture } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  // An abort waits for prepareCapture to stop, so nothing it creates appears after the release.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// Who asked Temporal to cancel (the UI's Request Cancellation): read from history, for the message.
const { cancellationRequester, migrationExecutionStatus } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

const SEARCH_ATTRIBUTE_EVERY_MS = 60_000;
/** The sync phase continues-as-new after this many history events (or when Temporal suggests it). */
const CONTINUE_AS_NEW_AFTER_EVENTS = 10_000;
const REFUSED_KEPT = 10;
/** A carried sync phase checks its sync still runs when it has heard nothing for this long. */
const SYNC_LIVENESS_MS = 30 * 60_000;

export async function migration(input: MigrationInput): Promise<MigrationStatus> {
  const id = workflowInfo().workflowId;
  // The input as sent: the CLI fills in defaults, the Temporal UI's Start Workflow form does
  // not. Validate it here, or a partial spec copies nothing and reports success.
  // Migrations started before this check replay with the spec the CLI validated then (the
  // schema has grown stricter since: a replayed run must not refuse what it once accepted).
  const validated = input?.carried !== undefined || patched(VALIDATE_INPUT_PATCH);
  const shape = validated ? parseSpecShape((input as Partial<MigrationInput> | undefined)?.spec) : { spec: input.spec, problems: [] };
  if (!shape.spec) {
    const problems = shape.problems.map(formatProblem).join('\n');
    throw ApplicationFailure.create({ type: 'SpecError', nonRetryable: true, message: `the migration input is not a valid spec (nothing was started): {"spec": {...}} with\n${problems}` });
  }
  const spec = shape.spec;
  const carried = input.carried;
  const status: MigrationStatus = carried ? { ...carried.status, runs: carried.runs } : {
    migrationId: id,
    name: spec.name,
    phase: 'prepare',
    paused: false,
    targetKind: null,
    startedAt: new Date(Date.now()).toISOString(),
    finishedAt: null,
    rowsCopied: 0,
    rowsEstimated: 0,
    tables: [],
    throttle: spec.backfill.maxRowsPerSecond,
    lag: null,
    sync: null,
    syncWorkflowId: null,
    capture: null,
    verification: null,
    error: null,
    refused: [],
    runs: 1,
  };
  /** Running children (backfill, verify, sync), to forward operator signals to. */
  const children = new Set<string>(carried && status.syncWorkflowId ? [status.syncWorkflowId] : []);
  const refuse = (message: string, reason: string) => {
    log.warn(`refused ${message}: ${reason}`);
    status.refused = [...(status.refused ?? []), { message, reason, at: new Date(Date.now()).toISOString() }].slice(-REFUSED_KEPT);
  };
  let abortReason: string | null = null;
  let lastUpsert = 0;

  const publish = (force = false) => {
    if (!force && Date.now() - lastUpsert < SEARCH_ATTRIBUTE_EVERY_MS) return;
    lastUpsert = Date.now();
    upsertSearchAttributes([
      { key: searchAttributes.phase, value: status.phase },
      { key: searchAttributes.spec, value: spec.name },
      { key: searchAttributes.rowsCopied, value: status.rowsCopied },
      { key: searchAttributes.rowsTotal, value: status.rowsEstimated },
      { key: searchAttributes.progress, value: status.rowsEstimated ? Math.min(1, status.rowsCopied / status.rowsEstimated) : 0 },
      ...(status.lag ? [{ key: searchAttributes.lagSeconds, value: status.lag.seconds }] : []),
    ]);
  };
  const setPhase = (phase: Phase) => {
    status.phase = phase;
    publish(true);
  };
  const forward = (send: (child: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>) => {
    // A child already closed cannot hear it, and need not.
    for (const id of children) send(getExternalWorkflowHandle(id)).catch(() => undefined);
  };
  // The migration-wide rate is shared by the tables copying at once.
  const tableRate = () => (status.throttle > 0 ? Math.max(1, Math.floor(status.throttle / Math.max(1, Math.min(spec.backfill.tableParallelism, status.tables.length)))) : 0);

  setHandler(statusQuery, () => status);
  setHandler(pauseSignal, () => {
    status.paused = true;
    forward((c) => c.signal(pauseSignal));
  });
  setHandler(resumeSignal, () => {
    status.paused = false;
    forward((c) => c.signal(resumeSignal));
  });
  setHandler(throttleSignal, (payload: unknown) => {
    const rate = parseRate(payload);
    if (!rate.ok) return refuse('throttle', rate.reason);
    status.throttle = rate.value;
    forward((c) => c.signal(throttleSignal, tableRate()));
  });
  setHandler(backfillProgressSignal, (payload: unknown) => {
    const parsed = parseBackfillProgress(payload);
    if (!parsed.ok) return refuse('backfillProgress', parsed.reason);
    const p = parsed.value;
    const t = status.tables.find((x) => x.table === p.table);
    if (!t) return;
    Object.assign(t, { state: p.state, rowsCopied: p.rowsCopied, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal, chunksResumed: p.chunksResumed, estimatedRows: p.rowsTotal, copyStartedAt: p.copyStartedAt, ...(p.error ? { error: p.error } : {}) });
    status.rowsCopied = status.tables.reduce((n, x) => n + x.rowsCopied, 0);
    status.rowsEstimated = status.tables.reduce((n, x) => n + x.estimatedRows, 0);
    publish(p.state === 'done');
  });

  let plans: TablePlan[] = carried?.plans ?? [];
  let syncStopped = false;
  let syncFailed = false;
  /** Why the sync failed, as it reported it (the only word of it once this run has continued-as-new). */
  let syncError: string | null = null;
  setHandler(syncReportSignal, (payload: unknown) => {
    const parsed = parseSyncReport(payload);
    if (!parsed.ok) return refuse('syncReport', parsed.reason);
    const r = parsed.value;
    if (r.final) syncStopped = true;
    if (r.final && r.error) {
      syncFailed = true;
      syncError = r.error;
    }
    status.sync = r.progress;
    status.lag = { seconds: r.progress.lagSeconds, events: r.progress.lagEvents };
    // A column added on the source: verification must compare it too.
    if (r.plans) plans = r.plans;
    publish(true);
  });

  // Goes past the poison event a halted sync waits at. An Update, so a skip that makes no
  // sense (nothing is halted, or another event is) is refused with the reason, not lost.
  setHandler(
    skipPoisonUpdate,
    async () => {
      const at = status.sync!.halted!.position;
      await getExternalWorkflowHandle(status.syncWorkflowId!).signal(skipPoisonSignal, at);
      return { skipped: positionText(at) };
    },
    {
      validator: (req: SkipRequest | undefined) => {
        const halted = status.sync?.halted;
        if (!status.syncWorkflowId || status.sync?.state !== 'halted' || !halted) throw new Error(`nothing to skip: the sync is ${status.sync?.state ?? 'not running'}, not halted on a poison event`);
        const at = positionText(halted.position);
        if (req?.position !== undefined && req.position !== at) throw new Error(`the sync is halted at ${at}, not ${String(req.position)}: nothing skipped`);
      },
    },
  );

  const work = new CancellationScope();
  let capture: CaptureInfo | null = carried?.capture ?? null;
  /** Set before prepareCapture starts: an abort during it must still release what it made. */
  let captureStarted = !!carried?.capture;
  let syncScope: CancellationScope | null = null;
  let syncRun: Promise<unknown> | null = null;
  setHandler(abortSignal, (payload: unknown) => {
    abortReason = parseReason(payload, 'aborted by the operator');
    work.cancel();
  });
  const historyLimit = input.continueAsNewAfterEvents ?? CONTINUE_AS_NEW_AFTER_EVENTS;
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyLimit;
  /** Set when a long phase hands over to a new run (continue-as-new), naming the phase it resumes in. */
  let handOver: 'backfill' | 'sync' | null = null;
  /** Backfill children started, by workflow id (carried: a new run adopts them). */
  const backfillStarted = new Set<string>(carried?.backfillStarted ?? []);

  publish(true);
  try {
    await work.run(async () => {
      if (carried && (carried.phase ?? 'sync') === 'sync') {
        // A new run of a migration in its sync phase: the sync child runs on (it is abandoned,
        // not cancelled, when a run closes) and reports here; wait for its end or the next hand-over.
        for (;;) {
          if (await condition(() => syncStopped || syncFailed || historyFull(), SYNC_LIVENESS_MS)) break;
          // No report for a long while: a sync terminated by hand never sends its last one.
          const state = await migrationExecutionStatus({ migrationId: status.syncWorkflowId! }).catch(() => 'RUNNING');
          if (state !== 'RUNNING') {
            syncFailed = true;
            syncError = `its workflow ${status.syncWorkflowId} is ${state.toLowerCase()}`;
          }
        }
        if (syncFailed) throw ApplicationFailure.nonRetryable(`the sync failed: ${syncError ?? 'see the sync workflow'}`, 'SyncFailed');
        handOver = syncStopped ? null : 'sync';
        return;
      }
      if (!carried) await prepare();
      if (carried || patched(BACKFILL_HANDOVER_PATCH)) {
        const outcome = await runBackfillPhase({ migrationId: id, spec, plans, status, started: backfillStarted, children, tableRate, historyFull });
        if (outcome === 'handover') {
          handOver = 'backfill';
          return;
        }
      } else {
        await backfillAwaitingChildren();
      }
      await afterBackfill();
    });
  } catch (err) {
    status.finishedAt = new Date(Date.now()).toISOString();
    if (abortReason === null && isCancellation(err) && CancellationScope.current().consideredCancelled) {
      // Temporal's own cancel (the UI's Request Cancellation): ends like an abort, never as a failure with no message.
      const who = await CancellationScope.nonCancellable(() => cancellationRequester({ workflowId: id, runId: workflowInfo().runId })).catch(() => 'by a Temporal cancellation request');
      abortReason = `cancelled ${who}`;
    }
    // Backfill children are abandoned on close (so they survive continue-as-new): stop them here.
    await CancellationScope.nonCancellable(() => stopBackfills({ migrationId: id, plans, status, started: backfillStarted })).catch(() => undefined);
    if (captureStarted) await release();
    if (abortReason !== null && isCancellation(err)) {
      status.error = abortReason;
      setPhase('aborted');
      throw ApplicationFailure.create({ message: `migration aborted: ${abortReason}`, type: 'MigrationAborted', nonRetryable: true, details: [status] });
    }
    status.error = innermostMessage(err);
    setPhase('failed');
    throw ApplicationFailure.create({ message: status.error, type: 'MigrationFailed', nonRetryable: true, details: [status], cause: err as Error });
  }
  if (handOver) {
    // The phase goes on in a new run with everything this one knew (no row data).
    return await continueAsNew<typeof migration>({ ...input, carried: { status, plans, capture, phase: handOver, backfillStarted: [...backfillStarted], runs: (status.runs ?? 1) + 1 } });
  }
  status.finishedAt = new Date(Date.now()).toISOString();
  if (captureStarted) await release();
  setPhase('completed');
  return status;

  /** prepare: the plan, the target objects, and (online) capture with its start marker. */
  async function prepare(): Promise<void> {
    const plan = await prepareMigration({ spec });
    status.targetKind = plan.targetKind;
    status.tables = plan.tables.map((t) => ({
      table: t.display, workflowId: backfillWorkflowId(id, t.table), state: 'pending', estimatedRows: t.estimatedRows, rowsCopied: 0, chunksDone: 0, chunksTotal: 0, chunksResumed: 0, copyStartedAt: null,
    }));
    status.rowsEstimated = plan.tables.reduce((n, t) => n + t.estimatedRows, 0);
    plans = plan.tables;

    if (spec.mode === 'online') {
      // Capture must be running, and its start recorded, before the first chunk is read.
      captureStarted = true;
      const prepared = await prepareCapture({ spec, plans: plan.tables, migrationId: id });
      capture = prepared;
      status.capture = { name: prepared.name, marker: prepared.marker };
    }

    setPhase('backfill');
  }

  /** The backfill as migrations started before BACKFILL_HANDOVER_PATCH ran it (their histories replay this). */
  async function backfillAwaitingChildren(): Promise<void> {
    await inWindow(plans, spec.backfill.tableParallelism, async (table: TablePlan) => {
      const startedPaused = status.paused;
      const handle = await startChild(backfillTable, {
        workflowId: backfillWorkflowId(id, table.table),
        taskQueue: taskQueues.control,
        // If the migration fails (another table failed), children are asked to stop
        // cleanly — their copies finish the batch in hand — rather than terminated.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [{ spec, plan: table, parentId: id, paused: startedPaused, throttle: tableRate() }],
      });
      children.add(handle.workflowId);
      // A pause or resume that arrived while the child was starting has not reached it.
      if (status.paused !== startedPaused) await handle.signal(status.paused ? pauseSignal : resumeSignal);
      await handle.result();
    });
  }

  /** indexes, then verify (offline) or catch-up, verify and sync (online). */
  async function afterBackfill(): Promise<void> {
    // Indexes and foreign keys once every table is loaded (a FK needs its parent table).
    setPhase('indexes');
    await inWindow(plans, spec.backfill.tableParallelism, (table) => finishTable({ spec, plan: table }));

    if (!capture) {
      setPhase('verify');
      status.verification = await verifyTables(spec, plans, `${id}/verify`, () => status.paused, (h) => children.add(h.workflowId));
      upsertSearchAttributes([{ key: searchAttributes.verify, value: status.verification.clean ? 'clean' : 'mismatch' }]);
      if (!status.verification.clean) {
        throw ApplicationFailure.nonRetryable(`verification found differences: ${describeDifferences(status.verification)}; run ferry verify --id ${id} for the keys, ferry repair --id ${id} to re-copy them`, 'VerificationFailed');
      }
      return;
    }

    // Online: replay every change since the start marker over the finished backfill.
    setPhase('catch-up');
    // Its own scope: on any failure the sync is stopped (and awaited) before capture is released.
    syncScope = new CancellationScope();
    const started = capture;
    let syncEnded = false;
    const handOverAllowed = patched(SYNC_HANDOVER_PATCH);
    const syncResult = syncScope.run(async () => {
      const handle = await startChild(syncChanges, {
        workflowId: syncWorkflowId(id),
        taskQueue: taskQueues.control,
        // The sync outlives this run's continue-as-new (a cancel-on-close policy would stop it
        // then); if the migration is terminated instead, the sync notices and releases capture.
        parentClosePolicy: handOverAllowed ? ParentClosePolicy.ABANDON : ParentClosePolicy.REQUEST_CANCEL,
        // A cancel reaches only the child's first run; release() stops it by signal and waits for its last report.
        cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
        args: [{ spec, plans, capture: started, parentId: id, paused: status.paused }],
      });
      children.add(handle.workflowId);
      status.syncWorkflowId = handle.workflowId;
      return handle.result();
    });
    syncRun = syncResult
      .catch((err) => {
        // Ended on its own (not stopped by us): there is no consumer left to wait for.
        if (!isCancellation(err)) syncFailed = true;
        throw err;
      })
      .finally(() => void (syncEnded = true));
    const sync = { workflowId: syncWorkflowId(id) };
    await Promise.race([condition(() => status.sync?.state === 'caught-up'), syncRun]);

    // Verify while writes go on; keys that differ are re-checked once the sync has passed them.
    setPhase('verify');
    const verifyId = `${id}/verify`;
    let verification = await verifyTables(spec, plans, verifyId, () => status.paused, (h) => children.add(h.workflowId));
    for (let round = 0; round < RECHECK_ROUNDS && needsRecheck(verification) && !syncEnded; round++) {
      // A sync that fails meanwhile fails the migration instead of leaving the re-check waiting.
      verification = await Promise.race([recheckRound(spec, plans, verification, verifyId, sync.workflowId), syncRun.then(() => verification)]);
    }
    status.verification = verification;
    upsertSearchAttributes([{ key: searchAttributes.verify, value: verification.clean ? 'clean' : 'mismatch' }]);

    // From here the target follows the source until the operator aborts (cutover comes later).
    // Every sync report adds history: hand over to a new run before it grows large.
    setPhase('sync');
    if (!handOverAllowed) {
      await syncRun;
      return;
    }
    await Promise.race([syncRun, condition(() => historyFull() || syncFailed)]);
    if (syncFailed) await syncRun;
    handOver = syncEnded ? null : 'sync';
  }

  /**
   * The connector and the replication slot must not outlive the migration: a slot left behind
   * holds WAL forever. The sync stops first (its consumer leaves the group), then capture goes.
   */
  async function release(): Promise<void> {
    syncScope?.cancel();
    await CancellationScope.nonCancellable(async () => {
      // By id, not run: the sync may have continued-as-new since it started (a cancel would miss it).
      if (status.syncWorkflowId && !syncStopped) {
        await getExternalWorkflowHandle(status.syncWorkflowId).signal(abortSignal, 'the migration ended').catch(() => undefined);
        // Its last report says the consumer has stopped; a sync that already ended sends none.
        await condition(() => syncStopped || syncFailed, '2 minutes');
      }
      const released = await releaseCapture({ spec, captureName: capture?.name, migrationId: id });
      if (released.left.length) {
        status.captureLeft = released.left;
        status.error = `${status.error ?? ''} (change capture ${released.name} not fully released: ${released.left.map((l) => l.what).join(', ')}; run ferry cleanup --id ${id})`.trim();
      }
    }).catch(() => {
      status.error = `${status.error ?? ''} (could not release change capture${capture ? ` ${capture.name}` : ''}: run ferry cleanup --id ${id})`.trim();
    });
  }

}

function describeDifferences(v: VerificationResult): string {
  return v.tables
    .filter((t) => t.missing + t.extra + t.different > 0 || t.sourceRows !== t.targetRows)
    .map((t) => `${t.table}: ${t.missing} missing, ${t.extra} extra, ${t.different} different (source ${t.sourceRows} rows, target ${t.targetRows})`)
    .join('; ');
}
