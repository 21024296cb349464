// Verification of a source that is still being written to (online mode): a chunk's hashes
// are taken on the source and the target a moment apart, so rows changed in between show up
// as differences that the sync is about to fix. Those keys are compared again once the sync
// has applied everything committed before the re-check began; what still differs then is a
// real difference (or a row so hot it changed again — another round tells). Entries found
// equal are marked resolved in the mismatch store (the same mark repair uses), so `ferry
// repair` never re-copies them.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../spec';
import { syncProgressQuery, type MismatchKind, type TablePlan } from '../../workflows/definitions';
import { pgPool } from '../connections';
import { readKeys } from '../source/postgres';
import { targetKind } from '../target/target';
import { rethrowClassified } from '../errors';
import { keyDigestsPostgres } from './postgres';
import { keyDigestsMongo } from './mongodb';
import { mismatchStore } from './store';

const PAGE = 1_000;
const POLL_MS = 1_000;

export interface RecheckResult {
  table: string;
  rechecked: number;
  /** Still different after the sync caught up past the re-check's start, by kind. */
  remaining: Record<MismatchKind, number>;
  sample: Array<{ kind: MismatchKind; key: string[] }>;
}

/** Waits until the sync reports having applied every change committed before `sinceMs`. */
async function syncPast(syncWorkflowId: string, sinceMs: number): Promise<void> {
  const ctx = Context.current();
  const handle = ctx.client.workflow.getHandle(syncWorkflowId);
  for (;;) {
    const desc = await handle.describe().catch(() => null);
    if (desc && desc.status.name !== 'RUNNING' && desc.status.name !== 'CONTINUED_AS_NEW') {
      throw ApplicationFailure.nonRetryable(`the sync (${syncWorkflowId}) is ${desc.status.name.toLowerCase()}: keys cannot be re-checked against a target that no longer follows the source`, 'SyncEnded');
    }
    const p = await handle.query(syncProgressQuery).catch(() => null);
    if (p && Date.parse(p.updatedAt) - p.lagSeconds * 1000 > sinceMs && p.state !== 'halted') return;
    ctx.heartbeat();
    await ctx.sleep(POLL_MS);
  }
}

export async function recheckMismatches(input: { spec: Spec; plan: TablePlan; verifyId: string; syncWorkflowId: string }): Promise<RecheckResult> {
  const { spec, plan, verifyId } = input;
  const startedAt = Date.now();
  await syncPast(input.syncWorkflowId, startedAt);
  const store = mismatchStore(spec);
  const source = pgPool(spec.source.url);
  const result: RecheckResult = { table: plan.display, rechecked: 0, remaining: { missing: 0, extra: 0, different: 0 }, sample: [] };
  try {
    let after: string | null = null;
    for (;;) {
      const { entries, next } = await store.page(verifyId, plan.display, after, PAGE);
      if (entries.length === 0) break;
      const keys = entries.map((e) => e.key);
      let sourceDigests: Map<string, unknown>;
      let targetDigests: Map<string, unknown>;
      if (targetKind(spec) === 'mongodb') {
        ({ source: sourceDigests, target: targetDigests } = await keyDigestsMongo(spec, plan, await readKeys(source, plan, keys), keys));
      } else {
        [sourceDigests, targetDigests] = await Promise.all([keyDigestsPostgres(source, plan, keys), keyDigestsPostgres(pgPool(spec.target.url, 'target.url'), plan, keys)]);
      }
      const equal = keys.filter((k) => sourceDigests.get(JSON.stringify(k)) === targetDigests.get(JSON.stringify(k)));
      await store.markRepaired(verifyId, plan.display, equal);
      const resolved = new Set(equal.map((k) => JSON.stringify(k)));
      for (const e of entries) {
        if (resolved.has(JSON.stringify(e.key))) continue;
        // Classify by what is true now, not by what the first pass saw.
        const s = sourceDigests.get(JSON.stringify(e.key));
        const t = targetDigests.get(JSON.stringify(e.key));
        const kind: MismatchKind = s === undefined ? 'extra' : t === undefined ? 'missing' : 'different';
        result.remaining[kind] += 1;
        if (result.sample.length < 20) result.sample.push({ kind, key: e.key });
      }
      result.rechecked += keys.length;
      Context.current().heartbeat();
      after = next;
      if (entries.length < PAGE) break;
    }
  } catch (err) {
    return rethrowClassified(err, `re-checking ${plan.display}`);
  }
  return result;
}
