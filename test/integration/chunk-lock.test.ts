// Two attempts of one chunk never write at once (real PostgreSQL source and target; the
// copyChunk activity itself, run in MockActivityEnvironment): a retry started while an
// earlier attempt still runs waits, heartbeating, for the chunk lock; the earlier attempt,
// once cancelled (as the SDK does when its heartbeat is rejected), stops writing and frees it.
// A PostgreSQL chunk is one COPY in one transaction: an attempt stopped mid-stream leaves
// nothing, and its retry copies the whole chunk. The table here has its key (as after a
// load), so a repeated chunk replays by deleting its range.
import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { createDatabase, dropDatabase, loadStackEnv } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { PostgresTarget } from '../../engines/postgres/target';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { copyChunk } from '../../activities/copy/copy-chunk';
import { chunkLockKey } from '../../engines/postgres/chunk-lock';
import type { ChunkCursor, ChunkRange, ChunkResult } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';

const ROWS = 600;
const chunk: ChunkRange = { index: 0, lo: null, hi: null };

interface Attempt {
  env: MockActivityEnvironment;
  /** Cursors this attempt heartbeated after a write, in order. */
  writes: ChunkCursor[];
  result: Promise<ChunkResult>;
}

describe('chunk lock: one attempt of a chunk at a time (real PostgreSQL)', function () {
  let sourceUrl: string;
  let targetUrl: string;
  let spec: Spec;
  let plan: TablePlan;
  let admin: Client;
  const timeline: string[] = [];

  const attempt = (name: string, maxRowsPerSecond: number, heartbeatDetails?: ChunkCursor): Attempt => {
    const env = new MockActivityEnvironment({ heartbeatDetails });
    const writes: ChunkCursor[] = [];
    env.on('heartbeat', (d?: ChunkCursor) => {
      // A beat with a cursor it had not reported yet means this attempt just wrote a batch.
      if (d && (writes.length === 0 ? d.rows !== heartbeatDetails?.rows : d.rows !== writes[writes.length - 1].rows)) {
        writes.push(d);
        timeline.push(`${name} wrote`);
      } else timeline.push(`${name} beat`);
    });
    const result: Promise<ChunkResult> = env.run(copyChunk, { spec, plan, chunk, maxRowsPerSecond }) as Promise<ChunkResult>;
    result.then(
      () => timeline.push(`${name} done`),
      () => timeline.push(`${name} failed`),
    );
    return { env, writes, result };
  };

  /** True while a COPY streams into the target table (an attempt is mid-chunk). */
  const copying = async () =>
    Number(
      (await admin.query(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY %FROM STDIN%' AND state = 'active'`, [new URL(targetUrl).pathname.slice(1)])).rows[0].n,
    ) > 0;
  const untilCopying = async () => {
    while (!(await copying())) await new Promise((r) => setTimeout(r, 20));
  };
  const targetRows = async () => Number((await pgPool(targetUrl, 'target.url').query('SELECT count(*)::text AS n FROM public.t')).rows[0].n);
  const until = async (what: string, pred: () => boolean) => {
    while (!pred()) await new Promise((r) => setTimeout(r, 20));
    return what;
  };

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_lock_src');
    targetUrl = await createDatabase('ferry_t_lock_tgt');
    process.env.FERRY_TEST_LOCK_SOURCE_URL = sourceUrl;
    process.env.FERRY_TEST_LOCK_TARGET_URL = targetUrl;
    await pgPool(sourceUrl).query(`CREATE TABLE public.t (id int PRIMARY KEY, v text); INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, ${ROWS}) g`);
    spec = validateSpec(
      { name: 'lock', source: { url: '${FERRY_TEST_LOCK_SOURCE_URL}' }, target: { url: '${FERRY_TEST_LOCK_TARGET_URL}' }, tables: ['public.t'], backfill: { batchRows: 100 } },
      process.env,
    );
    const p = await introspectTable(pgPool(sourceUrl), { name: { schema: 'public', name: 't' } });
    if (typeof p === 'string') throw new Error(p);
    plan = p;
    const target = new PostgresTarget(spec);
    await target.prepareTable(plan);
    await target.finishLoad(plan);
    admin = new Client({ connectionString: sourceUrl });
    await admin.connect();
  });

  beforeEach(async () => {
    timeline.length = 0;
    await pgPool(targetUrl, 'target.url').query('TRUNCATE public.t');
  });

  after(async () => {
    await admin?.end();
    await closeAll();
    if (sourceUrl) await dropDatabase(sourceUrl);
    if (targetUrl) await dropDatabase(targetUrl);
  });

  it('a retry waits, heartbeating, while another session holds the chunk, and copies it once it is free', async () => {
    const key = chunkLockKey(spec, plan, chunk);
    await admin.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    const retry = attempt('retry', 0);
    // Alive while waiting (heartbeats), and nothing written.
    await until('two beats while waiting, or the end', () => timeline.filter((t) => t === 'retry beat').length >= 2 || timeline.includes('retry done'));
    assert.ok(!timeline.includes('retry done'), 'the retry did not copy while the chunk was locked');
    assert.equal(await targetRows(), 0, 'the waiting attempt wrote nothing');
    await admin.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
    const result = await retry.result;
    assert.equal(result.rows, ROWS);
    assert.equal(await targetRows(), ROWS);
  });

  it('two concurrent attempts on one chunk: the second copies only after the first is done, and the chunk is whole', async () => {
    // Throttled, so the first attempt's COPY streams for a while.
    const first = attempt('first', 400);
    await untilCopying();
    const second = attempt('second', 0);
    const [a, b] = await Promise.all([first.result, second.result]);
    assert.equal(a.rows, ROWS);
    assert.equal(b.rows, ROWS, 'the second attempt copies the whole chunk again');
    assert.ok(timeline.indexOf('first done') < timeline.indexOf('second done'), timeline.join(', '));
    assert.ok(timeline.slice(0, timeline.indexOf('first done')).includes('second beat'), `the second waited, heartbeating: ${timeline.join(', ')}`);
    assert.equal(await targetRows(), ROWS);
  });

  it('more chunks in flight than the source pool has connections: the locks take none of them', async () => {
    // Another URL for the same database, so this spec gets a pool of its own, of one connection.
    process.env.FERRY_TEST_LOCK_SMALL_URL = `${sourceUrl}?application_name=ferry_small_pool`;
    process.env.FERRY_PG_POOL_MAX = '1';
    try {
      pgPool('${FERRY_TEST_LOCK_SMALL_URL}');
    } finally {
      delete process.env.FERRY_PG_POOL_MAX;
    }
    const small = { ...spec, source: { url: '${FERRY_TEST_LOCK_SMALL_URL}' } };
    const halves: ChunkRange[] = [
      { index: 0, lo: null, hi: ['301'] },
      { index: 1, lo: ['301'], hi: null },
    ];
    const results = await Promise.all(halves.map((c) => new MockActivityEnvironment().run(copyChunk, { spec: small, plan, chunk: c, maxRowsPerSecond: 0 }) as Promise<ChunkResult>));
    assert.deepEqual(results.map((r) => r.rows), [300, 300]);
    assert.equal(await targetRows(), ROWS);
  });

  it('a cancelled attempt (heartbeat rejected) stops mid-COPY, leaving nothing, and frees the lock; the retry copies the chunk', async () => {
    const first = attempt('first', 300);
    await untilCopying();
    first.env.cancel('TIMED_OUT');
    await assert.rejects(first.result, (err) => err instanceof CancelledFailure);
    assert.equal(await targetRows(), 0, 'the chunk stopped mid-stream left no row');
    const free = await admin.query('SELECT pg_try_advisory_lock($1::bigint)::text AS got', [chunkLockKey(spec, plan, chunk)]);
    assert.equal(free.rows[0].got, 'true', 'the lock died with the cancelled attempt');
    await admin.query('SELECT pg_advisory_unlock($1::bigint)', [chunkLockKey(spec, plan, chunk)]);
    const retry = attempt('retry', 0);
    const result = await retry.result;
    assert.equal(result.rows, ROWS);
    assert.equal(await targetRows(), ROWS);
  });

  it("an attempt whose lock session the server ended stops mid-COPY, and the retry copies the chunk", async () => {
    const first = attempt('first', 300);
    await untilCopying();
    // The lock's own session ends (a failover, an operator's pg_terminate_backend): the lock is gone with it.
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ferry chunk lock' AND datname = current_database()`);
    await assert.rejects(first.result, /the chunk lock's session ended/);
    assert.equal(await targetRows(), 0, 'nothing of the stopped chunk stays');
    const retry = attempt('retry', 0);
    assert.equal((await retry.result).rows, ROWS);
    assert.equal(await targetRows(), ROWS);
  });
});
