// What runs beside the sync while the target follows the source (online, before the switch):
// the gates' live reading, shadow reads, and a verification re-run on a schedule. Each loop
// keeps its figures in status and re-evaluates the gates; none of them can fail the migration
// (a failed round is recorded and tried again). The sync phase runs them in a scope it cancels
// when it leaves.
import { isCancellation, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { CutoverStatus } from '../../contracts/cutover';
import { syncWorkflowId } from '../../contracts/ids';
import { searchAttributes } from '../../contracts/search-attributes';
import { summarize, type ShadowRoundResult, type ShadowStatus } from '../../contracts/shadow';
import { innermostMessage } from '../failures';
import { needsRecheck, recheckRound, RECHECK_ROUNDS, verifyTables } from '../verify';
import { shadowRound, watchGates } from './activities';
import type { MigrationContext } from './context';
import { evaluateGates } from './gates';

/** The gates' reading returns at least this often (a fresh `gatesAt` for the operator). */
const GATES_EVERY_MS = 60_000;
/** Latencies kept per side for the percentiles. */
const LATENCIES_KEPT = 500;
const DIFFERENCES_KEPT = 20;

export function emptyCutover(): CutoverStatus {
  return { gates: [], gatesAt: null, state: 'waiting', attempts: 0, steps: [], freezeSeconds: null, error: null, approvedAt: null, reading: null };
}

/** The gates as they stand now; with `cutover.approval: auto`, approves once every one passes. */
export function refreshGates(ctx: MigrationContext): void {
  const c = (ctx.status.cutover ??= emptyCutover());
  c.gates = evaluateGates(ctx.spec, ctx.status, c.reading ?? null, Date.now());
  c.gatesAt = new Date(Date.now()).toISOString();
  // Only before any attempt: after a failed one an operator decides (an automatic retry could
  // freeze the application again and again for a cause that persists).
  if (ctx.spec.cutover.approval === 'auto' && !ctx.input.rehearsal && c.state === 'waiting' && c.gates.every((g) => g.pass) && !ctx.cutover.requested) {
    ctx.cutover.requested = true;
    c.approvedAt = c.gatesAt;
  }
}

export async function gateLoop(ctx: MigrationContext): Promise<void> {
  const { spec, status } = ctx;
  for (;;) {
    const c = (status.cutover ??= emptyCutover());
    // Return when the hold completes, so auto approval and the verdict do not wait a minute.
    const held = c.reading?.lagOkSince ? Date.now() - Date.parse(c.reading.lagOkSince) : 0;
    const untilHeld = spec.cutover.gates.holdSeconds * 1000 - held;
    const returnAfterMs = c.reading?.lagOkSince && untilHeld > 0 ? Math.min(GATES_EVERY_MS, untilHeld + 500) : GATES_EVERY_MS;
    try {
      c.reading = await watchGates({ spec, captureName: ctx.capture!.name, syncWorkflowId: syncWorkflowId(ctx.id), maxLagSeconds: spec.cutover.gates.maxLagSeconds, known: c.reading ?? null, returnAfterMs });
    } catch (err) {
      if (isCancellation(err)) throw err;
      c.reading = null;
      await sleep(5_000);
    }
    refreshGates(ctx);
  }
}

/** The rolling shadow figures: counts add up, latencies and differences keep the newest. */
function mergeShadow(s: ShadowStatus, r: ShadowRoundResult, kept: { source: number[]; target: number[]; queries: Map<string, { source: number[]; target: number[] }> }): ShadowStatus {
  const keep = (into: number[], add: number[]) => {
    into.push(...add);
    if (into.length > LATENCIES_KEPT) into.splice(0, into.length - LATENCIES_KEPT);
    return into;
  };
  keep(kept.source, r.sourceMs);
  keep(kept.target, r.targetMs);
  const queries = r.queries.map((q) => {
    const before = s.queries.find((x) => x.name === q.name);
    const lat = kept.queries.get(q.name) ?? { source: [], target: [] };
    kept.queries.set(q.name, lat);
    keep(lat.source, q.sourceMs);
    keep(lat.target, q.targetMs);
    return {
      name: q.name,
      runs: (before?.runs ?? 0) + q.runs,
      errors: (before?.errors ?? 0) + q.errors,
      mismatches: (before?.mismatches ?? 0) + q.mismatches,
      lastError: q.lastError ?? before?.lastError ?? null,
      source: summarize(lat.source),
      target: summarize(lat.target),
    };
  });
  const queryMismatches = r.queries.reduce((n, q) => n + q.mismatches, 0);
  return {
    rounds: s.rounds + 1,
    keysCompared: s.keysCompared + r.keysCompared,
    mismatches: s.mismatches + r.mismatches + queryMismatches,
    inFlight: s.inFlight + r.inFlight,
    lagResolved: s.lagResolved + r.lagResolved,
    differences: [...s.differences, ...r.differences].slice(-DIFFERENCES_KEPT),
    source: summarize(kept.source),
    target: summarize(kept.target),
    queries: [...queries, ...s.queries.filter((q) => !r.queries.some((x) => x.name === q.name))],
    lastRoundAt: new Date(Date.now()).toISOString(),
    lastError: null,
  };
}

function emptyShadow(): ShadowStatus {
  const none = { p50: 0, p95: 0, p99: 0, samples: 0 };
  return { rounds: 0, keysCompared: 0, mismatches: 0, inFlight: 0, lagResolved: 0, differences: [], source: none, target: none, queries: [], lastRoundAt: null, lastError: null };
}

export async function shadowLoop(ctx: MigrationContext): Promise<void> {
  const { spec, status } = ctx;
  if (!spec.shadow.enabled) return;
  const kept = { source: [] as number[], target: [] as number[], queries: new Map<string, { source: number[]; target: number[] }>() };
  for (;;) {
    const before = (status.shadow ??= emptyShadow());
    try {
      const r = await shadowRound({ spec, plans: ctx.plans, migrationId: ctx.id, syncWorkflowId: syncWorkflowId(ctx.id), capture: ctx.capture! });
      status.shadow = mergeShadow(before, r, kept);
      upsertSearchAttributes([{ key: searchAttributes.shadowMismatches, value: status.shadow.mismatches }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      before.lastError = innermostMessage(err);
    }
    refreshGates(ctx);
    await sleep(spec.shadow.everySeconds * 1000);
  }
}

/** A verification again every cutover.verifyEverySeconds, with the online re-check of what differed. */
export async function verifyLoop(ctx: MigrationContext): Promise<void> {
  const { spec, status } = ctx;
  for (;;) {
    const last = status.verification ? Date.parse(status.verification.checkedAt) : 0;
    const wait = last + spec.cutover.verifyEverySeconds * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const startedAt = Date.now();
    const verifyId = `${ctx.id}/verify-${startedAt}`;
    try {
      let v = await verifyTables(spec, ctx.plans, verifyId, () => status.paused, (h) => void ctx.children.add(h.workflowId));
      for (let round = 0; round < RECHECK_ROUNDS && needsRecheck(v); round++) v = await recheckRound(spec, ctx.plans, v, verifyId, syncWorkflowId(ctx.id));
      status.verification = v;
      status.verificationStartedAt = new Date(startedAt).toISOString();
      upsertSearchAttributes([{ key: searchAttributes.verify, value: v.clean ? 'clean' : 'mismatch' }]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Tried again in a minute; meanwhile the gate shows the last verification's age.
      await sleep(60_000);
    }
    refreshGates(ctx);
  }
}
