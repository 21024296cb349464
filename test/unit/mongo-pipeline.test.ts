import { strict as assert } from 'node:assert';
import type { ChunkCursor } from '../../contracts/backfill';
import type { ChunkCopyControl } from '../../engines/engine';
import { copyPipelined, type PipelineSteps } from '../../engines/mongodb/pipeline';

/** A deterministic pseudo-random sequence (mulberry32), so a failing order can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

interface Batch {
  keys: number[];
}

/**
 * A chunk of keys 1..rows behind a fake source and target: reads and writes take a random
 * number of event-loop turns, so writes settle out of order. Records what became durable and
 * every cursor committed, and checks at each commit that the cursor only passes durable rows.
 */
function fakeChunk(rows: number, opts: { seed?: number; failAt?: number; readFailAt?: number; paceFailAfter?: number; resumeFrom?: ChunkCursor; batchRows?: number } = {}) {
  const rand = random(opts.seed ?? 1);
  const durable = new Set<number>();
  const commits: ChunkCursor[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let writesStarted = 0;
  let paces = 0;
  let uncommittedMax = 0;
  const batchRows = opts.batchRows ?? 10;
  let readUpTo = 0;
  const steps: PipelineSteps<Batch> = {
    async read(after, limit) {
      await ticks(Math.floor(rand() * 4));
      const from = after === null ? 1 : Number(after[0]) + 1;
      if (opts.readFailAt !== undefined && from > opts.readFailAt) throw new Error('mapping failed');
      const keys: number[] = [];
      for (let k = from; k <= rows && keys.length < limit; k++) keys.push(k);
      if (keys.length === 0) return null;
      readUpTo = keys[keys.length - 1];
      const committedRows = commits.length ? Number(commits[commits.length - 1].after[0]) : 0;
      uncommittedMax = Math.max(uncommittedMax, readUpTo - committedRows);
      return { rows: keys.length, last: [String(keys[keys.length - 1])], work: { keys } };
    },
    async write(batch) {
      writesStarted++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await ticks(Math.floor(rand() * 8));
        if (opts.failAt !== undefined && batch.keys.includes(opts.failAt)) throw new Error(`write of ${opts.failAt} failed`);
        for (const k of batch.keys) durable.add(k);
      } finally {
        inFlight--;
      }
    },
  };
  const control: ChunkCopyControl = {
    resumeFrom: opts.resumeFrom,
    batchRows,
    committed(cursor) {
      const upTo = Number(cursor.after[0]);
      const start = opts.resumeFrom ? Number(opts.resumeFrom.after[0]) + 1 : 1;
      for (let k = start; k <= upTo; k++) assert.ok(durable.has(k), `cursor ${upTo} committed before row ${k} was written`);
      const before = commits.length ? commits[commits.length - 1] : opts.resumeFrom;
      if (before) assert.ok(upTo > Number(before.after[0]), 'the cursor only moves forward');
      assert.equal(cursor.rows, upTo - start + 1 + (opts.resumeFrom?.rows ?? 0), 'rows counts every row up to the cursor');
      commits.push(cursor);
    },
    async pace() {
      paces++;
      await ticks(Math.floor(rand() * 2));
      if (opts.paceFailAfter !== undefined && paces > opts.paceFailAfter) throw new Error('cancelled');
    },
  };
  return {
    steps, control, durable, commits,
    stats: () => ({ maxInFlight, inFlight, writesStarted, uncommittedMax, readUpTo }),
  };
}

describe('MongoDB chunk copy pipeline (pure)', () => {
  for (const depth of [1, 2, 3, 5]) {
    it(`copies every row once and commits the cursor in key order (depth ${depth}, writes settling out of order)`, async () => {
      for (let seed = 1; seed <= 25; seed++) {
        const f = fakeChunk(237, { seed });
        const copied = await copyPipelined(f.steps, f.control, depth);
        assert.equal(copied.rows, 237);
        assert.equal(f.durable.size, 237);
        assert.deepEqual(f.commits[f.commits.length - 1], { after: ['237'], rows: 237 });
        assert.ok(f.stats().maxInFlight <= depth, `at most ${depth} writes at once (saw ${f.stats().maxInFlight})`);
        // At most `depth` batches uncommitted, plus the one being read.
        assert.ok(f.stats().uncommittedMax <= (depth + 1) * 10, `a crash replays at most ${depth + 1} batches (saw ${f.stats().uncommittedMax} rows)`);
      }
    });
  }

  it('an empty chunk, and one that ends on a full batch, commit what they hold', async () => {
    const empty = fakeChunk(0);
    assert.deepEqual(await copyPipelined(empty.steps, empty.control, 2), { rows: 0 });
    assert.deepEqual(empty.commits, []);
    const full = fakeChunk(30);
    assert.deepEqual(await copyPipelined(full.steps, full.control, 2), { rows: 30 });
    assert.deepEqual(full.commits.map((c) => c.after[0]), ['10', '20', '30']);
  });

  it('resumes after the cursor of an earlier attempt, counting its rows', async () => {
    const f = fakeChunk(95, { resumeFrom: { after: ['40'], rows: 40 } });
    assert.deepEqual(await copyPipelined(f.steps, f.control, 3), { rows: 95 });
    assert.equal(Math.min(...f.durable), 41);
    assert.deepEqual(f.commits[f.commits.length - 1], { after: ['95'], rows: 95 });
  });

  it('a failed write stops the cursor before it, and the copy fails only once no write is in flight', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const f = fakeChunk(200, { seed, failAt: 117 });
      await assert.rejects(copyPipelined(f.steps, f.control, 3), /write of 117 failed/);
      assert.equal(f.stats().inFlight, 0, 'no write outlives the copy');
      const last = f.commits.length ? Number(f.commits[f.commits.length - 1].after[0]) : 0;
      assert.ok(last < 111, `nothing at or after the failed batch (111..120) is committed (cursor ${last})`);
      // Batches after the failed one may have been written (a retry replays them), never committed.
    }
  });

  it('a read that fails (a value that cannot be mapped) fails the copy after the writes in flight, which still commit', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const f = fakeChunk(200, { seed, readFailAt: 60 });
      await assert.rejects(copyPipelined(f.steps, f.control, 3), /mapping failed/);
      assert.equal(f.stats().inFlight, 0);
      assert.deepEqual(f.commits[f.commits.length - 1], { after: ['60'], rows: 60 });
    }
  });

  it('a cancelled pace stops the copy; the batches already started are written and committed first', async () => {
    const f = fakeChunk(200, { paceFailAfter: 6 });
    await assert.rejects(copyPipelined(f.steps, f.control, 2), /cancelled/);
    assert.equal(f.stats().inFlight, 0);
    assert.equal(f.stats().writesStarted, 6);
    assert.deepEqual(f.commits[f.commits.length - 1], { after: ['60'], rows: 60 });
  });

  it('a cursor the activity cannot record stops the copy', async () => {
    const f = fakeChunk(100);
    const committed = f.control.committed;
    let n = 0;
    f.control.committed = (c) => {
      if (++n === 3) throw new Error('heartbeat refused');
      committed(c);
    };
    await assert.rejects(copyPipelined(f.steps, f.control, 2), /heartbeat refused/);
    assert.equal(f.stats().inFlight, 0);
    assert.equal(f.commits.length, 2);
  });

  it('refuses a depth below one', async () => {
    const f = fakeChunk(10);
    await assert.rejects(copyPipelined(f.steps, f.control, 0), /depth/);
  });
});
