// How `ferry plan` shows a table landing on MongoDB: its collection, each column's field name
// (renamed or dropped by the spec) and its lossy policy.
import type { TablePlan } from '../../contracts/tables';
import type { PlanView } from '../engine';

export function mongoPlanView(plan: TablePlan): PlanView {
  return {
    lands: `collection ${plan.table.name}`,
    columnHeads: ['field', 'lossy'],
    columnCells: (c) => [c.field === null ? '(dropped)' : c.field, c.lossy],
    notes: [],
    json: {},
  };
}
