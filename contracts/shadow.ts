// Shadow reads: what one round compares and finds, and the rolling figures the migration keeps.
// Keys and timings only: row contents never enter a workflow (`ferry shadow` reads them live).
import type { CaptureInfo } from './capture';
import type { Spec } from './spec';
import type { TablePlan } from './tables';

/** A difference that survived its re-check (the sync had applied everything committed before the first read). */
export interface ShadowDifference {
  table: string;
  key: string[];
  kind: 'missing' | 'extra' | 'different';
  /** How the key was chosen: a random sample, or a recent change. */
  source: 'sample' | 'recent';
  foundAt: string;
}

/** One operator query's round: results compared order-insensitively through the mapping. */
export interface ShadowQueryRound {
  name: string;
  runs: number;
  errors: number;
  mismatches: number;
  lastError: string | null;
  /** Milliseconds per read, this round (at most 100 each). */
  sourceMs: number[];
  targetMs: number[];
}

export interface ShadowRoundInput {
  spec: Spec;
  plans: TablePlan[];
  migrationId: string;
  /** The sync child: a difference is re-checked once it has applied what was committed before the first read. */
  syncWorkflowId: string;
  capture: CaptureInfo;
}

export interface ShadowRoundResult {
  keysCompared: number;
  /** Differences proven after the re-check (at most 20 listed; `mismatches` counts them all). */
  mismatches: number;
  differences: ShadowDifference[];
  /** Keys that differed at first and whose source row changed again before the re-check (hot rows): not counted. */
  inFlight: number;
  /** Keys that differed at first read and matched after the sync caught up: lag, not a mismatch. */
  lagResolved: number;
  /** Key reads, milliseconds (at most 100 each side). */
  sourceMs: number[];
  targetMs: number[];
  queries: ShadowQueryRound[];
  startedAt: string;
  durationMs: number;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  samples: number;
}

export interface ShadowQueryStats {
  name: string;
  runs: number;
  errors: number;
  mismatches: number;
  lastError: string | null;
  source: LatencySummary;
  target: LatencySummary;
}

/** The migration's rolling shadow figures (status.shadow). */
export interface ShadowStatus {
  rounds: number;
  keysCompared: number;
  /** Proven differences, all rounds together (the gate's value). */
  mismatches: number;
  inFlight: number;
  lagResolved: number;
  /** The most recent proven differences (at most 20). */
  differences: ShadowDifference[];
  source: LatencySummary;
  target: LatencySummary;
  queries: ShadowQueryStats[];
  lastRoundAt: string | null;
  lastError: string | null;
}

/** p50/p95/p99 of a list of milliseconds (nearest rank). */
export function summarize(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : 0);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), samples: sorted.length };
}

/** The cutover's final check (finalVerify: changed): every key with a change event at or after `sinceMs`, plus counts. */
export interface ChangedKeysInput {
  spec: Spec;
  plans: TablePlan[];
  capture: CaptureInfo;
  /** Kafka timestamp (ms): events from here to the topics' ends as the check starts. */
  sinceMs: number;
  syncWorkflowId: string;
  /** The cutover's drain has already proven every change up to the fence applied: the check does not wait for the sync again. */
  drained?: boolean;
}

export interface ChangedKeysTable {
  table: string;
  keysChecked: number;
  missing: number;
  extra: number;
  different: number;
  sourceRows: number;
  targetRows: number;
  /** At most 20 differences. */
  sample: Array<{ kind: ShadowDifference['kind']; key: string[] }>;
}

export interface ChangedKeysResult {
  /** No difference in any changed key and equal counts in every table. */
  clean: boolean;
  tables: ChangedKeysTable[];
}
