// Verifying a chunk on a PostgreSQL target: both sides compute, in parallel, count and the
// sum (mod 2^64) of a 64-bit hash of each row's text (ROW(every column)::text, the text the
// drill-down's md5 reads) over the chunk's key range in SQL, so no row leaves either server
// unless the sums differ. The row hash is hashtextextended, PostgreSQL's own 64-bit hash of
// bytes: on 2M pgbench_accounts rows one side costs ~0.6 s where md5 (and the text, bit and
// numeric casts a 64-bit md5 prefix needs) cost ~3.2 s. Streaming both sides' rows with COPY
// into a hash in Node was measured too: COPY's output alone costs a server more (~1.4 s)
// than this whole sum. Where the sums or counts differ, both sides list (key, row md5) in
// keyset batches and the lists are diffed into missing, extra and different keys. Key
// comparisons carry an explicit COLLATE wherever the two databases could order text
// differently, so a chunk holds the same rows on both sides.
import type { Pool } from 'pg';
import type { ShadowQuery, Spec } from '../../contracts/spec';
import type { ChunkComparison, KeyReadTiming, SourceQueryRows, TargetQueryRows, Verifier } from '../engine';
import { canonicalRowsPostgres, runSqlQuery } from './shadow-query';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../connections';
import { quoteIdent, quoteQualified } from './identifiers';
import { ChunkHash, chunkSumSql, rowMd5Sql } from '../checksum';
import type { Mismatch } from '../mismatches';
import { keyTypes } from './source';
import { keyCollations, keySql, rangeWhere, type KeySql } from './key-ranges';

const DRILL_BATCH = 5_000;

/** Every column, generated ones included, in the plan's order (the same list on both sides). */
function columnNames(plan: TablePlan): string[] {
  return plan.columns.map((c) => c.name);
}

/** The text every row is hashed as: the same SQL as the drill-down's md5 input (rowMd5Sql). */
function rowTextSql(plan: TablePlan): string {
  return `ROW(${columnNames(plan).map((c) => `t.${quoteIdent(c)}`).join(', ')})::text`;
}

/** A constant both servers hash, to see that their hash functions agree. */
const PROBE = `'ferry verify probe'`;

/**
 * Count and sum of the rows' hashtextextended over the row text, with a probe: the hash of
 * a constant, which tells whether the two servers' hash functions agree (they are the same
 * code on every server of one byte order; a big-endian and a little-endian server hash the
 * same bytes differently). COLLATE "C" hashes the bytes whatever the database's collation.
 */
function fastSumSql(plan: TablePlan): string {
  return (
    `count(*)::text AS n, coalesce(sum(hashtextextended(${rowTextSql(plan)} COLLATE "C", 0)), 0)::text AS s, ` +
    `hashtextextended(${PROBE} COLLATE "C", 0)::text AS probe`
  );
}

export interface ChunkSum {
  rows: number;
  sum: string;
  probe?: string;
}

/** count and a digest sum of the chunk on one side: the fast hash, or md5 (the SQL of chunkSumSql). */
export async function chunkSum(pool: Pool, plan: TablePlan, k: KeySql, range: ChunkRange, kind: 'fast' | 'md5'): Promise<ChunkSum> {
  const params: unknown[] = [];
  const select = kind === 'fast' ? fastSumSql(plan) : `count(*)::text AS n, ${chunkSumSql(columnNames(plan), 't.')} AS s`;
  const res = await pool.query({ text: `SELECT ${select} FROM ${quoteQualified(plan.table)} t${rangeWhere(k, range, null, params)}`, values: params });
  const r = res.rows[0];
  return { rows: Number(r.n), sum: r.s, probe: r.probe };
}

/** The chunk hash as verdicts carry it: 16 hex digits (contracts/verify.ts). */
function sumHash(s: ChunkSum): string {
  const h = new ChunkHash();
  h.addSum(s.sum, s.rows);
  return h.hex();
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

export async function verifyChunkPostgres(spec: Spec, plan: TablePlan, range: ChunkRange): Promise<ChunkComparison> {
  const source = pgPool(spec.source.url);
  const target = pgPool(spec.target.url, 'target.url');
  const coll = await keyCollations(source, target, plan);
  const sk = keySql(plan, coll.source);
  const tk = keySql(plan, coll.target);
  let [s, t] = await Promise.all([chunkSum(source, plan, sk, range, 'fast'), chunkSum(target, plan, tk, range, 'fast')]);
  if (s.probe !== t.probe) {
    // The two servers' hashtextextended disagree (another byte order): compare md5 sums.
    [s, t] = await Promise.all([chunkSum(source, plan, sk, range, 'md5'), chunkSum(target, plan, tk, range, 'md5')]);
  }
  const result: ChunkComparison = { sourceRows: s.rows, targetRows: t.rows, sourceHash: sumHash(s), targetHash: sumHash(t), mismatches: [], extrasChecked: true };
  if (s.rows === t.rows && result.sourceHash === result.targetHash) return result;
  const [sd, td] = await Promise.all([rowDigests(source, plan, sk, range), rowDigests(target, plan, tk, range)]);
  result.mismatches = diffDigests(sd, td);
  return result;
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

  async keyDigests(plan: TablePlan, keys: string[][], _rows?: unknown, timing?: KeyReadTiming): Promise<{ source: Map<string, unknown>; target: Map<string, unknown> }> {
    const timed = async <T>(side: keyof KeyReadTiming, p: Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const out = await p;
      if (timing) timing[side] = performance.now() - t0;
      return out;
    };
    const [source, target] = await Promise.all([
      timed('sourceMs', keyDigestsPostgres(pgPool(this.spec.source.url), plan, keys)),
      timed('targetMs', keyDigestsPostgres(pgPool(this.spec.target.url, 'target.url'), plan, keys)),
    ]);
    return { source, target };
  }

  /** A PostgreSQL target answers the query's SQL, as the source does. */
  runQuery(_plan: TablePlan, query: ShadowQuery['target'], key: string[]): Promise<TargetQueryRows> {
    if (typeof query !== 'string') throw new Error('a PostgreSQL target runs SQL: give shadow.queries[].target as a SQL string');
    return runSqlQuery(pgPool(this.spec.target.url, 'target.url'), query, key);
  }

  canonicalRows(_plan: TablePlan, source: SourceQueryRows, target: TargetQueryRows): { source: string[]; target: string[] } {
    return canonicalRowsPostgres(source, target);
  }
}
