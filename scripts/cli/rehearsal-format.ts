// A rehearsal's record as the terminal shows it when it ends (`ferry rehearse --wait`, `ferry
// report`): the verdict and why, each criterion, the freeze and the drill, the ETA with its
// planning window, and what the cleanup left. The full figures are in the report files.
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { headline } from '../../rehearsal/report/sections';
import { formatDuration } from '../../rehearsal/report/units';

export function renderVerdict(r: RehearsalRecord): string[] {
  const lines = [`rehearsal ${r.rehearsalId}: ${headline(r)}`];
  for (const c of r.criteria) lines.push(`  ${c.pass ? 'pass' : 'FAIL'}  ${c.detail}`);
  lines.push(`  cutover freeze (dry run): ${formatDuration(r.dryRun?.freezeSeconds)} · rollback drill: ${formatDuration(r.drill?.seconds)} · lag p99 ${formatDuration(r.cdc.lag.p99)}`);
  const e = r.eta;
  if (e) {
    lines.push(`  ETA for production (${e.basis}, ×${+e.scaleFactor.toFixed(2)}): backfill ${formatDuration(e.backfillSeconds)} + verify ${formatDuration(e.verifySeconds)} + catch-up ${e.catchUpSeconds === null ? 'never (the apply does not keep up with the writes)' : formatDuration(e.catchUpSeconds)} + freeze ${formatDuration(e.freezeSeconds)} = ${formatDuration(e.totalSeconds)}`);
    if (e.planned) lines.push(`  plan a window of ${formatDuration(e.planned.low)} – ${formatDuration(e.planned.high)} (1.5–2× the measured)`);
  }
  if (r.cleanup.kept) lines.push(`  --keep: what the rehearsal made on the target is left for a look (capture was released); ferry cleanup --id ${r.migrationId} --drop-target removes it`);
  for (const l of r.cleanup.left) lines.push(`  left: ${l}`);
  return lines;
}
