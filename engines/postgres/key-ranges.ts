// Key ranges that mean the same rows on two PostgreSQL databases. Chunk and batch ranges are
// planned in the source's key order; a range evaluated on a target whose database orders
// text differently (ICU en-US against libc "C", say) holds other rows. So every key
// comparison on a target carries an explicit COLLATE ordering like the source's effective
// collation of that key column (the column's own, else the source database default), and a
// target with no such collation is refused with what to create. Used by the PostgreSQL
// copy (its replay delete) and by checksum verification.
import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { quoteIdent } from './identifiers';
import { keyTypes } from './source';
import { databaseLocaleSql, icuLocaleColumn, serverVersion } from './version';

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
export async function keyCollations(source: Pool, target: Pool, plan: TablePlan): Promise<{ source: Array<string | null>; target: Array<string | null> }> {
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
        `${plan.display}: the source database orders text by collation ${src.locale ?? src.collate}, the target database by ${tgt.locale ?? tgt.collate}, and the target has no collation like the source's; ` +
          `create one on the target (CREATE COLLATION public.ferry_source_order (provider = ${src.provider === 'i' ? 'icu' : 'libc'}, locale = '${(src.provider === 'i' ? src.locale : src.collate) ?? ''}')) so chunk ranges mean the same rows`,
        'ConfigurationError',
      );
    }
    equivalent = found.rows[0].name;
  }
  return { source: own, target: own.map((c, i) => c ?? (collatable[i] ? equivalent : null)) };
}

