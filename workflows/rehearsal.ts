// A rehearsal (`ferry rehearse`, the Temporal UI's Start Workflow form, or a Temporal Schedule):
// the migration run end to end as a child in rehearsal mode (workflows/phases/rehearsing.ts:
// after its shadow time, a cutover dry run and the rollback drill instead of a cutover), sampled
// as it runs, then cleaned up and recorded. However the migration ends — completed, failed,
// aborted — the cleanup runs and the record is stored: a failed rehearsal is a no-go with its
// reason, never a rehearsal that left a slot behind. Cancelling the rehearsal cancels its
// migration (which releases its capture) and still cleans up and records.
import { ApplicationFailure, CancellationScope, ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { rehearsalMigrationId } from '../contracts/ids';
import type { MigrationStatus } from '../contracts/migration';
import { taskQueues } from '../contracts/queues';
import type { RehearsalInput, RehearsalRecord, RehearsalSample } from '../contracts/rehearsal';
import { formatProblem, parseSpecShape } from '../contracts/spec';
import { parseScale } from '../rehearsal/scale';
import { innermostMessage } from './failures';
import { migration } from './migration';

/** Seconds between samples (the sampler doubles it on a long rehearsal, see activities/rehearsal/sample.ts). */
const SAMPLE_EVERY_SECONDS = 2;

// Runs as long as the migration: the heartbeat carries the samples to a retry on another worker.
const { sampleRehearsal } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 days',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds' },
});

const { cleanupRehearsal, recordRehearsal } = proxyActivities<typeof activities>({
  taskQueue: taskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['SpecError', 'ConfigurationError'] },
});

export async function rehearsal(input: RehearsalInput): Promise<RehearsalRecord> {
  const id = workflowInfo().workflowId;
  const spec = checkInput(input);
  const startedAt = new Date(Date.now()).toISOString();
  const migrationId = rehearsalMigrationId(id);
  const shadowSeconds = input.shadowSeconds ?? spec.rehearsal.shadowSeconds;

  let status: MigrationStatus | null = null;
  let error: string | null = null;
  let samples: RehearsalSample[] = [];
  try {
    const child = await startChild(migration, {
      workflowId: migrationId,
      taskQueue: taskQueues.control,
      // A rehearsal terminated by hand must not leave its migration running: cancelled, it releases
      // its capture itself (what it made on the target is then ferry cleanup's, and no record is stored).
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [{ spec: input.spec, rehearsal: { shadowSeconds } }],
    });
    const sampling = sampleRehearsal({ migrationId, everySeconds: SAMPLE_EVERY_SECONDS });
    sampling.catch(() => undefined);
    try {
      status = await child.result();
    } catch (err) {
      error = innermostMessage(err);
      status = statusOf(err);
    }
    // Ends once the migration has (or with its cancellation, when the rehearsal is cancelled: no samples then).
    samples = await sampling.catch(() => samples);
  } catch (err) {
    error ??= innermostMessage(err);
  }
  // Whatever happened above (a cancelled rehearsal too): clean up, then record.
  return CancellationScope.nonCancellable(async () => {
    const cleanup = await cleanupRehearsal({ spec: input.spec, migrationId, captureName: status?.capture?.name ?? null, keep: !!input.keep });
    return recordRehearsal({ spec: input.spec, rehearsalId: id, migrationId, status, samples, scale: input.scale ?? null, cleanup, startedAt, finishedAt: new Date(Date.now()).toISOString(), error });
  });
}

/** The input checked before anything starts: a bad spec or --scale fails at once, with what to change. */
function checkInput(input: RehearsalInput) {
  const shape = parseSpecShape((input as Partial<RehearsalInput> | undefined)?.spec);
  if (!shape.spec) {
    throw ApplicationFailure.create({ type: 'SpecError', nonRetryable: true, message: `the rehearsal input is not a valid spec (nothing was started): {"spec": {...}} with\n${shape.problems.map(formatProblem).join('\n')}` });
  }
  if (shape.spec.mode !== 'online' || !shape.spec.sync) {
    throw ApplicationFailure.create({ type: 'SpecError', nonRetryable: true, message: 'a rehearsal runs the migration online, through catch-up, sync, a cutover dry run and the rollback drill: set mode: online and give the sync section (nothing was started)' });
  }
  if (input.scale !== undefined) {
    try {
      parseScale(input.scale);
    } catch (err) {
      throw ApplicationFailure.create({ type: 'SpecError', nonRetryable: true, message: `${(err as Error).message} (nothing was started)` });
    }
  }
  if (input.shadowSeconds !== undefined && !(Number.isInteger(input.shadowSeconds) && input.shadowSeconds >= 0)) {
    throw ApplicationFailure.create({ type: 'SpecError', nonRetryable: true, message: `shadowSeconds must be a whole number of seconds ≥ 0, not ${JSON.stringify(input.shadowSeconds)} (nothing was started)` });
  }
  return shape.spec;
}

/** The status a failed or aborted migration carries in its failure's details. */
function statusOf(err: unknown): MigrationStatus | null {
  for (let e = err as { cause?: unknown; details?: unknown[] } | undefined; e; e = e.cause as typeof e) {
    if (e instanceof ApplicationFailure && Array.isArray(e.details) && e.details[0] && typeof e.details[0] === 'object') return e.details[0] as MigrationStatus;
  }
  return null;
}
