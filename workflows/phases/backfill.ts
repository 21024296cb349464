// backfill: one child per table copies its rows (backfill-children.ts drives them).
import { ParentClosePolicy, patched, startChild } from '@temporalio/workflow';
import { backfillWorkflowId } from '../../contracts/ids';
import { pauseSignal, resumeSignal } from '../../contracts/messages';
import { taskQueues } from '../../contracts/queues';
import type { TablePlan } from '../../contracts/tables';
import { backfillTable } from '../backfill';
import { runBackfillPhase } from './backfill-children';
import { inWindow } from '../window';
import type { MigrationContext } from './context';

/** New migrations drive the backfill from the children's reports, so it can continue-as-new. */
const BACKFILL_HANDOVER_PATCH = 'backfill-continue-as-new';

/** 'backfill' again: go on in a new run (continue-as-new), adopting the children started. */
export async function backfill(ctx: MigrationContext): Promise<'backfill' | 'indexes'> {
  // A run that continued an earlier one was started by code that had the patch.
  if (ctx.resumed || patched(BACKFILL_HANDOVER_PATCH)) {
    const outcome = await runBackfillPhase({
      migrationId: ctx.id, spec: ctx.spec, plans: ctx.plans, status: ctx.status, started: ctx.backfillStarted, children: ctx.children, tableRate: ctx.tableRate, historyFull: ctx.historyFull,
    });
    return outcome === 'handover' ? 'backfill' : 'indexes';
  }
  await backfillAwaitingChildren(ctx);
  return 'indexes';
}

/** The backfill as migrations started before BACKFILL_HANDOVER_PATCH ran it (their histories replay this). */
async function backfillAwaitingChildren(ctx: MigrationContext): Promise<void> {
  const { id, spec, status } = ctx;
  await inWindow(ctx.plans, spec.backfill.tableParallelism, async (table: TablePlan) => {
    const startedPaused = status.paused;
    const handle = await startChild(backfillTable, {
      workflowId: backfillWorkflowId(id, table.table),
      taskQueue: taskQueues.control,
      // If the migration fails (another table failed), children are asked to stop
      // cleanly — their copies finish the batch in hand — rather than terminated.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [{ spec, plan: table, parentId: id, paused: startedPaused, throttle: ctx.tableRate() }],
    });
    ctx.children.add(handle.workflowId);
    // A pause or resume that arrived while the child was starting has not reached it.
    if (status.paused !== startedPaused) await handle.signal(status.paused ? pauseSignal : resumeSignal);
    await handle.result();
  });
}
