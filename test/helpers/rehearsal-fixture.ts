// A realistic rehearsal record for the report and ETA tests: two tables copied in about nine
// minutes, sixty CDC samples across backfill, verification and sync, a dry run and a drill.
// Times are laid out from startedAt, and the derived figures (lag percentiles, ETA, criteria,
// verdict) are computed from the rest unless a test overrides them, so an override such as
// `{ dryRun: null }` yields a record that is consistent with it (here: no-go, freeze not measured).
import type { CutoverStep, CutoverStepName } from '../../contracts/cutover';
import type { PhaseFigures, RehearsalRecord, RehearsalSample, TableFigures } from '../../contracts/rehearsal';
import type { Spec } from '../../contracts/spec';
import { judgeCriteria, verdictOf } from '../../rehearsal/criteria';
import { computeEta } from '../../rehearsal/eta';
import { percentiles } from '../../rehearsal/percentiles';

export const SAMPLE_STARTED_AT = '2026-12-01T10:00:00.000Z';

/** The criteria the sample record is judged against (all pass with the defaults). */
export const sampleCriteria: Spec['rehearsal']['criteria'] = {
  backfillHours: 6,
  lagP99Seconds: 60,
  verificationClean: true,
  shadowMismatches: 0,
  freezeSeconds: 30,
  rollbackSeconds: 120,
};

export const sampleScale = { factor: 12, basis: '--scale 12x' };

// Phase layout in seconds from the start: [name, offset, seconds, rows, bytes].
const PHASES: Array<[string, number, number, number, number]> = [
  ['prepare', 0, 4.2, 0, 0],
  ['backfill', 4.2, 540, 1_400_000, 1_008_000_000],
  ['indexes', 544.2, 38, 0, 0],
  ['verify', 582.2, 95, 1_400_000, 0],
  ['sync', 677.2, 180, 0, 0],
  ['cleanup', 872, 13, 0, 0],
];
const BACKFILL_END = 544.2;
const SYNC_START = 677.2;
const SAMPLE_EVERY = 15;

export function sampleRecord(overrides: Partial<RehearsalRecord> = {}): RehearsalRecord {
  const startedAt = overrides.startedAt ?? SAMPLE_STARTED_AT;
  const start = Date.parse(startedAt);
  const at = (seconds: number) => new Date(start + Math.round(seconds * 1000)).toISOString();

  const phases: PhaseFigures[] = PHASES.map(([phase, offset, seconds, rows, bytes]) => ({
    phase, startedAt: at(offset), seconds, rows, bytes, rowsPerSecond: rows / seconds, bytesPerSecond: bytes / seconds,
  }));

  const tables: TableFigures[] = [
    { table: 'public.customers', rows: 200_000, bytes: 48_000_000, seconds: 90.4, rowsPerSecond: 200_000 / 90.4, chunks: 7, chunkSeconds: { p50: 11.8, p99: 14.1, max: 14.1 }, retries: 0 },
    { table: 'public.orders', rows: 1_200_000, bytes: 960_000_000, seconds: 531.7, rowsPerSecond: 1_200_000 / 531.7, chunks: 30, chunkSeconds: { p50: 15.9, p99: 22.4, max: 22.4 }, retries: 1 },
  ];

  const samples = cdcSamples(at);
  const syncing = samples.filter((s) => s.lagSeconds !== null);
  const applyRates = syncing.filter((s) => (s.lagEvents ?? 0) > 500).map((s) => s.appliedPerSecond);
  const cdc = {
    samples,
    lag: percentiles(syncing.map((s) => s.lagSeconds!)),
    eventsApplied: Math.round(syncing.reduce((a, s) => a + s.appliedPerSecond * SAMPLE_EVERY, 0)),
    incomingPerSecond: syncing.reduce((a, s) => a + s.incomingPerSecond, 0) / syncing.length,
    applyCapacityPerSecond: percentiles(applyRates).p95,
  };

  const dryRunSteps = steps(at, 800, [
    ['drain', 2.4, '148 events drained to the marker'],
    ['final-check', 3.1, '1,204 changed keys checked: 0 differences'],
    ['prepare-target', 0.6, 'sequences set, deferred constraints validated'],
    ['reverse-capture', 1.9, 'slot ferry_rev_orders and publication created'],
  ]);
  const drillSteps = steps(at, 840, [
    ['reverse-capture', 2.2, 'reverse connector ferry-orders-reverse running'],
    ['drain-reverse', 4.6, '62 events carried back to the source'],
    ['release-reverse', 0.8, 'reverse connector, slot and topics removed'],
  ]);

  const base: Omit<RehearsalRecord, 'eta' | 'criteria' | 'verdict'> = {
    rehearsalId: `rh-orders-${startedAt.slice(0, 19).replace(/[-:]/g, '')}`,
    migrationId: 'orders-rehearsal',
    specName: 'orders',
    targetKind: 'mongodb',
    source: 'postgres://ferry:***@staging-db.internal:5432/shop',
    target: 'mongodb://ferry:***@staging-mongo.internal:27017/shop_rehearsal',
    startedAt,
    finishedAt: at(885),
    outcome: 'completed',
    error: null,
    phases,
    tables,
    cdc,
    verification: {
      clean: true,
      seconds: 95,
      tables: tables.map((t) => ({ table: t.table, sourceRows: t.rows, targetRows: t.rows, differences: 0 })),
    },
    shadow: {
      seconds: 30, rounds: 6, keysCompared: 3_000, mismatches: 0,
      source: { p50: 1.8, p95: 4.2, p99: 7.9, samples: 600 },
      target: { p50: 2.1, p95: 5.0, p99: 9.4, samples: 600 },
    },
    dryRun: { steps: dryRunSteps, eventsDrained: 148, freezeSeconds: total(dryRunSteps) },
    drill: { steps: drillSteps, seconds: total(drillSteps) },
    cleanup: {
      kept: false,
      removed: ['connector ferry-orders', 'replication slot ferry_orders', 'publication ferry_orders', 'topics ferry.orders.*', 'database shop_rehearsal'],
      left: [],
    },
    ...overrides,
  };
  const eta = 'eta' in overrides ? overrides.eta! : computeEta(base, sampleScale);
  const criteria = overrides.criteria ?? judgeCriteria({ ...base, eta }, sampleCriteria);
  const verdict = overrides.verdict ?? verdictOf(base.outcome, criteria);
  return { ...base, eta, criteria, verdict };
}

/**
 * Two earlier rehearsals of the same spec, oldest first: a no-go a week before (the freeze over
 * its limit) and a go three days before, each a little slower than the sample.
 */
export function sampleHistory(): RehearsalRecord[] {
  const slower = (startedAt: string, backfill: number, freezeDrain: number): RehearsalRecord => {
    const base = sampleRecord({ startedAt });
    const phases = base.phases.map((p) => (p.phase === 'backfill' ? { ...p, seconds: backfill, rowsPerSecond: p.rows / backfill, bytesPerSecond: p.bytes / backfill } : p));
    const dryRunSteps = base.dryRun!.steps.map((s) => (s.name === 'drain' ? { ...s, durationSeconds: freezeDrain } : s));
    return sampleRecord({ startedAt, phases, dryRun: { ...base.dryRun!, steps: dryRunSteps, freezeSeconds: total(dryRunSteps) } });
  };
  return [slower('2026-11-24T09:30:00.000Z', 720, 31.5), slower('2026-11-28T14:00:00.000Z', 610, 6.8)];
}

/**
 * Every 15 s: rows climb through the backfill; the application writes ~120 events/s all along
 * (a daily-looking wave); nothing is applied until the sync starts, which first works off the
 * backlog at full speed (some lag, a large applied rate) and then follows the writes.
 */
function cdcSamples(at: (seconds: number) => string): RehearsalSample[] {
  const out: RehearsalSample[] = [];
  let backlog = 0;
  for (let i = 0; i < 60; i++) {
    const t = i * SAMPLE_EVERY;
    const phase = PHASES.filter(([, offset]) => offset <= t).at(-1)![0];
    const incoming = Math.round(120 + 25 * Math.sin(i / 6) + 8 * Math.cos(i * 1.7));
    const rowsCopied = Math.round(1_400_000 * Math.min(1, Math.max(0, (t - 4.2) / (BACKFILL_END - 4.2))));
    let applied = 0;
    let lag: number | null = null;
    if (t >= SYNC_START) {
      // Catch-up at about 2,400 events/s while a backlog is left, then as fast as they arrive.
      applied = backlog > 0 ? Math.min(2_400 - (i % 3) * 40, backlog / SAMPLE_EVERY + incoming) : incoming;
      // Lag as the time the backlog takes to apply at the catch-up rate, plus the pipeline's own.
      lag = backlog > 0 ? 0.8 + backlog / 2_400 : 0.8 + (i % 4) * 0.35;
    }
    backlog = Math.max(0, backlog + (incoming - applied) * SAMPLE_EVERY);
    out.push({ at: at(t), phase, rowsCopied, incomingPerSecond: incoming, appliedPerSecond: Math.round(applied), lagSeconds: lag === null ? null : Number(lag.toFixed(2)), lagEvents: t >= SYNC_START ? Math.round(backlog) : null });
  }
  return out;
}

function steps(at: (seconds: number) => string, from: number, list: Array<[CutoverStepName, number, string]>): CutoverStep[] {
  let t = from;
  return list.map(([name, seconds, detail]) => {
    const step: CutoverStep = { name, state: 'done', startedAt: at(t), durationSeconds: seconds, detail };
    t += seconds;
    return step;
  });
}

function total(list: readonly CutoverStep[]): number {
  return Number(list.reduce((a, s) => a + (s.durationSeconds ?? 0), 0).toFixed(1));
}
