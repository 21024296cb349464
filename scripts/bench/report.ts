// The benchmark's report: one table of contenders, one of Ferry/peer ratios against the
// goals, and per-contender breakdowns (pgcopydb-style: every step named and timed).
import { table } from '../cli/format';
import type { ActivityTotals, Step } from './timeline';

export type ContenderId = 'copy' | 'pgcopydb' | 'ferry-pg' | 'ferry-pg-verified' | 'insertmany' | 'ferry-mongo';
export const CONTENDERS: ContenderId[] = ['copy', 'pgcopydb', 'ferry-pg', 'ferry-pg-verified', 'insertmany', 'ferry-mongo'];

export interface ContenderResult {
  id: ContenderId;
  label: string;
  target: 'postgres' | 'mongodb';
  /** ok: ran and copied every row; wrong: ran but the target does not hold the source rows. */
  status: 'ok' | 'skipped' | 'failed' | 'wrong';
  reason?: string;
  sourceRows: number;
  targetRows?: number;
  /** PostgreSQL targets: the copied table has its primary key. */
  primaryKey?: boolean;
  wallS?: number;
  rowsPerS?: number;
  /** The contender's own steps (timed inside its wall time). */
  steps?: Array<{ name: string; s: number }>;
  /** CPU seconds per process during the timed run. */
  cpu?: Record<string, number>;
  /** Ferry: peak RSS of the worker process during the migration. */
  workerPeakRssBytes?: number;
  workerPeakNote?: string;
  /** Ferry: the workflow's own span, its steps and activity totals (from Temporal history). */
  workflow?: {
    id: string;
    workflowS: number;
    cliOverheadS: number;
    /** From launching `ferry start` to the workflow's start (process start-up, spec check, start call). */
    cliBeforeS: number;
    /** From the workflow's close to the CLI's exit (status polling, exit). */
    cliAfterS: number;
    steps: Step[];
    activities: ActivityTotals[];
    verification: string | null;
    /** No activity running anywhere (see timeline.ts idleS). */
    idleS: number;
    /** Copy slots waiting for their next chunk to start: Σ copyChunk scheduled→started ÷ parallelism. */
    slotWaitS: number;
  };
  notes?: string[];
  /** Text the peer printed that explains its time (pgcopydb's summary table). */
  peerSummary?: string;
}

export interface Comparison {
  ferry: ContenderId;
  peer: ContenderId;
  /** time: Ferry wall / peer wall must be ≤ limit; speed: Ferry rows/s ÷ peer rows/s must be ≥ limit. */
  goal: { kind: 'time' | 'speed'; limit: number } | null;
}

export const COMPARISONS: Comparison[] = [
  // The copy-speed issue's goals.
  { ferry: 'ferry-pg', peer: 'pgcopydb', goal: { kind: 'time', limit: 0.8 } },
  { ferry: 'ferry-pg-verified', peer: 'pgcopydb', goal: { kind: 'time', limit: 1.2 } },
  { ferry: 'ferry-pg', peer: 'copy', goal: { kind: 'time', limit: 1.3 } },
  { ferry: 'ferry-pg-verified', peer: 'copy', goal: null },
  { ferry: 'ferry-mongo', peer: 'insertmany', goal: { kind: 'speed', limit: 0.9 } },
];

export interface RatioRow {
  ferry: ContenderId;
  peer: ContenderId;
  ferryS: number;
  peerS: number;
  /** Ferry wall / peer wall (lower is better). */
  timeRatio: number;
  /** Ferry rows/s ÷ peer rows/s (higher is better). */
  speedRatio: number;
  /** The workflow's own span / peer wall: the time ratio without the CLI's start-up and polling. */
  workflowTimeRatio: number | null;
  goal: string;
  met: boolean | null;
}

export function ratios(results: ContenderResult[]): RatioRow[] {
  const by = new Map(results.map((r) => [r.id, r]));
  const out: RatioRow[] = [];
  for (const c of COMPARISONS) {
    const f = by.get(c.ferry);
    const p = by.get(c.peer);
    if (f?.status !== 'ok' || p?.status !== 'ok' || !f.wallS || !p.wallS) continue;
    const timeRatio = f.wallS / p.wallS;
    const speedRatio = p.wallS / f.wallS; // same rows on both sides
    const goal = c.goal ? (c.goal.kind === 'time' ? `time ≤ ${c.goal.limit.toFixed(1)}` : `speed ≥ ${c.goal.limit.toFixed(1)}`) : '—';
    const met = c.goal ? (c.goal.kind === 'time' ? timeRatio <= c.goal.limit : speedRatio >= c.goal.limit) : null;
    const workflowTimeRatio = f.workflow ? f.workflow.workflowS / p.wallS : null;
    out.push({ ferry: c.ferry, peer: c.peer, ferryS: f.wallS, peerS: p.wallS, timeRatio, speedRatio, workflowTimeRatio, goal, met });
  }
  return out;
}

export const fmtS = (s: number | undefined) => (s === undefined || !Number.isFinite(s) ? '—' : s < 10 ? s.toFixed(2) : s.toFixed(1));
export const fmtInt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'));
export const fmtMiB = (b: number | undefined) => (b === undefined ? '—' : `${Math.round(b / 2 ** 20)} MiB`);

function cpuTotal(cpu: Record<string, number> | undefined): number | undefined {
  return cpu ? Object.values(cpu).reduce((a, b) => a + b, 0) : undefined;
}

export function summaryTable(results: ContenderResult[]): string {
  return table(
    ['contender', 'rows', 'wall s', 'rows/s', 'target rows', 'check', 'CPU s (all)', 'worker peak RSS'],
    results.map((r) => [
      r.label,
      fmtInt(r.sourceRows),
      r.status === 'ok' || r.status === 'wrong' ? fmtS(r.wallS) : r.status,
      fmtInt(r.rowsPerS),
      fmtInt(r.targetRows),
      r.status === 'ok' ? `✓${r.target === 'postgres' ? (r.primaryKey ? ' +PK' : ' no PK!') : ''}` : r.status === 'wrong' ? '✗ WRONG' : r.status === 'failed' ? '✗ failed' : '—',
      fmtS(cpuTotal(r.cpu)),
      r.workerPeakRssBytes !== undefined ? fmtMiB(r.workerPeakRssBytes) : '',
    ]),
  );
}

export function ratioTable(rows: RatioRow[], labels: Map<ContenderId, string>): string {
  return table(
    ['Ferry', 'vs peer', 'Ferry s', 'peer s', 'time ×', 'speed ×', 'goal', 'met', 'time × (workflow only)'],
    rows.map((r) => [
      labels.get(r.ferry) ?? r.ferry, labels.get(r.peer) ?? r.peer, fmtS(r.ferryS), fmtS(r.peerS), r.timeRatio.toFixed(2), r.speedRatio.toFixed(2), r.goal,
      r.met === null ? '' : r.met ? '✓' : '✗', r.workflowTimeRatio === null ? '—' : r.workflowTimeRatio.toFixed(2),
    ]),
  );
}

export function cpuLine(cpu: Record<string, number> | undefined, wallS: number | undefined, cores: number): string {
  if (!cpu) return '';
  const parts = Object.entries(cpu)
    .filter(([, v]) => v >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`);
  const total = cpuTotal(cpu) ?? 0;
  const util = wallS ? ` = ${((100 * total) / (wallS * cores)).toFixed(0)}% of ${cores} cores × wall` : '';
  return `CPU s: ${parts.join(', ')} (total ${total.toFixed(2)}${util})`;
}

/** A Ferry run's breakdown: the parent's steps, then activity totals over all runs. */
export function workflowBreakdown(w: NonNullable<ContenderResult['workflow']>, wallS: number): string {
  const out: string[] = [];
  out.push(`wall ${fmtS(wallS)} s = workflow ${fmtS(w.workflowS)} s + CLI ${fmtS(w.cliOverheadS)} s (${fmtS(w.cliBeforeS)} s from launch to workflow start, ${fmtS(w.cliAfterS)} s from workflow close to exit)   [${w.id}]`);
  const overhead = w.idleS + w.slotWaitS;
  out.push(
    `Temporal overhead ${fmtS(overhead)} s = ${((100 * overhead) / wallS).toFixed(1)}% of wall (goal < 5%): no activity running ${fmtS(w.idleS)} s ` +
      `(workflow tasks, scheduling, child starts), copy slots waiting for their next chunk ${fmtS(w.slotWaitS)} s`,
  );
  out.push(table(['migration step', 'at s', 'took s'], w.steps.map((s) => [s.what, fmtS(s.startS), fmtS(s.durationS)])));
  out.push(table(
    ['activity (all runs)', 'count', 'span s', 'busy s', 'max s', 'queued s', 'retries'],
    w.activities.map((a) => [a.name, a.count, fmtS(a.spanS), fmtS(a.busyS), fmtS(a.maxS), fmtS(a.waitS), a.retries]),
  ));
  return out.join('\n');
}

export function indent(text: string, by = '    '): string {
  return text.split('\n').map((l) => by + l).join('\n');
}
