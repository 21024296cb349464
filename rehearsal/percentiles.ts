// p50/p95/p99/max of a list of figures (lag seconds, chunk seconds): `summarize`'s nearest rank
// (contracts/shadow.ts), so a rehearsal's percentiles read the same as status's, plus the max.
import type { Percentiles } from '../contracts/rehearsal';
import { summarize } from '../contracts/shadow';

export function percentiles(values: readonly number[]): Percentiles {
  const finite = values.filter((v) => Number.isFinite(v));
  const { p50, p95, p99 } = summarize(finite);
  return { p50, p95, p99, max: finite.length ? Math.max(...finite) : 0 };
}
