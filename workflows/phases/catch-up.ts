// catch-up (online): the sync child replays every change since the start marker over the
// finished backfill; the phase ends when it has caught up (or ended: the next phase sees that).
import { ChildWorkflowCancellationType, CancellationScope, condition, isCancellation, ParentClosePolicy, patched, startChild } from '@temporalio/workflow';
import { syncWorkflowId } from '../../contracts/ids';
import { taskQueues } from '../../contracts/queues';
import { syncChanges } from '../sync';
import type { MigrationContext } from './context';

/** New migrations abandon their sync child on close and continue-as-new during the sync. */
const SYNC_HANDOVER_PATCH = 'sync-continue-as-new';

export async function catchUp(ctx: MigrationContext): Promise<'verify'> {
  const { id, spec, status, sync } = ctx;
  // Its own scope: on any failure the sync is stopped (and awaited) before capture is released.
  sync.scope = new CancellationScope();
  // indexes goes on to catch-up only when prepare made change capture.
  const started = ctx.capture!;
  sync.handOverAllowed = patched(SYNC_HANDOVER_PATCH);
  const syncResult = sync.scope.run(async () => {
    const handle = await startChild(syncChanges, {
      workflowId: syncWorkflowId(id),
      taskQueue: taskQueues.control,
      // The sync outlives this run's continue-as-new (a cancel-on-close policy would stop it
      // then); if the migration is terminated instead, the sync notices and releases capture.
      parentClosePolicy: sync.handOverAllowed ? ParentClosePolicy.ABANDON : ParentClosePolicy.REQUEST_CANCEL,
      // A cancel reaches only the child's first run; release() stops it by signal and waits for its last report.
      cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
      args: [{ spec, plans: ctx.plans, capture: started, parentId: id, paused: status.paused }],
    });
    ctx.children.add(handle.workflowId);
    status.syncWorkflowId = handle.workflowId;
    return handle.result();
  });
  const run = syncResult
    .catch((err) => {
      // Ended on its own (not stopped by us): there is no consumer left to wait for.
      if (!isCancellation(err)) sync.failed = true;
      throw err;
    })
    .finally(() => void (sync.ended = true));
  sync.run = run;
  await Promise.race([condition(() => status.sync?.state === 'caught-up'), run]);
  return 'verify';
}
