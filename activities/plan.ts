// The prepare phase: check the spec against the real source, introspect every table, and
// create what the target needs. The CLI runs the same checks before starting anything.
import { ApplicationFailure } from '@temporalio/common';
import { SpecError, SpecProblem, Spec, specTables, validateSpec, describeRef } from './spec';
import { introspectTables } from './source/postgres';
import { pgPool, mongoClient } from './connections';
import { openTarget, targetKind } from './target/target';
import { rethrowClassified } from './errors';
import type { MigrationPlan, TablePlan } from '../workflows/definitions';

/** Everything wrong with a spec that a connection can tell, one problem per path. */
export async function inspectSource(spec: Spec): Promise<{ plans: TablePlan[]; problems: SpecProblem[] }> {
  const problems: SpecProblem[] = [];
  let plans: TablePlan[] = [];
  try {
    const res = await introspectTables(pgPool(spec.source.url), specTables(spec));
    plans = res.plans;
    problems.push(...res.problems.map((p) => ({ path: `tables[${p.index}]`, message: p.message })));
  } catch (err) {
    problems.push({ path: 'source.url', message: `cannot read the source (${connectionError(err)}): check the host, port, database, user and that ferry may read pg_catalog` });
  }
  return { plans, problems };
}

/** Opens a connection to the target to prove the URL works before anything starts. */
export async function checkTargetReachable(spec: Spec): Promise<SpecProblem[]> {
  try {
    if (targetKind(spec) === 'mongodb') {
      const client = await mongoClient(spec.target.url);
      await client.db(spec.target.database).command({ ping: 1 });
    } else {
      await pgPool(spec.target.url, 'target.url').query('SELECT 1');
    }
    return [];
  } catch (err) {
    return [{ path: 'target.url', message: `cannot connect (${describeRef(spec.target.url)}): ${connectionError(err)}` }];
  }
}

function connectionError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(': ') || String(err);
}

/** Activity: validate, introspect and create the target tables/collections. */
export async function prepareMigration(input: { spec: Spec }): Promise<MigrationPlan> {
  let spec: Spec;
  try {
    spec = validateSpec(input.spec, process.env);
  } catch (err) {
    if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'SpecError');
    throw err;
  }
  const { plans, problems } = await inspectSource(spec);
  const bad = problems.filter((p) => p.path !== 'source.url');
  if (bad.length) {
    throw ApplicationFailure.nonRetryable(new SpecError(bad).message, 'SpecError');
  }
  if (problems.length) throw new Error(new SpecError(problems).message); // unreachable source: retry
  const target = openTarget(spec);
  for (const plan of plans) {
    await target.prepareTable(plan).catch((err) => rethrowClassified(err, `creating ${plan.display} on the target`));
  }
  return { targetKind: target.kind, tables: plans };
}
