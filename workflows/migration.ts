// The migration: phases in order, operator messages, and the status everyone reads (the CLI
// by query, the Temporal UI by search attributes). Row data never passes through here:
// only the plan (names, columns, keys), counts and the verification summary.
import {
  ActivityCancellationType,
  ApplicationFailure,
  ChildWorkflowCancellationType,
  CancellationScope,
  condition,
  ParentClosePolicy,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import {
  MigrationInput,
  MigrationStatus,
  Phase,
  TablePlan,
  abortSignal,
  backfillProgressSignal,
  backfillWorkflowId,
  pauseSignal,
  resumeSignal,
  searchAttributes,
  statusQuery,
  syncReportSignal,
  syncWorkflowId,
  taskQueues,
  throttleSignal,
  type CaptureInfo,
  type VerificationResult,
} from './definitions';
import { syncChanges } from './sync';
import { backfillTable } from './backfill';
import { verifyTables } from './verify';
import { inWindow } from './window';

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
const { prepareCapture, releaseCapture, recheckMismatches } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  // An abort waits for prepareCapture to stop, so nothing it creates appears after the release.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

const SEARCH_ATTRIBUTE_EVERY_MS = 60_000;
/** Rounds of re-checking keys that differed while the source kept changing (online verification). */
const RECHECK_ROUNDS = 3;

export async function migration(input: MigrationInput): Promise<MigrationStatus> {
  const { spec } = input;
  const id = workflowInfo().workflowId;
  const status: MigrationStatus = {
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
  };
  /** Running children (backfill, verify), to forward operator signals to. */
  const children = new Set<string>();
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
  setHandler(throttleSignal, (rowsPerSecond) => {
    status.throttle = Math.max(0, Math.floor(rowsPerSecond));
    forward((c) => c.signal(throttleSignal, tableRate()));
  });
  setHandler(backfillProgressSignal, (p) => {
    const t = status.tables.find((x) => x.table === p.table);
    if (!t) return;
    Object.assign(t, { state: p.state, rowsCopied: p.rowsCopied, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal, chunksResumed: p.chunksResumed, estimatedRows: p.rowsTotal, copyStartedAt: p.copyStartedAt });
    status.rowsCopied = status.tables.reduce((n, x) => n + x.rowsCopied, 0);
    status.rowsEstimated = status.tables.reduce((n, x) => n + x.estimatedRows, 0);
    publish(p.state === 'done');
  });

  let plans: TablePlan[] = [];
  let syncStopped = false;
  let syncFailed = false;
  setHandler(syncReportSignal, (r) => {
    if (r.final) syncStopped = true;
    status.sync = r.progress;
    status.lag = { seconds: r.progress.lagSeconds, events: r.progress.lagEvents };
    // A column added on the source: verification must compare it too.
    if (r.plans) plans = r.plans;
    publish(true);
  });

  const work = new CancellationScope();
  let capture: CaptureInfo | null = null;
  /** Set before prepareCapture starts: an abort during it must still release what it made. */
  let captureStarted = false;
  let syncScope: CancellationScope | null = null;
  let syncRun: Promise<unknown> | null = null;
  setHandler(abortSignal, (reason) => {
    abortReason = reason || 'aborted by the operator';
    work.cancel();
  });

  publish(true);
  try {
    await work.run(async () => {
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
      await inWindow(plan.tables, spec.backfill.tableParallelism, async (table: TablePlan) => {
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

      // Indexes and foreign keys once every table is loaded (a FK needs its parent table).
      setPhase('indexes');
      await inWindow(plan.tables, spec.backfill.tableParallelism, (table) => finishTable({ spec, plan: table }));

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
      const syncResult = syncScope.run(async () => {
        const handle = await startChild(syncChanges, {
          workflowId: syncWorkflowId(id),
          taskQueue: taskQueues.control,
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
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
      for (let round = 0; round < RECHECK_ROUNDS && !verification.clean && !syncEnded; round++) {
        // A sync that fails meanwhile fails the migration instead of leaving the re-check waiting.
        verification = await Promise.race([recheck(verification, verifyId, sync.workflowId), syncRun.then(() => verification)]);
      }
      status.verification = verification;
      upsertSearchAttributes([{ key: searchAttributes.verify, value: verification.clean ? 'clean' : 'mismatch' }]);

      // From here the target follows the source until the operator aborts (cutover comes later).
      setPhase('sync');
      await syncRun;
    });
  } catch (err) {
    status.finishedAt = new Date(Date.now()).toISOString();
    if (captureStarted) await release();
    if (abortReason !== null && isCancellation(err)) {
      status.error = abortReason;
      setPhase('aborted');
      throw ApplicationFailure.create({ message: `migration aborted: ${abortReason}`, type: 'MigrationAborted', nonRetryable: true, details: [status] });
    }
    status.error = errorMessage(err);
    setPhase('failed');
    throw ApplicationFailure.create({ message: status.error, type: 'MigrationFailed', nonRetryable: true, details: [status], cause: err as Error });
  }
  status.finishedAt = new Date(Date.now()).toISOString();
  if (captureStarted) await release();
  setPhase('completed');
  return status;

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
      await releaseCapture({ spec, captureName: capture?.name, migrationId: id });
    }).catch(() => {
      status.error = `${status.error ?? ''} (could not release change capture${capture ? ` ${capture.name}` : ''}: delete the connector and drop the replication slot by hand)`.trim();
    });
  }

  /** One re-check round over every table that still has differing keys. */
  async function recheck(v: VerificationResult, verifyId: string, syncId: string): Promise<VerificationResult> {
    const tables = await Promise.all(
      v.tables.map(async (t) => {
        if (t.missing + t.extra + t.different === 0) return t;
        const plan = plans.find((p) => p.display === t.table)!;
        const r = await recheckMismatches({ spec, plan, verifyId, syncWorkflowId: syncId });
        return { ...t, ...r.remaining, sample: r.sample };
      }),
    );
    // Row counts were taken while rows kept arriving; every differing key is in the per-key figures.
    return { ...v, tables, clean: tables.every((t) => t.missing + t.extra + t.different === 0), checkedAt: new Date(Date.now()).toISOString() };
  }
}

function describeDifferences(v: VerificationResult): string {
  return v.tables
    .filter((t) => t.missing + t.extra + t.different > 0 || t.sourceRows !== t.targetRows)
    .map((t) => `${t.table}: ${t.missing} missing, ${t.extra} extra, ${t.different} different (source ${t.sourceRows} rows, target ${t.targetRows})`)
    .join('; ');
}

/** The innermost message: a child or activity failure wraps the reason that matters. */
function errorMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
