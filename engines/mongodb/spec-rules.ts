// Spec rules for a MongoDB target that need no connection: it needs a database name, and a
// collection is named after the table alone, so two schemas' tables of one name would share it.
import type { Spec, SpecProblem } from '../../contracts/spec';
import { parseQualifiedName } from '../postgres/identifiers';

export function mongoSpecProblems(spec: Spec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!spec.target.database) {
    problems.push({ path: 'target.database', message: 'is required for a MongoDB target: name the database to write into' });
  }
  const seen = new Set<string>();
  const collections = new Map<string, number>();
  spec.tables.forEach((entry, i) => {
    const q = parseQualifiedName(typeof entry === 'string' ? entry : entry.table);
    if (typeof q === 'string') return; // the spec's own checks report it
    const key = `${q.schema}.${q.name}`;
    // A repeated table is reported as a repeat (activities/plan/spec.ts), not as a shared collection.
    if (!seen.has(key)) {
      if (collections.has(q.name)) {
        problems.push({ path: `tables[${i}]`, message: `would share the MongoDB collection "${q.name}" with tables[${collections.get(q.name)}]: migrate them in separate specs (different target.database)` });
      } else if (q.name.includes('$') || q.name.startsWith('system.')) {
        problems.push({ path: `tables[${i}]`, message: `"${q.name}" is not a valid MongoDB collection name ($ or a system. prefix)` });
      }
    }
    seen.add(key);
    collections.set(q.name, i);
  });
  return problems;
}
