// A rehearsal's cleanup, once its migration has ended however it ended: its change capture on
// the source (released by the migration already; again here, with Ferry's shared tables on the
// source once no migration uses them), the reverse capture on a PostgreSQL target, and — unless
// --keep — everything Ferry created on the target, as its ledger records it. A step that fails is
// retried a few times; then what could not be removed is reported with why (the rehearsal still
// records), and `ferry cleanup --id` removes the rest.
import { Context } from '@temporalio/activity';
import { captureName, reverseCaptureName } from '../cdc/capture';
import { removeCapture } from '../cdc/release';
import { validateSpec } from '../plan/spec';
import type { CaptureRelease } from '../../contracts/capture-release';
import { reversedSpec } from '../../contracts/reverse';
import type { Spec } from '../../contracts/spec';
import { targetEngine } from '../../engines';

/** Attempts before what could not be removed is reported rather than retried (the workflow's retry policy allows more). */
export const CLEANUP_ATTEMPTS = 5;

export interface RehearsalCleanup {
  kept: boolean;
  removed: string[];
  left: string[];
}

export async function cleanupRehearsal(input: { spec: Spec; migrationId: string; captureName: string | null; keep: boolean }): Promise<RehearsalCleanup> {
  const ctx = Context.current();
  const alive = setInterval(() => ctx.heartbeat(), 10_000);
  const out: RehearsalCleanup = { kept: input.keep, removed: [], left: [] };
  const failed: string[] = [];
  const take = (r: CaptureRelease, where: string) => {
    out.removed.push(...r.removed.map((w) => `${w} (${where})`));
    out.left.push(...r.left.map((l) => `${l.what} (${where}): ${l.reason}; ${l.command}`));
  };
  // Each step on its own: one that fails (a database that does not answer) leaves the others to run.
  const step = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      failed.push(`${what}: ${(err as Error).message}`);
    }
  };
  try {
    const spec = validateSpec(input.spec, process.env);
    const engine = targetEngine(spec);
    const back = reversedSpec(spec);
    await step('the capture on the source', async () => take(await removeCapture(spec, input.captureName ?? captureName(input.migrationId), input.migrationId, { dropShared: true }), 'source'));
    if (engine.reverseFeed === 'debezium') {
      await step('the reverse capture on the target', async () => take(await removeCapture(back, reverseCaptureName(input.migrationId), input.migrationId, { dropShared: true }), 'target'));
    }
    if (!input.keep) {
      await step('what Ferry created on the target', async () => {
        const dropped = await engine.dropCreated(spec, input.migrationId);
        out.removed.push(...dropped.dropped.map((d) => `${d} (target)`));
        out.left.push(...dropped.kept.map((k) => `${k} (target)`));
      });
    }
  } catch (err) {
    failed.push(`the spec: ${(err as Error).message}`);
  } finally {
    clearInterval(alive);
  }
  // Every step is idempotent: a failure is retried whole (the steps done are done again, finding
  // nothing); on the last attempt what failed is reported instead, so the rehearsal still records.
  if (failed.length && ctx.info.attempt < CLEANUP_ATTEMPTS) throw new Error(`the rehearsal's cleanup is retried: ${failed.join('; ')}`);
  out.left.push(...failed.map((f) => `${f}; run ferry cleanup --id ${input.migrationId}`));
  return out;
}
