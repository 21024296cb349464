// Random keys of a source table for shadow reads: a block sample (TABLESAMPLE SYSTEM reads
// only the pages it picks, never the whole table), sized from the planner's row estimate for
// a few times the keys wanted, then shuffled and cut. A table the estimate calls small (or has
// never been analysed) is read whole in random order, which is cheap at that size. Keys come
// back in text form, like every key Ferry handles.
import type { Pool } from 'pg';
import type { TablePlan } from '../../contracts/tables';
import { quoteIdent, quoteQualified } from './identifiers';

/** Below this many estimated rows the table is read whole (ORDER BY random()). */
export const SMALL_TABLE_ROWS = 10_000;
/** The sample aims at this many times the keys wanted (SYSTEM samples whole pages, unevenly). */
const OVERSAMPLE = 4;

/**
 * The planner's row estimate now (partitions summed); a table never analysed (reltuples -1)
 * is estimated from its size at 100 bytes a row, so a large one is still sampled, not read whole.
 */
async function estimateRows(pool: Pool, plan: TablePlan): Promise<number> {
  const r = await pool.query(
    `SELECT coalesce(sum(CASE WHEN p.reltuples >= 0 THEN p.reltuples ELSE pg_relation_size(p.oid) / 100.0 END), 0)::float8::text AS n
       FROM pg_partition_tree(to_regclass($1)) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf`,
    [quoteQualified(plan.table)],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The percentage of pages to sample for `wanted` keys out of `estimated` rows (0.0001–100). */
export function samplePercent(wanted: number, estimated: number): number {
  if (estimated <= 0) return 100;
  return Math.min(100, Math.max(0.0001, (100 * OVERSAMPLE * wanted) / estimated));
}

/** Up to `n` random keys of the table (text form), distinct. */
export async function sampleKeys(pool: Pool, plan: TablePlan, n: number): Promise<string[][]> {
  if (n <= 0) return [];
  const keys = `json_build_array(${plan.key.map((k) => `${quoteIdent(k)}::text`).join(', ')})::text AS k`;
  const table = quoteQualified(plan.table);
  const read = async (from: string) => (await pool.query({ text: `SELECT ${keys} FROM ${from} ORDER BY random() LIMIT $1`, values: [n] })).rows.map((r: { k: string }) => JSON.parse(r.k) as string[]);
  const estimated = await estimateRows(pool, plan);
  if (estimated < SMALL_TABLE_ROWS) return read(table);
  let percent = samplePercent(n, estimated);
  let got = await read(`${table} TABLESAMPLE SYSTEM (${percent.toFixed(6)})`);
  // An estimate far above the truth (rows deleted since the last analyse) samples too few: once more, larger.
  if (got.length < n && percent < 100) {
    percent = Math.min(100, percent * 10);
    got = await read(`${table} TABLESAMPLE SYSTEM (${percent.toFixed(6)})`);
  }
  return got;
}
