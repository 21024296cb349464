// Verification by row counts per table on both sides. The checksum verifier (per-chunk
// hashes, drill-down to keys) replaces this method without changing its callers.
import type { Spec } from './spec';
import type { TablePlan, VerificationResult } from '../workflows/definitions';
import { pgPool } from './connections';
import { countRows } from './source/postgres';
import { openTarget } from './target/target';

export async function countTables(input: { spec: Spec; plans: TablePlan[] }): Promise<VerificationResult> {
  const target = openTarget(input.spec);
  const pool = pgPool(input.spec.source.url);
  const tables = [];
  for (const plan of input.plans) {
    const [sourceRows, targetRows] = await Promise.all([countRows(pool, plan), target.countRows(plan)]);
    tables.push({ table: plan.display, sourceRows, targetRows, match: sourceRows === targetRows });
  }
  return { method: 'counts', clean: tables.every((t) => t.match), checkedAt: new Date().toISOString(), tables };
}
