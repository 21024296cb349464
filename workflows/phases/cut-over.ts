// cut-over (online): the target is primary; the source is kept as it was at the switch (still
// fenced by a role fence, unreachable through PgBouncer's repointed entry). With a reverse sync
// (its capture made before the switch), the forward capture is released and the reverse sync
// carries every write the target takes back to the source, so the rollback Update (phase
// rolling-back) is a drain; without one the forward sync keeps following the source.
// `ferry finalize` (the finalize Update) ends the migration: the syncs stop and capture is
// released first (so no source write can reach the now-primary target after the fence is
// gone), then the role fence is lifted, and the machine goes on to completed. The phase hands
// over to a new run before its history grows large, once no Update handler is still answering.
import { allHandlersFinished, condition } from '@temporalio/workflow';
import { reverseCaptured } from '../../contracts/reverse';
import { unfenceSource, writeRouting } from './activities';
import type { MigrationContext } from './context';
import { release } from './release';
import { startReverseSync, stopReverseSync } from './reverse-sync';

export async function cutOver(ctx: MigrationContext): Promise<'cut-over' | 'completed' | 'rolling-back'> {
  const { spec, status, id } = ctx;
  const rev = status.reverse;
  if (reverseCaptured(rev)) {
    // The target is primary and its writes flow back: the forward sync has nothing left to carry,
    // and left running it would send the reverse sync's writes to the source straight back.
    if (ctx.captureStarted) {
      await release(ctx);
      ctx.captureStarted = false;
      ctx.capture = null;
    }
    if (!rev!.workflowId) await startReverseSync(ctx);
  }
  await condition(() => ctx.cutover.finalizeRequested || ctx.rollback !== null || (ctx.historyFull() && allHandlersFinished()));
  if (ctx.rollback) return 'rolling-back';
  if (!ctx.cutover.finalizeRequested) return 'cut-over';
  if (reverseCaptured(rev)) await stopReverseSync(ctx);
  if (ctx.captureStarted) {
    await release(ctx);
    ctx.captureStarted = false;
  }
  const c = status.cutover!;
  const started = Date.now();
  const lifted = await unfenceSource({ spec, migrationId: id });
  c.steps.push({ name: 'unfence', state: 'done', startedAt: new Date(started).toISOString(), durationSeconds: (Date.now() - started) / 1000, detail: `finalized: ${lifted.detail}` });
  status.routing = { ...status.routing!, phase: 'completed', changedAt: new Date(Date.now()).toISOString() };
  await writeRouting({ spec, state: status.routing });
  return 'completed';
}
