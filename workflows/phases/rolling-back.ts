// rolling-back (online, after the switch): the way back from cut-over, asked by the rollback
// Update. The reverse sync has run since the switch, so going back is a drain, not a copy:
//   fence the target (PgBouncer PAUSE, or the target's roles) → drain the reverse sync to a
//   marker written on the target → dead letters → the keys changed since the switch and the
//   counts compared → the source's sequences past every value the target handed out →
//   repoint PgBouncer at the source (still paused) → switch back (routing record, RESUME:
//   never undone once begun) → reverse sync stopped, its capture released → fences lifted
//   (the target's, and the source's role fence held since the cutover) → rolled-back.
// It is the cutover's machinery with the roles swapped (contracts/reverse.ts). A MongoDB target
// (change streams) has no PgBouncer and no server-side fence here: the routing record sends the
// writes to the source, whose role fence (held since the cutover) holds them until the drain to
// markers written in every collection is done and the whole comparison is clean; lifting that
// fence is the switch back. Any failure before the switch back lifts the target's fence: the
// target stays primary, the reverse sync runs on, and the reason is in status for the operator
// to fix and roll back again.
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { CutoverStepName, RoutingState } from '../../contracts/cutover';
import { reverseSyncWorkflowId } from '../../contracts/ids';
import { reversedSpec } from '../../contracts/reverse';
import { innermostMessage } from '../failures';
import { verifyTables } from '../verify';
import { describeDifferences } from '../../contracts/verify';
import { advanceTargetSequences, commitSwitch, compareChangedKeys, countDeadLetters, drainActivity, fenceSource, prepareSwitch, streamDrainActivity, unfenceSource, writeRouting } from './activities';
import type { MigrationContext } from './context';
import { CHANGED_MARGIN_MS } from './cutover';
import { stopReverseSync } from './reverse-sync';
import { nowIso, runStep, StepFailed } from './steps';

/** The reverse sync's own sides: it compares the target (its source) with the source (its target). */
const SWAPPED = { source: 'target', target: 'source' };

export async function rollingBack(ctx: MigrationContext): Promise<'cut-over' | 'rolled-back'> {
  const { spec, status, id } = ctx;
  const rev = status.reverse!;
  const r = status.rollback!;
  const back = reversedSpec(spec);
  /** A MongoDB target: its change streams flow back (else Debezium on a PostgreSQL target). */
  const viaStreams = !!rev.streams?.length;
  r.steps = [];
  r.error = null;
  const step = <T>(name: CutoverStepName, run: () => Promise<T>, describe?: (x: T) => string): Promise<T> => runStep(r.steps!, name, run, describe);
  const route = (writes: RoutingState['writes'], phase: string): RoutingState => ({ writes, reads: writes, readShare: writes === 'target' ? 100 : 0, migration: id, phase, changedAt: nowIso() });
  let fencedAtMs: number | null = null;
  let switchedBack = false;
  const timeout = spec.cutover.drainTimeoutSeconds;
  const deadline = () => new Date(Date.now() + timeout * 1000).toISOString();
  /** Read fresh from the source's store once drained: a write the source refused is one the way back would lose. */
  const checkDeadLetters = async () => {
    const dead = await countDeadLetters({ spec: back, migrationId: id });
    if (dead > spec.cutover.gates.maxDeadLetters) throw new StepFailed(`${dead} change(s) of the reverse sync are dead-lettered (limit ${spec.cutover.gates.maxDeadLetters}): the source lacks those writes; see ferry status`);
  };
  ctx.publish(true);
  try {
    if (viaStreams) {
      // A MongoDB target: the routing record is the switch, and the source's role fence (held since the cutover) the fence.
      fencedAtMs = Date.now();
      await CancellationScope.nonCancellable(() => step('fence-target', async () => {
        status.routing = route('source', 'rolling-back');
        // The source first (still role-fenced: writes there are refused and retried), then the target: an application that reads the record stops writing to the target.
        await writeRouting({ spec, state: status.routing });
        return 'the routing record sends writes to the source, which its role fence holds until the drain is done (MongoDB has no server-side fence here)';
      }, (x) => x));
      const drain = streamDrainActivity(timeout);
      await step('drain-reverse', () => drain({ spec, plans: ctx.plans, migrationId: id, deadline: deadline(), timeoutSeconds: timeout }), (x) => `${x.streams} change stream(s) applied past the drain marker`);
      await checkDeadLetters();
      await step('check-reverse', async () => {
        // Every row and document compared (the change streams name no key set to check alone).
        const v = await verifyTables(spec, ctx.plans, `${id}/rollback-${Date.now()}`, () => false, (h) => void ctx.children.add(h.workflowId));
        if (!v.clean) throw new StepFailed(`the source differs from the target: ${describeDifferences(v.tables)}`);
        return v.tables.reduce((n, t) => n + t.sourceRows, 0);
      }, (n) => `the whole comparison is clean (${n} rows)`);
      // The application chose the keys it wrote on the target: the source's sequences move past them.
      await step('source-sequences', () => advanceTargetSequences({ spec: { ...spec, target: { url: spec.source.url } }, plans: ctx.plans }), (x) => `the source's sequences of ${x.tables} table(s) moved past every key in its tables`);
      switchedBack = true;
      await CancellationScope.nonCancellable(async () => {
        status.routing = route('source', 'rolled-back');
        await writeRouting({ spec, state: status.routing });
        const lifted = await step('switch-back', () => unfenceSource({ spec, migrationId: id }), (x) => `the routing record says writes: source; ${x.detail}`);
        r.freezeSeconds = (Date.parse(lifted.unfencedAt) - fencedAtMs!) / 1000;
      });
    } else {
      // Not cancellable: an abort waits for the fence to be up (or to have failed), then lifts it.
      const fenced = await CancellationScope.nonCancellable(() => step('fence-target', () => fenceSource({ spec: back, migrationId: id, plans: ctx.plans }), (x) => x.detail));
      fencedAtMs = Date.parse(fenced.fencedAt);
      const drain = drainActivity(timeout);
      const drained = await step('drain-reverse', () => drain({ spec: back, migrationId: id, capture: rev.capture!, deadline: deadline(), timeoutSeconds: timeout }), (x) => `${x.eventsApplied} change event(s) carried back since the switch, the last ${x.eventsDrained} drained to the marker at ${x.markerLsn} on the target`);
      r.eventsDrained = drained.eventsDrained;
      r.eventsCarried = drained.eventsApplied;
      await checkDeadLetters();
      await step('check-reverse', async () => {
        const since = Date.parse(rev.switchedAt ?? status.routing?.changedAt ?? nowIso()) - CHANGED_MARGIN_MS;
        const checked = await compareChangedKeys({ spec: back, plans: ctx.plans, capture: rev.capture!, sinceMs: since, syncWorkflowId: reverseSyncWorkflowId(id), drained: true });
        if (!checked.clean) throw new StepFailed(`the source differs from the target: ${describeDifferences(checked.tables, SWAPPED)}`);
        return checked.tables.reduce((n, t) => n + t.keysChecked, 0);
      }, (n) => `${n} key(s) changed since the switch and every table's row count match on the source`);
      await step('source-sequences', () => advanceTargetSequences({ spec: back, plans: ctx.plans }), (x) => `the source's sequences of ${x.tables} table(s) moved past the target's`);
      await CancellationScope.nonCancellable(() => step('repoint-back', () => prepareSwitch({ spec: back }), (x) => x.detail));
      // From the first write of the switch back the source may take writes again: retried until done, never undone.
      switchedBack = true;
      await CancellationScope.nonCancellable(async () => {
        status.routing = route('source', 'rolled-back');
        // The source first: an application reading the side it writes to never sees "go there" before "there" knows it.
        await writeRouting({ spec, state: status.routing });
        const done = await step('switch-back', () => commitSwitch({ spec: back, migrationId: id, state: status.routing! }), (x) => x.detail.replace('on the target', 'on the source'));
        r.freezeSeconds = (Date.parse(done.switchedAt) - fencedAtMs!) / 1000;
      });
    }
  } catch (err) {
    if (switchedBack) throw err; // an abort after the switch back began: nothing to undo
    const reason = err instanceof StepFailed ? err.message : innermostMessage(err);
    await CancellationScope.nonCancellable(async () => {
      if (fencedAtMs !== null && viaStreams) {
        // Back to the target: the routing record says so again (the source's role fence stays, as in cut-over).
        status.routing = route('target', 'cut-over');
        await step('unfence-target', () => writeRouting({ spec, state: status.routing! }), () => 'the routing record sends writes to the target again');
      } else if (fencedAtMs !== null) await step('unfence-target', () => unfenceSource({ spec: back, migrationId: id }), (x) => x.detail);
    });
    r.error = `the rollback did not happen: ${reason} (${fencedAtMs !== null ? 'the target is un-fenced' : 'nothing was fenced'} and stays primary; the reverse sync runs on: fix the cause and roll back again)`;
    r.finishedAt = nowIso();
    ctx.rollback = null;
    if (isCancellation(err)) throw err;
    return 'cut-over';
  }
  // Back on the source. What is left only tidies up: reported, never undone.
  await CancellationScope.nonCancellable(async () => {
    await step('release-reverse', () => stopReverseSync(ctx), (x) => x);
    if (viaStreams) {
      // The change streams' count, as the reverse sync's last report (sent as it stopped) says.
      r.eventsCarried = rev.progress?.eventsApplied ?? r.eventsCarried;
    } else {
      await step('unfence-target', () => unfenceSource({ spec: back, migrationId: id }), (x) => x.detail).catch(() => undefined);
      await step('unfence-source', () => unfenceSource({ spec, migrationId: id }), (x) => x.detail).catch(() => undefined);
    }
  });
  return 'rolled-back';
}
