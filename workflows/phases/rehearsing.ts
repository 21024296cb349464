// rehearsing (online, a rehearsal's migration only): after its shadow time in sync, what a
// cutover and a rollback would do, timed, without fencing or switching anything — the source
// keeps its real load and stays the primary throughout:
//   the cutover dry run: drain to a marker (the source unfenced), the final check, then the
//   forward sync stopped and its capture released, and the target's deferred constraints and
//   sequences (the freeze window's steps) →
//   the rollback drill: reverse capture started on the target (proven by its marker), the
//   reverse sync started and drained to a marker written on the target, then stopped and its
//   capture released.
// The forward sync stops before the reverse capture starts: left running, its writes to the
// target would be carried back to the source. Nothing else writes to a rehearsal's target, so
// the reverse sync has nothing of the application's to carry: the drill times the machinery.
// Any failing step fails the migration (the rehearsal reports it no-go, and cleans up).
import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import type { CutoverStep, CutoverStepName } from '../../contracts/cutover';
import type { RehearsalSteps } from '../../contracts/rehearsal';
import { reversedSpec } from '../../contracts/reverse';
import { syncWorkflowId } from '../../contracts/ids';
import { describeDifferences } from '../../contracts/verify';
import { innermostMessage } from '../failures';
import { advanceTargetSequences, buildDeferredConstraints, compareChangedKeys, drainActivity, prepareReverseCapture, streamDrainActivity } from './activities';
import type { MigrationContext } from './context';
import { CHANGED_MARGIN_MS } from './cutover';
import { release } from './release';
import { startReverseSync, stopReverseSync } from './reverse-sync';
import { nowIso, runStep, StepFailed } from './steps';
import { verifyWhileSyncing } from './verify';

export async function rehearsing(ctx: MigrationContext): Promise<'completed'> {
  const { spec, status, id } = ctx;
  const r: RehearsalSteps = (status.rehearsal ??= { syncStartedAt: null, dryRun: [], drill: [], eventsDrained: null, error: null });
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
    await dry('final-check', () => dryFinalCheck(ctx), (x) => x);
    await release(ctx);
    ctx.captureStarted = false;
    ctx.capture = null;
    await dry('prepare-target', async () => {
      for (const plan of ctx.plans) await buildDeferredConstraints({ spec, plan, validateForeignKeys: false });
      await advanceTargetSequences({ spec, plans: ctx.plans });
      return ctx.plans.length;
    }, (n) => `deferred constraints and sequences of ${n} table(s) (the forward sync stopped first)`);

    const rev = status.reverse;
    if (!rev) {
      const why = spec.cutover.reverse?.mode === 'off' ? 'cutover.reverse.mode is off' : `the ${status.targetKind ?? 'target'} mapping cannot be inverted exactly: ferry plan names where`;
      r.drill.push(skipped('reverse-capture', `no rollback drill: this migration would run no reverse sync (${why}), so a rollback after the switch would be refused`));
      return 'completed';
    }
    reverseStarted = true;
    const made = await drill('reverse-capture', async () => {
      const m = await prepareReverseCapture({ spec, plans: ctx.plans, migrationId: id });
      rev.capture = m.kind === 'debezium' ? m.capture : null;
      rev.streams = m.kind === 'change-stream' ? m.streams : null;
      await startReverseSync(ctx);
      return m;
    }, (m) => (m.kind === 'debezium' ? `capture ${m.capture.name} on the target streams (its marker came through ${m.capture.markerTopic}); the reverse sync started` : `change streams of ${m.streams.length} collection(s) deliver; the reverse sync started`));
    const reverseDrain = made.kind === 'debezium'
      ? () => drainActivity(timeout)({ spec: reversedSpec(spec), migrationId: id, capture: rev.capture!, deadline: deadline(), timeoutSeconds: timeout }).then((x) => `${x.eventsDrained} event(s) drained to the marker at ${x.markerLsn} on the target`)
      : () => streamDrainActivity(timeout)({ spec, plans: ctx.plans, migrationId: id, deadline: deadline(), timeoutSeconds: timeout }).then((x) => `${x.streams} change stream(s) applied past the drain marker`);
    await drill('drain-reverse', reverseDrain, (x) => x);
    reverseStarted = false;
    await drill('release-reverse', () => stopReverseSync(ctx), (x) => x);
  } catch (err) {
    r.error = err instanceof StepFailed ? err.message : innermostMessage(err);
    if (reverseStarted) await CancellationScope.nonCancellable(() => stopReverseSync(ctx));
    throw ApplicationFailure.create({ type: 'RehearsalStepFailed', nonRetryable: true, message: `the rehearsal's ${r.drill.length ? 'rollback drill' : 'cutover dry run'} failed: ${r.error}`, cause: err as Error });
  }
  return 'completed';
}

function skipped(name: CutoverStepName, detail: string): CutoverStep {
  return { name, state: 'skipped', startedAt: nowIso(), durationSeconds: 0, detail };
}

/**
 * The cutover's final check, on a source that still takes writes: every key changed since the
 * last verification began, compared once the sync has applied everything up to now. A key
 * written again meanwhile may differ only because its newest change is on its way, so any
 * difference is settled by the whole comparison with its re-checks (which wait for the sync to
 * pass each differing key); only a difference that survives that fails the dry run.
 */
async function dryFinalCheck(ctx: MigrationContext): Promise<string> {
  const { spec, status, id } = ctx;
  const since = Date.parse(status.verificationStartedAt ?? status.verification?.checkedAt ?? nowIso()) - CHANGED_MARGIN_MS;
  const r = await compareChangedKeys({ spec, plans: ctx.plans, capture: ctx.capture!, sinceMs: since, syncWorkflowId: syncWorkflowId(id), drained: false });
  const keys = r.tables.reduce((n, t) => n + t.keysChecked, 0);
  if (r.clean) return `${keys} changed key(s) and the row counts of ${r.tables.length} table(s) match`;
  const v = await verifyWhileSyncing(ctx, `${id}/dry-run-${Date.now()}`);
  if (!v.clean) throw new StepFailed(`the final check found differences that the sync did not settle: ${describeDifferences(v.tables)}`);
  return `${keys} changed key(s) checked; the differences of writes still on their way (${describeDifferences(r.tables)}) were settled by the whole comparison (${v.tables.reduce((n, t) => n + t.sourceRows, 0)} rows, clean)`;
}
