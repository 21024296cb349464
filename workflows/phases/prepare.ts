// prepare: the plan, the target objects, and (online) change capture with its start marker.
import { backfillWorkflowId } from '../../contracts/ids';
import { reverseWanted } from '../../contracts/reverse';
import { prepareCapture, prepareMigration } from './activities';
import type { MigrationContext } from './context';

export async function prepare(ctx: MigrationContext): Promise<'backfill'> {
  const { id, spec, status } = ctx;
  const plan = await prepareMigration({ spec, migrationId: id });
  status.targetKind = plan.targetKind;
  status.tables = plan.tables.map((t) => ({
    table: t.display, workflowId: backfillWorkflowId(id, t.table), state: 'pending', estimatedRows: t.estimatedRows, rowsCopied: 0, chunksDone: 0, chunksTotal: 0, chunksResumed: 0, copyStartedAt: null,
  }));
  status.rowsEstimated = plan.tables.reduce((n, t) => n + t.estimatedRows, 0);
  ctx.plans = plan.tables;
  // Whether the cutover will start a reverse sync (its capture is made before the switch).
  status.reverse = reverseWanted(spec, plan.targetStreamsBack ?? false) ? { capture: null, workflowId: null, progress: null, stopped: false, error: null, switchedAt: null } : null;

  if (spec.mode === 'online') {
    // Capture must be running, and its start recorded, before the first chunk is read.
    ctx.captureStarted = true;
    const prepared = await prepareCapture({ spec, plans: plan.tables, migrationId: id });
    ctx.capture = prepared;
    status.capture = { name: prepared.name, marker: prepared.marker };
  }
  return 'backfill';
}
