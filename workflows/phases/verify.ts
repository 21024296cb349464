// verify: source and target compared. Offline the migration ends here; online the
// comparison runs while writes go on, and keys that differ are re-checked once the sync has
// passed them.
import { ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { syncWorkflowId } from '../../contracts/ids';
import { searchAttributes } from '../../contracts/search-attributes';
import { describeDifferences } from '../../contracts/verify';
import { needsRecheck, recheckRound, RECHECK_ROUNDS, verifyTables } from '../verify';
import type { VerificationResult } from '../../contracts/verify';
import type { MigrationContext } from './context';

export async function verify(ctx: MigrationContext): Promise<'completed' | 'sync'> {
  const { id, spec, status } = ctx;
  const verifyId = `${id}/verify`;
  const onChild = (h: { workflowId: string }) => void ctx.children.add(h.workflowId);
  if (!ctx.capture) {
    status.verification = await verifyTables(spec, ctx.plans, verifyId, () => status.paused, onChild);
    upsertSearchAttributes([{ key: searchAttributes.verify, value: status.verification.clean ? 'clean' : 'mismatch' }]);
    if (!status.verification.clean) {
      throw ApplicationFailure.nonRetryable(`verification found differences: ${describeDifferences(status.verification.tables)}; run ferry verify --id ${id} for the keys, ferry repair --id ${id} to re-copy them`, 'VerificationFailed');
    }
    return 'completed';
  }

  status.verificationStartedAt = new Date(Date.now()).toISOString();
  const verification = await verifyWhileSyncing(ctx, verifyId);
  status.verification = verification;
  upsertSearchAttributes([{ key: searchAttributes.verify, value: verification.clean ? 'clean' : 'mismatch' }]);
  return 'sync';
}

/** The whole comparison while the sync runs: keys that differ are re-checked once the sync has passed them. */
export async function verifyWhileSyncing(ctx: MigrationContext, verifyId: string): Promise<VerificationResult> {
  const { id, spec, status, sync } = ctx;
  const onChild = (h: { workflowId: string }) => void ctx.children.add(h.workflowId);
  let verification = await verifyTables(spec, ctx.plans, verifyId, () => status.paused, onChild);
  for (let round = 0; round < RECHECK_ROUNDS && needsRecheck(verification) && !sync.ended; round++) {
    // A sync that fails meanwhile fails the migration instead of leaving the re-check waiting.
    const check = recheckRound(spec, ctx.plans, verification, verifyId, syncWorkflowId(id));
    verification = await (sync.run ? Promise.race([check, sync.run.then(() => verification)]) : check);
  }
  return verification;
}
