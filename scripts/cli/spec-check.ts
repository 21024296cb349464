// The checks `ferry start` (and `plan`) run before anything is started: the spec itself,
// then the source tables and the target connection. Any problem: exit 2, nothing started.
import { loadSpecFile, SpecError, formatProblem, type Spec } from '../../activities/spec';
import { checkTargetReachable, inspectSource } from '../../activities/plan';
import { closeAll } from '../../activities/connections';
import type { TablePlan } from '../../workflows/definitions';
import { CliError } from './client';

export async function checkSpec(file: string): Promise<{ spec: Spec; plans: TablePlan[] }> {
  try {
    const spec = loadSpecFile(file);
    const targetProblems = await checkTargetReachable(spec);
    const { plans, problems } = await inspectSource(spec);
    const all = [...problems, ...targetProblems];
    if (all.length) throw new SpecError(all);
    return { spec, plans };
  } catch (err) {
    if (err instanceof SpecError) {
      const n = err.problems.length;
      throw new CliError(`${file}: ${n} problem${n > 1 ? 's' : ''}, nothing was started:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, 2);
    }
    throw err;
  } finally {
    await closeAll();
  }
}
