// indexes: indexes and foreign keys once every table is loaded (a foreign key needs its parent table).
import { inWindow } from '../window';
import { finishTable } from './activities';
import type { MigrationContext } from './context';

export async function indexes(ctx: MigrationContext): Promise<'verify' | 'catch-up'> {
  const { spec } = ctx;
  await inWindow(ctx.plans, spec.backfill.tableParallelism, (table) => finishTable({ spec, plan: table }));
  // Online: replay every change since the start marker over the finished backfill, then verify.
  return ctx.capture ? 'catch-up' : 'verify';
}
