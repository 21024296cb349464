// The rollback's drain for a MongoDB target: with the target fenced, a marker document goes into
// every collection; the drain ends once the reverse sync has recorded on the source that it
// passed each of them (it records a marker only after applying everything before it in that
// stream). Bounded by cutover.drainTimeoutSeconds, like the cutover's drain.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../../engines/connections';
import { writeMarkers } from '../../engines/mongodb/reverse-feed';
import { ensureMarkerTable, streamsPastMarker } from '../../engines/postgres/capture/marker';

const POLL_MS = 250;

export async function drainStreams(input: { spec: Spec; plans: TablePlan[]; migrationId: string; deadline: string; timeoutSeconds: number }): Promise<{ streams: number; drainedAt: string }> {
  const ctx = Context.current();
  const deadline = Date.parse(input.deadline);
  const source = pgPool(input.spec.source.url);
  await ensureMarkerTable(source);
  const token = `drain-${randomUUID()}`;
  await writeMarkers(input.spec, input.plans, token);
  for (;;) {
    const past = await streamsPastMarker(source, input.migrationId, token);
    if (past >= input.plans.length) return { streams: past, drainedAt: new Date().toISOString() };
    if (Date.now() > deadline) {
      throw ApplicationFailure.nonRetryable(`the drain did not finish within cutover.drainTimeoutSeconds (${input.timeoutSeconds} s): ${past} of ${input.plans.length} change stream(s) passed the marker — is the cdc worker running?`, 'DrainTimedOut');
    }
    ctx.heartbeat({ past });
    await ctx.sleep(POLL_MS);
  }
}
