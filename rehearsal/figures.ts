// The rehearsal's figures read from what the migration itself recorded (its status: phase
// history, tables, verification, shadow, the dry run's and the drill's steps) and from the
// samples taken while it ran, so the report's numbers are the workflow's own. Pure: the
// activity that stores the record (activities/rehearsal/record.ts) calls it.
import { chunkTimeQuantile } from '../contracts/backfill';
import type { CutoverStep } from '../contracts/cutover';
import type { MigrationStatus } from '../contracts/migration';
import type { CdcFigures, DrillFigures, DryRunFigures, PhaseFigures, RehearsalRecord, RehearsalSample, ShadowFigures, TableFigures, VerificationFigures } from '../contracts/rehearsal';
import { phaseSeconds } from './eta';
import { percentiles } from './percentiles';

/** A table's size as the source's statistics give it: heap bytes and the rows they hold. */
export interface TableSize {
  bytes: number;
  rows: number;
}

export type Figures = Pick<RehearsalRecord, 'phases' | 'tables' | 'cdc' | 'verification' | 'shadow' | 'dryRun' | 'drill'>;

/** The steps of the dry run and drill a real cutover runs with the application frozen. */
const FREEZE_STEPS = { dryRun: ['drain', 'final-check', 'prepare-target'], drill: ['reverse-capture'] } as const;

export function rehearsalFigures(status: MigrationStatus | null, samples: RehearsalSample[], sizes: Map<string, TableSize>, finalVerify: 'changed' | 'full' = 'changed'): Figures {
  const tables = (status?.tables ?? []).map((t) => tableFigures(t, sizes.get(t.table)));
  const phases = phaseFigures(status, tables);
  const dryRun = dryRunFigures(status, finalVerify);
  return {
    phases,
    tables,
    cdc: cdcFigures(status, samples),
    verification: verificationFigures(status, phases),
    shadow: shadowFigures(status, phases),
    dryRun,
    drill: drillFigures(status),
  };
}

const seconds = (from: string | null | undefined, to: string | null | undefined) => (from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : 0);
const rate = (n: number, s: number) => (s > 0 ? n / s : 0);

function tableFigures(t: MigrationStatus['tables'][number], size: TableSize | undefined): TableFigures {
  const s = seconds(t.copyStartedAt, t.copyFinishedAt);
  // The heap's bytes in proportion to the rows copied (a rehearsal on part of a table copies part of it).
  const bytes = size ? Math.round(size.rows > 0 ? (size.bytes * t.rowsCopied) / size.rows : size.bytes) : 0;
  const times = t.chunkTimes;
  return {
    table: t.table,
    rows: t.rowsCopied,
    bytes,
    seconds: s,
    rowsPerSecond: rate(t.rowsCopied, s),
    chunks: t.chunksDone,
    chunkSeconds: times ? { p50: chunkTimeQuantile(times, 0.5), p99: chunkTimeQuantile(times, 0.99), max: times.maxSeconds } : { p50: 0, p99: 0, max: 0 },
    retries: t.retries ?? 0,
  };
}

/** Each phase entered, timed to the next one (the last to the migration's end); terminal phases have no time. A continue-as-new records no phase, so each phase is one entry. */
function phaseFigures(status: MigrationStatus | null, tables: TableFigures[]): PhaseFigures[] {
  const history = status?.phaseHistory ?? [];
  const end = status?.finishedAt ?? null;
  const out: PhaseFigures[] = [];
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const bytes = tables.reduce((n, t) => n + t.bytes, 0);
  const verified = (status?.verification?.tables ?? []).reduce((n, t) => n + t.sourceRows, 0);
  for (let i = 0; i < history.length; i++) {
    const h = history[i];
    if (['completed', 'failed', 'aborted', 'rolled-back'].includes(h.phase)) continue;
    const s = seconds(h.at, history[i + 1]?.at ?? end);
    // Rows a phase moved or read: the copy for backfill, the comparison for verify.
    const moved = h.phase === 'backfill' ? { rows, bytes } : h.phase === 'verify' ? { rows: verified, bytes: 0 } : { rows: 0, bytes: 0 };
    out.push({ phase: h.phase, startedAt: h.at, seconds: s, rows: moved.rows, bytes: moved.bytes, rowsPerSecond: rate(moved.rows, s), bytesPerSecond: rate(moved.bytes, s) });
  }
  return out;
}

function cdcFigures(status: MigrationStatus | null, samples: RehearsalSample[]): CdcFigures {
  const lagged = samples.filter((s) => s.lagSeconds !== null);
  const syncing = samples.filter((s) => s.phase === 'sync');
  // The lag a cutover meets is the steady state's (sync), not the backlog catch-up works off by design.
  const steady = syncing.filter((s) => s.lagSeconds !== null);
  const incoming = (syncing.length ? syncing : lagged).map((s) => s.incomingPerSecond);
  return {
    samples,
    lag: percentiles((steady.length ? steady : lagged).map((s) => s.lagSeconds!)),
    eventsApplied: status?.sync?.eventsApplied ?? 0,
    incomingPerSecond: incoming.length ? incoming.reduce((a, b) => a + b, 0) / incoming.length : 0,
    // In steady state the apply runs at the incoming rate, whatever it could do: its capacity shows
    // only while it works off a backlog (catch-up), so the fastest sample is the best lower bound.
    applyCapacityPerSecond: Math.max(0, ...samples.map((s) => s.appliedPerSecond)),
  };
}

function verificationFigures(status: MigrationStatus | null, phases: PhaseFigures[]): VerificationFigures | null {
  const v = status?.verification;
  if (!v) return null;
  return {
    clean: v.clean,
    seconds: phaseSeconds({ phases }, 'verify'),
    tables: v.tables.map((t) => ({ table: t.table, sourceRows: t.sourceRows, targetRows: t.targetRows, differences: t.missing + t.extra + t.different })),
  };
}

function shadowFigures(status: MigrationStatus | null, phases: PhaseFigures[]): ShadowFigures | null {
  const s = status?.shadow;
  if (!s) return null;
  return { seconds: phaseSeconds({ phases }, 'sync'), rounds: s.rounds, keysCompared: s.keysCompared, mismatches: s.mismatches, source: s.source, target: s.target };
}

const stepSeconds = (steps: CutoverStep[], names: readonly string[]) => {
  const wanted = steps.filter((s) => names.includes(s.name));
  // A step that did not finish leaves the window unmeasured (a partial sum would look like a short freeze).
  if (wanted.length < names.length || wanted.some((s) => s.state !== 'done' || s.durationSeconds === null)) return null;
  return wanted.reduce((n, s) => n + s.durationSeconds!, 0);
};

function dryRunFigures(status: MigrationStatus | null, finalVerify: 'changed' | 'full'): DryRunFigures | null {
  const r = status?.rehearsal;
  if (!r || !r.dryRun.length) return null;
  const dry = stepSeconds(r.dryRun, FREEZE_STEPS.dryRun);
  const reverse = r.drill.some((s) => s.name === 'reverse-capture' && s.state === 'skipped') ? 0 : stepSeconds(r.drill, FREEZE_STEPS.drill);
  return { steps: r.dryRun, finalVerify, eventsDrained: r.eventsDrained, freezeSeconds: dry !== null && reverse !== null ? dry + reverse : null };
}

function drillFigures(status: MigrationStatus | null): DrillFigures | null {
  const r = status?.rehearsal;
  if (!r || !r.drill.length) return null;
  const ran = r.drill.filter((s) => s.state !== 'skipped');
  return { steps: r.drill, seconds: ran.length ? stepSeconds(ran, ran.map((s) => s.name)) : null };
}
