// Verification by row counts per table on both sides (`verify: counts` in the spec): cheap,
// and blind to changed values; the default checksum verifier lives in verify/.
import { Context } from '@temporalio/activity';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { TableCount } from '../../contracts/verify';
import { pgPool } from '../../engines/connections';
import { countRows } from '../../engines/postgres/source';
import { openTarget } from '../../engines';
import { rethrowClassified } from '../../engines/errors';

export async function countTable(input: { spec: Spec; plan: TablePlan }): Promise<TableCount> {
  const { spec, plan } = input;
  const alive = setInterval(() => Context.current().heartbeat(), 10_000);
  try {
    const [sourceRows, targetRows] = await Promise.all([
      countRows(pgPool(spec.source.url), plan),
      openTarget(spec).countRows(plan),
    ]).catch((err) => rethrowClassified(err, `counting ${plan.display}`));
    return { table: plan.display, sourceRows, targetRows, match: sourceRows === targetRows };
  } finally {
    clearInterval(alive);
  }
}
