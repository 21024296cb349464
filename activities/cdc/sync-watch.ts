// Activities that must wait for the sync to reach some state (a re-check for the sync to pass
// a moment, a repair for its consumer to stop) ask its live figures by query once a second,
// heartbeating, and give up at once if the sync has ended: one loop for both.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { syncProgressQuery } from '../../contracts/messages';
import type { SyncProgress } from '../../contracts/sync';

const POLL_MS = 1_000;

/** Resolves once `ready` holds for the sync's progress; `why` says what needs a running sync. */
export async function awaitSync(syncWorkflowId: string, ready: (p: SyncProgress) => boolean, why: string): Promise<void> {
  const ctx = Context.current();
  const handle = ctx.client.workflow.getHandle(syncWorkflowId);
  for (;;) {
    const desc = await handle.describe().catch(() => null);
    // describe() names the latest run: a sync that continued-as-new is RUNNING there.
    if (desc && desc.status.name !== 'RUNNING') {
      throw ApplicationFailure.nonRetryable(`the sync (${syncWorkflowId}) is ${desc.status.name.toLowerCase()}: ${why}`, 'SyncEnded');
    }
    const p = await handle.query(syncProgressQuery).catch(() => null);
    if (p && ready(p)) return;
    ctx.heartbeat();
    await ctx.sleep(POLL_MS);
  }
}

/** Resolves once the sync reports having applied every change committed before `sinceMs` (a re-check's wait); fails if it has ended. */
export function awaitSyncPast(syncWorkflowId: string, sinceMs: number, why: string): Promise<void> {
  return awaitSync(syncWorkflowId, (p) => Date.parse(p.updatedAt) - p.lagSeconds * 1000 > sinceMs && p.state !== 'halted', why);
}
