// The key for anything compiled per table (row mappers, statements): the table's name AND
// its columns, types, key, spec options and embeds, so a worker that outlives a schema or
// spec change never reuses a stale one.
import type { TablePlan } from '../contracts/tables';

export function planShape(plan: TablePlan): string {
  const columns = (p: TablePlan) => p.columns.map((c) => [c.name, c.type, c.baseOid, c.elementOid, c.generated, c.lossy, c.field]);
  return JSON.stringify([plan.table, plan.key, columns(plan), plan.embeds.map((e) => [e.kind, e.as, e.on, e.plan.table, columns(e.plan)])]);
}
