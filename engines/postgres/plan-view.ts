// How `ferry plan` shows a table landing on PostgreSQL: defaults and generated columns, and
// when each constraint, index and foreign key is built for the mode (ddlSchedule): online,
// UNIQUE/EXCLUDE constraints, unique indexes and foreign keys wait for cutover.
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { PlanView } from '../engine';
import { ddlSchedule } from './finish';

export function postgresPlanView(plan: TablePlan, mode: Spec['mode']): PlanView {
  const schedule = ddlSchedule(plan, mode);
  const deferred = 'deferred to cutover (online)';
  const notes: string[] = [];
  for (const c of schedule.constraints) notes.push(c.when === 'at cutover' ? `constraint ${deferred}: ${c.clause}` : `constraint: ${c.clause}`);
  for (const i of schedule.indexes) {
    if (i.key) notes.push(`index (the key, created with the table): ${i.index.sql}`);
    else notes.push(i.when === 'at cutover' ? `index ${deferred}: ${i.index.sql}` : `index after load: ${i.index.sql}`);
  }
  for (const f of schedule.foreignKeys) {
    notes.push(`foreign key ${f.when === 'at cutover' ? deferred : 'after load'} (NOT VALID, then validated): ${f.fk.name} ${f.fk.definition}`);
  }
  return {
    lands: plan.display,
    columnHeads: ['default', 'generated'],
    columnCells: (c) => [c.defaultExpr ?? '', c.generated ? (c.generationExpr ?? 'yes') : ''],
    notes,
    json: { schedule },
  };
}
