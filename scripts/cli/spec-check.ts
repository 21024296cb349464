// The checks `ferry start` (and `plan`) run before anything is started: the spec itself,
// then the source tables and the target connection, then the privileges the run will need
// on both. Any problem: exit 2, nothing started.
import { loadSpecFile, SpecError } from '../../activities/plan/spec';
import { formatProblem, type Spec } from '../../contracts/spec';
import { checkTargetReachable, inspectSource } from '../../activities/plan/prepare';
import { closeAll } from '../../engines/connections';
import { privilegeProblems } from '../../activities/plan/privileges';
import { captureName } from '../../activities/cdc/capture';
import type { TablePlan } from '../../contracts/tables';
import { CliError } from './client';

/** `migrationId` (start) gives the id the run will have, whose capture names are judged; plan knows none. */
export async function checkSpec(file: string, opts: { migrationId?: (spec: Spec) => string } = {}): Promise<{ spec: Spec; plans: TablePlan[] }> {
  try {
    const spec = loadSpecFile(file);
    const targetProblems = await checkTargetReachable(spec);
    const { plans, problems } = await inspectSource(spec);
    // The rights the run needs, once both ends answer (an unreachable one is already the problem).
    const reachable = !targetProblems.length && !problems.some((p) => p.path === 'source.url');
    const rights = reachable
      ? await privilegeProblems(spec, plans, opts.migrationId ? captureName(opts.migrationId(spec)) : '').catch((err: Error) => [
          { path: 'source.url', message: `cannot check the privileges the run needs (${err.message}): check that ferry may read pg_catalog on both databases` },
        ])
      : [];
    const all = [...problems, ...targetProblems, ...rights];
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
