// Chunk boundaries of a source table, a page at a time, so planning a billion-row table never
// builds one giant list. Keys travel as PostgreSQL text (see source.ts). Two ways:
//  - exact, for small tables: count keys along the key index in one bounded keyset scan, so
//    every chunk holds exactly chunkRows rows however sparse the keys are;
//  - sampled, for large ones: boundaries at quantiles of a TABLESAMPLE SYSTEM sample of the
//    keys (a few pages per chunk, read at random), so planning costs a sliver of the table
//    instead of a scan of its whole index, while chunks stay within some percent of chunkRows.
// Both cover every key: the first and last ranges are open, so rows beyond today's extremes are
// still copied. The sample is REPEATABLE, so the pages of one planning agree with each other.
import type { Pool } from 'pg';
import type { ChunkPage } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { quoteIdent, quoteQualified } from './identifiers';
import { keyCompare, keySql } from './key-ranges';
export type { ChunkPage };

/**
 * Sampled pages per chunk. SYSTEM sampling takes whole pages, so a chunk's size varies like the
 * count of sampled pages that fall in it: 64 keep it within about ±12% (one standard deviation).
 */
const PAGES_PER_CHUNK = 64;
const PAGE_BYTES = 8192;
/** Below this many (estimated) rows the exact count costs less than it is worth to avoid. */
const SAMPLE_FROM_ROWS = 250_000;
const SEED = 20_261_201;

export async function planChunkPage(pool: Pool, plan: TablePlan, chunkRows: number, from: string[] | null, maxChunks: number): Promise<ChunkPage> {
  // Pages from the table's size (indexes included: more pages than the heap, so a larger sample).
  const pages = Math.max(1, plan.estimatedBytes / PAGE_BYTES);
  const chunkPages = (chunkRows * pages) / Math.max(1, plan.estimatedRows);
  const fraction = PAGES_PER_CHUNK / chunkPages;
  if (plan.estimatedRows < SAMPLE_FROM_ROWS || plan.estimatedRows < 4 * chunkRows || fraction >= 0.5) return exactPage(pool, plan, chunkRows, from, maxChunks);
  return sampledPage(pool, plan, fraction, Math.max(1, Math.round(chunkRows * fraction)), from, maxChunks);
}

/** Ranges in key order from `from` through each boundary, the last one open unless `next` goes on. */
function rangesOf(from: string[] | null, bounds: string[][], next: string[] | null): ChunkPage['ranges'] {
  const ranges: ChunkPage['ranges'] = [];
  let lo = from;
  for (const b of [...bounds, ...(next ? [next] : [])]) {
    ranges.push({ lo, hi: b });
    lo = b;
  }
  if (!next) ranges.push({ lo, hi: null });
  return ranges;
}

/** Every `step`-th key of a sample of `fraction` of the table's pages, past `from`, starts a chunk. */
async function sampledPage(pool: Pool, plan: TablePlan, fraction: number, step: number, from: string[] | null, maxChunks: number): Promise<ChunkPage> {
  const k = keySql(plan, [], '');
  const params: unknown[] = [];
  const where = from ? ` WHERE ${keyCompare(k, '>=', from, params)}` : '';
  params.push(step * maxChunks + 1);
  const keys = k.exprs.join(', ');
  const res = await pool.query({
    text:
      `SELECT json_build_array(${plan.key.map((c) => `s.${quoteIdent(c)}::text`).join(', ')})::text AS k
         FROM (SELECT ${keys} FROM ${quoteQualified(plan.table)} TABLESAMPLE SYSTEM (${(fraction * 100).toFixed(6)}) REPEATABLE (${SEED})${where}
                ORDER BY ${keys} LIMIT $${params.length}) s`,
    values: params,
  });
  const sample: string[][] = res.rows.map((r) => JSON.parse(r.k));
  // The first sampled key is no boundary: the page starts at `from` (or the table's beginning).
  const bounds: string[][] = [];
  for (let i = step; i < sample.length; i += step) bounds.push(sample[i]);
  const more = sample.length === step * maxChunks + 1;
  const next = more ? bounds.pop()! : null;
  // An estimate (the sample's share of the table): the copy counts what it writes exactly.
  return { ranges: rangesOf(from, bounds, next), rows: Math.round((more ? step * maxChunks : sample.length) / fraction), next };
}

/**
 * Exact: up to `maxChunks` ranges of `chunkRows` rows each, starting at `from` (null: the
 * start of the table), found by counting keys along the key index in one bounded keyset scan.
 */
async function exactPage(pool: Pool, plan: TablePlan, chunkRows: number, from: string[] | null, maxChunks: number): Promise<ChunkPage> {
  const k = keySql(plan, [], '');
  const params: unknown[] = [];
  const where = from ? ` WHERE ${keyCompare(k, '>=', from, params)}` : '';
  params.push(chunkRows * maxChunks + 1, chunkRows);
  const limit = `$${params.length - 1}`;
  const every = `$${params.length}`;
  const keys = k.exprs.join(', ');
  // (Counters carry names no real column is likely to have: a key column may be called n.)
  // Row n of the scan starts a chunk when (n - 1) is a multiple of chunkRows; the extra row
  // past the page tells whether the table goes on (it starts the next page).
  const res = await pool.query({
    text:
      `SELECT json_build_array(${plan.key.map((c) => `s.${quoteIdent(c)}::text`).join(', ')})::text AS k, s.ferry_n_::text AS n, s.ferry_total_::text AS total
         FROM (SELECT ${keys}, row_number() OVER (ORDER BY ${keys}) AS ferry_n_, count(*) OVER () AS ferry_total_
                 FROM (SELECT ${keys} FROM ${quoteQualified(plan.table)}${where} ORDER BY ${keys} LIMIT ${limit}) page) s
        WHERE (s.ferry_n_ - 1) % ${every} = 0
        ORDER BY s.ferry_n_`,
    values: params,
  });
  const last = res.rows.length ? Number(res.rows[0].total) : 0;
  const more = last === chunkRows * maxChunks + 1;
  // Every start but the first (which is `from`, or the table's beginning) is a boundary.
  const bounds: string[][] = res.rows.map((r) => JSON.parse(r.k)).slice(1);
  const next = more ? bounds.pop()! : null;
  return { ranges: rangesOf(from, bounds, next), rows: more ? last - 1 : last, next };
}
