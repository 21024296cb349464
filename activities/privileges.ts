// The rights a run will need, checked by `ferry start` and `ferry plan` before anything is
// started, so a missing grant is one line with its path and the GRANT that fixes it instead
// of a migration failing at its first activity. Read-only catalog queries:
//   source  SELECT (and schema USAGE) on every table and embedded table, every column read;
//           online: what change capture needs (replication, publication, marker table,
//           ownership, replica identity) — the same checks prepareCapture runs;
//   target  PostgreSQL: CREATE where Ferry creates schemas and tables, writes on tables that
//           exist; MongoDB: the connection check already made is enough.
import type { Pool } from 'pg';
import { specTables } from './spec';
import { type Spec, type SpecProblem } from '../contracts/spec';
import { pgPool } from '../engines/connections';
import { quoteIdent, quoteQualified } from '../engines/postgres/identifiers';
import { targetKind } from '../engines/engine';
import { jsonRows, roleProblems, tableProblems } from '../engines/postgres/capture/source-checks';
import type { TablePlan } from '../contracts/tables';

/** `tables[i]` for a plan (plans are in load order, not spec order). */
function pathsByTable(spec: Spec): Map<string, string> {
  return new Map(specTables(spec).map(({ name }, i) => [`${name.schema}.${name.name}`, `tables[${i}]`]));
}

const key = (p: TablePlan) => `${p.table.schema}.${p.table.name}`;

export async function privilegeProblems(spec: Spec, plans: TablePlan[], captureName = ''): Promise<SpecProblem[]> {
  const paths = pathsByTable(spec);
  const problems: SpecProblem[] = [];
  const source = pgPool(spec.source.url);
  for (const plan of plans) {
    const path = paths.get(key(plan)) ?? 'tables';
    problems.push(...(await readProblems(source, plan)).map((message) => ({ path, message })));
    for (const [j, e] of plan.embeds.entries()) {
      problems.push(...(await readProblems(source, e.plan)).map((message) => ({ path: `${path}.embed[${j}].table`, message })));
    }
  }
  if (spec.mode === 'online') {
    const role = await roleProblems(source, captureName);
    problems.push(...role.problems.map((message) => ({ path: 'source.url', message })));
    for (const plan of plans) {
      const path = paths.get(key(plan)) ?? 'tables';
      problems.push(...(await tableProblems(source, plan, role.superuser, role.user)).map((message) => ({ path, message })));
    }
  }
  if (targetKind(spec) === 'postgres') problems.push(...(await targetProblems(spec, plans, paths)));
  return problems;
}

interface ReadRow {
  user: string;
  schema_usage: boolean;
  table_select: boolean;
  denied: string[];
}

/** SELECT on the table, or at least on every column Ferry reads; USAGE on its schema. */
async function readProblems(pool: Pool, plan: TablePlan): Promise<string[]> {
  const sql = quoteQualified(plan.table);
  const [r] = await jsonRows<ReadRow>(
    pool,
    `SELECT current_user AS "user", has_schema_privilege(c.relnamespace, 'USAGE') AS schema_usage,
            has_table_privilege(c.oid, 'SELECT') AS table_select,
            coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attname = ANY ($2::text[]) AND NOT has_column_privilege(c.oid, a.attnum, 'SELECT')), '{}') AS denied
       FROM pg_class c WHERE c.oid = $1::regclass`,
    [sql, plan.columns.map((c) => c.name)],
  );
  if (!r) return [];
  const user = quoteIdent(r.user);
  const out: string[] = [];
  if (!r.schema_usage) out.push(`user ${r.user} has no USAGE on schema ${quoteIdent(plan.table.schema)} of the source, so cannot read ${sql}: run GRANT USAGE ON SCHEMA ${quoteIdent(plan.table.schema)} TO ${user};`);
  if (r.table_select) return out;
  const all = r.denied.length === plan.columns.length;
  out.push(
    all
      ? `user ${r.user} may not read ${sql} on the source (no SELECT): run GRANT SELECT ON ${sql} TO ${user};`
      : `user ${r.user} may not read column${r.denied.length > 1 ? 's' : ''} ${r.denied.join(', ')} of ${sql} on the source (no SELECT): run GRANT SELECT ON ${sql} TO ${user}; (or GRANT SELECT (${r.denied.map(quoteIdent).join(', ')}) ON ${sql} TO ${user};)`,
  );
  return out;
}

interface TargetRow {
  user: string;
  db: string;
  db_create: boolean;
  schemas: Array<{ name: string; exists: boolean; usage: boolean; create: boolean }>;
  tables: Array<{ schema: string; name: string; exists: boolean; writable: boolean }>;
}

/**
 * PostgreSQL target: a missing schema needs CREATE on the database, a missing table CREATE on
 * its schema, an existing table reads and writes. Ferry's mismatch and dead-letter stores
 * (checksum verification, online mode) run CREATE SCHEMA IF NOT EXISTS _ferry, which
 * PostgreSQL allows only with CREATE on the database, even when the schema exists.
 */
async function targetProblems(spec: Spec, plans: TablePlan[], paths: Map<string, string>): Promise<SpecProblem[]> {
  const pool = pgPool(spec.target.url, 'target.url');
  const stores = spec.verify === 'checksum' || spec.mode === 'online';
  const schemas = [...new Set(plans.map((p) => p.table.schema))];
  const [r] = await jsonRows<TargetRow>(
    pool,
    `SELECT current_user AS "user", current_database() AS db, has_database_privilege(current_database(), 'CREATE') AS db_create,
            (SELECT coalesce(json_agg(json_build_object('name', s, 'exists', n.oid IS NOT NULL,
                       'usage', coalesce(has_schema_privilege(n.oid, 'USAGE'), false), 'create', coalesce(has_schema_privilege(n.oid, 'CREATE'), false))), '[]')
               FROM unnest($1::text[]) s LEFT JOIN pg_namespace n ON n.nspname = s) AS schemas,
            (SELECT coalesce(json_agg(json_build_object('schema', t.s, 'name', t.n, 'exists', c.oid IS NOT NULL,
                       'writable', coalesce(has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE'), false))), '[]')
               FROM unnest($2::text[], $3::text[]) t(s, n)
               LEFT JOIN pg_namespace n ON n.nspname = t.s LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.n) AS tables`,
    [schemas, plans.map((p) => p.table.schema), plans.map((p) => p.table.name)],
  );
  const user = quoteIdent(r.user);
  const problems: SpecProblem[] = [];
  const schema = new Map(r.schemas.map((s) => [s.name, s]));
  const needsDbCreate = r.schemas.filter((s) => !s.exists).map((s) => s.name);
  if (!r.db_create && (needsDbCreate.length || stores)) {
    const what = [needsDbCreate.length && `schema${needsDbCreate.length > 1 ? 's' : ''} ${needsDbCreate.join(', ')}`, stores && `Ferry's stores (schema _ferry, for ${spec.mode === 'online' ? 'dead letters and ' : ''}verification)`].filter(Boolean).join(' and ');
    problems.push({ path: 'target.url', message: `user ${r.user} cannot create ${what} on the target (no CREATE on database ${r.db}): run GRANT CREATE ON DATABASE ${quoteIdent(r.db)} TO ${user};` });
  }
  for (const s of r.schemas.filter((x) => x.exists)) {
    const missing = r.tables.some((t) => t.schema === s.name && !t.exists);
    if (!s.usage || (missing && !s.create)) {
      const grant = [!s.usage && 'USAGE', missing && !s.create && 'CREATE'].filter(Boolean).join(', ');
      problems.push({ path: 'target.url', message: `user ${r.user} needs ${grant} on schema ${quoteIdent(s.name)} of the target to create and write its tables: run GRANT ${grant} ON SCHEMA ${quoteIdent(s.name)} TO ${user};` });
    }
  }
  for (const t of r.tables.filter((x) => x.exists && !x.writable && schema.get(x.schema)?.usage)) {
    const sql = quoteQualified({ schema: t.schema, name: t.name });
    problems.push({ path: paths.get(`${t.schema}.${t.name}`) ?? 'tables', message: `${sql} exists on the target but user ${r.user} may not read and write it: run GRANT SELECT, INSERT, UPDATE, DELETE ON ${sql} TO ${user};` });
  }
  return problems;
}
