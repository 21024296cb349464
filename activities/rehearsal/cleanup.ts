// A rehearsal's cleanup, once its migration has ended however it ended: its change capture on
// the source (released by the migration already; again here, with Ferry's shared tables on the
// source once no migration uses them), the reverse capture on a PostgreSQL target, what the
// drill's reverse sync created in the source's Ferry stores, and — unless
// --keep — everything Ferry created on the target, as its ledger records it. Never throws: what
// could not be removed is reported with why, and `ferry cleanup --id` removes the rest.
import { Context } from '@temporalio/activity';
import { captureName, reverseCaptureName } from '../cdc/capture';
import { removeCapture } from '../cdc/release';
import { validateSpec } from '../plan/spec';
import type { CaptureRelease } from '../../contracts/capture-release';
import { reversedSpec } from '../../contracts/reverse';
import type { Spec } from '../../contracts/spec';
import { targetEngine } from '../../engines';

export interface RehearsalCleanup {
  kept: boolean;
  removed: string[];
  left: string[];
}

export async function cleanupRehearsal(input: { spec: Spec; migrationId: string; captureName: string | null; keep: boolean }): Promise<RehearsalCleanup> {
  const alive = setInterval(() => Context.current().heartbeat(), 10_000);
  const out: RehearsalCleanup = { kept: input.keep, removed: [], left: [] };
  const take = (r: CaptureRelease, where: string) => {
    out.removed.push(...r.removed.map((w) => `${w} (${where})`));
    out.left.push(...r.left.map((l) => `${l.what} (${where}): ${l.reason}; ${l.command}`));
  };
  try {
    const spec = validateSpec(input.spec, process.env);
    const engine = targetEngine(spec);
    const back = reversedSpec(spec);
    // The drill's reverse sync wrote into the source's Ferry stores (its dead letters, their ledger): never kept.
    const onSource = await targetEngine(back).dropCreated(back, input.migrationId);
    out.removed.push(...onSource.dropped.map((d) => `${d} (source)`));
    out.left.push(...onSource.kept.map((k) => `${k} (source)`));
    // Then capture, whose shared tables go last with the `_ferry` schema once it is empty.
    take(await removeCapture(spec, input.captureName ?? captureName(input.migrationId), input.migrationId, { dropShared: true }), 'source');
    if (engine.reverseFeed === 'debezium') take(await removeCapture(back, reverseCaptureName(input.migrationId), input.migrationId, { dropShared: true }), 'target');
    if (!input.keep) {
      const dropped = await engine.dropCreated(spec, input.migrationId);
      out.removed.push(...dropped.dropped.map((d) => `${d} (target)`));
      out.left.push(...dropped.kept.map((k) => `${k} (target)`));
    }
  } catch (err) {
    out.left.push(`the cleanup stopped: ${(err as Error).message}; run ferry cleanup --id ${input.migrationId}`);
  } finally {
    clearInterval(alive);
  }
  return out;
}
