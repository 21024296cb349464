// A repair of an online migration holds the sync (holdSignal) and must not write until the
// sync's consumer has really stopped: this waits for the sync to say so.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { syncProgressQuery } from '../../workflows/definitions';

const POLL_MS = 1_000;

export async function awaitSyncHeld(input: { syncWorkflowId: string; holder: string }): Promise<void> {
  const ctx = Context.current();
  const handle = ctx.client.workflow.getHandle(input.syncWorkflowId);
  for (;;) {
    const desc = await handle.describe().catch(() => null);
    if (desc && desc.status.name !== 'RUNNING') {
      throw ApplicationFailure.nonRetryable(`the sync ${input.syncWorkflowId} is ${desc.status.name.toLowerCase()}: nothing to hold; run the repair without it`, 'SyncEnded');
    }
    const p = await handle.query(syncProgressQuery).catch(() => null);
    // heldBy is published only once no apply run is in flight (a halted sync has none either).
    if (p && (p.state === 'stopped' || p.state === 'halted') && (p.heldBy ?? []).includes(input.holder)) return;
    ctx.heartbeat();
    await ctx.sleep(POLL_MS);
  }
}
