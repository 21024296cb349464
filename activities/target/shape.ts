// The key for anything compiled per table (row mappers, statements): the table's name AND
// its columns, types and key, so a worker that outlives a schema change never reuses a stale one.
import type { TablePlan } from '../../workflows/definitions';

export function planShape(plan: TablePlan): string {
  return JSON.stringify([plan.table, plan.key, plan.columns.map((c) => [c.name, c.type, c.generated])]);
}
