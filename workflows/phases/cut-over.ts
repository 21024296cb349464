// cut-over (online): the target is primary; the source is kept as it was at the switch (still
// fenced by a role fence, unreachable through PgBouncer's repointed entry) and the sync keeps
// following it. `ferry finalize` (the finalize Update) ends the migration: the sync stops and
// capture is released first (so no source write can reach the now-primary target after the
// fence is gone), then the role fence is lifted, and the machine goes on to completed. The
// phase hands over to a new run before its history grows large, once no Update handler is
// still answering.
import { allHandlersFinished, condition } from '@temporalio/workflow';
import { unfenceSource, writeRouting } from './activities';
import type { MigrationContext } from './context';
import { release } from './release';

export async function cutOver(ctx: MigrationContext): Promise<'cut-over' | 'completed'> {
  const { spec, status, id } = ctx;
  await condition(() => ctx.cutover.finalizeRequested || (ctx.historyFull() && allHandlersFinished()));
  if (!ctx.cutover.finalizeRequested) return 'cut-over';
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
