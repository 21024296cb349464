// "Has the sync applied everything committed on the source before this moment?" — the wait a
// re-check needs (the same test as verify/recheck.ts makes, through cdc/sync-watch.ts).
import { awaitSync } from '../cdc/sync-watch';

/** Resolves once the sync reports having applied every change committed before `sinceMs`; fails if it has ended. */
export function syncPast(syncWorkflowId: string, sinceMs: number, why: string): Promise<void> {
  return awaitSync(syncWorkflowId, (p) => Date.parse(p.updatedAt) - p.lagSeconds * 1000 > sinceMs && p.state !== 'halted', why);
}
