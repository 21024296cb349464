// The migration workflow's input, carried state and the status it answers.
import type { TableProgress } from './backfill';
import type { CaptureInfo, StartMarker } from './capture';
import type { CutoverStatus, CutoverStep, RoutingState } from './cutover';
import type { RehearsalMode, RehearsalSteps } from './rehearsal';
import type { StreamStart } from './reverse';
import type { ShadowStatus } from './shadow';
import type { Spec, TargetKind } from './spec';
import type { SyncProgress } from './sync';
import type { TablePlan } from './tables';
import type { VerificationResult } from './verify';

export type Phase = 'prepare' | 'backfill' | 'indexes' | 'catch-up' | 'verify' | 'sync' | 'cutover' | 'cut-over' | 'rolling-back' | 'rehearsing' | 'completed' | 'failed' | 'aborted' | 'rolled-back';

/**
 * Workflow input: the spec as written, `${VAR}` references unresolved. The workflow validates
 * it itself (a spec pasted into the Temporal UI has no defaults filled in).
 */
export interface MigrationInput {
  spec: Spec;
  /** Set when the migration continues-as-new during the sync: everything it knew. */
  carried?: MigrationCarried;
  /** History events after which the sync phase continues-as-new (default 10,000; tests set it small). */
  continueAsNewAfterEvents?: number;
  /** Set by a rehearsal workflow: after the shadow time, a cutover dry run and the rollback drill instead of a cutover. */
  rehearsal?: RehearsalMode;
}

/** The migration's state through continue-as-new (sync phase): plain JSON, no row data. */
export interface MigrationCarried {
  status: MigrationStatus;
  plans: TablePlan[];
  /** Null for an offline migration. */
  capture: CaptureInfo | null;
  /** The phase the new run resumes in (absent: sync, as the first runs that carried state wrote it). */
  phase?: 'backfill' | 'sync' | 'cut-over';
  /** Backfill children started so far (workflow ids): the new run waits for them instead of starting them again. */
  backfillStarted?: string[];
  /** Runs so far, counting this one (for status and tests). */
  runs: number;
}

export interface MigrationStatus {
  migrationId: string;
  name: string;
  phase: Phase;
  paused: boolean;
  targetKind: TargetKind | null;
  startedAt: string;
  finishedAt: string | null;
  rowsCopied: number;
  rowsEstimated: number;
  tables: TableProgress[];
  /** The operator's copy limit, rows per second for the whole migration (0 = unlimited). */
  throttle: number;
  /** CDC lag; null until the sync phase runs. */
  lag: { seconds: number; events: number } | null;
  /** The sync child's figures as last reported (ferry status asks the child for fresh ones). */
  sync: SyncProgress | null;
  /** The sync child workflow, once started. */
  syncWorkflowId: string | null;
  /** Change capture (mode online): connector/slot name and the start marker. */
  capture: { name: string; marker: StartMarker } | null;
  verification: VerificationResult | null;
  /** When the last verification began: the cutover's final check compares every key changed since. */
  verificationStartedAt?: string | null;
  error: string | null;
  /** Operator messages refused for a bad payload, newest last (at most 10): the value they meant to change stayed. */
  refused?: Array<{ message: string; reason: string; at: string }>;
  /** What releasing change capture could not remove, each with the command that removes it (`ferry cleanup --id` retries it all). */
  captureLeft?: Array<{ what: string; reason: string; command: string }>;
  /** Runs of the migration workflow (it continues-as-new during a long sync). */
  runs?: number;
  /** Shadow reads while syncing (online). */
  shadow?: ShadowStatus | null;
  /** Gates, steps and the freeze window (online). */
  cutover?: CutoverStatus | null;
  /** Where applications write and read, as the routing record says. */
  routing?: RoutingState | null;
  /** An operator's rollback: asked when, why, and what it removed from the target. */
  rollback?: RollbackStatus | null;
  /** The reverse sync (target → source after the switch); null or absent when the migration runs none. */
  reverse?: ReverseStatus | null;
  /** Every phase entered, with when (the rehearsal report's phase times; absent from runs before it). */
  phaseHistory?: Array<{ phase: Phase; at: string }>;
  /** A rehearsal's dry run and drill (input.rehearsal set). */
  rehearsal?: RehearsalSteps | null;
}

/** The reverse sync as the migration knows it: carried through continue-as-new with the status. */
export interface ReverseStatus {
  /** Reverse capture on a PostgreSQL target (Debezium), once the cutover's reverse-capture step made it (a marker written on the target was seen). */
  capture: CaptureInfo | null;
  /** Or, on a MongoDB target, where each collection's change stream starts (the token of its start marker's event). */
  streams?: StreamStart[] | null;
  /** The reverse sync child, once started (cut-over). */
  workflowId: string | null;
  /** Its figures as last reported. */
  progress: SyncProgress | null;
  /** It stopped (its last report came) or failed, with why. */
  stopped: boolean;
  error: string | null;
  /** When the target could first take writes (the switch): the rollback's check compares every key changed since. */
  switchedAt: string | null;
}

/** The rollback Update's request (the CLI's flags; the Temporal UI's dialog takes the same JSON). */
export interface RollbackRequest {
  /** Also remove exactly what Ferry created on the target (its ledger says what). */
  dropTarget?: boolean;
  /** During a cutover: `sync` (default) lifts the fence and goes on syncing; `rolled-back` ends the migration. */
  to?: 'sync' | 'rolled-back';
  reason?: string;
}

export interface RollbackStatus {
  requestedAt: string;
  reason: string;
  dropTarget: boolean;
  /** The phase it was asked in. */
  from: Phase;
  /** What --drop-target removed, and what it kept (with why). */
  dropped: string[];
  kept: string[];
  finishedAt: string | null;
  /** After the switch: each step of the way back, timed (the drill's figures). */
  steps?: CutoverStep[];
  /** Change events the reverse sync carried to the source (all of cut-over, counted on Kafka), and those its final drain waited for. */
  eventsCarried?: number;
  eventsDrained?: number;
  /** Seconds the application was frozen (target fenced → source resumed). */
  freezeSeconds?: number | null;
  /** Why an after-switch rollback did not happen (the target is un-fenced again and stays primary). */
  error?: string | null;
}

/** What prepare returns: the plans and, online, the change capture it set up. */
export interface MigrationPlan {
  targetKind: TargetKind;
  /** The reverse sync can run: the target's engine streams its writes back and the mapping inverts exactly (or the spec accepts it); absent in plans made before. */
  targetStreamsBack?: boolean;
  tables: TablePlan[];
  /** Change capture set up by prepare (mode online), else null. */
  capture: CaptureInfo | null;
}
