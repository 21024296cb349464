// Readable reports: one table per run, every step named and counted (pgcopydb-style).
import { positionText } from '../../contracts/offsets';
import { failingGates, type CutoverStatus, type CutoverStep, type GateResult, type RoutingState } from '../../contracts/cutover';
import type { MigrationStatus } from '../../contracts/migration';
import type { LatencySummary, ShadowStatus } from '../../contracts/shadow';
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
  if (s.shadow) out.push(shadowLine(s.shadow));
  if (s.routing) out.push(routingLine(s.routing));
  if (s.cutover) out.push(...renderCutoverSection(s.cutover, s.migrationId));
  if (s.reverse) out.push(...renderReverse(s));
  if (s.rollback?.steps?.length) out.push(...renderSteps(s.rollback.steps, Date.now()).split('\n').map((l, i) => (i === 0 ? `rollback after the switch:\n  ${l}` : `  ${l}`)));
  if (s.rollback?.error) out.push(`  rollback failed and was undone: ${s.rollback.error}`);
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

/** Seconds as an operator reads a short wait: tenths under a minute (a freeze window of 2.3 s matters), else 4m05s. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  return seconds < 60 ? `${Math.max(0, seconds).toFixed(1)} s` : formatDuration(seconds);
}

/** The time of day of an ISO timestamp (UTC), or the text as given when it does not parse. */
export function timeOfDay(iso: string | null): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(11, 19);
}

/** One gate a line: name, PASS/FAIL, what was measured, what it must be. */
export function renderGates(gates: readonly GateResult[]): string {
  return table(['gate', 'result', 'value', 'limit'], gates.map((g) => [g.name, g.pass ? 'pass' : 'FAIL', g.value, g.limit]));
}

/** A step's time: its duration once ended, the time so far while it runs. */
export function stepDuration(step: CutoverStep, now = Date.now()): string {
  if (step.durationSeconds !== null) return formatSeconds(step.durationSeconds);
  if (step.state !== 'running') return '-';
  const started = Date.parse(step.startedAt);
  return Number.isNaN(started) ? 'running' : `${formatSeconds((now - started) / 1000)} so far`;
}

export function renderSteps(steps: readonly CutoverStep[], now = Date.now()): string {
  return table(
    ['step', 'state', 'started', 'duration', 'detail'],
    steps.map((st) => [st.name, st.state === 'failed' ? 'FAILED' : st.state, timeOfDay(st.startedAt), stepDuration(st, now), st.detail ?? '']),
  );
}

export function routingLine(r: RoutingState): string {
  return `routing: writes → ${r.writes}, reads → ${r.reads}, ${r.readShare}% of reads may go to the target (phase ${r.phase}, changed ${r.changedAt})`;
}

const latency = (l: LatencySummary) => (l.samples ? `${l.p50}/${l.p95}/${l.p99} ms` : '-');

/** The shadow reads in one line (`ferry shadow` has the rest). */
export function shadowLine(s: ShadowStatus): string {
  const last = s.lastRoundAt ? `, last round ${s.lastRoundAt}` : ', no round yet';
  const err = s.lastError ? ` — last error: ${s.lastError}` : '';
  return `shadow: ${s.rounds} round${s.rounds === 1 ? '' : 's'}, ${s.keysCompared} keys compared, ${s.mismatches} mismatch${s.mismatches === 1 ? '' : 'es'} (${s.lagResolved} lag-resolved, ${s.inFlight} in flight)${last}; p50/p95/p99 source ${latency(s.source)}, target ${latency(s.target)}${err}`;
}

/** The cutover part of `ferry status`: state, failing gates, the steps, the freeze window, the error. */
export function renderCutoverSection(c: CutoverStatus, migrationId: string, now = Date.now()): string[] {
  const failing = failingGates(c.gates);
  const gates = c.gates.length ? `gates ${c.gates.length - failing.length}/${c.gates.length} pass${c.gatesAt ? ` (${c.gatesAt})` : ''}` : 'gates not evaluated yet';
  const out = [`cutover: ${c.state}, attempt${c.attempts === 1 ? '' : 's'} ${c.attempts}, ${gates}${c.approvedAt ? `, approved ${c.approvedAt}` : ''}`];
  for (const g of failing) out.push(`  gate ${g.name} FAILS: ${g.value} (limit ${g.limit})`);
  if (c.steps.length) out.push(renderSteps(c.steps, now).split('\n').map((l) => `  ${l}`).join('\n'));
  if (c.freezeSeconds !== null) out.push(`  freeze window: ${formatSeconds(c.freezeSeconds)} (the application could not write)`);
  if (c.error) out.push(`  last attempt failed and was undone: ${c.error}`);
  if (c.state === 'waiting' && c.gates.length) out.push(`  ${failing.length ? 'see every gate' : 'every gate holds'}: ferry cutover --id ${migrationId} --check`);
  return out;
}

/** The reverse sync (target → source after the switch): whether it runs, and its figures once it reports. */
function renderReverse(s: MigrationStatus): string[] {
  const r = s.reverse!;
  if (!r.capture && !r.streams?.length) return [`reverse sync: ${s.phase === 'cut-over' || s.phase === 'rolled-back' || s.phase === 'completed' ? 'stopped' : 'starts before the switch (the cutover\'s reverse-capture step)'}`];
  const feed = r.capture ? `capture ${r.capture.name}` : `change streams of ${r.streams!.map((x) => x.collection).join(', ')}`;
  const head = `reverse sync (target → source): ${feed}${r.switchedAt ? `, since the switch at ${r.switchedAt}` : ''}${r.error ? `, FAILED: ${r.error}` : ''}`;
  return [head, ...(r.progress ? renderSync(r.progress).map((l) => `  ${l.replace(/^sync:/, 'reverse:')}`) : ['  no report yet'])];
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
