// The rights a run will need, checked by `ferry start` and `ferry plan` before anything is
// started, so a missing grant is one line with its path and the GRANT that fixes it instead
// of a migration failing at its first activity. Read-only catalog queries:
//   source  SELECT (and schema USAGE) on every table and embedded table, every column read;
//           online: what change capture needs (replication, publication, marker table,
//           ownership, replica identity) — the same checks prepareCapture runs;
//   target  what the target's engine asks (Engine.privilegeProblems): PostgreSQL, CREATE where
//           Ferry creates schemas and tables and writes on tables that exist.
import { specTables } from './spec';
import { type Spec, type SpecProblem } from '../../contracts/spec';
import { pgPool } from '../../engines/connections';
import { readProblems } from '../../engines/postgres/source-privileges';
import { targetEngine } from '../../engines';
import { roleProblems, tableProblems } from '../../engines/postgres/capture/source-checks';
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

