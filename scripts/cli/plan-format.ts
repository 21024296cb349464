// `ferry plan` as text. Apart from format.ts because it asks the engines how a table lands,
// and the engines load their drivers: `ferry status` must not pay for that.
import type { TargetKind } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { engineNamed } from '../../engines';
import { formatBytes, table } from './format';

/**
 * `ferry plan`: what would be copied, how, in what order, and what to read first. The target's
 * engine says how each table lands (its PlanView): for PostgreSQL, when each constraint, index
 * and foreign key is built for the mode.
 */
export function renderPlan(targetKind: TargetKind, plans: TablePlan[], chunkCounts?: Map<string, number>, mode: 'offline' | 'online' = 'offline'): string {
  const out: string[] = [];
  out.push(table(
    ['#', 'table', 'key', 'est. rows', 'est. size', 'rows/chunk', 'chunks', 'partitions'],
    plans.map((p, i) => [
      i + 1, p.display, `${p.key.join(', ')} (${p.keySource})`, p.estimatedRows, formatBytes(p.estimatedBytes), p.chunkRows,
      chunkCounts?.has(p.display) ? String(chunkCounts.get(p.display)) : `~${Math.max(1, Math.ceil(p.estimatedRows / p.chunkRows))}`, p.partitions || '-',
    ]),
  ));
  const engine = engineNamed(targetKind);
  for (const p of plans) {
    const view = engine.planView(p, mode);
    out.push('', `${p.display} → ${view.lands}`);
    out.push(table(
      ['column', 'type', 'null', ...view.columnHeads],
      p.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', ...view.columnCells(c)]),
    ).split('\n').map((l) => `  ${l}`).join('\n'));
    for (const note of view.notes) out.push(`  ${note}`);
    for (const e of p.embeds) out.push(`  embeds ${e.plan.display} as ${e.kind === 'many' ? 'array' : 'subdocument'} "${e.as}" on ${e.on.map(([a, b]) => `${e.plan.display}.${a} = ${b}`).join(' AND ')}`);
    for (const w of [...p.warnings, ...p.embeds.flatMap((e) => e.plan.warnings)]) out.push(`  warning: ${w}`);
  }
  return out.join('\n');
}
