// A chunk copied as keyset batches with the next batch read (and mapped) while earlier ones
// are still being written: up to `depth` batches written at once. Each batch is durable on its
// own when its write resolves, but they may resolve out of order, so the cursor handed to
// control.committed only moves past a batch once it and every batch before it are written: a
// crash (kill -9 anywhere) replays at most the batches in flight, which the engine's
// idempotent write makes a no-op. A failed write stops the cursor where it is (nothing after
// it is committed); whatever ends the copy, it returns or throws only once no write it started
// is still in flight, so nothing of this attempt lands after the chunk lock is released.
import type { ChunkCopied, ChunkCopyControl } from '../engine';

export interface PreparedBatch<T> {
  /** Rows in the batch (> 0). */
  rows: number;
  /** Key of its last row (text form). */
  last: string[];
  /** What the write needs (documents); dropped once written. */
  work: T;
}

export interface PipelineSteps<T> {
  /** Reads and prepares up to `limit` rows after `after` (null: from the chunk's start); null when none are left. */
  read(after: string[] | null, limit: number): Promise<PreparedBatch<T> | null>;
  /** Writes one batch durably and idempotently. */
  write(work: T): Promise<void>;
}

interface InFlight<T> {
  rows: number;
  last: string[];
  work: T | null;
  state: 'writing' | 'written' | 'failed';
  error?: unknown;
  /** Resolves (never rejects) once the write has settled and the cursor has moved if it could. */
  settled: Promise<void>;
}

export async function copyPipelined<T>(steps: PipelineSteps<T>, control: ChunkCopyControl, depth: number): Promise<ChunkCopied> {
  if (!(depth >= 1)) throw new Error(`pipeline depth must be at least 1, not ${depth}`);
  let cursor = control.resumeFrom;
  let after = cursor?.after ?? null;
  const limit = control.batchRows;
  // Batches not yet committed, in key order: the ones in flight and the ones written behind a slower earlier one.
  const queue: InFlight<T>[] = [];
  let failure: { error: unknown } | null = null;

  // Commits the written batches at the head of the queue, in order; stops at the first failed one.
  const advance = () => {
    while (failure === null && queue.length > 0 && queue[0].state !== 'writing') {
      const head = queue[0];
      if (head.state === 'failed') {
        failure = { error: head.error };
        return;
      }
      queue.shift();
      const next = { after: head.last, rows: (cursor?.rows ?? 0) + head.rows };
      try {
        control.committed(next);
        cursor = next;
      } catch (err) {
        failure = { error: err };
        return;
      }
    }
  };

  const start = (batch: PreparedBatch<T>) => {
    const entry: InFlight<T> = { rows: batch.rows, last: batch.last, work: batch.work, state: 'writing', settled: Promise.resolve() };
    queue.push(entry);
    let written: Promise<void>;
    try {
      written = steps.write(batch.work);
    } catch (err) {
      written = Promise.reject(err);
    }
    entry.settled = written.then(
      () => {
        entry.state = 'written';
        entry.work = null;
        advance();
      },
      (err: unknown) => {
        entry.state = 'failed';
        entry.error = err;
        entry.work = null;
        advance();
      },
    );
  };

  const drain = () => Promise.all(queue.map((e) => e.settled));
  const check = () => {
    if (failure !== null) throw failure.error;
  };

  try {
    let paced = 0;
    for (;;) {
      // Pause and throttle act between batches; writes in flight go on and commit while paused.
      await control.pace(paced);
      check();
      const batch = await steps.read(after, limit);
      check();
      if (batch === null) break;
      start(batch);
      after = batch.last;
      paced = batch.rows;
      if (batch.rows < limit) break;
      // At most `depth` batches uncommitted: that bounds memory and what a crash replays.
      // (The head of a full queue is always still writing: wait for a write to settle.)
      while (queue.length >= depth && failure === null) {
        const writing = queue.filter((e) => e.state === 'writing');
        if (writing.length === 0) break;
        await Promise.race(writing.map((e) => e.settled));
      }
    }
    await drain();
    check();
  } catch (err) {
    await drain();
    throw err;
  }
  return { rows: cursor?.rows ?? 0 };
}
