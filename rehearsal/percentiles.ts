// p50/p95/p99/max of a list of figures (lag seconds, chunk seconds), by nearest rank like
// `summarize` in contracts/shadow.ts, so a rehearsal's percentiles read the same as status's.
import type { Percentiles } from '../contracts/rehearsal';

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least q of the samples at or below it (no
  // interpolation: every figure shown is one that was actually measured).
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : 0);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : 0 };
}
