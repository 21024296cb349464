// Every message the migration answers, registered in one place: the status query, the
// operator's signals (forwarded to the children running), the children's reports, and the
// skip Update. Each payload is read by workflows/payloads.ts; one that means nothing is
// refused with the reason (kept in status) and changes nothing.
//
// The order of registration is kept as it was when the handlers sat in the workflow body:
// signals that arrived before the handlers existed are delivered as each is registered,
// and a replay must deliver them (and send what they forward) in the same order.
import { allHandlersFinished, condition, getExternalWorkflowHandle, log, patched, setHandler } from '@temporalio/workflow';
import { describeGates, failingGates, type RouteRequest } from '../../contracts/cutover';
import type { Phase, RollbackRequest } from '../../contracts/migration';
import {
  abortSignal,
  backfillProgressSignal,
  cutoverUpdate,
  finalizeUpdate,
  gatesQuery,
  rollbackUpdate,
  routeUpdate,
  pauseSignal,
  resumeSignal,
  skipPoisonSignal,
  skipPoisonUpdate,
  statusQuery,
  syncReportSignal,
  throttleSignal,
} from '../../contracts/messages';
import { positionText } from '../../contracts/offsets';
import { reverseCaptured } from '../../contracts/reverse';
import type { SkipRequest } from '../../contracts/sync';
import { parseBackfillProgress, parseRate, parseReason, parseSyncReport } from '../payloads';
import type { MigrationContext } from './context';
import { evaluateGates } from './gates';
import { writeRouting } from './activities';

const REFUSED_KEPT = 10;
const FORWARD_IN_ORDER_PATCH = 'forward-in-order';
/** New runs hand over only once no send is left and no Update handler runs (see forwardsSent). */
const SETTLE_BEFORE_HANDOVER_PATCH = 'settle-before-handover';

/** Registers every message handler; returns what resolves once every forwarded message has been sent. */
export function registerHandlers(ctx: MigrationContext): () => Promise<void> {
  const { status } = ctx;
  const refuse = (message: string, reason: string) => {
    log.warn(`refused ${message}: ${reason}`);
    status.refused = [...(status.refused ?? []), { message, reason, at: new Date(Date.now()).toISOString() }].slice(-REFUSED_KEPT);
  };
  // Messages to one child go one after the other. Signals sent in the same workflow task
  // reach the child in either order (the server delivers each on its own), so a pause and
  // its resume forwarded together could arrive resume first and leave the child paused.
  // Histories recorded before this sent them all at once: patched keeps them replaying.
  const sending = new Map<string, Promise<void>>();
  const forward = (send: (child: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>) => {
    const inOrder = patched(FORWARD_IN_ORDER_PATCH);
    for (const id of ctx.children) {
      const child = getExternalWorkflowHandle(id);
      // A child already closed cannot hear it, and need not.
      if (!inOrder) {
        send(child).catch(() => undefined);
        continue;
      }
      const after = sending.get(id) ?? Promise.resolve();
      sending.set(id, after.then(() => send(child)).catch(() => undefined));
    }
  };
  // A message still queued when the run continues-as-new would never be sent. Waiting lets
  // more signals in (a resume forwarded after the wait began would be lost with the run, and
  // the child left paused), and Updates too: wait until a pass adds no send and no handler runs.
  const forwardsSent = async () => {
    if (!patched(SETTLE_BEFORE_HANDOVER_PATCH)) {
      await Promise.all(sending.values());
      return;
    }
    for (;;) {
      const waiting = [...sending.values()];
      await Promise.all(waiting);
      await condition(allHandlersFinished);
      const now = [...sending.values()];
      if (now.length === waiting.length && now.every((p, i) => p === waiting[i])) return;
    }
  };

  setHandler(statusQuery, () => status);
  setHandler(pauseSignal, () => {
    status.paused = true;
    forward((c) => c.signal(pauseSignal));
  });
  setHandler(resumeSignal, () => {
    status.paused = false;
    forward((c) => c.signal(resumeSignal));
  });
  setHandler(throttleSignal, (payload: unknown) => {
    const rate = parseRate(payload);
    if (!rate.ok) return refuse('throttle', rate.reason);
    status.throttle = rate.value;
    forward((c) => c.signal(throttleSignal, ctx.tableRate()));
  });
  setHandler(backfillProgressSignal, (payload: unknown) => {
    const parsed = parseBackfillProgress(payload);
    if (!parsed.ok) return refuse('backfillProgress', parsed.reason);
    const p = parsed.value;
    const t = status.tables.find((x) => x.table === p.table);
    if (!t) return;
    Object.assign(t, { state: p.state, rowsCopied: p.rowsCopied, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal, chunksResumed: p.chunksResumed, estimatedRows: p.rowsTotal, copyStartedAt: p.copyStartedAt, ...(p.error ? { error: p.error } : {}), ...(p.chunkTimes ? { chunkTimes: p.chunkTimes, retries: p.retries ?? 0, copyFinishedAt: p.copyFinishedAt ?? null } : {}) });
    status.rowsCopied = status.tables.reduce((n, x) => n + x.rowsCopied, 0);
    status.rowsEstimated = status.tables.reduce((n, x) => n + x.estimatedRows, 0);
    ctx.publish(p.state === 'done');
  });

  setHandler(syncReportSignal, (payload: unknown) => {
    const parsed = parseSyncReport(payload);
    if (!parsed.ok) return refuse('syncReport', parsed.reason);
    const r = parsed.value;
    if (r.direction === 'reverse') {
      // The reverse sync (after the switch): its own figures; the forward sync's stay as they ended.
      const rev = status.reverse;
      if (!rev) return;
      rev.progress = r.progress;
      if (r.final) rev.stopped = true;
      if (r.final && r.error) rev.error = r.error;
      ctx.publish(true);
      return;
    }
    if (r.final) ctx.sync.stopped = true;
    if (r.final && r.error) {
      ctx.sync.failed = true;
      ctx.sync.error = r.error;
    }
    status.sync = r.progress;
    status.lag = { seconds: r.progress.lagSeconds, events: r.progress.lagEvents };
    // A column added on the source: verification must compare it too.
    if (r.plans) ctx.plans = r.plans;
    ctx.publish(true);
  });

  // Goes past the poison event a halted sync waits at. An Update, so a skip that makes no
  // sense (nothing is halted, or another event is) is refused with the reason, not lost.
  setHandler(
    skipPoisonUpdate,
    async () => {
      const at = status.sync!.halted!.position;
      await getExternalWorkflowHandle(status.syncWorkflowId!).signal(skipPoisonSignal, at);
      return { skipped: positionText(at) };
    },
    {
      validator: (req: SkipRequest | undefined) => {
        const halted = status.sync?.halted;
        if (!status.syncWorkflowId || status.sync?.state !== 'halted' || !halted) throw new Error(`nothing to skip: the sync is ${status.sync?.state ?? 'not running'}, not halted on a poison event`);
        const at = positionText(halted.position);
        if (req?.position !== undefined && req.position !== at) throw new Error(`the sync is halted at ${at}, not ${String(req.position)}: nothing skipped`);
      },
    },
  );

  registerCutoverHandlers(ctx);
  registerRollbackHandler(ctx);

  // An abort cancels whatever phase runs; the workflow's failure path releases and reports.
  setHandler(abortSignal, (payload: unknown) => {
    ctx.abortReason = parseReason(payload, 'aborted by the operator');
    ctx.work.cancel();
  });
  return forwardsSent;
}

/**
 * The cutover's verbs. Each Update's validator refuses what the phase or the gates do not
 * allow, with the reason, before anything is recorded: the CLI and the Temporal UI's Update
 * dialog get the same answer, and a refused Update leaves no trace in history.
 */
function registerCutoverHandlers(ctx: MigrationContext): void {
  const { status, spec } = ctx;
  const gatesNow = () => evaluateGates(spec, status, status.cutover?.reading ?? null, Date.now());
  setHandler(gatesQuery, gatesNow);

  setHandler(
    cutoverUpdate,
    async (_request: { reason?: string } | undefined) => {
      const attempt = (status.cutover?.attempts ?? 0) + 1;
      ctx.cutover.answer = null;
      ctx.cutover.requested = true;
      if (status.cutover) status.cutover.approvedAt = new Date(Date.now()).toISOString();
      // Answers once this attempt has ended: cut over, or un-fenced and back in sync with the reason.
      await condition(() => ctx.cutover.answer !== null && (status.cutover?.attempts ?? 0) >= attempt);
      return ctx.cutover.answer!;
    },
    {
      validator: (_request: { reason?: string } | undefined) => {
        if (spec.mode !== 'online') throw new Error('an offline migration has no cutover: it completes once verified');
        if (ctx.input.rehearsal) throw new Error('this migration is a rehearsal: it runs a cutover dry run itself and never switches (abort the rehearsal to stop it)');
        if (status.phase === 'cutover' || ctx.cutover.requested) throw new Error('a cutover is already under way: follow it with ferry status');
        if (status.phase !== 'sync') throw new Error(`the migration is in phase ${status.phase}: a cutover starts only from sync (caught up, gates passing)`);
        const failing = failingGates(gatesNow());
        if (failing.length) throw new Error(`the gates do not allow a cutover: ${describeGates(failing)}`);
      },
    },
  );

  setHandler(
    finalizeUpdate,
    () => {
      ctx.cutover.finalizeRequested = true;
      return { phase: 'finalizing' };
    },
    {
      validator: () => {
        if (status.phase !== 'cut-over') throw new Error(`the migration is in phase ${status.phase}: finalize ends a migration that has cut over (phase cut-over)`);
        if (ctx.cutover.finalizeRequested) throw new Error('finalize is already under way');
      },
    },
  );

  setHandler(
    routeUpdate,
    async (req: RouteRequest) => {
      const share = req.readsPercent;
      status.routing = { writes: 'source', reads: share === 100 ? 'target' : 'source', readShare: share, migration: ctx.id, phase: status.phase, changedAt: new Date(Date.now()).toISOString() };
      await writeRouting({ spec, state: status.routing });
      return status.routing;
    },
    {
      validator: (req: RouteRequest | undefined) => {
        const share = req?.readsPercent;
        if (typeof share !== 'number' || !Number.isInteger(share) || share < 0 || share > 100) throw new Error(`readsPercent must be an integer from 0 to 100, not ${JSON.stringify(share)}`);
        if (ctx.input.rehearsal) throw new Error('this migration is a rehearsal: it routes no application (nothing reads from its target)');
        if (status.phase !== 'sync' || ctx.cutover.requested) throw new Error(`the migration is in phase ${status.phase}${ctx.cutover.requested ? ' with a cutover under way' : ''}: reads are shared only while syncing, before the write switch`);
        const mismatches = status.shadow?.mismatches ?? 0;
        const limit = spec.cutover.gates.maxShadowMismatches;
        if (share > 0 && mismatches > limit) throw new Error(`shadow reads found ${mismatches} mismatch(es), over cutover.gates.maxShadowMismatches (${limit}): no reads go to the target until they are explained (ferry shadow --id ${ctx.id})`);
      },
    },
  );
}

/** Phases a rollback is accepted in: before the switch it ends the migration; `cutover` undoes its attempt alone by default; `cut-over` goes back through the reverse sync. */
const ROLLBACK_FROM: readonly Phase[] = ['prepare', 'backfill', 'indexes', 'catch-up', 'verify', 'sync', 'cutover', 'cut-over'];

/**
 * The rollback Update. Before the switch the way back is cheap: stop, release capture, and
 * (dropTarget) remove what Ferry created on the target; the workflow completes rolled-back.
 * During a cutover the attempt is undone (un-fence, routing back) and the migration syncs on,
 * or ends rolled-back when asked. After the switch (cut-over) it goes through the reverse
 * sync (phase rolling-back); it is refused when the migration runs none, since the writes the
 * target took would be lost.
 */
function registerRollbackHandler(ctx: MigrationContext): void {
  const { status } = ctx;
  setHandler(
    rollbackUpdate,
    (req: RollbackRequest | undefined) => {
      const from = status.phase;
      const to = req?.to ?? (from === 'cutover' ? 'sync' : 'rolled-back');
      ctx.rollback = { dropTarget: req?.dropTarget === true, to, reason: req?.reason, from };
      status.rollback = { requestedAt: new Date(Date.now()).toISOString(), reason: req?.reason ?? 'rolled back by the operator', dropTarget: req?.dropTarget === true, from, dropped: [], kept: [], finishedAt: null };
      // After the switch the cut-over phase sees the request and goes on to rolling-back (nothing to cancel).
      if (from === 'cut-over') return { phase: 'rolling-back', accepted: 'fencing the target, draining the reverse sync to a marker, checking the changed keys, then pointing the application back at the source' };
      if (to === 'sync') {
        ctx.cutover.attempt?.cancel();
        return { phase: 'sync', accepted: 'the cutover attempt is undone (fence lifted, routing back to the source); the migration syncs on' };
      }
      ctx.work.cancel();
      return { phase: 'rolled-back', accepted: `stopping: the sync, change capture${req?.dropTarget ? ', and what Ferry created on the target' : ''}; the workflow then completes rolled-back` };
    },
    {
      validator: (req: RollbackRequest | undefined) => {
        const phase = status.phase;
        if (req !== undefined && (typeof req !== 'object' || req === null)) throw new Error('the rollback request must be an object: {} or { "dropTarget": true, "to": "sync" | "rolled-back", "reason": "…" }');
        if (req?.to !== undefined && req.to !== 'sync' && req.to !== 'rolled-back') throw new Error(`to must be "sync" or "rolled-back", not ${JSON.stringify(req.to)}`);
        if (req?.dropTarget !== undefined && typeof req.dropTarget !== 'boolean') throw new Error('dropTarget must be true or false');
        if (ctx.rollback) throw new Error('a rollback is already under way: follow it with ferry status');
        if (phase === 'cut-over') {
          const rev = status.reverse;
          const since = `the migration has cut over (${status.routing?.changedAt ?? 'the switch is done'}): the target has taken the application's writes since, and going back without them would lose them`;
          if (!reverseCaptured(rev)) throw new Error(`${since}, and this migration runs no reverse sync (see the cutover's reverse-capture step in ferry status): the source is kept as it was at the switch`);
          if (rev!.stopped || rev!.error) throw new Error(`${since}, and the reverse sync has stopped${rev!.error ? ` (${rev!.error})` : ''}: the source lacks what the target took since; see ferry status`);
          if (ctx.cutover.finalizeRequested) throw new Error('finalize is under way: the migration is ending on the target');
          if (req?.dropTarget) throw new Error('dropTarget applies before the switch: after it, the target holds what the application wrote there; remove it by hand once the source is checked');
        }
        if (phase === 'cutover' && ctx.cutover.switched) throw new Error('the switch is under way (the target may already take writes): nothing can be undone now; once cut over, see ferry status');
        if (!ROLLBACK_FROM.includes(phase)) throw new Error(`the migration has ended (${phase}): there is nothing to roll back`);
        if (req?.to === 'sync' && phase !== 'cutover') throw new Error(`to: "sync" undoes a cutover attempt; the migration is in phase ${phase}`);
        if (phase === 'rolling-back') throw new Error('a rollback is already under way: follow it with ferry status');
      },
    },
  );
}
