// The reverse sync child (target → source) through cut-over: started once the switch is done
// from the capture the cutover's reverse-capture step made, adopted by later runs (it reports by
// signal, like the forward sync), and stopped — its consumer out of the group, its capture
// released — when the migration is finalized, rolled back or ends otherwise.
import { CancellationScope, condition, getExternalWorkflowHandle, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { reverseSyncWorkflowId } from '../../contracts/ids';
import { abortSignal } from '../../contracts/messages';
import { taskQueues } from '../../contracts/queues';
import { reverseCaptured, reversedSpec } from '../../contracts/reverse';
import { syncStreams } from '../stream-sync';
import { syncChanges } from '../sync';
import { releaseReverseCapture } from './activities';
import type { MigrationContext } from './context';

/** Why this migration runs no reverse sync (the cutover's skipped reverse-capture step, a rehearsal's skipped drill). */
export function noReverseSyncReason(ctx: MigrationContext): string {
  const { spec, status } = ctx;
  if (spec.cutover.reverse?.mode === 'off') return 'cutover.reverse.mode is off';
  if (status.reverse) return 'this migration began before the reverse sync existed';
  return `the ${status.targetKind ?? 'target'} mapping cannot be inverted exactly: ferry plan names where`;
}

/** `drill`: a rehearsal's (engines/drill.ts): the reverse sync reads and commits, and writes nothing to the source. */
export async function startReverseSync(ctx: MigrationContext, opts: { drill?: boolean } = {}): Promise<void> {
  const { id, spec, status } = ctx;
  const rev = status.reverse!;
  // It outlives this run's continue-as-new; a terminated migration's sync notices and releases its capture.
  const options = { workflowId: reverseSyncWorkflowId(id), taskQueue: taskQueues.control, parentClosePolicy: ParentClosePolicy.ABANDON };
  const handle = rev.capture
    ? await startChild(syncChanges, { ...options, args: [{ spec: reversedSpec(spec), plans: ctx.plans, capture: rev.capture, parentId: id, paused: status.paused, direction: 'reverse', ...(opts.drill ? { drill: true } : {}) }] })
    : await startChild(syncStreams, { ...options, args: [{ spec, plans: ctx.plans, streams: rev.streams!, parentId: id, paused: status.paused, ...(opts.drill ? { drill: true } : {}) }] });
  rev.workflowId = handle.workflowId;
  ctx.children.add(handle.workflowId);
}

/** Stops the reverse sync (by id: it may have continued-as-new), waits for its last report, then removes its capture. Never throws. */
export async function stopReverseSync(ctx: MigrationContext): Promise<string> {
  const { id, spec, status } = ctx;
  const rev = status.reverse;
  if (!rev || !reverseCaptured(rev)) return 'no reverse sync';
  return CancellationScope.nonCancellable(async () => {
    if (rev.workflowId && !rev.stopped) {
      await getExternalWorkflowHandle(rev.workflowId).signal(abortSignal, 'the migration ended').catch(() => undefined);
      await condition(() => rev.stopped, '2 minutes');
      ctx.children.delete(rev.workflowId);
    }
    const released = await releaseReverseCapture({ spec, migrationId: id });
    if (released.left.length) {
      status.captureLeft = [...(status.captureLeft ?? []), ...released.left];
      status.error = `${status.error ?? ''} (reverse capture ${released.name} not fully released: ${released.left.map((l) => l.what).join(', ')}; run ferry cleanup --id ${id})`.trim();
    }
    rev.capture = null;
    rev.streams = null;
    return released.left.length ? `left ${released.left.map((l) => l.what).join(', ')}` : `removed ${released.removed.join(', ') || 'nothing (nothing of it is left on the server)'}`;
  }).catch((err) => {
    status.error = `${status.error ?? ''} (could not release the reverse capture: ${(err as Error).message}; run ferry cleanup --id ${id})`.trim();
    return 'release failed';
  });
}
