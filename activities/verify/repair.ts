// Repair: re-copies exactly the keys a verification listed. Page by page through the
// mismatch store, the source rows of those keys are upserted into the target, keys the
// source no longer has are deleted, and then the same keys are compared again (digests on
// both sides) so the result says how many still differ. Repaired entries are marked, not
// deleted, so the report of that verification stays readable.
import { targetEngine } from '../../engines';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { RepairResult } from '../../contracts/verify';
import { pgPool } from '../../engines/connections';
import { keyOf, readKeys } from '../../engines/postgres/source';
import type { MismatchStore } from '../../engines/mismatches';

const PAGE = 1_000;

/** Heartbeat details of a repair: plain JSON, so a retry continues after the last page done. */
export interface RepairCursor {
  after: string | null;
  keys: number;
  written: number;
  deleted: number;
  stillDifferent: number;
}

export async function repairKeys(
  spec: Spec,
  plan: TablePlan,
  verifyId: string,
  store: MismatchStore,
  resume: RepairCursor | undefined,
  progress: (cursor: RepairCursor) => void,
): Promise<RepairResult> {
  const source = pgPool(spec.source.url);
  const engine = targetEngine(spec);
  const target = engine.target(spec);
  const verifier = engine.verifier(spec);
  const cursor: RepairCursor = resume ?? { after: null, keys: 0, written: 0, deleted: 0, stillDifferent: 0 };
  for (;;) {
    const { entries, next } = await store.page(verifyId, plan.display, cursor.after, PAGE);
    if (entries.length === 0) break;
    const keys = entries.map((e) => e.key);
    const rows = await readKeys(source, plan, keys);
    const present = new Set(rows.map((r) => JSON.stringify(keyOf(plan, r))));
    const absent = keys.filter((k) => !present.has(JSON.stringify(k)));
    await target.writeRows(plan, rows);
    await target.deleteKeys(plan, absent);

    // The same keys, compared again: equal digests (or absent on both sides) mean repaired.
    const { source: sourceDigests, target: targetDigests } = await verifier.keyDigests(plan, keys, rows);
    const repaired = keys.filter((k) => sourceDigests.get(JSON.stringify(k)) === targetDigests.get(JSON.stringify(k)));
    await store.markRepaired(verifyId, plan.display, repaired);

    cursor.after = next;
    cursor.keys += keys.length;
    cursor.written += rows.length;
    cursor.deleted += absent.length;
    cursor.stillDifferent += keys.length - repaired.length;
    progress({ ...cursor });
    if (entries.length < PAGE) break;
  }
  return { table: plan.display, keys: cursor.keys, written: cursor.written, deleted: cursor.deleted, stillDifferent: cursor.stillDifferent };
}
