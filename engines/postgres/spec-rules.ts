// Spec rules for a PostgreSQL target that need no connection: it writes into the database its
// URL names and keeps the source's columns, so the MongoDB-only options are refused.
import type { Spec, SpecProblem } from '../../contracts/spec';

export function postgresSpecProblems(spec: Spec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (spec.target.database) {
    problems.push({ path: 'target.database', message: "applies to MongoDB targets only: a PostgreSQL target writes into the database named in target.url; remove this key" });
  }
  spec.tables.forEach((entry, i) => {
    if (typeof entry !== 'object') return;
    for (const [col, opts] of Object.entries(entry.columns ?? {})) {
      if (opts.rename || opts.drop) problems.push({ path: `tables[${i}].columns.${col}`, message: 'rename and drop apply to MongoDB targets only: a PostgreSQL target keeps the source columns; remove them' });
    }
    if (entry.embed?.length) problems.push({ path: `tables[${i}].embed`, message: 'embedding applies to MongoDB targets only: remove it for a PostgreSQL target' });
  });
  return problems;
}
