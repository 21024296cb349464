// The migration: its phases (workflows/phases/machine.ts), operator messages
// (workflows/phases/handlers.ts), and the status everyone reads (the CLI by query, the
// Temporal UI by search attributes). Row data never passes through here: only the plan
// (names, columns, keys), counts and the verification summary. This file holds how a run
// begins (the input checked, the state made or carried) and how it ends: completed,
// failed, aborted, or handed over to a new run (continue-as-new).
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { MigrationInput, MigrationStatus } from '../contracts/migration';
import { formatProblem, parseSpecShape } from '../contracts/spec';
import { innermostMessage } from './failures';
import { stopBackfills } from './phases/backfill-children';
import { cancellationRequester, dropCreatedObjects, unfenceSource, writeRouting } from './phases/activities';
import { createContext, type MigrationContext } from './phases/context';
import { registerHandlers } from './phases/handlers';
import { drive, end, type Outcome, startPhase } from './phases/machine';
import { release } from './phases/release';
import { stopReverseSync } from './phases/reverse-sync';

/** New migrations validate their own input. */
const VALIDATE_INPUT_PATCH = 'validate-input';

export async function migration(input: MigrationInput): Promise<MigrationStatus> {
  const id = workflowInfo().workflowId;
  // The input as sent: the CLI fills in defaults, the Temporal UI's Start Workflow form does
  // not. Validate it here, or a partial spec copies nothing and reports success.
  // Migrations started before this check replay with the spec the CLI validated then (the
  // schema has grown stricter since: a replayed run must not refuse what it once accepted).
  const validated = input?.carried !== undefined || patched(VALIDATE_INPUT_PATCH);
  const shape = validated ? parseSpecShape((input as Partial<MigrationInput> | undefined)?.spec) : { spec: input.spec, problems: [] };
  if (!shape.spec) {
    const problems = shape.problems.map(formatProblem).join('\n');
    throw ApplicationFailure.create({ type: 'SpecError', nonRetryable: true, message: `the migration input is not a valid spec (nothing was started): {"spec": {...}} with\n${problems}` });
  }
  const ctx = createContext(id, input, shape.spec);
  const { status } = ctx;
  const forwardsSent = registerHandlers(ctx);

  ctx.publish(true);
  let outcome: Outcome;
  try {
    outcome = await ctx.work.run(() => drive(ctx, startPhase(input.carried)));
  } catch (err) {
    status.finishedAt = new Date(Date.now()).toISOString();
    if (ctx.abortReason === null && isCancellation(err) && CancellationScope.current().consideredCancelled) {
      // Temporal's own cancel (the UI's Request Cancellation): ends like an abort, never as a failure with no message.
      const who = await CancellationScope.nonCancellable(() => cancellationRequester({ workflowId: id, runId: workflowInfo().runId })).catch(() => 'by a Temporal cancellation request');
      ctx.abortReason = `cancelled ${who}`;
    }
    // Backfill children are abandoned on close (so they survive continue-as-new): stop them here.
    await CancellationScope.nonCancellable(() => stopBackfills({ migrationId: id, plans: ctx.plans, status, started: ctx.backfillStarted })).catch(() => undefined);
    if (ctx.captureStarted) await release(ctx);
    // Ended after the switch: nobody would own the source's role fence, or the reverse capture, any more (finalize lifts them too).
    if (status.phase === 'cut-over' || status.phase === 'rolling-back' || status.phase === 'rehearsing') {
      await stopReverseSync(ctx);
      await CancellationScope.nonCancellable(() => unfenceSource({ spec: ctx.spec, migrationId: id })).catch(() => undefined);
    }
    if (ctx.rollback && ctx.abortReason === null && isCancellation(err)) return await rolledBack(ctx);
    if (ctx.abortReason !== null && isCancellation(err)) {
      status.error = ctx.abortReason;
      end(ctx, 'aborted');
      throw ApplicationFailure.create({ message: `migration aborted: ${ctx.abortReason}`, type: 'MigrationAborted', nonRetryable: true, details: [status] });
    }
    status.error = innermostMessage(err);
    end(ctx, 'failed');
    throw ApplicationFailure.create({ message: status.error, type: 'MigrationFailed', nonRetryable: true, details: [status], cause: err as Error });
  }
  if ('handOver' in outcome) {
    // The phase goes on in a new run with everything this one knew (no row data), once the
    // children have heard every operator message this run took.
    // An Update still answering would be dropped by the new run, and a send still queued lost: forwardsSent waits for both.
    await forwardsSent();
    return await continueAsNew<typeof migration>({
      ...input,
      carried: { status, plans: ctx.plans, capture: ctx.capture, phase: outcome.handOver, backfillStarted: [...ctx.backfillStarted], runs: (status.runs ?? 1) + 1 },
    });
  }
  status.finishedAt = new Date(Date.now()).toISOString();
  if (ctx.captureStarted) await release(ctx);
  // Rolled back after the switch (rolling-back): the steps have done everything already.
  if (outcome.end === 'rolled-back' && status.rollback) status.rollback.finishedAt = status.finishedAt;
  end(ctx, outcome.end);
  return status;
}

/** The end of an operator's rollback (capture already released): what Ferry made on the target removed if asked, routing back to the source. */
async function rolledBack(ctx: MigrationContext): Promise<MigrationStatus> {
  const { status, spec, id } = ctx;
  const r = status.rollback!;
  await CancellationScope.nonCancellable(async () => {
    // Routing first: dropping the target takes its copy of the record with it.
    if (status.routing) {
      status.routing = { ...status.routing, writes: 'source', reads: 'source', readShare: 0, phase: 'rolled-back', changedAt: new Date(Date.now()).toISOString() };
      await writeRouting({ spec, state: status.routing }).catch(() => undefined);
    }
    if (ctx.rollback!.dropTarget) {
      const done = await dropCreatedObjects({ spec, migrationId: id });
      r.dropped = done.dropped;
      r.kept = done.kept;
    }
  }).catch((err) => {
    status.error = `the rollback could not remove what Ferry created on the target: ${innermostMessage(err)} (run ferry rollback again, or remove it by hand)`;
  });
  r.finishedAt = status.finishedAt = new Date(Date.now()).toISOString();
  end(ctx, 'rolled-back');
  return status;
}
