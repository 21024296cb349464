// sync (online): the target follows the source until the operator aborts (cutover comes
// later). Every sync report adds history, so the phase hands over to a new run before it
// grows large; the sync child runs on (it is abandoned, not cancelled, when a run closes)
// and reports to the new run, which adopts it.
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { migrationExecutionStatus } from './activities';
import type { MigrationContext } from './context';

/** A carried sync phase checks its sync still runs when it has heard nothing for this long. */
const SYNC_LIVENESS_MS = 30 * 60_000;

/** 'sync' again: go on in a new run (continue-as-new). */
export async function sync(ctx: MigrationContext): Promise<'completed' | 'sync'> {
  const { sync } = ctx;
  if (!sync.run) return followAdoptedSync(ctx);
  // Migrations started before the sync could hand over wait for their sync to end.
  if (!sync.handOverAllowed) {
    await sync.run;
    return 'completed';
  }
  await Promise.race([sync.run, condition(() => ctx.historyFull() || sync.failed)]);
  if (sync.failed) await sync.run;
  return sync.ended ? 'completed' : 'sync';
}

/** A new run of a migration in its sync phase: wait for the sync's end or the next hand-over. */
async function followAdoptedSync(ctx: MigrationContext): Promise<'completed' | 'sync'> {
  const { sync, status } = ctx;
  for (;;) {
    if (await condition(() => sync.stopped || sync.failed || ctx.historyFull(), SYNC_LIVENESS_MS)) break;
    // No report for a long while: a sync terminated by hand never sends its last one.
    const state = await migrationExecutionStatus({ migrationId: status.syncWorkflowId! }).catch(() => 'RUNNING');
    if (state !== 'RUNNING') {
      sync.failed = true;
      sync.error = `its workflow ${status.syncWorkflowId} is ${state.toLowerCase()}`;
    }
  }
  if (sync.failed) throw ApplicationFailure.nonRetryable(`the sync failed: ${sync.error ?? 'see the sync workflow'}`, 'SyncFailed');
  return sync.stopped ? 'completed' : 'sync';
}
