// cutover (online): the steps that move the application's writes to the target, each a
// durable, idempotent activity (a killed worker's step is retried on another), run like a
// saga: once the source is fenced, any failure or timeout lifts the fence (and puts routing
// back) before the migration returns to sync, and says why in status and in the cutover
// Update's answer. An abort during the steps un-fences the same way before the migration ends.
//   gates (fresh) → fence → drain to a marker → final check → prepare the target →
//   reverse capture (rolling-back.ts drains it) → repoint PgBouncer (still paused) → switch (routing
//   record, RESUME: never undone once begun) → foreign keys validated → hooks.afterFlip
import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { CutoverStatus, CutoverStep, CutoverStepName, RoutingState } from '../../contracts/cutover';
import { describeGates, failingGates } from '../../contracts/cutover';
import { syncWorkflowId } from '../../contracts/ids';
import { reverseCaptured } from '../../contracts/reverse';
import { describeDifferences } from '../../contracts/verify';
import { innermostMessage } from '../failures';
import { verifyTables } from '../verify';
import {
  advanceTargetSequences,
  buildDeferredConstraints,
  commitSwitch,
  compareChangedKeys,
  drainActivity,
  fenceSource,
  prepareReverseCapture,
  prepareSwitch,
  releaseReverseCapture,
  runAfterFlipHook,
  unfenceSource,
  validateForeignKeys,
  watchGates,
  writeRouting,
} from './activities';
import type { MigrationContext } from './context';
import { evaluateGates } from './gates';
import { noReverseSyncReason } from './reverse-sync';
import { nowIso, runStep, StepFailed } from './steps';
import { emptyCutover } from './watchers';

/** Kafka timestamps and the workflow's clock may differ a little: the final check looks back this much further. */
export const CHANGED_MARGIN_MS = 60_000;
/** New attempts start the reverse sync's capture before the switch (older histories skipped the step). */
const REVERSE_PATCH = 'reverse-sync';

export async function cutover(ctx: MigrationContext): Promise<'sync' | 'cut-over'> {
  const { spec, status, id } = ctx;
  const c: CutoverStatus = (status.cutover ??= emptyCutover());
  Object.assign(c, { state: 'running', attempts: c.attempts + 1, steps: [], freezeSeconds: null, error: null, approvedAt: c.approvedAt ?? nowIso() });
  ctx.publish(true);
  let fencedAtMs: number | null = null;
  let freezeEndMs: number | null = null;

  const step = <T>(name: CutoverStepName, run: () => Promise<T>, describe?: (r: T) => string): Promise<T> => runStep(c.steps, name, run, describe);
  const route = (writes: RoutingState['writes'], phase: string): RoutingState => ({
    writes,
    reads: writes,
    readShare: writes === 'target' ? 100 : (status.routing?.readShare ?? 0),
    migration: id,
    phase,
    changedAt: nowIso(),
  });

  const reading = () => watchGates({ spec, captureName: ctx.capture!.name, syncWorkflowId: syncWorkflowId(id), maxLagSeconds: spec.cutover.gates.maxLagSeconds, known: c.reading ?? null, returnAfterMs: 0 });
  /** Set once the target may take writes: from then on nothing is undone. */
  let switched = false;
  /** The reverse capture was begun (even half way): a failure before the switch removes it. */
  let reverseStarted = false;
  // Its own scope: a rollback during the cutover cancels the attempt alone (the migration syncs on).
  const attempt = (ctx.cutover.attempt = new CancellationScope());
  ctx.cutover.switched = false;
  try {
    await attempt.run(async () => {
      // The gates once more, read fresh (one poll; a lag that has held goes on counting from the last reading): the approval may be minutes old.
      c.reading = await reading();
      c.gates = evaluateGates(spec, status, c.reading, Date.now());
      c.gatesAt = nowIso();
      const failing = failingGates(c.gates);
      if (failing.length) throw new StepFailed(`the gates no longer hold: ${describeGates(failing)}`);

      status.routing = route('source', 'cutover');
      await writeRouting({ spec, state: status.routing });
      // From here on the source may be fenced (even a fence that failed half way): every exit un-fences.
      fencedAtMs = Date.now();
      // Not cancellable: an abort waits for the fence to be up (or to have failed), then lifts it;
      // cancelling it mid-way could land a REVOKE or a PAUSE after the un-fence.
      const fenced = await CancellationScope.nonCancellable(() => step('fence', () => fenceSource({ spec, migrationId: id, plans: ctx.plans }), (r) => r.detail));
      fencedAtMs = Date.parse(fenced.fencedAt);
      const deadline = new Date(Date.now() + spec.cutover.drainTimeoutSeconds * 1000).toISOString();
      const drain = drainActivity(spec.cutover.drainTimeoutSeconds);
      await step('drain', () => drain({ spec, migrationId: id, capture: ctx.capture!, deadline, timeoutSeconds: spec.cutover.drainTimeoutSeconds }), (r) => `${r.eventsDrained} event(s) drained to the marker at ${r.markerLsn}`);
      // Committed offsets count dead-lettered events too: one that came during the drain is a write the target lacks.
      c.reading = await reading();
      if (c.reading.deadLetters > spec.cutover.gates.maxDeadLetters) throw new StepFailed(`${c.reading.deadLetters} dead-lettered event(s) after the drain (limit ${spec.cutover.gates.maxDeadLetters}): see ferry status`);
      await step('final-check', () => finalCheck(ctx), (r) => r);
      await step('prepare-target', async () => {
        for (const plan of ctx.plans) await buildDeferredConstraints({ spec, plan, validateForeignKeys: false });
        await advanceTargetSequences({ spec, plans: ctx.plans });
        return ctx.plans.length;
      }, (n) => `deferred constraints and sequences of ${n} table(s)`);
      // Before the target can take any write: capture on the target, proven by a marker written there
      // and seen on Kafka. A target that cannot stream fails the attempt (un-fenced, back to sync).
      if (status.reverse && patched(REVERSE_PATCH)) {
        reverseStarted = true;
        const made = await step('reverse-capture', () => prepareReverseCapture({ spec, plans: ctx.plans, migrationId: id }), (r) =>
          r.kind === 'debezium' ? `capture ${r.capture.name} on the target streams: its start marker came through ${r.capture.markerTopic}` : `change streams of ${r.streams.length} collection(s) deliver: each one's start marker was read back`,
        );
        status.reverse.capture = made.kind === 'debezium' ? made.capture : null;
        status.reverse.streams = made.kind === 'change-stream' ? made.streams : null;
      } else {
        const reverse: CutoverStep = { name: 'reverse-capture', state: 'skipped', startedAt: nowIso(), durationSeconds: 0, detail: `no reverse sync (${noReverseSyncReason(ctx)}): after the switch a rollback is refused, since going back would lose the writes made on the target` };
        c.steps.push(reverse);
      }
      await CancellationScope.nonCancellable(() => step('repoint', () => prepareSwitch({ spec }), (r) => r.detail));
      // The target may take writes from the first write of commitSwitch on: retried until it is done, never undone.
      switched = ctx.cutover.switched = true;
      const committed = await CancellationScope.nonCancellable(() => step('switch', () => commitSwitch({ spec, migrationId: id, state: route('target', 'cut-over') }), (r) => r.detail));
      freezeEndMs = Date.parse(committed.switchedAt);
      if (reverseCaptured(status.reverse)) status.reverse!.switchedAt = committed.switchedAt;
      status.routing = route('target', 'cut-over');
    });
  } catch (err) {
    if (switched) {
      // Only an abort gets here (the switch is retried until done): the target is primary, nothing to undo.
      status.routing = route('target', 'cut-over');
      ctx.cutover.requested = false;
      throw err;
    }
    // A rollback asked during the cutover cancelled this attempt only: un-fence, then sync again.
    const rolledBack = isCancellation(err) && ctx.rollback?.to !== 'rolled-back' && !!ctx.rollback && !ctx.work.consideredCancelled;
    const reason = rolledBack ? `rolled back by the operator${ctx.rollback!.reason ? ` (${ctx.rollback!.reason})` : ''}` : err instanceof StepFailed ? err.message : innermostMessage(err);
    await CancellationScope.nonCancellable(async () => {
      if (fencedAtMs !== null) {
        const lifted = await step('unfence', () => unfenceSource({ spec, migrationId: id }), (r) => r.detail);
        freezeEndMs = Date.parse(lifted.unfencedAt);
      }
      status.routing = route('source', 'sync');
      await writeRouting({ spec, state: status.routing });
      if (reverseStarted) {
        await step('release-reverse', () => releaseReverseCapture({ spec, migrationId: id }), (r) => (r.left.length ? `left: ${r.left.map((l) => l.what).join(', ')} (ferry cleanup --id ${id})` : `removed ${r.removed.join(', ') || 'nothing'}`));
        if (status.reverse) Object.assign(status.reverse, { capture: null, streams: null });
      }
    });
    if (fencedAtMs !== null && freezeEndMs !== null) c.freezeSeconds = (freezeEndMs - fencedAtMs) / 1000;
    Object.assign(c, { state: 'failed', error: `the cutover did not happen: ${reason}${fencedAtMs !== null ? ' (the source is un-fenced; the migration syncs again)' : ' (nothing was fenced)'}` });
    // The lag's hold starts again: the freeze and the drain are not a quiet period.
    if (c.reading) c.reading = { ...c.reading, lagOkSince: null };
    ctx.cutover.requested = false;
    ctx.cutover.answer = { phase: 'sync', cutOver: false, freezeSeconds: c.freezeSeconds, error: c.error, steps: c.steps };
    if (rolledBack) {
      status.rollback = { ...status.rollback!, finishedAt: nowIso() };
      ctx.rollback = null;
      return 'sync';
    }
    if (isCancellation(err)) throw err;
    return 'sync';
  }
  c.freezeSeconds = (freezeEndMs! - fencedAtMs!) / 1000;
  c.state = 'done';
  // After the switch, failures are reported, not undone: the target may already hold new writes.
  // Foreign keys added NOT VALID in the freeze are validated now, reading the old rows.
  await step('validate-foreign-keys', async () => {
    for (const plan of ctx.plans) await validateForeignKeys({ spec, plan });
    return ctx.plans.reduce((n, p) => n + p.ddl.foreignKeys.length, 0);
  }, (n) => `${n} foreign key(s) validated`).catch(() => undefined);
  if (spec.cutover.hooks.afterFlip) {
    await step('after-flip', () => runAfterFlipHook({ spec, state: status.routing! }), (r) => r.output.trim().slice(-200) || 'ran').catch(() => undefined);
  }
  ctx.cutover.requested = false;
  ctx.cutover.answer = { phase: 'cut-over', cutOver: true, freezeSeconds: c.freezeSeconds, error: null, steps: c.steps };
  return 'cut-over';
}

/** Step 3: `finalVerify: changed` compares every key changed since the last verification began (plus counts); `full` compares everything. */
async function finalCheck(ctx: MigrationContext): Promise<string> {
  const { spec, status, id } = ctx;
  if (spec.cutover.finalVerify === 'full') {
    const v = await verifyTables(spec, ctx.plans, `${id}/final-${Date.now()}`, () => false, (h) => void ctx.children.add(h.workflowId));
    if (!v.clean) throw new StepFailed(`the final verification found differences (${v.verifyId}): ${describeDifferences(v.tables)}`);
    return `full verification clean (${v.tables.reduce((n, t) => n + t.sourceRows, 0)} rows)`;
  }
  const since = Date.parse(status.verificationStartedAt ?? status.verification!.checkedAt) - CHANGED_MARGIN_MS;
  const r = await compareChangedKeys({ spec, plans: ctx.plans, capture: ctx.capture!, sinceMs: since, syncWorkflowId: syncWorkflowId(id), drained: true });
  const keys = r.tables.reduce((n, t) => n + t.keysChecked, 0);
  if (!r.clean) {
    throw new StepFailed(`the final check found differences: ${describeDifferences(r.tables)}`);
  }
  return `${keys} changed key(s) and the row counts of ${r.tables.length} table(s) match`;
}
