// Verification of a source that is still being written to (online mode): a chunk's hashes
// are taken on the source and the target a moment apart, so rows changed in between show up
// as differences that the sync is about to fix. Those keys are compared again once the sync
// has applied everything committed before the re-check began; what still differs then is a
// real difference (or a row so hot it changed again — another round tells). Entries found
// equal are marked resolved in the mismatch store (the same mark repair uses), so `ferry
// repair` never re-copies them. A key whose source row keeps moving (updated every few
// milliseconds) differs between any two reads moments apart: it is reported in flight, and
// only a difference proven against a source row that stood still counts.
import { mismatchStore, targetEngine } from '../../engines';
import { Context } from '@temporalio/activity';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { MismatchKind } from '../../contracts/verify';
import { awaitSyncPast } from '../cdc/sync-watch';
import { rethrowClassified } from '../../engines/errors';

const PAGE = 1_000;

export interface RecheckResult {
  table: string;
  rechecked: number;
  /** Proven different: the source row stood still while the sync caught up past it, and the target still differs. */
  remaining: Record<MismatchKind, number>;
  /** Keys whose source row changed again during the re-check (hot rows): not proven different. */
  inFlight: number;
  sample: Array<{ kind: MismatchKind; key: string[] }>;
}

/** Waits until the sync reports having applied every change committed before `sinceMs`. */
function syncPast(syncWorkflowId: string, sinceMs: number): Promise<void> {
  return awaitSyncPast(syncWorkflowId, sinceMs, 'keys cannot be re-checked against a target that no longer follows the source');
}

export async function recheckMismatches(input: { spec: Spec; plan: TablePlan; verifyId: string; syncWorkflowId: string }): Promise<RecheckResult> {
  const { spec, plan, verifyId } = input;
  const startedAt = Date.now();
  await syncPast(input.syncWorkflowId, startedAt);
  const store = mismatchStore(spec);
  const result: RecheckResult = { table: plan.display, rechecked: 0, remaining: { missing: 0, extra: 0, different: 0 }, inFlight: 0, sample: [] };
  const verifier = targetEngine(spec).verifier(spec);
  const digests = (keys: string[][]) => verifier.keyDigests(plan, keys);
  const id = (k: string[]) => JSON.stringify(k);
  try {
    let after: string | null = null;
    for (;;) {
      const { entries, next } = await store.page(verifyId, plan.display, after, PAGE);
      if (entries.length === 0) break;
      const keys = entries.map((e) => e.key);
      // Compared once the sync has passed the moment the re-check began.
      const first = await digests(keys);
      const differing = keys.filter((k) => first.source.get(id(k)) !== first.target.get(id(k)));
      const resolved = keys.filter((k) => first.source.get(id(k)) === first.target.get(id(k)));
      if (differing.length) {
        // Proof for what still differs: note the source as it is now, wait until the sync has
        // applied everything committed before this moment, and look again. A source row that
        // stayed put while the sync caught up past it must be on the target by then: if the
        // target still differs, the difference is real. A source row that moved in between
        // is in flight (a hot row), not proven different.
        const noted = Date.now();
        await syncPast(input.syncWorkflowId, noted);
        const second = await digests(differing);
        for (const k of differing) {
          const s = second.source.get(id(k));
          const t = second.target.get(id(k));
          if (s === t) {
            resolved.push(k);
            continue;
          }
          // Moved on the source meanwhile: not proven — unless the source had the row at both
          // reads and the target has none, though the sync passed a moment the row existed.
          const sourceMoved = s !== first.source.get(id(k));
          const missingThroughout = t === undefined && s !== undefined && first.source.get(id(k)) !== undefined;
          if (sourceMoved && !missingThroughout) {
            result.inFlight += 1;
            continue;
          }
          // Classify by what is true now, not by what the first pass saw.
          const kind: MismatchKind = s === undefined ? 'extra' : t === undefined ? 'missing' : 'different';
          result.remaining[kind] += 1;
          if (result.sample.length < 20) result.sample.push({ kind, key: k });
        }
      }
      await store.markRepaired(verifyId, plan.display, resolved);
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
