// Reading a PostgreSQL source: introspection, chunk boundaries, keyset batches and counts.
// Keys travel as PostgreSQL text (`$1::type` reads them back exactly), so a key range is
// plain JSON and means the same on every worker. Never OFFSET: every read is a keyset read.
import type { Pool, PoolClient } from 'pg';
import { quoteIdent, quoteQualified, displayName, QualifiedName } from '../identifiers';
import type { ChunkRange, ColumnInfo, TablePlan } from '../../workflows/definitions';

export type SourceRow = Record<string, string | null>;

export interface IntrospectProblem {
  index: number;
  message: string;
}

export async function introspectTables(
  pool: Pool,
  names: QualifiedName[],
): Promise<{ plans: TablePlan[]; problems: IntrospectProblem[] }> {
  const plans: TablePlan[] = [];
  const problems: IntrospectProblem[] = [];
  for (const [index, name] of names.entries()) {
    const rel = await pool.query(
      `SELECT c.oid::text AS oid, c.relkind,
              (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0)::bigint::text
                 FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid) AS est_rows,
              (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)::text
                 FROM pg_partition_tree(c.oid) t) AS est_bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [name.schema, name.name],
    );
    if (rel.rowCount === 0) {
      problems.push({ index, message: `no such table ${displayName(name)}${await suggest(pool, name)}` });
      continue;
    }
    const { oid, relkind, est_rows, est_bytes } = rel.rows[0];
    if (relkind !== 'r' && relkind !== 'p') {
      problems.push({ index, message: `${displayName(name)} is a ${relkindName(relkind)}, not a table: list its base tables instead` });
      continue;
    }
    const columns = await readColumns(pool, oid);
    const key = await readPrimaryKey(pool, oid);
    if (key.length === 0) {
      problems.push({
        index,
        message: `${displayName(name)} has no primary key: add one (ALTER TABLE ${quoteQualified(name)} ADD PRIMARY KEY (...)) so rows can be copied, resumed and verified by key`,
      });
      continue;
    }
    plans.push({
      table: name,
      display: displayName(name),
      columns,
      key,
      estimatedRows: Number(est_rows),
      estimatedBytes: Number(est_bytes),
    });
  }
  return { plans, problems };
}

async function readColumns(pool: Pool, oid: string): Promise<ColumnInfo[]> {
  const res = await pool.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int::text AS oid,
            t.typtype AS category, b.oid::int::text AS base_oid,
            (CASE WHEN b.typcategory = 'A' THEN b.typelem ELSE 0 END)::int::text AS elem_oid, (NOT a.attnotnull)::text AS nullable, (a.attgenerated <> '')::text AS generated,
            CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS gen_expr,
            ut.ddl AS user_type_ddl, ut.schema AS user_type_schema, ut.name AS user_type_name
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
                  ELSE format('CREATE DOMAIN %I.%I AS %s%s%s%s', n.nspname, u.typname, format_type(u.typbasetype, u.typtypmod),
                    CASE WHEN u.typnotnull THEN ' NOT NULL' ELSE '' END,
                    coalesce(' DEFAULT ' || u.typdefault, ''),
                    coalesce((SELECT ' ' || string_agg(format('CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), ' ')
                                FROM pg_constraint WHERE contypid = u.oid), ''))
                END AS ddl
           FROM pg_type u JOIN pg_namespace n ON n.oid = u.typnamespace
          WHERE u.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END AND u.typtype IN ('e', 'd')
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
    userType: r.user_type_ddl ? { schema: r.user_type_schema, name: r.user_type_name, ddl: r.user_type_ddl } : null,
  }));
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

function keyTypes(plan: TablePlan): string[] {
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
 * Splits a table into ranges of about `chunkRows` rows, in one pass over the primary-key
 * index: exact boundaries whatever the key type or how sparse the keys are. The first and
 * last ranges are open so rows beyond today's extremes are still covered.
 */
export async function planChunkRanges(pool: Pool, plan: TablePlan, chunkRows: number): Promise<{ chunks: ChunkRange[]; rows: number }> {
  const q = quoteQualified(plan.table);
  const keys = keyList(plan);
  const res = await pool.query(
    `SELECT json_build_array(${plan.key.map((k) => `s.${quoteIdent(k)}::text`).join(', ')})::text AS k
       FROM (SELECT ${keys}, row_number() OVER (ORDER BY ${keys}) AS n FROM ${q}) s
      WHERE (s.n - 1) % $1 = 0 AND s.n > 1
      ORDER BY s.n`,
    [chunkRows],
  );
  const count = await pool.query(`SELECT count(*)::text AS n FROM ${q}`);
  const bounds: string[][] = res.rows.map((r) => JSON.parse(r.k));
  const chunks: ChunkRange[] = [];
  for (let i = 0; i <= bounds.length; i++) {
    chunks.push({ index: i, lo: i === 0 ? null : bounds[i - 1], hi: i === bounds.length ? null : bounds[i] });
  }
  return { chunks, rows: Number(count.rows[0].n) };
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
