// Verifying a chunk on a PostgreSQL target: both sides compute count and the sum of 64-bit
// row digests over the chunk's key range in SQL, in parallel, so no row leaves either
// server unless the sums differ. Then both sides list (key, row md5) in keyset batches and
// the lists are diffed into missing, extra and different keys. Key comparisons carry an
// explicit COLLATE wherever the two databases could order text differently, so a chunk
// holds the same rows on both sides.
import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../spec';
import type { ChunkRange, TablePlan } from '../../workflows/definitions';
import { pgPool } from '../connections';
import { quoteIdent, quoteQualified } from '../identifiers';
import { ChunkHash, chunkSumSql, rowMd5Sql } from '../checksum';
import type { Mismatch } from './store';
import { keyTypes } from '../source/postgres';
import { databaseLocaleSql, icuLocaleColumn, serverVersion } from '../pg-version';

/** What one chunk comparison found, before the activity turns it into a ChunkVerdict. */
export interface ChunkComparison {
  sourceRows: number;
  targetRows: number;
  sourceHash: string;
  targetHash: string;
  mismatches: Mismatch[];
  /**
   * Extra target documents whose _id cannot be read as a key of the source's key types:
   * counted and sampled (key: ["_id <canonical value>"]), not stored, since repair could
   * not address them by key.
   */
  unreadable?: Mismatch[];
  extrasChecked: boolean;
}

const DRILL_BATCH = 5_000;

/** Key columns as SQL on one side: expressions (with COLLATE where needed) and cast types. */
export interface KeySql {
  exprs: string[];
  types: string[];
}

export function keySql(plan: TablePlan, collations: Array<string | null>, alias = 't.'): KeySql {
  return {
    exprs: plan.key.map((k, i) => alias + quoteIdent(k) + (collations[i] ? ` COLLATE ${collations[i]}` : '')),
    types: keyTypes(plan),
  };
}

/** `(e1, e2) <op> ($n::t1, $n+1::t2)`, pushing the values onto params. */
export function keyCompare(k: KeySql, op: string, values: string[], params: unknown[]): string {
  const ph = values.map((v, i) => {
    params.push(v);
    return `$${params.length}::${k.types[i]}`;
  });
  return `(${k.exprs.join(', ')}) ${op} (${ph.join(', ')})`;
}

/** The WHERE clause of a chunk, optionally starting strictly after a key (keyset paging). */
export function rangeWhere(k: KeySql, range: ChunkRange, after: string[] | null, params: unknown[]): string {
  const where: string[] = [];
  if (after) where.push(keyCompare(k, '>', after, params));
  else if (range.lo) where.push(keyCompare(k, '>=', range.lo, params));
  if (range.hi) where.push(keyCompare(k, '<', range.hi, params));
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

interface DbCollation {
  /** 'c' libc, 'i' ICU, 'b' builtin (PostgreSQL 17). */
  provider: string;
  collate: string;
  /** The ICU or builtin locale; null for libc. */
  locale: string | null;
  /** server_version_num, which names the catalog columns to look collations up by. */
  version: number;
}

/**
 * The database default collation of a pool's database. Read each time (one catalog row per
 * chunk), not cached per pool: a database dropped and recreated under a running worker (a
 * target reset) may order text differently, and chunk ranges must mean the same rows.
 */
export async function databaseCollation(pool: Pool): Promise<DbCollation> {
  const version = await serverVersion(pool);
  const r = await pool.query(databaseLocaleSql(version));
  return { ...(r.rows[0] as Omit<DbCollation, 'version'>), version };
}

/**
 * What decides a database's default text order, comparable across servers and majors: libc
 * "C"/"POSIX" and the builtin provider (C, and C.UTF-8 by code point, in a UTF-8 database)
 * all order by bytes, whatever the catalog calls them.
 */
export function textOrder(d: Pick<DbCollation, 'provider' | 'collate' | 'locale'>): string {
  if (d.provider === 'b' || (d.provider === 'c' && (d.collate === 'C' || d.collate === 'POSIX'))) return 'bytes';
  return d.provider === 'i' ? `icu:${d.locale}` : `libc:${d.collate}`;
}

/** Which key columns' types are collatable (text-like), by the source catalog. */
export async function collatableKeys(pool: Pool, plan: TablePlan): Promise<boolean[]> {
  const oids = plan.key.map((k) => plan.columns.find((c) => c.name === k)!.baseOid);
  const res = await pool.query(`SELECT oid::int AS oid FROM pg_type WHERE oid = ANY($1::oid[]) AND typcollation <> 0`, [oids]);
  const set = new Set(res.rows.map((r) => Number(r.oid)));
  return oids.map((o) => set.has(o));
}

/**
 * Collations for the key columns on each side: the column's own where it has one; else,
 * for text-like keys when the databases' default collations differ, the target uses a
 * collation equal to the source database's default, so both sides order keys alike.
 */
async function keyCollations(source: Pool, target: Pool, plan: TablePlan): Promise<{ source: Array<string | null>; target: Array<string | null> }> {
  const own = plan.key.map((k) => plan.columns.find((c) => c.name === k)!.collation);
  const [collatable, src, tgt] = await Promise.all([collatableKeys(source, plan), databaseCollation(source), databaseCollation(target)]);
  const sameDefault = textOrder(src) === textOrder(tgt);
  const needs = own.some((c, i) => c === null && collatable[i]);
  let equivalent: string | null = null;
  if (needs && !sameDefault) {
    // Byte order is the "C" collation on every server; otherwise a target collation of the
    // source's provider and locale (whose catalog column depends on the target's major).
    const found =
      textOrder(src) === 'bytes'
        ? { rowCount: 1, rows: [{ name: 'pg_catalog."C"' }] }
        : await target.query(
            `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.collname) AS name FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
              WHERE c.collencoding IN (-1, pg_char_to_encoding(getdatabaseencoding()))
                AND c.collprovider = $1 AND ${src.provider === 'i' ? icuLocaleColumn(tgt.version) : 'c.collcollate'} = $2
              ORDER BY c.collname LIMIT 1`,
            [src.provider, src.provider === 'i' ? src.locale : src.collate],
          );
    if (found.rowCount === 0) {
      throw ApplicationFailure.nonRetryable(
        `${plan.display}: the source database orders text by collation ${src.locale ?? src.collate}, the target database by ${tgt.locale ?? tgt.collate}, and the target has no collation like the source's; create one on the target (CREATE COLLATION ...) so chunk ranges mean the same rows`,
        'ConfigurationError',
      );
    }
    equivalent = found.rows[0].name;
  }
  return { source: own, target: own.map((c, i) => c ?? (collatable[i] ? equivalent : null)) };
}

/** Every column, generated ones included, in the plan's order (the same list on both sides). */
function columnNames(plan: TablePlan): string[] {
  return plan.columns.map((c) => c.name);
}

async function chunkSum(pool: Pool, plan: TablePlan, k: KeySql, range: ChunkRange): Promise<{ rows: number; sum: string }> {
  const params: unknown[] = [];
  const sql = `SELECT count(*)::text AS n, ${chunkSumSql(columnNames(plan), 't.')} AS s FROM ${quoteQualified(plan.table)} t${rangeWhere(k, range, null, params)}`;
  const res = await pool.query({ text: sql, values: params });
  return { rows: Number(res.rows[0].n), sum: res.rows[0].s };
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
  const [s, t] = await Promise.all([chunkSum(source, plan, sk, range), chunkSum(target, plan, tk, range)]);
  const sh = new ChunkHash();
  sh.addSum(s.sum, s.rows);
  const th = new ChunkHash();
  th.addSum(t.sum, t.rows);
  const result: ChunkComparison = { sourceRows: s.rows, targetRows: t.rows, sourceHash: sh.hex(), targetHash: th.hex(), mismatches: [], extrasChecked: true };
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
