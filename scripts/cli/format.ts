// Readable reports: one table per run, every step named and counted (pgcopydb-style).
import { positionText } from '../../contracts/offsets';
import type { MigrationStatus } from '../../contracts/migration';
import type { SyncProgress } from '../../contracts/sync';
import type { RepairResult, TableVerdict, VerificationResult } from '../../contracts/verify';
import type { RetryingActivity } from './client';

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_h, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatDuration(seconds: number): string {
  const t = Math.max(0, Math.round(seconds));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/** Copy rate since the first table started copying, and the time left at that rate. */
export function rateAndEta(s: MigrationStatus, now = Date.now()): { rowsPerSecond: number; secondsLeft: number | null } {
  const starts = s.tables.map((t) => t.copyStartedAt).filter((x): x is string => !!x).map((x) => Date.parse(x));
  if (!starts.length || s.phase !== 'backfill') return { rowsPerSecond: 0, secondsLeft: null };
  const elapsed = (now - Math.min(...starts)) / 1000;
  const rate = elapsed > 1 ? s.rowsCopied / elapsed : 0;
  return { rowsPerSecond: rate, secondsLeft: rate > 0 ? Math.max(0, s.rowsEstimated - s.rowsCopied) / rate : null };
}

export function renderStatus(s: MigrationStatus): string {
  const out: string[] = [];
  const pct = s.rowsEstimated ? ` (${((100 * s.rowsCopied) / s.rowsEstimated).toFixed(1)}%)` : '';
  const { rowsPerSecond, secondsLeft } = rateAndEta(s);
  out.push(`migration ${s.migrationId} (${s.name}) → ${s.targetKind ?? 'target'}`);
  out.push(`phase: ${s.phase}${s.paused ? ' [PAUSED]' : ''}   rows copied: ${s.rowsCopied}/${s.rowsEstimated}${pct}`);
  if (s.phase === 'backfill') {
    out.push(`rate: ${Math.round(rowsPerSecond)} rows/s   ETA: ${secondsLeft === null ? '--' : formatDuration(secondsLeft)}   throttle: ${s.throttle ? `${s.throttle} rows/s` : 'none'}`);
  }
  out.push(`started: ${s.startedAt}${s.finishedAt ? `   finished: ${s.finishedAt}` : ''}`);
  out.push(`lag: ${s.lag ? `${s.lag.seconds.toFixed(1)} s, ${s.lag.events} events` : 'n/a (no sync phase)'}`);
  if (s.capture) out.push(`capture: connector/slot ${s.capture.name}, start marker at ${positionText(s.capture.marker.position)} (LSN ${s.capture.marker.lsn ?? '?'}, ${s.capture.marker.seenAt})`);
  if (s.sync) out.push(...renderSync(s.sync));
  if (s.tables.length) {
    out.push('');
    out.push(table(
      ['table', 'state', 'rows copied', 'rows total', 'chunks', 'resumed'],
      s.tables.map((t) => [t.table, t.state, t.rowsCopied, t.estimatedRows, `${t.chunksDone}/${t.chunksTotal}`, t.chunksResumed]),
    ));
  }
  if (s.verification) out.push('', renderVerification(s.verification));
  for (const l of s.captureLeft ?? []) out.push(`NOT released: ${l.what}: ${l.reason}\n  remove it by hand: ${l.command}`);
  for (const r of s.refused ?? []) out.push(`refused ${r.message} (${r.at}): ${r.reason}`);
  if ((s.runs ?? 1) > 1) out.push(`workflow runs: ${s.runs} (continued-as-new to keep its history small)`);
  if (s.error) out.push('', `error: ${s.error}`);
  return out.join('\n');
}

export function renderSync(p: SyncProgress): string[] {
  const out = [
    `sync: ${p.state}   applied: ${p.eventsApplied} events (${Math.round(p.eventsPerSecond)}/s)   heartbeat trip: ${p.heartbeatSeconds === null ? '--' : `${p.heartbeatSeconds.toFixed(1)} s`}   dead letters: ${p.deadLetters}`,
  ];
  if (p.slot) out.push(`slot: ${p.slot.slot} ${p.slot.exists ? (p.slot.active ? 'active' : 'INACTIVE') : 'MISSING'}, confirmed LSN ${p.slot.confirmedLsn ?? '-'}, holds ${formatBytes(p.slot.retainedBytes)} of WAL${p.slot.walStatus ? ` (${p.slot.walStatus})` : ''}`);
  if (p.columnsAdded.length) out.push(`columns added on the source and followed: ${p.columnsAdded.join(', ')}`);
  if (p.halted) out.push(`halted at ${positionText(p.halted.position)}: ${p.halted.reason}`);
  for (const a of p.alerts) out.push(`ALERT: ${a}`);
  return out;
}

export function tableClean(t: TableVerdict): boolean {
  return t.missing + t.extra + t.different === 0 && t.sourceRows === t.targetRows;
}

export function renderVerification(v: VerificationResult): string {
  const out = [`verification ${v.verifyId} (${v.method}, ${v.checkedAt}): ${v.clean ? 'CLEAN' : 'MISMATCH'}`];
  out.push(table(
    ['table', 'chunks', 'source rows', 'target rows', 'missing', 'extra', 'different', 'result'],
    v.tables.map((t) => [t.table, t.chunks || '-', t.sourceRows, t.targetRows, t.missing, t.extra, t.different, tableClean(t) ? 'equal' : 'DIFFERS']),
  ));
  const samples = v.tables.flatMap((t) => t.sample.map((s) => `  ${t.table} ${s.kind} key (${s.key.join(', ')})`));
  if (samples.length) out.push('', 'first keys that differ:', ...samples.slice(0, 30));
  return out.join('\n');
}

export function renderRepair(results: RepairResult[]): string {
  return table(
    ['table', 'keys', 're-copied', 'deleted', 'still different'],
    results.map((r) => [r.table, r.keys, r.written, r.deleted, r.stillDifferent]),
  );
}

export function renderRetrying(list: RetryingActivity[]): string {
  if (!list.length) return '';
  return ['', 'retrying (the run is waiting on these; fix the cause or abort):',
    ...list.map((r) => `  ${r.workflowId} ${r.activity} attempt ${r.attempt}: ${r.lastFailure}`)].join('\n');
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
