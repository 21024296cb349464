// Field names the spec asks for that MongoDB cannot store as asked (or that would collide),
// checked when the plan is made, before any row is copied.
import type { TablePlan } from '../../../contracts/tables';
import { fieldOf, mayBeArray, truncationMayChange } from './columns';

/** Fields that cannot be written as the spec names them; a reason each, none if all is well. */
export function mongoFieldProblems(plan: TablePlan): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string[]>();
  const singleKey = plan.key.length === 1 ? plan.key[0] : null;
  const claim = (field: string, owner: string) => owners.set(field, [...(owners.get(field) ?? []), owner]);
  for (const c of plan.columns) {
    const field = fieldOf(c);
    if (field === null) continue;
    const where = `${plan.display}.${c.name}${field === c.name ? '' : ` (field ${JSON.stringify(field)})`}`;
    if (field === '_id') {
      if (c.name !== singleKey || mayBeArray(c)) {
        problems.push(`${where}: a field named _id would replace the key-derived _id: rename the field in the spec (tables[].columns.${c.name}.rename) or drop it`);
      }
    } else if (field.startsWith('$')) {
      problems.push(`${where}: MongoDB field names cannot start with $: rename it in the spec (tables[].columns.${c.name}.rename)`);
    } else if (field === '' || field.includes('\0')) {
      problems.push(`${where}: a MongoDB field name cannot be empty or contain a NUL character: rename it in the spec`);
    }
    claim(field, `column ${c.name}`);
  }
  for (const e of plan.embeds ?? []) {
    if (e.as === '_id' || e.as.startsWith('$')) problems.push(`${plan.display}: embedded ${e.plan.display} cannot be stored as field ${JSON.stringify(e.as)}: choose another name`);
    claim(e.as, `embedded ${e.plan.display}`);
  }
  for (const [field, list] of owners) {
    if (list.length > 1 && field !== '_id') {
      problems.push(`${plan.display}: ${list.join(' and ')} would all be stored as field ${JSON.stringify(field)}: rename or drop all but one in the spec`);
    }
  }
  for (const k of plan.key) {
    const c = plan.columns.find((col) => col.name === k);
    if (c && c.lossy === 'truncate' && truncationMayChange(c)) {
      problems.push(`${plan.display}.${k}: key column with lossy: truncate: distinct keys could become one _id and overwrite each other; use lossy: string (or fail) for key columns`);
    }
  }
  return problems;
}
