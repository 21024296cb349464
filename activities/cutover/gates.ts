// What the gates need that only the outside world knows, read live: the sync's lag (asked of
// the sync workflow by query once a second, so a lag that has held under the limit is timed
// here, not guessed from reports minutes apart), its dead letters, and whether the connector
// and the slot are healthy. The activity returns as soon as any of these changes the gates'
// verdict (or after `returnAfterMs`), so the migration's history grows only when something
// happened, and the Update's validator always reads a fresh verdict.
import { Context } from '@temporalio/activity';
import { syncProgressQuery } from '../../contracts/messages';
import type { Spec } from '../../contracts/spec';
import type { GateReading } from '../../contracts/cutover';
import type { SyncProgress } from '../../contracts/sync';
import { connectorHealth } from '../cdc/connect';

const POLL_MS = 1_000;
const CONNECTOR_EVERY_MS = 5_000;
/**
 * A running apply activity reports every 3 s: figures older than this say nothing is applying
 * (a dead cdc worker), and the lag is taken to grow from the last report on.
 */
const STALE_AFTER_MS = 10_000;


export interface WatchGatesInput {
  spec: Spec;
  captureName: string;
  syncWorkflowId: string;
  maxLagSeconds: number;
  /** The last reading the workflow holds: the activity returns when the verdict differs from it. */
  known: GateReading | null;
  returnAfterMs: number;
}

function slotProblem(p: SyncProgress): string | null {
  const s = p.slot;
  if (!s) return null;
  if (!s.exists) return `replication slot ${s.slot} is gone`;
  if (s.walStatus === 'lost') return `replication slot ${s.slot} lost WAL it needed`;
  if (!s.active && s.stalledSeconds > 60) return `replication slot ${s.slot} is inactive (stalled ${Math.round(s.stalledSeconds)} s)`;
  return null;
}

function syncProblem(p: SyncProgress): string | null {
  if (p.state === 'halted') return `the sync is halted on a poison event${p.halted ? ` (${p.halted.reason})` : ''}: ferry skip or fix it`;
  if (p.state === 'stopped') return p.heldBy?.length ? `the sync is held by ${p.heldBy.join(', ')}` : 'the sync is stopped (paused?)';
  return null;
}

export async function watchGates(input: WatchGatesInput): Promise<GateReading> {
  const ctx = Context.current();
  const handle = ctx.client.workflow.getHandle(input.syncWorkflowId);
  const started = Date.now();
  let lagOkSince = input.known?.lagOkSince ? Date.parse(input.known.lagOkSince) : null;
  let connector: string | null = input.known?.captureProblem?.startsWith('connector ') ? input.known.captureProblem : null;
  let connectorAt = 0;
  let reading: GateReading | null = null;
  for (;;) {
    const p = await handle.query(syncProgressQuery).catch(() => null);
    const now = Date.now();
    if (now - connectorAt >= CONNECTOR_EVERY_MS) {
      connectorAt = now;
      connector = await connectorHealth(input.spec, input.captureName).catch((err) => `connector ${input.captureName} cannot be read: ${(err as Error).message}`);
    }
    const staleMs = p ? now - Date.parse(p.updatedAt) : 0;
    const lagSeconds = p ? p.lagSeconds + (staleMs > STALE_AFTER_MS ? staleMs / 1000 : 0) : (input.known?.lagSeconds ?? 0);
    const lagOk = !!p && p.state === 'caught-up' && lagSeconds <= input.maxLagSeconds;
    if (!lagOk) lagOkSince = null;
    else lagOkSince ??= now;
    reading = {
      lagSeconds,
      lagOkSince: lagOkSince === null ? null : new Date(lagOkSince).toISOString(),
      syncState: p?.state ?? 'unknown',
      deadLetters: p?.deadLetters ?? input.known?.deadLetters ?? 0,
      captureProblem: connector ?? (p ? (syncProblem(p) ?? slotProblem(p)) : 'the sync does not answer'),
      checkedAt: new Date(now).toISOString(),
    };
    const k = input.known;
    const changed = !k || (k.lagOkSince === null) !== (reading.lagOkSince === null) || k.deadLetters !== reading.deadLetters || k.captureProblem !== reading.captureProblem;
    if (changed || now - started >= input.returnAfterMs) return reading;
    ctx.heartbeat();
    await ctx.sleep(POLL_MS);
  }
}
