// The rights a PostgreSQL target must grant for a run (see activities/plan/privileges.ts, which
// checks the source): read-only catalog queries, every problem with the GRANT that fixes it.
import type { Spec, SpecProblem } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../connections';
import { quoteIdent, quoteQualified } from './identifiers';
import { jsonRows } from './capture/source-checks';

interface TargetRow {
  user: string;
  db: string;
  db_create: boolean;
  schemas: Array<{ name: string; exists: boolean; usage: boolean; create: boolean }>;
  tables: Array<{ schema: string; name: string; exists: boolean; writable: boolean }>;
}

/**
 * PostgreSQL target: a missing schema needs CREATE on the database, a missing table CREATE on
 * its schema, an existing table reads and writes. Ferry's stores — the load ledger of the
 * tables it creates, the mismatch and dead-letter stores (checksum verification, online
 * mode) — run CREATE SCHEMA IF NOT EXISTS _ferry, which PostgreSQL allows only with CREATE on
 * the database, even when the schema exists.
 */
export async function targetPrivilegeProblems(spec: Spec, plans: TablePlan[], paths: Map<string, string>): Promise<SpecProblem[]> {
  const pool = pgPool(spec.target.url, 'target.url');
  const verifying = spec.verify === 'checksum' || spec.mode === 'online';
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
  const creates = r.tables.some((t) => !t.exists);
  const stores = verifying || creates;
  const storesFor = [creates && 'the tables it loads', spec.mode === 'online' && 'dead letters', verifying && 'verification'].filter(Boolean).join(', ');
  if (!r.db_create && (needsDbCreate.length || stores)) {
    const what = [needsDbCreate.length && `schema${needsDbCreate.length > 1 ? 's' : ''} ${needsDbCreate.join(', ')}`, stores && `Ferry's stores (schema _ferry, for ${storesFor})`].filter(Boolean).join(' and ');
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
