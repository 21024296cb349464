// The rights a run will need, checked by `ferry start` and `ferry plan` before anything is
// started, so a missing grant is one line with its path and the GRANT that fixes it instead
// of a migration failing at its first activity. Read-only catalog queries:
//   source  SELECT (and schema USAGE) on every table and embedded table, every column read;
//           online: what change capture needs (replication, publication, marker table,
//           ownership, replica identity) — the same checks prepareCapture runs;
//   target  what the target's engine asks (Engine.privilegeProblems): PostgreSQL, CREATE where
//           Ferry creates schemas and tables and writes on tables that exist.
import type { Pool } from 'pg';
import { specTables } from './spec';
import { type Spec, type SpecProblem } from '../../contracts/spec';
import { pgPool } from '../../engines/connections';
import { quoteIdent, quoteQualified } from '../../engines/postgres/identifiers';
import { targetEngine } from '../../engines';
import { jsonRows, roleProblems, tableProblems } from '../../engines/postgres/capture/source-checks';
import type { TablePlan } from '../../contracts/tables';

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
  problems.push(...(await targetEngine(spec).privilegeProblems(spec, plans, paths)));
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
