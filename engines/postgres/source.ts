// Reading a PostgreSQL source: introspection, chunk boundaries, keyset batches and counts.
// Keys travel as PostgreSQL text (`$1::type` reads them back exactly), so a key range is
// plain JSON and means the same on every worker. Never OFFSET: every read is a keyset read.
import type { Pool, PoolClient } from 'pg';
import { quoteIdent, quoteQualified, displayName, QualifiedName } from './identifiers';
import type { SourceRow } from '../rows';
import type { ChunkRange } from '../../contracts/backfill';
import type { ColumnInfo, LossyPolicy, TablePlan } from '../../contracts/tables';
import { readTableDdl } from './ddl';


export interface IntrospectProblem {
  index: number;
  message: string;
}

export interface TableRequest {
  name: QualifiedName;
  /** A unique key the spec names for a table without a primary key. */
  key?: string[];
}

/** The catalog facts of each requested table; anything unusable is a problem with its index. */
export async function introspectTables(
  pool: Pool,
  requests: TableRequest[],
): Promise<{ plans: TablePlan[]; problems: IntrospectProblem[] }> {
  const plans: TablePlan[] = [];
  const problems: IntrospectProblem[] = [];
  for (const [index, request] of requests.entries()) {
    const result = await introspectTable(pool, request);
    if (typeof result === 'string') problems.push({ index, message: result });
    else plans.push(result);
  }
  return { plans, problems };
}

/** One table's plan (before the spec's column options apply), or why it cannot be copied. */
export async function introspectTable(pool: Pool, request: TableRequest): Promise<TablePlan | string> {
  const { name } = request;
  const rel = await pool.query(
    // A plain table is its own only leaf; a partitioned one sums its leaf partitions (its
    // own reltuples double-counts them since PostgreSQL 14).
    `SELECT c.oid::text AS oid, c.relkind,
            CASE WHEN c.relkind = 'p'
                 THEN (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf)
                 ELSE greatest(c.reltuples, 0) END::bigint::text AS est_rows,
            CASE WHEN c.relkind = 'p'
                 THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
                 ELSE pg_total_relation_size(c.oid) END::text AS est_bytes,
            (SELECT count(*)::text FROM pg_partition_tree(c.oid) t WHERE t.isleaf AND t.relid <> c.oid) AS partitions
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [name.schema, name.name],
  );
  if (rel.rowCount === 0) return `no such table ${displayName(name)}${await suggest(pool, name)}`;
  const { oid, relkind, est_rows, est_bytes, partitions } = rel.rows[0];
  if (relkind !== 'r' && relkind !== 'p') {
    return `${displayName(name)} is a ${relkindName(relkind)}, not a table: list its base tables instead`;
  }
  const columns = await readColumns(pool, oid);
  const key = request.key ? await checkUniqueKey(pool, oid, name, columns, request.key) : { columns: await readPrimaryKey(pool, oid), source: 'primary key' };
  if (typeof key === 'string') return key;
  // A key must map to distinct _ids: a timestamp key keeps its exact text rather than be truncated.
  for (const c of columns) if (key.columns.includes(c.name) && c.lossy === 'truncate') c.lossy = 'string';
  if (key.columns.length === 0) {
    return (
      `${displayName(name)} has no primary key: add one (ALTER TABLE ${quoteQualified(name)} ADD PRIMARY KEY (...)), ` +
      `or name a unique NOT NULL key in the spec (tables: - table: ${displayName(name)} / key: [col, ...]) so rows can be copied, resumed and verified by key`
    );
  }
  return {
    table: name,
    display: displayName(name),
    columns,
    key: key.columns,
    keySource: key.source,
    estimatedRows: Number(est_rows),
    estimatedBytes: Number(est_bytes),
    chunkRows: 0,
    partitions: Number(partitions),
    ddl: await readTableDdl(pool, oid),
    embeds: [],
    warnings: [],
  };
}

/** The spec's key must be the column list of a unique index over NOT NULL columns (no predicate). */
async function checkUniqueKey(pool: Pool, oid: string, name: QualifiedName, columns: ColumnInfo[], key: string[]): Promise<{ columns: string[]; source: string } | string> {
  const unknown = key.filter((k) => !columns.some((c) => c.name === k));
  if (unknown.length) return `key names no column ${unknown.map((k) => JSON.stringify(k)).join(', ')} of ${displayName(name)}`;
  const nullable = key.filter((k) => columns.find((c) => c.name === k)!.nullable);
  const res = await pool.query(
    `SELECT i.indexrelid::regclass::text AS name, i.indisprimary AS primary,
            array_to_json(ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord))::text AS cols
       FROM pg_index i
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`,
    [oid],
  );
  const match = res.rows.find((r) => JSON.stringify(JSON.parse(r.cols)) === JSON.stringify(key));
  if (!match) {
    return `key (${key.join(', ')}) is not the column list of a unique index on ${displayName(name)}: create one (CREATE UNIQUE INDEX ON ${quoteQualified(name)} (${key.map(quoteIdent).join(', ')})) or name the columns of an existing one, in index order`;
  }
  if (nullable.length) {
    return `key column${nullable.length > 1 ? 's' : ''} ${nullable.join(', ')} of ${displayName(name)} may be NULL, so rows could share a key: add NOT NULL (ALTER TABLE ${quoteQualified(name)} ALTER COLUMN ${quoteIdent(nullable[0])} SET NOT NULL)`;
  }
  return { columns: key, source: match.primary === 't' ? 'primary key' : `unique index ${match.name}` };
}

async function readColumns(pool: Pool, oid: string): Promise<ColumnInfo[]> {
  const res = await pool.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int::text AS oid,
            t.typtype AS category, b.oid::int::text AS base_oid,
            (CASE WHEN b.typcategory = 'A' THEN (SELECT CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END FROM pg_type e WHERE e.oid = b.typelem) ELSE 0 END)::int::text AS elem_oid, (NOT a.attnotnull)::text AS nullable, (a.attgenerated <> '')::text AS generated,
            CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS gen_expr,
            ut.ddl AS user_type_ddl, ut.schema AS user_type_schema, ut.name AS user_type_name,
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default_expr,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                 THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                         FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
       -- The enum or domain a column uses (directly or as an array element), as DDL a
       -- PostgreSQL target can run when it lacks the type.
       LEFT JOIN LATERAL (
         SELECT n.nspname AS schema, u.typname AS name,
                CASE u.typtype
                  WHEN 'e' THEN format('CREATE TYPE %I.%I AS ENUM (%s)', n.nspname, u.typname,
                    (SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = u.oid))
                  WHEN 'c' THEN format('CREATE TYPE %I.%I AS (%s)', n.nspname, u.typname,
                    (SELECT string_agg(format('%I %s', ca.attname, format_type(ca.atttypid, ca.atttypmod)), ', ' ORDER BY ca.attnum)
                       FROM pg_attribute ca WHERE ca.attrelid = u.typrelid AND ca.attnum > 0 AND NOT ca.attisdropped))
                  ELSE format('CREATE DOMAIN %I.%I AS %s%s%s%s', n.nspname, u.typname, format_type(u.typbasetype, u.typtypmod),
                    CASE WHEN u.typnotnull THEN ' NOT NULL' ELSE '' END,
                    coalesce(' DEFAULT ' || u.typdefault, ''),
                    coalesce((SELECT ' ' || string_agg(format('CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), ' ')
                                FROM pg_constraint WHERE contypid = u.oid), ''))
                END AS ddl
           FROM pg_type u JOIN pg_namespace n ON n.oid = u.typnamespace
          WHERE u.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END AND u.typtype IN ('e', 'd', 'c')
       ) ut ON true
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  return res.rows.map((r) => ({
    name: r.name,
    type: r.type,
    typeOid: Number(r.oid),
    baseOid: Number(r.base_oid),
    elementOid: Number(r.elem_oid),
    typeCategory: r.category,
    nullable: r.nullable === 'true',
    generated: r.generated === 'true',
    generationExpr: r.gen_expr,
    defaultExpr: r.default_expr,
    collation: r.collation,
    // The default policy; the spec's column options override it (see activities/plan/prepare.ts).
    lossy: defaultLossyPolicy(Number(r.base_oid), Number(r.elem_oid)),
    field: r.name,
    userType: r.user_type_ddl ? { schema: r.user_type_schema, name: r.user_type_name, ddl: r.user_type_ddl } : null,
  }));
}

const TIMESTAMP_OIDS = new Set([1114, 1184]);

/**
 * Timestamps lose only digits below the millisecond in a MongoDB Date, a conversion users
 * expect (and the plan report warns about): truncate by default. Everything else fails on
 * a value that cannot be held exactly unless the spec chooses otherwise.
 */
export function defaultLossyPolicy(baseOid: number, elementOid: number): LossyPolicy {
  return TIMESTAMP_OIDS.has(elementOid || baseOid) ? 'truncate' : 'fail';
}

async function readPrimaryKey(pool: Pool, oid: string): Promise<string[]> {
  const res = await pool.query(
    `SELECT coalesce(json_agg(a.attname ORDER BY k.ord), '[]')::text AS cols
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisprimary`,
    [oid],
  );
  return JSON.parse(res.rows[0].cols);
}

async function suggest(pool: Pool, name: QualifiedName): Promise<string> {
  const res = await pool.query(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY 1, 2`,
  );
  const close = res.rows
    .map((r) => ({ schema: r.schema, name: r.name }) as QualifiedName)
    .filter((q) => editDistance(q.name, name.name) <= 2 || q.name.toLowerCase() === name.name.toLowerCase())
    .slice(0, 3);
  return close.length ? ` (did you mean ${close.map(displayName).join(', ')}?)` : '';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function relkindName(k: string): string {
  return ({ v: 'view', m: 'materialized view', f: 'foreign table', S: 'sequence', i: 'index' } as Record<string, string>)[k] ?? `relation of kind ${k}`;
}

function keyList(plan: TablePlan, alias = ''): string {
  return plan.key.map((k) => alias + quoteIdent(k)).join(', ');
}

/** The key columns' types, as format_type prints them (usable in casts). */
export function keyTypes(plan: TablePlan): string[] {
  return plan.key.map((k) => plan.columns.find((c) => c.name === k)!.type);
}

/** `(k1, k2) <op> ($n::t1, $n+1::t2)`, pushing the values onto params. */
function keyCompare(plan: TablePlan, op: string, values: string[], params: unknown[]): string {
  const types = keyTypes(plan);
  const placeholders = values.map((v, i) => {
    params.push(v);
    return `$${params.length}::${types[i]}`;
  });
  return `(${keyList(plan)}) ${op} (${placeholders.join(', ')})`;
}

/**
 * One keyset batch of a chunk: rows with key > `after` (or >= chunk.lo when starting) and
 * < chunk.hi, in key order. Every column comes back as text (see connections.ts).
 */
export async function readBatch(
  db: Pool | PoolClient,
  plan: TablePlan,
  chunk: ChunkRange,
  after: string[] | null,
  limit: number,
): Promise<SourceRow[]> {
  const res = await db.query(batchQuery(plan, chunk, after, limit));
  return res.rows;
}

/** The statement of readBatch: every column, in the plan's order, of the next keyset batch. */
export function batchQuery(plan: TablePlan, chunk: ChunkRange, after: string[] | null, limit: number): { text: string; values: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  if (after) where.push(keyCompare(plan, '>', after, params));
  else if (chunk.lo) where.push(keyCompare(plan, '>=', chunk.lo, params));
  if (chunk.hi) where.push(keyCompare(plan, '<', chunk.hi, params));
  params.push(limit);
  const sql =
    `SELECT ${plan.columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${quoteQualified(plan.table)}` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${keyList(plan)} LIMIT $${params.length}`;
  return { text: sql, values: params };
}

/** The rows with these keys (text form), in no particular order; absent keys are simply not returned. */
export async function readKeys(db: Pool | PoolClient, plan: TablePlan, keys: string[][]): Promise<SourceRow[]> {
  return readMatching(db, plan, plan.key, keys);
}

/**
 * The rows whose `columns` equal one of the value tuples (text form), in key order: a join
 * against unnest() of one array per column, so any number of tuples is one statement.
 */
export async function readMatching(db: Pool | PoolClient, plan: TablePlan, columns: string[], tuples: string[][]): Promise<SourceRow[]> {
  if (tuples.length === 0) return [];
  const types = columns.map((k) => plan.columns.find((c) => c.name === k)!.type);
  const params = columns.map((_k, i) => tuples.map((t) => t[i]));
  const sql =
    `SELECT ${plan.columns.map((c) => 't.' + quoteIdent(c.name)).join(', ')} FROM ${quoteQualified(plan.table)} t ` +
    `JOIN (SELECT DISTINCT * FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) AS k(${columns.map((_k, i) => `k${i}`).join(', ')})) k ` +
    `ON ${columns.map((k, i) => `t.${quoteIdent(k)} = k.k${i}`).join(' AND ')} ORDER BY ${keyList(plan, 't.')}`;
  const res = await db.query({ text: sql, values: params });
  return res.rows;
}

export function keyOf(plan: TablePlan, row: SourceRow): string[] {
  return plan.key.map((k) => row[k] as string);
}

export async function countRows(pool: Pool, plan: TablePlan): Promise<number> {
  const res = await pool.query(`SELECT count(*)::text AS n FROM ${quoteQualified(plan.table)}`);
  return Number(res.rows[0].n);
}

/** What existing rows hold in an added column: the stored "missing value" of a fast default, else NULL. */
export async function existingValues(pool: Pool, plan: TablePlan, added: ColumnInfo[]): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const c of added) {
    const r = await pool.query(
      `SELECT CASE WHEN a.atthasmissing THEN (a.attmissingval::text::${c.type}[])[1]::text END AS v
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2`,
      [quoteQualified(plan.table), c.name],
    );
    out[c.name] = r.rows[0]?.v ?? null;
  }
  return out;
}

/** The table's columns on the source now (a change event's fields are checked against them). */
export async function columnNames(pool: Pool, plan: TablePlan): Promise<Set<string>> {
  const r = await pool.query(`SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, [quoteQualified(plan.table)]);
  return new Set(r.rows.map((x: { attname: string }) => x.attname));
}
