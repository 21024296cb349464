// How `ferry rollback --wait/--drill` (and status) show the way back after the switch: each
// step with its time, then what the reverse sync carried and how long the application waited.
import type { MigrationStatus } from '../../contracts/migration';

export function formatRollbackSteps(s: MigrationStatus, drill: boolean): string {
  const r = s.rollback;
  if (!r?.steps?.length) return `${s.migrationId} is ${s.phase}`;
  const width = Math.max(...r.steps.map((x) => x.name.length));
  const lines = r.steps.map((x) => `  ${x.name.padEnd(width)}  ${x.state.padEnd(7)} ${x.durationSeconds === null ? '      ' : `${x.durationSeconds.toFixed(1).padStart(5)} s`}  ${x.detail ?? ''}`);
  const total = r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.requestedAt)) / 1000 : null;
  const figures = [
    `events carried back by the reverse sync: ${r.eventsCarried ?? 'n/a'}${r.eventsDrained !== undefined ? ` (the final drain waited for ${r.eventsDrained})` : ''}`,
    `application frozen (target fenced → source resumed): ${r.freezeSeconds === null || r.freezeSeconds === undefined ? 'n/a' : `${r.freezeSeconds.toFixed(1)} s`}`,
    ...(total !== null ? [`${drill ? 'drill' : 'rollback'} took ${total.toFixed(1)} s from the request`] : []),
  ];
  return [`${s.migrationId} is ${s.phase}${drill ? ' (rollback drill)' : ''}:`, ...lines, ...figures.map((f) => `  ${f}`)].join('\n');
}
