// Readable reports: one table per run, every step named and counted (pgcopydb-style).
import type { MigrationStatus } from '../../workflows/definitions';
import type { RetryingActivity } from './client';

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_h, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function renderStatus(s: MigrationStatus): string {
  const out: string[] = [];
  const pct = s.rowsEstimated ? ` (${((100 * s.rowsCopied) / s.rowsEstimated).toFixed(1)}%)` : '';
  out.push(`migration ${s.migrationId} (${s.name}) → ${s.targetKind ?? 'target'}`);
  out.push(`phase: ${s.phase}${s.paused ? ' [PAUSED]' : ''}   rows copied: ${s.rowsCopied}/${s.rowsEstimated}${pct}`);
  out.push(`started: ${s.startedAt}${s.finishedAt ? `   finished: ${s.finishedAt}` : ''}`);
  out.push(`lag: ${s.lag ? `${s.lag.seconds.toFixed(1)} s, ${s.lag.events} events` : 'n/a (no sync phase)'}`);
  if (s.tables.length) {
    out.push('');
    out.push(table(
      ['table', 'state', 'rows copied', 'rows total', 'chunks', 'resumed'],
      s.tables.map((t) => [t.table, t.state, t.rowsCopied, t.estimatedRows, `${t.chunksDone}/${t.chunksTotal}`, t.chunksResumed]),
    ));
  }
  if (s.verification) {
    out.push('');
    out.push(`verification (${s.verification.method}, ${s.verification.checkedAt}): ${s.verification.clean ? 'CLEAN' : 'MISMATCH'}`);
    out.push(table(
      ['table', 'source rows', 'target rows', 'match'],
      s.verification.tables.map((t) => [t.table, t.sourceRows, t.targetRows, t.match ? 'yes' : 'NO']),
    ));
  }
  if (s.error) out.push('', `error: ${s.error}`);
  return out.join('\n');
}

export function renderRetrying(list: RetryingActivity[]): string {
  if (!list.length) return '';
  return ['', 'retrying (the run is waiting on these; fix the cause or abort):',
    ...list.map((r) => `  ${r.workflowId} ${r.activity} attempt ${r.attempt}: ${r.lastFailure}`)].join('\n');
}
