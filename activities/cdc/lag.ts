// How far behind the target is, honestly. Two measures, the larger wins:
// - heartbeats: a row Ferry writes to the source every few seconds and times until its event
//   is consumed (an idle source still shows the pipeline's real delay, and a stuck pipeline
//   shows a growing age instead of a stale "0");
// - lagging partitions: where Kafka holds events not yet applied, now minus the source commit
//   time of the last event applied there (the next one is at least that old).
// Source commit times come from the source's clock and "now" from the worker's, so clock skew
// between the two machines shows up in the figure; heartbeat trips use the worker's clock only.

export class LagTracker {
  /** Heartbeats written by this run and not seen yet: seq → local time written (ms). */
  private readonly pending = new Map<string, number>();
  private lastTripMs: number | null = null;
  private seenThisRun = false;
  private readonly lastApplied = new Map<string, number>();
  private readonly applied: Array<{ at: number; events: number }> = [];

  wrote(seq: string, atMs: number): void {
    this.pending.set(seq, atMs);
    // Heartbeats whose events were lost in a restart are not waited for forever.
    if (this.pending.size > 1000) this.pending.delete(this.pending.keys().next().value as string);
  }

  /** A heartbeat event was consumed. `writtenAtMs` (source clock) serves for heartbeats of an earlier run. */
  seen(seq: string, writtenAtMs: number, nowMs: number): void {
    const local = this.pending.get(seq);
    if (local !== undefined) {
      this.lastTripMs = nowMs - local;
      this.seenThisRun = true;
      // Everything written before this one has been consumed too (one partition, in order).
      for (const [s, at] of this.pending) if (at <= local) this.pending.delete(s);
    } else if (!this.seenThisRun && Number.isFinite(writtenAtMs)) {
      this.lastTripMs = Math.max(0, nowMs - writtenAtMs);
    }
  }

  /** When each partition was first seen holding unapplied events with nothing applied since. */
  private readonly waitingSince = new Map<string, number>();

  /** The partitions that hold unapplied events now (from the Kafka offsets). */
  lagging(partitions: string[], nowMs: number): void {
    const now = new Set(partitions);
    for (const p of [...this.waitingSince.keys()]) if (!now.has(p)) this.waitingSince.delete(p);
    for (const p of partitions) if (!this.waitingSince.has(p)) this.waitingSince.set(p, nowMs);
  }

  /** Events applied to the target from one partition; `sourceTsMs` is the newest commit time among them. */
  appliedEvents(partition: string, events: number, sourceTsMs: number, nowMs: number): void {
    this.waitingSince.delete(partition);
    if (sourceTsMs > 0) this.lastApplied.set(partition, Math.max(sourceTsMs, this.lastApplied.get(partition) ?? 0));
    this.applied.push({ at: nowMs, events });
  }

  /** Events per second applied over the last `windowMs`. */
  rate(nowMs: number, windowMs = 10_000): number {
    while (this.applied.length && this.applied[0].at < nowMs - windowMs) this.applied.shift();
    const n = this.applied.reduce((s, a) => s + a.events, 0);
    return n / (windowMs / 1000);
  }

  heartbeatSeconds(): number | null {
    return this.lastTripMs === null ? null : this.lastTripMs / 1000;
  }

  /** True once a heartbeat written by this run came back: the pipeline is flowing end to end. */
  heartbeatCameBack(): boolean {
    return this.seenThisRun;
  }

  /** Lag in seconds, given the partitions that still hold unapplied events. */
  lagSeconds(nowMs: number, lagging: Iterable<string>): number {
    let lag = this.lastTripMs ?? 0;
    for (const at of this.pending.values()) lag = Math.max(lag, nowMs - at);
    for (const p of lagging) {
      const ts = this.lastApplied.get(p);
      if (ts !== undefined) lag = Math.max(lag, nowMs - ts);
      // Nothing applied there yet in this run: at least as old as the wait so far.
      const since = this.waitingSince.get(p);
      if (since !== undefined) lag = Math.max(lag, nowMs - since);
    }
    return Math.max(0, lag) / 1000;
  }
}
