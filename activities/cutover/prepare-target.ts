// Cutover step 4: the target made ready for the application's writes while the source is
// fenced and drained: what online mode deferred (unique constraints and indexes, foreign keys)
// and sequences past every value the source handed out.
import { Context } from '@temporalio/activity';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { openTarget } from '../../engines';
import { rethrowClassified } from '../../engines/errors';

export async function advanceTargetSequences(input: { spec: Spec; plans: TablePlan[] }): Promise<{ tables: number }> {
  const target = openTarget(input.spec);
  for (const plan of input.plans) {
    Context.current().heartbeat(plan.display);
    await target.advanceSequences(plan).catch((err) => rethrowClassified(err, `moving the sequences of ${plan.display} on the target`));
  }
  return { tables: input.plans.length };
}
