// Activities: a table's indexes, foreign keys and sequences once every table is loaded, and
// (online) the constraints deferred until the sync stops. One statement may run for hours
// (an index on a big table), so both heartbeat on a timer while it runs, naming the step in
// the details: a worker killed mid-build is noticed within the heartbeat timeout, and the
// retry re-runs the steps, which are safe to repeat (see engines/postgres/finish.ts).
import { Context } from '@temporalio/activity';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { openTarget } from '../../engines';
import { rethrowClassified } from '../../engines/errors';

/** Well inside the workflow's heartbeatTimeout (2 minutes); the SDK throttles what it sends. */
const HEARTBEAT_MS = 10_000;

async function heartbeatingSteps(what: string, run: (progress: (step: string) => void) => Promise<void>): Promise<void> {
  const ctx = Context.current();
  let step = 'starting';
  ctx.heartbeat({ step });
  const timer = setInterval(() => ctx.heartbeat({ step }), HEARTBEAT_MS);
  try {
    await run((s) => {
      step = s;
      ctx.heartbeat({ step });
    });
  } catch (err) {
    rethrowClassified(err, what);
  } finally {
    clearInterval(timer);
  }
}

/** Activity: a table's key and indexes as soon as its own rows are in (from its backfill). */
export async function finishLoad(input: { spec: Spec; plan: TablePlan }): Promise<void> {
  await heartbeatingSteps(`building the key and indexes of ${input.plan.display}`, (progress) => openTarget(input.spec).finishLoad(input.plan, progress));
}

/** Activity: indexes and foreign keys once every table is loaded. */
export async function finishTable(input: { spec: Spec; plan: TablePlan }): Promise<void> {
  await heartbeatingSteps(`building indexes and constraints of ${input.plan.display}`, (progress) => openTarget(input.spec).finishTable(input.plan, progress));
}

/**
 * Activity, for the cutover (inside the freeze): the UNIQUE/EXCLUDE constraints, unique
 * indexes and foreign keys an online migration leaves out while syncing. `validateForeignKeys:
 * false` adds the foreign keys NOT VALID; validateForeignKeys reads the old rows after the switch.
 */
export async function buildDeferredConstraints(input: { spec: Spec; plan: TablePlan; validateForeignKeys?: boolean }): Promise<void> {
  await heartbeatingSteps(`building the deferred constraints of ${input.plan.display}`, (progress) =>
    openTarget(input.spec).buildDeferredConstraints(input.plan, progress, { validateForeignKeys: input.validateForeignKeys }),
  );
}

/** Activity, after the switch (outside the freeze): VALIDATE CONSTRAINT for the foreign keys the cutover added NOT VALID. */
export async function validateForeignKeys(input: { spec: Spec; plan: TablePlan }): Promise<void> {
  await heartbeatingSteps(`validating the foreign keys of ${input.plan.display}`, (progress) => openTarget(input.spec).validateForeignKeys(input.plan, progress));
}
