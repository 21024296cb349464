// A rehearsal: the whole migration run against a staging or scratch target while the source
// keeps its real load — backfill, catch-up, verification, shadow reads, a cutover dry run (the
// drain and the final check, timed, nothing fenced or switched), the rollback drill (reverse
// capture started and drained, timed) and the cleanup — and the record a team decides on:
// figures per phase and table, CDC over time, the go/no-go against the spec's criteria, and
// the ETA for production. Plain JSON: it is the rehearsal workflow's result and is stored on
// the target beside the other `_ferry` stores (no row data, no secrets: URLs are redacted).
import type { CutoverStep } from './cutover';
import type { LatencySummary } from './shadow';
import type { Spec } from './spec';

/** The rehearsal workflow's input (the CLI, the Temporal UI's form and a Schedule send the same). */
export interface RehearsalInput {
  /** The spec as written (`${VAR}` references unresolved); mode must be online. */
  spec: Spec;
  /** Seconds of shadow reads while syncing before the dry run (default: spec.rehearsal.shadowSeconds). */
  shadowSeconds?: number;
  /** Production size for the ETA: `12x` (a factor) or a row count (`50000000`); default: the source's statistics. */
  scale?: string;
  /** Leave what the rehearsal made on the target (and its capture released only), for a look. */
  keep?: boolean;
}

/** What the migration is told to do differently when a rehearsal runs it. */
export interface RehearsalMode {
  /** Seconds of shadow reads while syncing, then the dry run and the drill instead of a cutover. */
  shadowSeconds: number;
}

/** The migration's own rehearsal figures (status.rehearsal): the dry run and the drill. */
export interface RehearsalSteps {
  /** When the sync phase began: the shadow time is counted from here. */
  syncStartedAt: string | null;
  /** The cutover dry run: drain to a marker on the unfenced source, final check (settle-check after it, outside the freeze, when writes in flight made it differ), deferred constraints (after the forward sync stopped). */
  dryRun: CutoverStep[];
  /** The rollback drill: reverse capture started, the reverse sync drained to a marker on the target, released. */
  drill: CutoverStep[];
  /** Events still on their way when the dry run's drain began. */
  eventsDrained: number | null;
  /** Why a step of the dry run or drill failed (the rehearsal then ends no-go). */
  error: string | null;
}

export function emptyRehearsalSteps(): RehearsalSteps {
  return { syncStartedAt: null, dryRun: [], drill: [], eventsDrained: null, error: null };
}

/** One sample of the CDC and copy figures, every few seconds through the rehearsal. */
export interface RehearsalSample {
  at: string;
  phase: string;
  rowsCopied: number;
  /** Change events arriving on the topics per second (applied + growth of the backlog). */
  incomingPerSecond: number;
  appliedPerSecond: number;
  lagSeconds: number | null;
  lagEvents: number | null;
}

export interface PhaseFigures {
  phase: string;
  startedAt: string;
  seconds: number;
  rows: number;
  bytes: number;
  rowsPerSecond: number;
  bytesPerSecond: number;
}

export interface TableFigures {
  table: string;
  rows: number;
  bytes: number;
  /** From its first chunk to its last (copy only). */
  seconds: number;
  rowsPerSecond: number;
  chunks: number;
  chunkSeconds: { p50: number; p99: number; max: number };
  /** Chunk attempts beyond the first (a killed worker, a lost lock, a timeout). */
  retries: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface CdcFigures {
  samples: RehearsalSample[];
  /** Lag in seconds over the samples of the sync phase (the steady state a cutover meets; all samples with a lag when none was taken there). */
  lag: Percentiles;
  eventsApplied: number;
  /** Mean incoming events/s while syncing (the application's write rate as CDC sees it). */
  incomingPerSecond: number;
  /** What the apply can do, at least: the fastest applied events/s of any sample (steady state runs at the incoming rate; catch-up shows the capacity). */
  applyCapacityPerSecond: number;
}

export interface VerificationFigures {
  clean: boolean;
  seconds: number;
  tables: Array<{ table: string; sourceRows: number; targetRows: number; differences: number }>;
}

export interface ShadowFigures {
  seconds: number;
  rounds: number;
  keysCompared: number;
  mismatches: number;
  source: LatencySummary;
  target: LatencySummary;
}

export interface DryRunFigures {
  steps: CutoverStep[];
  /** The spec's cutover.finalVerify: `full` makes the final check a whole comparison (it then scales with size in the ETA). */
  finalVerify?: 'changed' | 'full';
  eventsDrained: number | null;
  /**
   * The freeze a real cutover would hold the application for, from the steps measured inside
   * it (drain, final check, deferred constraints, reverse capture; not settle-check); the fence, repoint and
   * switch themselves are not run by a rehearsal and not counted.
   */
  freezeSeconds: number | null;
}

export interface DrillFigures {
  steps: CutoverStep[];
  /** The drill's steps together: how long the way back's capture and drain took. */
  seconds: number | null;
}

/** The ETA for production, from the measured rates. */
export interface Eta {
  /** Production size ÷ rehearsal size. */
  scaleFactor: number;
  /** Where the factor came from: `--scale 12x`, `--scale 50000000 rows`, `the source's statistics`, `spec rehearsal.production`. */
  basis: string;
  rows: number;
  bytes: number;
  backfillSeconds: number;
  verifySeconds: number;
  /** Events accumulated during the backfill, applied at capacity − incoming; null when the apply cannot keep up (it never catches up). */
  catchUpSeconds: number | null;
  freezeSeconds: number | null;
  /** backfill + catch-up + verify + freeze; null when catch-up never ends or the freeze was not measured. */
  totalSeconds: number | null;
  /** The window to plan: total × 1.5 and × 2 (shown apart from the measured figure). */
  planned: { low: number; high: number } | null;
}

export type CriterionName = 'backfillHours' | 'lagP99Seconds' | 'verificationClean' | 'shadowMismatches' | 'freezeSeconds' | 'rollbackSeconds';

export interface CriterionResult {
  name: CriterionName;
  /** The spec's limit (a number, or true for verificationClean). */
  limit: number | boolean;
  /** What the rehearsal measured (null: not measured: counts as failing). */
  measured: number | boolean | null;
  unit: string;
  pass: boolean;
  /** One line for the report ("backfill at production size 2.4 h ≤ 6 h"). */
  detail: string;
}

export interface RehearsalRecord {
  rehearsalId: string;
  migrationId: string;
  specName: string;
  targetKind: string | null;
  /** Redacted URLs: where it ran. */
  source: string;
  target: string;
  startedAt: string;
  finishedAt: string;
  /** completed: every step ran; failed: one did not (error says which). */
  outcome: 'completed' | 'failed';
  error: string | null;
  phases: PhaseFigures[];
  tables: TableFigures[];
  cdc: CdcFigures;
  verification: VerificationFigures | null;
  shadow: ShadowFigures | null;
  dryRun: DryRunFigures | null;
  drill: DrillFigures | null;
  cleanup: { kept: boolean; removed: string[]; left: string[] };
  eta: Eta | null;
  criteria: CriterionResult[];
  /** go: completed and every criterion passed. */
  verdict: 'go' | 'no-go';
}
