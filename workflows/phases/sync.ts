// sync (online): the target follows the source. Beside the sync run the gates' live reading,
// shadow reads and a scheduled verification (watchers.ts); the phase goes on to cutover once
// approved (the cutover Update, or approval: auto). Every sync report adds history, so the
// phase hands over to a new run before it grows large; the sync child runs on (it is
// abandoned, not cancelled, when a run closes) and reports to the new run, which adopts it.
import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, patched } from '@temporalio/workflow';
import { migrationExecutionStatus, writeRouting } from './activities';
import { emptyRehearsalSteps } from '../../contracts/rehearsal';
import type { MigrationContext } from './context';
import { gateLoop, refreshGates, shadowLoop, verifyLoop } from './watchers';

/** A carried sync phase checks its sync still runs when it has heard nothing for this long. */
const SYNC_LIVENESS_MS = 30 * 60_000;
/** New migrations watch gates, read shadows and re-verify while syncing, and can cut over. */
const CUTOVER_PATCH = 'cutover';

/** 'sync' again: go on in a new run (continue-as-new). */
export async function sync(ctx: MigrationContext): Promise<'completed' | 'sync' | 'cutover' | 'rehearsing'> {
  const { sync } = ctx;
  // A sync started before syncs could hand over must not be handed over (it would be cancelled).
  if ((!sync.run || sync.handOverAllowed) && patched(CUTOVER_PATCH)) return follow(ctx);
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

/** Follows the sync with the watchers beside it, until approval, the sync's end or a hand-over. */
async function follow(ctx: MigrationContext): Promise<'completed' | 'sync' | 'cutover' | 'rehearsing'> {
  const { sync, status, id } = ctx;
  // A rehearsal routes nothing: no application is told about it, and the source keeps no record of it.
  if (!ctx.input.rehearsal) {
    status.routing ??= { writes: 'source', reads: 'source', readShare: 0, migration: id, phase: 'sync', changedAt: new Date(Date.now()).toISOString() };
    if (status.routing.phase !== 'sync') {
      status.routing = { ...status.routing, writes: 'source', phase: 'sync', changedAt: new Date(Date.now()).toISOString() };
    }
    await writeRouting({ spec: ctx.spec, state: status.routing });
  }
  refreshGates(ctx);
  const watchers = new CancellationScope();
  const watching = watchers.run(() => Promise.all([gateLoop(ctx), shadowLoop(ctx), verifyLoop(ctx)]));
  watching.catch(() => undefined);
  // A rehearsal syncs (shadow reads beside it) for its set time, then goes on to its dry run.
  const rehearsalDue = rehearsalDueAt(ctx);
  try {
    for (;;) {
      // A hand-over waits for Update handlers to answer (a continue-as-new would drop them).
      const settled = () => sync.stopped || sync.failed || sync.ended || ctx.cutover.requested || (ctx.historyFull() && allHandlersFinished());
      const wait = rehearsalDue === null ? SYNC_LIVENESS_MS : Math.max(1, Math.min(SYNC_LIVENESS_MS, rehearsalDue - Date.now()));
      if (await condition(settled, wait)) break;
      if (rehearsalDue !== null && Date.now() >= rehearsalDue) break;
      // A run that adopted its sync hears of it only by report: check it still runs now and then.
      if (!sync.run) await checkAdoptedSync(ctx);
    }
  } finally {
    watchers.cancel();
  }
  if (sync.failed) {
    if (sync.run) await sync.run;
    throw ApplicationFailure.nonRetryable(`the sync failed: ${sync.error ?? 'see the sync workflow'}`, 'SyncFailed');
  }
  if (sync.stopped || sync.ended) return 'completed';
  if (rehearsalDue !== null && Date.now() >= rehearsalDue) return 'rehearsing';
  if (ctx.cutover.requested) return 'cutover';
  return 'sync';
}

/** When a rehearsal's sync has run its shadow time (counted from its first sync run), else null. */
function rehearsalDueAt(ctx: MigrationContext): number | null {
  const mode = ctx.input.rehearsal;
  if (!mode) return null;
  const r = (ctx.status.rehearsal ??= emptyRehearsalSteps());
  r.syncStartedAt ??= new Date(Date.now()).toISOString();
  return Date.parse(r.syncStartedAt) + mode.shadowSeconds * 1000;
}

async function checkAdoptedSync(ctx: MigrationContext): Promise<void> {
  const { sync, status } = ctx;
  // No report for a long while: a sync terminated by hand never sends its last one.
  const state = await migrationExecutionStatus({ migrationId: status.syncWorkflowId! }).catch(() => 'RUNNING');
  if (state !== 'RUNNING') {
    sync.failed = true;
    sync.error = `its workflow ${status.syncWorkflowId} is ${state.toLowerCase()}`;
  }
}

/** A new run of a migration in its sync phase: wait for the sync's end or the next hand-over. */
async function followAdoptedSync(ctx: MigrationContext): Promise<'completed' | 'sync'> {
  const { sync } = ctx;
  for (;;) {
    if (await condition(() => sync.stopped || sync.failed || ctx.historyFull(), SYNC_LIVENESS_MS)) break;
    await checkAdoptedSync(ctx);
  }
  if (sync.failed) throw ApplicationFailure.nonRetryable(`the sync failed: ${sync.error ?? 'see the sync workflow'}`, 'SyncFailed');
  return sync.stopped ? 'completed' : 'sync';
}
