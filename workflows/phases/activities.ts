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

// Who asked Temporal to cancel (the UI's Request Cancellation): read from history, for the message.
export const { cancellationRequester, migrationExecutionStatus } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});
