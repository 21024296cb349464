// rehearsing (online, a rehearsal's migration only): after its shadow time in sync, what a
// cutover and a rollback would do, timed, without fencing or switching anything — the source
// keeps its real load and stays the primary throughout:
//   the cutover dry run: drain to a marker (the source unfenced), the final check, then the
//   forward sync stopped and its capture released, and the target's deferred constraints and
//   sequences (the freeze window's steps) →
//   the rollback drill: reverse capture started on the target (proven by its marker), the
//   reverse sync started and drained to a marker written on the target, then stopped and its
//   capture released.
// The drill's reverse sync writes nowhere (engines/drill.ts): it reads, orders and commits every
// change the target takes, and a staging target's writes (a tester's, or the forward sync's
// last) never reach the production source. The forward sync is stopped before it starts all
// the same, so what the drill reads is the target at rest.
// Any failing step fails the migration (the rehearsal reports it no-go, and cleans up); an
// abort or a cancellation ends it aborted, as in any phase.
import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { CutoverStep, CutoverStepName } from '../../contracts/cutover';
import { emptyRehearsalSteps, type RehearsalSteps } from '../../contracts/rehearsal';
import { reversedSpec } from '../../contracts/reverse';
import { syncWorkflowId } from '../../contracts/ids';
import { describeDifferences } from '../../contracts/verify';
import { innermostMessage } from '../failures';
import { advanceTargetSequences, buildDeferredConstraints, compareChangedKeys, drainActivity, prepareReverseCapture, streamDrainActivity } from './activities';
import type { MigrationContext } from './context';
import { CHANGED_MARGIN_MS } from './cutover';
import { release } from './release';
import { noReverseSyncReason, startReverseSync, stopReverseSync } from './reverse-sync';
import { nowIso, runStep, StepFailed } from './steps';
import { verifyWhileSyncing } from './verify';

export async function rehearsing(ctx: MigrationContext): Promise<'completed'> {
  const { spec, status, id } = ctx;
  const r: RehearsalSteps = (status.rehearsal ??= emptyRehearsalSteps());
  const timeout = spec.cutover.drainTimeoutSeconds;
  const deadline = () => new Date(Date.now() + timeout * 1000).toISOString();
  const dry = <T>(name: CutoverStepName, run: () => Promise<T>, describe?: (x: T) => string) => runStep(r.dryRun, name, run, describe);
  const drill = <T>(name: CutoverStepName, run: () => Promise<T>, describe?: (x: T) => string) => runStep(r.drill, name, run, describe);
  let reverseStarted = false;
  ctx.publish(true);
  try {
    const drain = drainActivity(timeout);
    const drained = await dry('drain', () => drain({ spec, migrationId: id, capture: ctx.capture!, deadline: deadline(), timeoutSeconds: timeout }), (x) => `${x.eventsDrained} event(s) on their way drained to the marker at ${x.markerLsn} (the source unfenced: its writes went on)`);
    r.eventsDrained = drained.eventsDrained;
    await dryFinalCheck(ctx, dry);
    await release(ctx);
    ctx.captureStarted = false;
    ctx.capture = null;
    if (!ctx.sync.stopped && !ctx.sync.ended && !ctx.sync.failed) throw new StepFailed(`the forward sync did not stop when asked (see ${status.syncWorkflowId}): the drill needs the target at rest`);
    await dry('prepare-target', async () => {
      for (const plan of ctx.plans) await buildDeferredConstraints({ spec, plan, validateForeignKeys: false });
      await advanceTargetSequences({ spec, plans: ctx.plans });
      return ctx.plans.length;
    }, (n) => `deferred constraints and sequences of ${n} table(s) (the forward sync stopped first)`);

    const rev = status.reverse;
    if (!rev) {
      r.drill.push(skipped('reverse-capture', `no rollback drill: this migration would run no reverse sync (${noReverseSyncReason(ctx)}), so a rollback after the switch would be refused`));
      return 'completed';
    }
    reverseStarted = true;
    const made = await drill('reverse-capture', async () => {
      const m = await prepareReverseCapture({ spec, plans: ctx.plans, migrationId: id });
      rev.capture = m.kind === 'debezium' ? m.capture : null;
      rev.streams = m.kind === 'change-stream' ? m.streams : null;
      await startReverseSync(ctx, { drill: true });
      return m;
    }, (m) => (m.kind === 'debezium' ? `capture ${m.capture.name} on the target streams (its marker came through ${m.capture.markerTopic}); the reverse sync started` : `change streams of ${m.streams.length} collection(s) deliver; the reverse sync started`));
    const reverseDrain = made.kind === 'debezium'
      ? () => drainActivity(timeout)({ spec: reversedSpec(spec), migrationId: id, capture: rev.capture!, deadline: deadline(), timeoutSeconds: timeout }).then((x) => `${x.eventsDrained} event(s) drained to the marker at ${x.markerLsn} on the target`)
      : () => streamDrainActivity(timeout)({ spec, plans: ctx.plans, migrationId: id, deadline: deadline(), timeoutSeconds: timeout }).then((x) => `${x.streams} change stream(s) applied past the drain marker`);
    await drill('drain-reverse', reverseDrain, (x) => x);
    reverseStarted = false;
    await drill('release-reverse', () => stopReverseSync(ctx), (x) => `${x}; ${rev.progress?.eventsApplied ?? 0} change event(s) read from the target, none written to the source (a drill)`);
  } catch (err) {
    r.error = err instanceof StepFailed ? err.message : innermostMessage(err);
    if (reverseStarted) await CancellationScope.nonCancellable(() => stopReverseSync(ctx));
    // An abort or a cancellation ends the migration aborted, with who asked, as in any phase.
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({ type: 'RehearsalStepFailed', nonRetryable: true, message: `the rehearsal's ${r.drill.length ? 'rollback drill' : 'cutover dry run'} failed: ${r.error}`, cause: err as Error });
  }
  return 'completed';
}

function skipped(name: CutoverStepName, detail: string): CutoverStep {
  return { name, state: 'skipped', startedAt: nowIso(), durationSeconds: 0, detail };
}

/**
 * The cutover's final check, on a source that still takes writes. As the cutover runs it
 * (`finalVerify: changed`): every key changed since the last verification began, compared once
 * the sync has applied everything up to now — the step the freeze would hold writes for. A key
 * written again meanwhile may differ only because its newest change is on its way (nothing is
 * fenced), so differences are settled by a step of their own, outside the freeze: the whole
 * comparison with its re-checks (which wait for the sync to pass each differing key); only a
 * difference that survives it fails the dry run. `finalVerify: full` runs the whole comparison as
 * the final check itself, as the cutover would.
 */
async function dryFinalCheck(ctx: MigrationContext, dry: <T>(name: CutoverStepName, run: () => Promise<T>, describe?: (x: T) => string) => Promise<T>): Promise<void> {
  const { spec, status, id } = ctx;
  const whole = async (what: string) => {
    const v = await verifyWhileSyncing(ctx, `${id}/dry-run-${Date.now()}`);
    if (!v.clean) throw new StepFailed(`${what} found differences that the sync did not settle: ${describeDifferences(v.tables)}`);
    return `the whole comparison is clean (${v.tables.reduce((n, t) => n + t.sourceRows, 0)} rows)`;
  };
  if (spec.cutover.finalVerify === 'full') {
    await dry('final-check', () => whole('the final verification'), (x) => x);
    return;
  }
  const since = Date.parse(status.verificationStartedAt ?? status.verification?.checkedAt ?? nowIso()) - CHANGED_MARGIN_MS;
  const r = await dry('final-check', () => compareChangedKeys({ spec, plans: ctx.plans, capture: ctx.capture!, sinceMs: since, syncWorkflowId: syncWorkflowId(id), drained: false }), (x) => {
    const keys = x.tables.reduce((n, t) => n + t.keysChecked, 0);
    return x.clean ? `${keys} changed key(s) and the row counts of ${x.tables.length} table(s) match` : `${keys} changed key(s) checked; differences of writes still on their way (the source is not fenced): ${describeDifferences(x.tables)}`;
  });
  if (!r.clean) await dry('settle-check', () => whole('the final check'), (x) => `${x}: the final check's differences were writes in flight`);
}
