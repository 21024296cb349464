// Operator shadow queries (spec shadow.queries): each runs on the source (SQL) and on the
// target (its engine's form), with parameters from keys sampled from the query's table this
// round, and the two results are compared as multisets of canonical rows (the target engine's
// canonicalRows: engines/postgres/shadow-query.ts, engines/mongodb/shadow-query.ts). A result
// that differs is run again once the sync has passed the first run, like a key: equal then,
// it was lag; the source's own result changed meanwhile, in flight; otherwise a mismatch.
// A query that fails on either side counts an error (the message scrubbed of credentials).
import type { ShadowQueryRound } from '../../contracts/shadow';
import type { ShadowQuery, Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { Verifier } from '../../engines/engine';
import type { Pool } from 'pg';
import { parseQualifiedName } from '../../engines/postgres/identifiers';
import { highestPlaceholder, runSqlQuery } from '../../engines/postgres/shadow-query';
import { pushCapped, safeMessage, sameRows } from './compare';
import type { Pacers } from './throttle';

/** Runs of each query per round (each with another sampled key when it takes parameters). */
export const QUERY_RUNS = 5;

/** The plan of the table whose keys fill a query's parameters: its `table`, else the spec's first table. */
export function queryPlan(spec: Spec, plans: TablePlan[], query: ShadowQuery): TablePlan | string {
  const first = spec.tables[0];
  const text = query.table ?? (typeof first === 'string' ? first : first.table);
  const name = parseQualifiedName(text);
  if (typeof name === 'string') return `table ${JSON.stringify(text)}: ${name}`;
  const plan = plans.find((p) => p.table.schema === name.schema && p.table.name === name.name);
  return plan ?? `table ${text} is not one of the migration's tables`;
}

/** Whether a query takes the key's values ($1… in SQL, "$1"… strings in a MongoDB filter or pipeline). */
export function takesKey(query: ShadowQuery): boolean {
  const target = typeof query.target === 'string' ? highestPlaceholder(query.target) > 0 : /"\$\d+"/.test(JSON.stringify(query.target));
  return highestPlaceholder(query.source) > 0 || target;
}

/** A run whose results differed, to run again after the sync has passed. */
export interface PendingRun {
  round: ShadowQueryRound;
  query: ShadowQuery;
  plan: TablePlan;
  key: string[];
  source: string[];
}

export interface QueryContext {
  source: Pool;
  verifier: Verifier;
  pacers: Pacers;
  alive: () => void;
}

async function runOnce(ctx: QueryContext, round: ShadowQueryRound, query: ShadowQuery, plan: TablePlan, key: string[]): Promise<{ source: string[]; target: string[] } | null> {
  await Promise.all([ctx.pacers.source.take(1), ctx.pacers.target.take(1)]);
  round.runs += 1;
  try {
    const t0 = performance.now();
    const [source, target] = await Promise.all([
      runSqlQuery(ctx.source, query.source, key).then((r) => {
        pushCapped(round.sourceMs, Math.round(performance.now() - t0));
        return r;
      }),
      ctx.verifier.runQuery(plan, query.target, key).then((r) => {
        pushCapped(round.targetMs, Math.round(performance.now() - t0));
        return r;
      }),
    ]);
    return ctx.verifier.canonicalRows(plan, source, target);
  } catch (err) {
    round.errors += 1;
    round.lastError = safeMessage(err);
    return null;
  } finally {
    ctx.alive();
  }
}

/** Every query's first runs; what differed comes back to be run again once the sync has passed. */
export async function runQueries(ctx: QueryContext, spec: Spec, plans: TablePlan[], sampled: Map<string, string[][]>): Promise<{ rounds: ShadowQueryRound[]; pending: PendingRun[] }> {
  const rounds: ShadowQueryRound[] = [];
  const pending: PendingRun[] = [];
  for (const query of spec.shadow.queries) {
    const round: ShadowQueryRound = { name: query.name, runs: 0, errors: 0, mismatches: 0, lastError: null, sourceMs: [], targetMs: [] };
    rounds.push(round);
    const plan = queryPlan(spec, plans, query);
    if (typeof plan === 'string') {
      round.errors += 1;
      round.lastError = plan;
      continue;
    }
    const keys = takesKey(query) ? (sampled.get(plan.display) ?? []).slice(0, QUERY_RUNS) : [[]];
    for (const key of keys) {
      const r = await runOnce(ctx, round, query, plan, key);
      if (r && !sameRows(r.source, r.target)) pending.push({ round, query, plan, key, source: r.source });
    }
  }
  return { rounds, pending };
}

/** The second run of what differed; only a difference against a source result that stood still counts. */
export async function recheckQueries(ctx: QueryContext, pending: PendingRun[]): Promise<void> {
  for (const p of pending) {
    const r = await runOnce(ctx, p.round, p.query, p.plan, p.key);
    if (!r || sameRows(r.source, r.target)) continue;
    if (!sameRows(r.source, p.source)) continue; // the source's result moved meanwhile: in flight
    p.round.mismatches += 1;
  }
}
