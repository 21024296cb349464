// Verifying a chunk on a PostgreSQL target: both sides stream the chunk's rows with COPY
// (every column in plan order, in key order) through a hash in Node, in parallel
// (chunk-stream.ts); equal row counts and equal digests mean the same rows, and no row
// digest is computed in SQL. Otherwise both sides list (key, row md5) in keyset batches and
// the lists are diffed into missing, extra and different keys. Key comparisons carry an
// explicit COLLATE wherever the two databases could order text differently, so a chunk
// holds the same rows, in the same order, on both sides.
import type { Pool } from 'pg';
import type { Spec } from '../../contracts/spec';
import type { ChunkComparison, Verifier } from '../engine';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../connections';
import { quoteIdent, quoteQualified } from './identifiers';
import { ChunkHash, rowMd5Sql } from '../checksum';
import type { Mismatch } from '../mismatches';
import { keyTypes } from './source';
import { keyCollations, keySql, rangeWhere, type KeySql } from './key-ranges';
import { chunkStreamHash, verifyFormat } from './chunk-stream';

const DRILL_BATCH = 5_000;
/** A drill-down's chunk hash: the sum mod 2^64 of the rows' 64-bit md5 prefixes. */
const DRILL_HASH_PREFIX = 'md5-sum:';

/** Every column, generated ones included, in the plan's order (the same list on both sides). */
function columnNames(plan: TablePlan): string[] {
  return plan.columns.map((c) => c.name);
}

/** key (JSON text array) → row md5, for the whole chunk, read in keyset batches. */
async function rowDigests(pool: Pool, plan: TablePlan, k: KeySql, range: ChunkRange): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let after: string[] | null = null;
  for (;;) {
    const params: unknown[] = [];
    const where = rangeWhere(k, range, after, params);
    params.push(DRILL_BATCH);
    const res = await pool.query({
      text:
        `SELECT json_build_array(${plan.key.map((c) => `t.${quoteIdent(c)}::text`).join(', ')})::text AS k, ${rowMd5Sql(columnNames(plan), 't.')} AS d ` +
        `FROM ${quoteQualified(plan.table)} t${where} ORDER BY ${k.exprs.join(', ')} LIMIT $${params.length}`,
      values: params,
    });
    for (const r of res.rows) out.set(keyText(r.k), r.d);
    if (res.rows.length < DRILL_BATCH) return out;
    after = JSON.parse(res.rows[res.rows.length - 1].k);
  }
}

/** Diffs two key → digest maps into mismatches (source first, as the report reads). */
export function diffDigests(source: Map<string, string>, target: Map<string, string>): Mismatch[] {
  const out: Mismatch[] = [];
  for (const [key, digest] of source) {
    const other = target.get(key);
    if (other === undefined) out.push({ kind: 'missing', key: JSON.parse(key) });
    else if (other !== digest) out.push({ kind: 'different', key: JSON.parse(key) });
  }
  for (const key of target.keys()) if (!source.has(key)) out.push({ kind: 'extra', key: JSON.parse(key) });
  return out;
}

/** What the drill-down's digests sum to (as the SQL chunk sums did): order-free, so equal maps give equal hashes. */
export function digestSumHash(digests: Map<string, string>): string {
  const h = new ChunkHash();
  for (const d of digests.values()) h.add(BigInt(`0x${d.slice(0, 16)}`));
  return `${DRILL_HASH_PREFIX}${h.hex()}`;
}

export async function verifyChunkPostgres(spec: Spec, plan: TablePlan, range: ChunkRange): Promise<ChunkComparison> {
  const source = pgPool(spec.source.url);
  const target = pgPool(spec.target.url, 'target.url');
  const coll = await keyCollations(source, target, plan);
  const sk = keySql(plan, coll.source);
  const tk = keySql(plan, coll.target);
  const format = verifyFormat(plan);
  const [s, t] = await Promise.all([chunkStreamHash(source, plan, sk, range, format), chunkStreamHash(target, plan, tk, range, format)]);
  if (s.rows === t.rows && s.hash === t.hash) {
    return { sourceRows: s.rows, targetRows: t.rows, sourceHash: s.hash, targetHash: t.hash, mismatches: [], extrasChecked: true };
  }
  // The streams differ: a row is missing, extra or different, or (harmless) two equal rows
  // were sent differently, e.g. keys that the two sides' collations order alike but not
  // byte for byte alike. The drill-down compares by key, so it tells which; its counts and
  // digest sums are what the verdict reports, so equal hashes still mean no mismatch.
  const [sd, td] = await Promise.all([rowDigests(source, plan, sk, range), rowDigests(target, plan, tk, range)]);
  return {
    sourceRows: sd.size,
    targetRows: td.size,
    sourceHash: digestSumHash(sd),
    targetHash: digestSumHash(td),
    mismatches: diffDigests(sd, td),
    extrasChecked: true,
  };
}

/**
 * md5 of each of these keys' rows (key JSON text → md5) on one side, for repair's re-check.
 * Keys absent on that side are simply not in the map.
 */
export async function keyDigestsPostgres(pool: Pool, plan: TablePlan, keys: string[][]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (keys.length === 0) return out;
  const types = keyTypes(plan);
  const res = await pool.query({
    text:
      `SELECT json_build_array(${plan.key.map((c) => `t.${quoteIdent(c)}::text`).join(', ')})::text AS k, ${rowMd5Sql(columnNames(plan), 't.')} AS d ` +
      `FROM ${quoteQualified(plan.table)} t JOIN unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) AS k(${plan.key.map((_k, i) => `k${i}`).join(', ')}) ` +
      `ON ${plan.key.map((c, i) => `t.${quoteIdent(c)} = k.k${i}`).join(' AND ')}`,
    values: plan.key.map((_k, i) => keys.map((key) => key[i])),
  });
  for (const r of res.rows) out.set(keyText(r.k), r.d);
  return out;
}

/** PostgreSQL prints json arrays with spaces; keys compare as JSON.stringify of the array. */
function keyText(pgJson: string): string {
  return JSON.stringify(JSON.parse(pgJson));
}

/** The Verifier role of a PostgreSQL target: both sides answer the same SQL. */
export class PostgresVerifier implements Verifier {
  constructor(private readonly spec: Spec) {}

  compareChunk(plan: TablePlan, range: ChunkRange): Promise<ChunkComparison> {
    return verifyChunkPostgres(this.spec, plan, range);
  }

  /** Each chunk looks for extra target rows in its own key range: nothing is left to sweep. */
  async sweepExtras(): Promise<{ extra: number; sample: string[][] }> {
    return { extra: 0, sample: [] };
  }

  async keyDigests(plan: TablePlan, keys: string[][]): Promise<{ source: Map<string, unknown>; target: Map<string, unknown> }> {
    const [source, target] = await Promise.all([
      keyDigestsPostgres(pgPool(this.spec.source.url), plan, keys),
      keyDigestsPostgres(pgPool(this.spec.target.url, 'target.url'), plan, keys),
    ]);
    return { source, target };
  }
}
