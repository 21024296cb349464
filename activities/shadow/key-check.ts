// Keys compared on both sides through the mapping (the verifier's keyDigests: embedding,
// renames and types as verification has them), paced, then re-checked: a key that differs at
// its first read is read again once the sync has applied everything committed before that
// read ended. Equal then: it was lag (lagResolved). Still different while the source row
// stood still between the two reads: a proven difference. The source row moved in between: a
// hot row, in flight, not proven either way (the rule of verify/recheck.ts, shared here).
import type { ShadowDifference, ShadowRoundResult } from '../../contracts/shadow';
import type { TablePlan } from '../../contracts/tables';
import type { KeyReadTiming, Verifier } from '../../engines/engine';
import { batchSizes, type Pacers } from './throttle';
import { pushCapped } from './compare';

/** Keys per keyDigests call at most (one statement per side each). */
export const KEY_PAGE = 1_000;

export interface KeyToCheck {
  key: string[];
  source: ShadowDifference['source'];
}

/** What the first read left to re-check: the keys that differed and what the source had then. */
export interface FirstRead {
  plan: TablePlan;
  compared: number;
  differing: Array<KeyToCheck & { sourceDigest: unknown }>;
}

/** A round's key comparisons: its result without the operator queries and timing. */
export type KeyFigures = Omit<ShadowRoundResult, 'queries' | 'startedAt' | 'durationMs'>;

export function emptyFigures(): KeyFigures {
  return { keysCompared: 0, mismatches: 0, differences: [], inFlight: 0, lagResolved: 0, sourceMs: [], targetMs: [] };
}

const id = (k: string[]) => JSON.stringify(k);

async function paged(
  verifier: Verifier,
  plan: TablePlan,
  keys: string[][],
  pacers: Pacers,
  figures: KeyFigures,
  alive: () => void,
): Promise<{ source: Map<string, unknown>; target: Map<string, unknown> }> {
  const source = new Map<string, unknown>();
  const target = new Map<string, unknown>();
  let at = 0;
  for (const n of batchSizes(keys.length, pacers.source.ratePerSecond, KEY_PAGE)) {
    const page = keys.slice(at, at + n);
    at += n;
    await Promise.all([pacers.source.take(n), pacers.target.take(n)]);
    const timing: KeyReadTiming = { sourceMs: 0, targetMs: 0 };
    const d = await verifier.keyDigests(plan, page, undefined, timing);
    pushCapped(figures.sourceMs, Math.round(timing.sourceMs));
    pushCapped(figures.targetMs, Math.round(timing.targetMs));
    d.source.forEach((v, k) => source.set(k, v));
    d.target.forEach((v, k) => target.set(k, v));
    alive();
  }
  return { source, target };
}

/** The first read of a table's keys: what differs, to re-check once the sync has passed. */
export async function firstRead(verifier: Verifier, plan: TablePlan, keys: KeyToCheck[], pacers: Pacers, figures: KeyFigures, alive: () => void): Promise<FirstRead> {
  const d = await paged(verifier, plan, keys.map((k) => k.key), pacers, figures, alive);
  figures.keysCompared += keys.length;
  const differing = keys.filter((k) => d.source.get(id(k.key)) !== d.target.get(id(k.key))).map((k) => ({ ...k, sourceDigest: d.source.get(id(k.key)) }));
  return { plan, compared: keys.length, differing };
}

/** The re-check of what differed (call it once the sync has applied what was committed before the first read ended). */
export async function recheck(verifier: Verifier, first: FirstRead, pacers: Pacers, figures: KeyFigures, alive: () => void): Promise<void> {
  if (!first.differing.length) return;
  const d = await paged(verifier, first.plan, first.differing.map((k) => k.key), pacers, figures, alive);
  for (const k of first.differing) {
    const s = d.source.get(id(k.key));
    const t = d.target.get(id(k.key));
    if (s === t) {
      figures.lagResolved += 1;
      continue;
    }
    // Moved on the source meanwhile: not proven — unless the source had the row at both reads
    // and the target has none, though the sync passed a moment the row existed.
    const sourceMoved = s !== k.sourceDigest;
    const missingThroughout = t === undefined && s !== undefined && k.sourceDigest !== undefined;
    if (sourceMoved && !missingThroughout) {
      figures.inFlight += 1;
      continue;
    }
    const kind: ShadowDifference['kind'] = s === undefined ? 'extra' : t === undefined ? 'missing' : 'different';
    figures.mismatches += 1;
    if (figures.differences.length < 20) figures.differences.push({ table: first.plan.display, key: k.key, kind, source: k.source, foundAt: new Date().toISOString() });
  }
}
