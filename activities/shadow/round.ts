// One shadow round (the shadow row of DESIGN.md): per table, random keys (a table sample) and
// the most recently changed keys (the tail of its change topic) are read on the source and on
// the target and compared through the mapping; the spec's operator queries run on both sides
// with sampled keys as parameters. Whatever differs is read again once the sync has applied
// everything committed before the first reads ended: only a difference that survives counts
// (lag resolves, a row that moved again is in flight). Every read of the round shares one
// pace per side (shadow.maxReadsPerSecond). Keys and timings leave the activity, never rows.
import type { ShadowDifference, ShadowRoundInput, ShadowRoundResult } from '../../contracts/shadow';
import { targetEngine } from '../../engines';
import { pgPool } from '../../engines/connections';
import { sampleKeys } from '../../engines/postgres/sample';
import { rethrowClassified } from '../../engines/errors';
import { emptyFigures, firstRead, recheck, type FirstRead, type KeyToCheck } from './key-check';
import { recheckQueries, runQueries, type QueryContext } from './queries';
import { recentKeys } from './recent';
import { awaitSyncPast } from '../cdc/sync-watch';
import { pacers } from './throttle';
import { keepAlive } from './heartbeat';

/** Recent keys first, then sampled ones not among them: each key read once a round. */
export function keysToCheck(sampled: string[][], recent: string[][]): KeyToCheck[] {
  const seen = new Set<string>();
  const out: KeyToCheck[] = [];
  const add = (keys: string[][], source: ShadowDifference['source']) => {
    for (const key of keys) {
      const id = JSON.stringify(key);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ key, source });
    }
  };
  add(recent, 'recent');
  add(sampled, 'sample');
  return out;
}

export async function shadowRound(input: ShadowRoundInput): Promise<ShadowRoundResult> {
  const { spec, plans, capture, syncWorkflowId } = input;
  const started = Date.now();
  const alive = keepAlive('sampling keys');
  const figures = emptyFigures();
  try {
    const source = pgPool(spec.source.url);
    const verifier = targetEngine(spec).verifier(spec);
    const pace = pacers(spec.shadow.maxReadsPerSecond);
    const beat = () => alive.beat();

    // The keys: a sample of each table (read on the source: one read a key) and the tail of its topic.
    const sampled = new Map<string, string[][]>();
    for (const plan of plans) {
      const n = Math.min(spec.shadow.sampleKeys, spec.shadow.maxReadsPerSecond);
      await pace.source.take(n);
      sampled.set(plan.display, await sampleKeys(source, plan, n));
    }
    alive.stage('reading recent changes');
    const recent = await recentKeys(spec, capture, plans, spec.shadow.recentKeys, beat);

    alive.stage('comparing keys');
    const firsts: FirstRead[] = [];
    for (const plan of plans) {
      const keys = keysToCheck(sampled.get(plan.display) ?? [], recent.get(plan.display) ?? []);
      if (keys.length) firsts.push(await firstRead(verifier, plan, keys, pace, figures, beat));
    }
    alive.stage('running queries');
    const ctx: QueryContext = { source, verifier, pacers: pace, alive: beat };
    const { rounds, pending } = await runQueries(ctx, spec, plans, sampled);

    if (firsts.some((f) => f.differing.length) || pending.length) {
      // Proof for what differed: everything committed before the first reads ended must be on
      // the target once the sync has passed this moment.
      const noted = Date.now();
      alive.stage('waiting for the sync');
      await awaitSyncPast(syncWorkflowId, noted, 'shadow differences cannot be re-checked against a target that no longer follows the source');
      alive.stage('re-checking');
      for (const f of firsts) await recheck(verifier, f, pace, figures, beat);
      await recheckQueries(ctx, pending);
    }
    return { ...figures, queries: rounds, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started };
  } catch (err) {
    return rethrowClassified(err, 'shadow reads');
  } finally {
    alive.stop();
  }
}
