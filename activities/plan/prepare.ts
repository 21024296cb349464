// The prepare phase: check the spec against the real source, introspect every table, apply
// the spec's table options, and create what the target needs. `ferry plan` and `ferry start`
// run the same inspection before anything is started.
import { ApplicationFailure } from '@temporalio/common';
import { SpecError, specTables, validateSpec } from './spec';
import type { SpecProblem, Spec, TableEntry } from '../../contracts/spec';
import { describeRef } from '../../contracts/references';
import { reverseWanted } from '../../contracts/reverse';
import { introspectTable } from '../../engines/postgres/source';
import { pgPool } from '../../engines/connections';
import { targetEngine } from '../../engines';
import type { Engine } from '../../engines/engine';
import { rethrowClassified } from '../../engines/errors';
import { parseQualifiedName, type QualifiedName } from '../../engines/postgres/identifiers';
import type { TablePlan } from '../../contracts/tables';
import type { MigrationPlan } from '../../contracts/migration';
import { sizeChunks } from './chunk-size';
import { debeziumLimits } from '../../engines/postgres/capture/debezium-values';

type TableOptions = Exclude<TableEntry, string>;

/** Everything wrong with a spec that a connection can tell, one problem per path; plans of the good tables. */
export async function inspectSource(spec: Spec): Promise<{ plans: TablePlan[]; problems: SpecProblem[] }> {
  const problems: SpecProblem[] = [];
  const plans: TablePlan[] = [];
  const engine = targetEngine(spec);
  const pool = pgPool(spec.source.url);
  try {
    for (const [index, { name, options }] of specTables(spec).entries()) {
      const path = `tables[${index}]`;
      const plan = await introspectTable(pool, { name, key: options?.key });
      if (typeof plan === 'string') {
        problems.push({ path, message: plan });
        continue;
      }
      const issues = applyTableOptions(plan, options, engine);
      if (options?.embed?.length) issues.push(...(await planEmbeds(pool, plan, options, engine)));
      issues.push(...engine.tableProblems(plan).map((message) => ({ path: '', message })));
      if (spec.mode === 'online') issues.push(...captureLimits(plan));
      if (reverseWanted(spec, engine.reverseFeed !== null)) issues.push(...reverseLimits(spec, plan, engine));
      plan.chunkRows = sizeChunks(plan, spec);
      problems.push(...issues.map((p) => ({ path: p.path ? `${path}.${p.path}` : path, message: p.message })));
      plans.push(plan);
    }
  } catch (err) {
    problems.push({ path: 'source.url', message: `cannot read the source (${connectionError(err)}): check the host, port, database, user and that ferry may read pg_catalog` });
  }
  return { plans: loadOrder(plans), problems };
}

/**
 * A reverse sync carries the target's writes back through the inverse of the mapping: where
 * that cannot be exact (an embed, a truncating policy, a NOT NULL column left out), a rollback
 * after the switch would change or refuse rows. With cutover.reverse.mode: required that is
 * refused, unless the spec accepts it (acceptInexact); with auto the migration runs no reverse
 * sync (a rollback after the switch is then refused) and the plan says why.
 */
function reverseLimits(spec: Spec, plan: TablePlan, engine: Engine): Array<{ path: string; message: string }> {
  const reasons = engine.reverseProblems(plan);
  const accepted = spec.cutover.reverse.acceptInexact;
  if (accepted || spec.cutover.reverse.mode !== 'required') {
    for (const r of reasons) plan.warnings.push(accepted ? `reverse sync (rollback after the switch) inexact, accepted: ${r}` : `no reverse sync, so no rollback after the switch: ${r} (or accept it: cutover.reverse.acceptInexact: true)`);
    return [];
  }
  return reasons.map((r) => ({ path: '', message: `${r} — a rollback after the switch could not bring the target's writes back exactly (cutover.reverse.mode: required): set cutover.reverse.acceptInexact: true to accept it, or mode auto/off` }));
}

/** The reverse sync runs: the engine streams back, and the mapping inverts exactly (or the spec accepts it). */
export function reverseRuns(spec: Spec, plans: TablePlan[], engine: Engine): boolean {
  return engine.reverseFeed !== null && (spec.cutover.reverse.acceptInexact || plans.every((p) => engine.reverseProblems(p).length === 0));
}

/**
 * Online, every value also travels through Debezium, which cannot carry some types exactly:
 * those are refused before anything starts (each of their changes would be dead-lettered);
 * the ones it may alter without a trace are warnings in the plan.
 */
function captureLimits(plan: TablePlan): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  for (const l of debeziumLimits(plan)) {
    if (l.refused) problems.push({ path: `columns.${l.column}`, message: `${l.type} cannot be followed by change capture: ${l.reason}; change the column's type on the source, leave the table out, or use mode: offline` });
    else plan.warnings.push(`${l.column} (${l.type}), online sync: ${l.reason}`);
  }
  return problems;
}

/**
 * Parents before children (by foreign keys among the selected tables), otherwise the spec's
 * order: a target whose tables already enforce foreign keys accepts the rows in this order.
 * Tables in a reference cycle keep their spec order.
 */
function loadOrder(plans: TablePlan[]): TablePlan[] {
  const name = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
  const selected = new Set(plans.map((p) => name(p.table)));
  const ordered: TablePlan[] = [];
  const placed = new Set<string>();
  let rest = [...plans];
  while (rest.length) {
    const ready = rest.filter((p) => p.ddl.foreignKeys.every((f) => !selected.has(name(f.references)) || placed.has(name(f.references)) || name(f.references) === name(p.table)));
    const next = ready.length ? ready : [rest[0]];
    for (const p of next) {
      ordered.push(p);
      placed.add(name(p.table));
    }
    rest = rest.filter((p) => !next.includes(p));
  }
  return ordered;
}

/**
 * The spec's column options on top of the introspected columns: lossy policies, MongoDB
 * field renames and drops; then what the target's engine warns about. Unknown columns are problems (a typo must not pass silently).
 */
function applyTableOptions(plan: TablePlan, options: TableOptions | null, engine: Engine): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const [name, opts] of Object.entries(options?.columns ?? {})) {
    const col = plan.columns.find((c) => c.name === name);
    if (!col) {
      problems.push({ path: `columns.${name}`, message: `${plan.display} has no column ${JSON.stringify(name)} (columns: ${plan.columns.map((c) => c.name).join(', ')})` });
      continue;
    }
    if (opts.lossy) col.lossy = opts.lossy;
    if (opts.drop) col.field = null;
    else if (opts.rename) col.field = opts.rename;
  }
  plan.warnings.push(...engine.tableWarnings(plan));
  if (plan.partitions > 0) {
    plan.warnings.push(`${plan.display} is partitioned (${plan.partitions} partitions): it is read through the parent and lands as one ${engine.landsAs}`);
  }
  return problems;
}

/** Introspects each embedded table and checks the join columns exist on both sides. */
async function planEmbeds(pool: ReturnType<typeof pgPool>, plan: TablePlan, options: TableOptions, engine: Engine): Promise<SpecProblem[]> {
  const problems: SpecProblem[] = [];
  for (const [j, e] of (options.embed ?? []).entries()) {
    const path = `embed[${j}]`;
    const name = parseQualifiedName(e.table) as QualifiedName;
    const child = await introspectTable(pool, { name });
    if (typeof child === 'string') {
      problems.push({ path: `${path}.table`, message: child });
      continue;
    }
    child.warnings.push(...engine.tableWarnings(child));
    const on = Object.entries(e.on);
    for (const [childCol, parentCol] of on) {
      if (!child.columns.some((c) => c.name === childCol)) problems.push({ path: `${path}.on`, message: `${child.display} has no column ${JSON.stringify(childCol)}` });
      if (!plan.columns.some((c) => c.name === parentCol)) problems.push({ path: `${path}.on`, message: `${plan.display} has no column ${JSON.stringify(parentCol)}` });
    }
    if (plan.columns.some((c) => c.field === e.as)) {
      problems.push({ path: `${path}.as`, message: `field ${JSON.stringify(e.as)} is already a column of ${plan.display}: choose another name or rename the column` });
    }
    plan.embeds.push({ kind: e.kind, as: e.as, plan: child, on });
    plan.warnings.push(
      e.kind === 'many'
        ? `${child.display} rows are embedded as array "${e.as}" in each ${plan.display} document: changes to them reach the target only with their parent row`
        : `the ${child.display} row each ${plan.display} row references is embedded as "${e.as}"`,
    );
  }
  return problems;
}

/** Opens a connection to the target to prove the URL works before anything starts. */
export async function checkTargetReachable(spec: Spec): Promise<SpecProblem[]> {
  try {
    await targetEngine(spec).ping(spec);
    return [];
  } catch (err) {
    return [{ path: 'target.url', message: `cannot connect (${describeRef(spec.target.url)}): ${connectionError(err)}` }];
  }
}

function connectionError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(': ') || String(err);
}

/** Validates and inspects inside an activity: a bad spec is a typed, non-retryable failure. */
async function planOrFail(input: { spec: Spec }): Promise<{ spec: Spec; plans: TablePlan[] }> {
  let spec: Spec;
  try {
    spec = validateSpec(input.spec, process.env);
  } catch (err) {
    if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'SpecError');
    throw err;
  }
  const { plans, problems } = await inspectSource(spec);
  const bad = problems.filter((p) => p.path !== 'source.url');
  if (bad.length) throw ApplicationFailure.nonRetryable(new SpecError(bad).message, 'SpecError');
  if (problems.length) throw new Error(new SpecError(problems).message); // unreachable source: retry
  return { spec, plans };
}

/**
 * Activity: validate, introspect and create the target tables/collections; with `migrationId`
 * (migrations started before it was passed have none), what is created is recorded in the
 * target's ledger under it, for a rollback to drop.
 */
export async function prepareMigration(input: { spec: Spec; migrationId?: string }): Promise<MigrationPlan> {
  const { spec, plans } = await planOrFail(input);
  const target = targetEngine(spec).target(spec);
  for (const plan of plans) {
    await target.prepareTable(plan, input.migrationId).catch((err) => rethrowClassified(err, `creating ${plan.display} on the target`));
  }
  return { targetKind: target.kind, targetStreamsBack: reverseRuns(spec, plans, targetEngine(spec)), tables: plans, capture: null };
}

/** Activity: the plan alone, for verification and repair runs started after the migration. */
export async function planTables(input: { spec: Spec }): Promise<MigrationPlan> {
  const { spec, plans } = await planOrFail(input);
  return { targetKind: targetEngine(spec).name, targetStreamsBack: reverseRuns(spec, plans, targetEngine(spec)), tables: plans, capture: null };
}
