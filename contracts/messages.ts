// Every signal, query and update, as the CLI, the Temporal UI and the workflows send them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BackfillProgress, ChunkControl } from './backfill';
import type { CutoverAnswer, GateResult, RouteRequest, RoutingState } from './cutover';
import type { TopicOffset } from './capture';
import type { MigrationStatus, RollbackRequest } from './migration';
import type { SkipRequest, SyncProgress, SyncReport } from './sync';
import type { TableVerdict } from './verify';

export const statusQuery = defineQuery<MigrationStatus>('status');

/** Sets the copy rate, rows per second for the whole migration; 0 removes the limit. */
export const throttleSignal = defineSignal<[rowsPerSecond: number]>('throttle');

/** A table's verification so far, asked of its verify child. */
export const verifyProgressQuery = defineQuery<TableVerdict>('verifyProgress');

export const chunkControlQuery = defineQuery<ChunkControl>('chunkControl');

export const pauseSignal = defineSignal('pause');

export const resumeSignal = defineSignal('resume');

export const abortSignal = defineSignal<[reason?: string]>('abort');

export const backfillProgressSignal = defineSignal<[BackfillProgress]>('backfillProgress');

/** A table's live progress, asked of its backfill child (queries cost no history). */
export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');

/** The sync child's live figures (queries cost no history). */
export const syncProgressQuery = defineQuery<SyncProgress>('syncProgress');

/** The apply activity → its sync workflow, every few seconds. */
export const syncProgressSignal = defineSignal<[SyncProgress]>('syncProgress');

export const syncReportSignal = defineSignal<[SyncReport]>('syncReport');

/**
 * Holds the sync stopped between batches while a repair writes source rows into the target
 * (or lets it go). A repair's snapshot of a row written while the sync applied a newer change
 * to it would overwrite that change for good; with the sync held, the changes since its
 * committed offsets are replayed after the repair, in order, and converge on the source.
 */
export const holdSignal = defineSignal<[{ holder: string; hold: boolean }]>('hold');

export const skipPoisonUpdate = defineUpdate<{ skipped: string }, [SkipRequest]>('skip');

/** The migration → its sync child: skip exactly this event (it must be the one the sync waits at). */
export const skipPoisonSignal = defineSignal<[TopicOffset]>('skipPoison');

/** Approves the cutover; refused (naming the failing gates) unless the migration syncs and every gate holds. Answers once the attempt has ended. */
export const cutoverUpdate = defineUpdate<CutoverAnswer, [request: { reason?: string }]>('cutover');

/** The gates as evaluated now from the migration's own figures (changes nothing). */
export const gatesQuery = defineQuery<GateResult[]>('gates');

/** After the switch: stop following the source, release capture, complete the migration. */
export const finalizeUpdate = defineUpdate<{ phase: string }, []>('finalize');

/** Before the write switch: record a share of reads for the target (refused while shadow mismatches exceed the gate). */
export const routeUpdate = defineUpdate<RoutingState, [RouteRequest]>('route');

/**
 * Rolls the migration back. Before the switch: stops the sync, releases capture and (with
 * dropTarget) removes what Ferry created on the target; the workflow completes rolled-back.
 * During a cutover: lifts the fence and goes on syncing (or, with to: rolled-back, the same
 * as before the switch). Refused after the switch until the reverse sync exists.
 */
export const rollbackUpdate = defineUpdate<{ phase: string; accepted: string }, [RollbackRequest]>('rollback');
