// The registry: every engine Ferry knows, and how a spec finds its own. Adding an engine is
// adding its folder and one line here.
import type { Spec, TargetKind } from '../contracts/spec';
import { resolveUrl } from './connections';
import type { ChangeSink, Engine, Target } from './engine';
import type { MismatchStore } from './mismatches';
import type { DeadLetterStore } from './dead-letters';
import { postgres } from './postgres';
import { mongodb } from './mongodb';

export const engines: readonly Engine[] = [postgres, mongodb];

/** The engine a (resolved) URL names by its scheme, if any. */
export function engineForUrl(url: string): Engine | undefined {
  return engines.find((e) => e.handles(url));
}

export function engineNamed(name: TargetKind): Engine {
  const engine = engines.find((e) => e.name === name);
  if (!engine) throw new Error(`no engine named ${name}`);
  return engine;
}

/** The engine of the spec's target. */
export function targetEngine(spec: Spec): Engine {
  const engine = engineForUrl(resolveUrl(spec.target.url, 'target.url'));
  if (!engine) throw new Error('target.url names no supported engine');
  return engine;
}

export function targetKind(spec: Spec): TargetKind {
  return targetEngine(spec).name;
}

export function openTarget(spec: Spec): Target {
  return targetEngine(spec).target(spec);
}

const sinks = new Map<string, ChangeSink>();

/** The sink for the spec's target, one per target per process (it caches compiled statements). */
export function openSink(spec: Spec): ChangeSink {
  const id = JSON.stringify([spec.source.url, spec.target]);
  let sink = sinks.get(id);
  if (!sink) sinks.set(id, (sink = targetEngine(spec).sink(spec)));
  return sink;
}

export function mismatchStore(spec: Spec): MismatchStore {
  return targetEngine(spec).mismatches(spec);
}

export function deadLetterStore(spec: Spec): DeadLetterStore {
  return targetEngine(spec).deadLetters(spec);
}
