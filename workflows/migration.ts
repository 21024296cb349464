// The migration: phases in order, operator messages, and the status everyone reads (the CLI
// by query, the Temporal UI by search attributes). Row data never passes through here:
// only the plan (names, columns, keys), counts and the verification summary.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowHandle,
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
  taskQueues,
} from './definitions';
import { backfillTable } from './backfill';

const { prepareMigration } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// Counting a billion rows takes a while: heartbeats say it is alive, one table per activity.
const { countTable } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

const SEARCH_ATTRIBUTE_EVERY_MS = 60_000;

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
    lag: null,
    verification: null,
    error: null,
  };
  const children = new Map<string, ChildWorkflowHandle<typeof backfillTable>>();
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
    ]);
  };
  const setPhase = (phase: Phase) => {
    status.phase = phase;
    publish(true);
  };
  const forward = (signal: typeof pauseSignal | typeof resumeSignal) => {
    for (const handle of children.values()) {
      getExternalWorkflowHandle(handle.workflowId).signal(signal).catch(() => undefined); // child already closed
    }
  };

  setHandler(statusQuery, () => status);
  setHandler(pauseSignal, () => {
    status.paused = true;
    forward(pauseSignal);
  });
  setHandler(resumeSignal, () => {
    status.paused = false;
    forward(resumeSignal);
  });
  setHandler(backfillProgressSignal, (p) => {
    const t = status.tables.find((x) => x.table === p.table);
    if (!t) return;
    Object.assign(t, { state: p.state, rowsCopied: p.rowsCopied, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal, chunksResumed: p.chunksResumed, estimatedRows: p.rowsTotal });
    status.rowsCopied = status.tables.reduce((n, x) => n + x.rowsCopied, 0);
    status.rowsEstimated = status.tables.reduce((n, x) => n + x.estimatedRows, 0);
    publish(p.state === 'done');
  });

  const work = new CancellationScope();
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
        table: t.display, workflowId: backfillWorkflowId(id, t.table), state: 'pending', estimatedRows: t.estimatedRows, rowsCopied: 0, chunksDone: 0, chunksTotal: 0, chunksResumed: 0,
      }));
      status.rowsEstimated = plan.tables.reduce((n, t) => n + t.estimatedRows, 0);

      setPhase('backfill');
      await inWindow(plan.tables, spec.backfill.tableParallelism, async (table: TablePlan) => {
        const startedPaused = status.paused;
        const handle = await startChild(backfillTable, {
          workflowId: backfillWorkflowId(id, table.table),
          taskQueue: taskQueues.control,
          // If the migration fails (another table failed), children are asked to stop
          // cleanly — their copies finish the batch in hand — rather than terminated.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          args: [{ spec, plan: table, parentId: id, paused: startedPaused }],
        });
        children.set(table.display, handle);
        // A pause or resume that arrived while the child was starting has not reached it.
        if (status.paused !== startedPaused) await handle.signal(status.paused ? pauseSignal : resumeSignal);
        await handle.result();
      });

      setPhase('verify');
      const counts = [];
      for (const table of plan.tables) counts.push(await countTable({ spec, plan: table }));
      status.verification = { method: 'counts', clean: counts.every((c) => c.match), checkedAt: new Date(Date.now()).toISOString(), tables: counts };
      upsertSearchAttributes([{ key: searchAttributes.verify, value: status.verification.clean ? 'clean' : 'mismatch' }]);
      if (!status.verification.clean) {
        const diff = status.verification.tables.filter((t) => !t.match).map((t) => `${t.table}: source ${t.sourceRows}, target ${t.targetRows}`);
        throw ApplicationFailure.nonRetryable(`verification found differences: ${diff.join('; ')}`, 'VerificationFailed');
      }
    });
  } catch (err) {
    status.finishedAt = new Date(Date.now()).toISOString();
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
  setPhase('completed');
  return status;
}

/** Runs fn over items with at most `limit` running at once; the first failure wins. */
async function inWindow<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const lanes = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(lanes);
}

/** The innermost message: a child or activity failure wraps the reason that matters. */
function errorMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
