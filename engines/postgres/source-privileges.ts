// What the source must let Ferry read: SELECT on each table (or every column it reads) and
// USAGE on its schema, each missing right with the GRANT that gives it. Read-only catalog
// queries, run by `ferry start` and `ferry plan` before anything is started.
import type { Pool } from 'pg';
import type { TablePlan } from '../../contracts/tables';
import { quoteIdent, quoteQualified } from './identifiers';
import { jsonRows } from './capture/source-checks';

interface ReadRow {
  user: string;
  schema_usage: boolean;
  table_select: boolean;
  denied: string[];
}

/** SELECT on the table, or at least on every column Ferry reads; USAGE on its schema. */
export async function readProblems(pool: Pool, plan: TablePlan): Promise<string[]> {
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
