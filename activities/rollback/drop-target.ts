// A rollback's --drop-target: removes exactly what Ferry created on the target for this
// migration, as the target's ledger of created objects records it (an object that existed
// before is never dropped).
import { Context } from '@temporalio/activity';
import type { Spec } from '../../contracts/spec';
import { targetEngine } from '../../engines';
import { rethrowClassified } from '../../engines/errors';

export async function dropCreatedObjects(input: { spec: Spec; migrationId: string }): Promise<{ dropped: string[]; kept: string[] }> {
  const alive = setInterval(() => Context.current().heartbeat(), 10_000);
  try {
    return await targetEngine(input.spec).dropCreated(input.spec, input.migrationId);
  } catch (err) {
    return rethrowClassified(err, 'removing what Ferry created on the target');
  } finally {
    clearInterval(alive);
  }
}
