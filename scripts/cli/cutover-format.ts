// The pure parts of `ferry cutover`, `ferry route` and `ferry shadow`: what they print and
// with which exit code, apart from the Temporal calls so unit tests need no server.
import { failingGates, type CutoverAnswer, type CutoverStep, type GateResult } from '../../contracts/cutover';
import type { LatencySummary, ShadowStatus } from '../../contracts/shadow';
import { CliError } from './errors';
import { formatSeconds, renderGates, renderSteps, table } from './format';

/**
 * `ferry cutover --check`: passes only when there are gates and every one holds. No gates at
 * all is not a pass: the migration has not evaluated them (not online, or not syncing yet).
 */
export function gateCheck(gates: readonly GateResult[]): { pass: boolean; code: 0 | 1; text: string } {
  const failing = failingGates(gates);
  const pass = gates.length > 0 && failing.length === 0;
  const verdict = !gates.length
    ? 'no gates evaluated: the gates exist once an online migration syncs'
    : pass
      ? `all ${gates.length} gates pass: \`ferry cutover\` would be accepted now`
      : `${failing.length} of ${gates.length} gates fail (${failing.map((g) => g.name).join(', ')}): \`ferry cutover\` would be refused`;
  return { pass, code: pass ? 0 : 1, text: gates.length ? `${renderGates(gates)}\n\n${verdict}` : verdict };
}

/**
 * Lines for the steps that started or ended since the last call (`seen` remembers what each
 * step was last shown as; a step is one name at one start time, so a new attempt's shows again).
 * A step first seen already ended prints its end only.
 */
export function stepProgress(seen: Map<string, CutoverStep['state']>, steps: readonly CutoverStep[]): string[] {
  const out: string[] = [];
  for (const st of steps) {
    const key = `${st.name}@${st.startedAt}`;
    if (seen.get(key) === st.state) continue;
    seen.set(key, st.state);
    const detail = st.detail ? ` — ${st.detail}` : '';
    if (st.state === 'running') out.push(`  ${st.name}: started`);
    else if (st.state === 'done') out.push(`  ${st.name}: done in ${formatSeconds(st.durationSeconds)}${detail}`);
    else if (st.state === 'failed') out.push(`  ${st.name}: FAILED after ${formatSeconds(st.durationSeconds)}${detail}`);
    else out.push(`  ${st.name}: skipped${detail}`);
  }
  return out;
}

/** The end of `ferry cutover --wait`: steps, freeze window, outcome; exit 0 only when cut over. */
export function renderAnswer(answer: CutoverAnswer, migrationId: string): { code: 0 | 1; text: string } {
  const out: string[] = [];
  if (answer.steps.length) out.push(renderSteps(answer.steps), '');
  out.push(`freeze window: ${answer.freezeSeconds === null ? 'none (the source was not fenced)' : `${formatSeconds(answer.freezeSeconds)} (the application could not write)`}`);
  if (answer.cutOver) {
    out.push(`cut over: ${migrationId} is in phase ${answer.phase}; applications write to the target`);
    out.push(`to finish (stop following the source, release change capture, complete the migration): ferry finalize --id ${migrationId}`);
    return { code: 0, text: out.join('\n') };
  }
  out.push(`cutover FAILED and was undone (phase ${answer.phase}): ${answer.error ?? 'no reason given'}`);
  out.push(`the migration goes on syncing; see the gates with: ferry cutover --id ${migrationId} --check`);
  return { code: 1, text: out.join('\n') };
}

/** `--reads PERCENT`: a whole number from 0 to 100 (a trailing % is allowed); anything else is bad input. */
export function parseReadsPercent(raw: string | undefined): number {
  const text = (raw ?? '').trim();
  const m = /^(\d{1,3})%?$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || n > 100) {
    throw new CliError(`--reads takes the percent of reads to send to the target, a whole number from 0 to 100 (e.g. --reads 10; 0 sends every read to the source); got ${JSON.stringify(raw ?? '')}`, 2);
  }
  return n;
}

const ms = (l: LatencySummary) => (l.samples ? [l.p50, l.p95, l.p99, l.samples] : ['-', '-', '-', 0]);

/** `ferry shadow`: the rolling figures, the latencies per side, each query, the differences found. */
export function renderShadow(s: ShadowStatus, migrationId: string): string {
  const out = [
    `shadow reads of ${migrationId}: ${s.rounds} round${s.rounds === 1 ? '' : 's'}, last ${s.lastRoundAt ?? 'none yet'}`,
    `keys compared: ${s.keysCompared}   mismatches: ${s.mismatches}   lag-resolved: ${s.lagResolved}   in flight: ${s.inFlight}`,
    '  (lag-resolved: differed at first, matched once the sync caught up; in flight: changed again before the re-check, not counted)',
    '',
    table(['key reads (ms)', 'p50', 'p95', 'p99', 'samples'], [['source', ...ms(s.source)], ['target', ...ms(s.target)]]),
  ];
  if (s.queries.length) {
    out.push('', table(
      ['query', 'runs', 'errors', 'mismatches', 'source p50/p95/p99 ms', 'target p50/p95/p99 ms', 'last error'],
      s.queries.map((q) => [q.name, q.runs, q.errors, q.mismatches, ms(q.source).slice(0, 3).join('/'), ms(q.target).slice(0, 3).join('/'), q.lastError ?? '']),
    ));
  }
  if (s.differences.length) {
    const shown = s.differences.length < s.mismatches ? ` (the latest ${s.differences.length} of ${s.mismatches})` : '';
    out.push('', `differences proven after a re-check${shown}:`, table(
      ['table', 'key', 'kind', 'chosen by', 'found at'],
      s.differences.map((d) => [d.table, `(${d.key.join(', ')})`, d.kind, d.source === 'sample' ? 'random sample' : 'recent change', d.foundAt]),
    ));
  } else {
    out.push('', s.mismatches ? `${s.mismatches} differences proven, none listed` : 'no difference proven');
  }
  if (s.lastError) out.push('', `last error: ${s.lastError}`);
  return out.join('\n');
}
