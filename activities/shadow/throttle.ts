// The shadow round's pace: every read of a round (sampled and recent keys, re-checks, operator
// queries) takes its count from one pacer per side, so a round stays within
// shadow.maxReadsPerSecond on each side whatever its tables and queries. A read is one key
// looked up or one query run. A batch of n reads may start once the reads already taken have
// had their time (taken / rate seconds since the round began), and a batch is never larger
// than one second's reads: by any moment t of the round at most rate × t + rate reads have
// started, and the round as a whole averages no more than the rate.

/** Milliseconds to wait before a batch may start, after `taken` reads, `elapsedMs` into the round. */
export function waitBeforeBatch(taken: number, ratePerSecond: number, elapsedMs: number): number {
  return Math.max(0, Math.ceil((taken * 1000) / ratePerSecond - elapsedMs));
}

/** The batch sizes `n` reads are split into, none larger than one second's reads (or `cap`). */
export function batchSizes(n: number, ratePerSecond: number, cap = Infinity): number[] {
  const size = Math.max(1, Math.min(ratePerSecond, cap));
  const out: number[] = [];
  for (let left = n; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

export class Pacer {
  private taken = 0;
  private readonly started: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.started = now();
  }

  /** Waits until `n` more reads fit the rate (n at most ratePerSecond: split larger work with batchSizes). */
  async take(n: number): Promise<void> {
    const wait = waitBeforeBatch(this.taken, this.ratePerSecond, this.now() - this.started);
    this.taken += n;
    if (wait > 0) await this.sleep(wait);
  }

  get reads(): number {
    return this.taken;
  }
}

/** A pacer per side: the source and the target each get the spec's rate. */
export interface Pacers {
  source: Pacer;
  target: Pacer;
}

export function pacers(ratePerSecond: number): Pacers {
  return { source: new Pacer(ratePerSecond), target: new Pacer(ratePerSecond) };
}
