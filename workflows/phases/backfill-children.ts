// The migration's backfill phase: one child per table (at most tableParallelism at once),
// driven by the children's own reports rather than by awaiting their results, so that the
// migration can continue-as-new in the middle of a days-long backfill: the new run adopts
// the children already started (their ids are carried) and starts the rest. Children are
// abandoned on parent close for that reason; the migration stops them itself when it fails
// or is aborted, and a child whose migration is gone stops at its next report.
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  startChild,
} from '@temporalio/workflow';
import type * as activities from '../../activities';
import { backfillWorkflowId } from '../../contracts/ids';
import { pauseSignal, resumeSignal } from '../../contracts/messages';
import type { MigrationStatus } from '../../contracts/migration';
import { taskQueues } from '../../contracts/queues';
import type { TablePlan } from '../../contracts/tables';
import type { Spec } from '../../contracts/spec';
import { backfillTable } from '../backfill';

const { migrationExecutionStatus, awaitWorkflowsClosed } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds' },
});

/** How long the phase waits for a report before it checks that its running children still run. */
const LIVENESS_CHECK_MS = 15 * 60_000;

export interface BackfillPhase {
  migrationId: string;
  spec: Spec;
  plans: TablePlan[];
  status: MigrationStatus;
  /** Children already started (carried through continue-as-new); the phase adds to it. */
  started: Set<string>;
  /** Operator signals are forwarded to these. */
  children: Set<string>;
  tableRate: () => number;
  /** True when the history is large enough to hand over to a new run. */
  historyFull: () => boolean;
}

const finished = (state: string) => state === 'done' || state === 'failed';

/** Runs (or resumes) the backfill; 'handover' when the caller should continue-as-new. */
export async function runBackfillPhase(p: BackfillPhase): Promise<'done' | 'handover'> {
  const { migrationId: id, spec, plans, status, started } = p;
  const childId = (t: TablePlan) => backfillWorkflowId(id, t.table);
  const stateOf = (t: TablePlan) => status.tables.find((x) => x.table === t.display);
  const running = () => plans.filter((t) => started.has(childId(t)) && !finished(stateOf(t)?.state ?? 'pending'));
  const pending = plans.filter((t) => !started.has(childId(t)));
  for (const t of plans) if (started.has(childId(t))) p.children.add(childId(t));
  for (;;) {
    const failed = plans.find((t) => stateOf(t)?.state === 'failed');
    if (failed) throw ApplicationFailure.nonRetryable(`${failed.display}: ${stateOf(failed)?.error ?? 'its backfill failed'}`, 'BackfillFailed');
    if (!pending.length && !running().length) return 'done';
    // Hand over only between starts: a child being started is not yet in `started`.
    if (p.historyFull()) return 'handover';
    if (pending.length && running().length < spec.backfill.tableParallelism) {
      const table = pending.shift()!;
      const startedPaused = status.paused;
      const handle = await startChild(backfillTable, {
        workflowId: childId(table),
        taskQueue: taskQueues.control,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{ spec, plan: table, parentId: id, paused: startedPaused, throttle: p.tableRate() }],
      });
      started.add(handle.workflowId);
      p.children.add(handle.workflowId);
      // A pause or resume that arrived while the child was starting has not reached it.
      if (status.paused !== startedPaused) await handle.signal(status.paused ? pauseSignal : resumeSignal);
      continue;
    }
    const seen = plans.map((t) => stateOf(t)?.state).join();
    const moved = await condition(() => plans.map((t) => stateOf(t)?.state).join() !== seen || p.historyFull(), LIVENESS_CHECK_MS);
    if (!moved) {
      // A child terminated by hand never reports: find it instead of waiting forever.
      for (const t of running()) {
        const s = await migrationExecutionStatus({ migrationId: childId(t) }).catch(() => 'RUNNING');
        const table = stateOf(t);
        // Completed, its last report lost: it is done all the same.
        if (s === 'COMPLETED' && table) table.state = 'done';
        else if (s !== 'RUNNING' && !finished(table?.state ?? 'pending')) throw ApplicationFailure.nonRetryable(`${t.display}: its backfill workflow ${childId(t)} is ${s.toLowerCase()} without having finished`, 'BackfillFailed');
      }
    }
  }
}

/** Stops the children still copying (a failure or an abort) and waits until none writes any more. */
export async function stopBackfills(p: Pick<BackfillPhase, 'migrationId' | 'plans' | 'status' | 'started'>): Promise<void> {
  const ids = p.plans
    .filter((t) => p.started.has(backfillWorkflowId(p.migrationId, t.table)) && !finished(p.status.tables.find((x) => x.table === t.display)?.state ?? 'pending'))
    .map((t) => backfillWorkflowId(p.migrationId, t.table));
  if (!ids.length) return;
  for (const id of ids) await getExternalWorkflowHandle(id).cancel().catch(() => undefined);
  await awaitWorkflowsClosed({ workflowIds: ids });
}
