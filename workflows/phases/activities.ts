// The activities the migration workflow calls itself (its children call their own), each
// with the limits its work needs. Imported as types: the worker runs them.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../../activities';
import { taskQueues } from '../../contracts/queues';

export const { prepareMigration } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// Building an index or validating a foreign key on a big table takes a while; the activity
// heartbeats while each statement runs, so a killed worker is noticed in minutes, not a day.
export const { finishTable } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DataError'] },
});

// Change capture set-up waits for the connector and the start marker; the re-check waits for the sync.
export const { prepareCapture, releaseCapture } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  // An abort waits for prepareCapture to stop, so nothing it creates appears after the release.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// The reverse capture on the target (the cutover's reverse-capture step) proves it streams like
// prepareCapture does; a target that cannot (wal_level, rights) fails the step, which un-fences.
export const { prepareReverseCapture } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumInterval: '10 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// Releasing never throws (what is left is reported): retried only when the worker itself failed.
export const { releaseReverseCapture } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Who asked Temporal to cancel (the UI's Request Cancellation): read from history, for the message.
export const { cancellationRequester, migrationExecutionStatus } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

// The gates' live reading returns when the verdict changes, or within a minute.
export const { watchGates } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// Shadow reads: a round that fails is counted as an error and the next round tries again.
export const { shadowRound } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

// The cutover's steps. Each is idempotent: a killed worker's attempt is retried on another,
// and the fence's own ledger says what is already done. Bounded so a step that cannot succeed
// fails the attempt (which un-fences) instead of holding the application frozen.
export const { fenceSource, advanceTargetSequences, prepareSwitch, compareChangedKeys, countDeadLetters } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'FenceFailed', 'DataError'] },
});

/**
 * The drain gives up at its own deadline (cutover.drainTimeoutSeconds) whichever attempt runs,
 * and its retries stop there too: the schedule-to-close bound is the deadline plus a margin.
 */
export function drainActivity(timeoutSeconds: number) {
  return proxyActivities<typeof activities>({
    taskQueue: taskQueues.control,
    scheduleToCloseTimeout: `${timeoutSeconds + 30} seconds`,
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '5 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DrainTimedOut', 'DrainFailed'] },
  }).drainToMarker;
}

/** The rollback's drain of a MongoDB target's change streams, bounded like drainActivity. */
export function streamDrainActivity(timeoutSeconds: number) {
  return proxyActivities<typeof activities>({
    taskQueue: taskQueues.control,
    scheduleToCloseTimeout: `${timeoutSeconds + 30} seconds`,
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '5 seconds', nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DrainTimedOut'] },
  }).drainStreams;
}

// Compensations, records that must happen, and the switch once the target may take writes:
// retried until they do (an operator sees the attempts in the UI), never given up on.
export const { unfenceSource, writeRouting, commitSwitch } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

export const { runAfterFlipHook } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '6 minutes',
  retry: { maximumAttempts: 1 },
});

// Deferred constraints run on the copy queue like finishTable (one statement may take a while).
export const { buildDeferredConstraints, validateForeignKeys } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.copy,
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError', 'DataError'] },
});

// A rollback's --drop-target: what the ledger says Ferry created on the target, children first.
export const { dropCreatedObjects } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});
