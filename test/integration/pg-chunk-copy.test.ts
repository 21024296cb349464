// The PostgreSQL copy path on the real server: chunk boundaries from a sample of a large
// table cover every key in chunks near the size asked for; the row counter reads real binary
// and text COPY streams however they are split; a whole-chunk copy into a table Ferry created
// (loaded without its key) is exactly once in effect — a copy repeated after it committed
// finds the chunk in the ledger, one stopped mid-stream leaves nothing — and once the key is
// built the table replays chunks by deleting their range; a run that finds a table Ferry left
// half loaded empties it first.
import { strict as assert } from 'node:assert';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { createDatabase, dropDatabase, loadStackEnv } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { planChunkPage } from '../../engines/postgres/chunk-plan';
import { RowCounter } from '../../engines/postgres/copy-rows';
import { PostgresTarget } from '../../engines/postgres/target';
import { validateSpec } from '../../activities/plan/spec';
import { closeAll, pgPool } from '../../engines/connections';
import type { ChunkCopyControl } from '../../engines/engine';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';

const ROWS = 300_000;
const schema = `
CREATE TABLE public.big (id bigint PRIMARY KEY, note text, n numeric, at timestamptz);
-- Sparse keys with gaps of every size: sampled boundaries must still cover them all.
INSERT INTO public.big SELECT g * 7 + (g % 13) * 3, CASE WHEN g % 5 = 0 THEN NULL ELSE 'row ' || g || E'\\n\\ttab' END, g / 3.0, timestamptz '2024-01-01' + g * interval '1 second'
  FROM generate_series(1, ${ROWS}) g;
ANALYZE public.big;
`;

const control = (pace: ChunkCopyControl['pace'] = async () => undefined): ChunkCopyControl => ({ resumeFrom: undefined, batchRows: 1_000, committed: () => undefined, pace });
const whole: ChunkRange = { index: 0, lo: null, hi: null };

describe('PostgreSQL chunk planning and whole-chunk COPY (real PostgreSQL)', function () {
  this.timeout(120_000);
  let sourceUrl: string;
  let targetUrl: string;
  let big: TablePlan;
  let target: PostgresTarget;

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_chunks_src');
    targetUrl = await createDatabase('ferry_t_chunks_dst');
    process.env.FERRY_TEST_CHUNKS_SOURCE = sourceUrl;
    process.env.FERRY_TEST_CHUNKS_TARGET = targetUrl;
    await pgPool(sourceUrl).query(schema);
    const p = await introspectTable(pgPool(sourceUrl), { name: { schema: 'public', name: 'big' } });
    if (typeof p === 'string') throw new Error(p);
    big = p;
    const spec = validateSpec({ name: 'chunks', source: { url: '${FERRY_TEST_CHUNKS_SOURCE}' }, target: { url: '${FERRY_TEST_CHUNKS_TARGET}' }, tables: ['public.big'] }, process.env);
    target = new PostgresTarget(spec);
  });

  after(async () => {
    await closeAll();
    if (sourceUrl) await dropDatabase(sourceUrl);
    if (targetUrl) await dropDatabase(targetUrl);
  });

  const count = async (url: string, range?: ChunkRange): Promise<number> => {
    const where: string[] = [];
    const params: unknown[] = [];
    if (range?.lo) where.push(`id >= $${params.push(range.lo[0])}::bigint`);
    if (range?.hi) where.push(`id < $${params.push(range.hi[0])}::bigint`);
    const res = await pgPool(url).query(`SELECT count(*)::int AS n FROM public.big${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params);
    return Number(res.rows[0].n);
  };

  it('plans a large table from a sample: pages that cover every key, chunks near the size asked for', async () => {
    const chunkRows = 10_000;
    const ranges: Array<{ lo: string[] | null; hi: string[] | null }> = [];
    let from: string[] | null = null;
    let pages = 0;
    for (;;) {
      const page = await planChunkPage(pgPool(sourceUrl), big, chunkRows, from, 8);
      ranges.push(...page.ranges);
      pages++;
      if (!page.next) break;
      from = page.next;
    }
    assert.ok(pages >= 3, `several pages (${pages})`);
    assert.equal(ranges[0].lo, null);
    assert.equal(ranges[ranges.length - 1].hi, null);
    for (let i = 1; i < ranges.length; i++) assert.deepEqual(ranges[i].lo, ranges[i - 1].hi, `range ${i} starts where ${i - 1} ends`);
    const sizes = await Promise.all(ranges.map((r) => count(sourceUrl, { index: 0, ...r })));
    assert.equal(sizes.reduce((a, b) => a + b, 0), ROWS, 'every row in exactly one chunk');
    // Sampled quantiles: each chunk but the last holds roughly chunkRows rows.
    for (const [i, n] of sizes.slice(0, -1).entries()) assert.ok(n > chunkRows * 0.5 && n < chunkRows * 1.5, `chunk ${i} holds ${n} rows`);
  });

  it('counts the rows of real binary and text COPY streams however they are split', async () => {
    for (const format of ['binary', 'text'] as const) {
      const chunks: Buffer[] = [];
      const client = await pgPool(sourceUrl).connect();
      try {
        await pipeline(
          client.query(copyTo(`COPY (SELECT * FROM public.big WHERE id < 70000) TO STDOUT (FORMAT ${format})`)),
          new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }),
        );
      } finally {
        client.release();
      }
      const bytes = Buffer.concat(chunks);
      const expected = await count(sourceUrl, { index: 0, lo: null, hi: ['70000'] });
      for (const step of [bytes.length, 65_536, 1_000, 7, 1]) {
        const counter = new RowCounter(format);
        let seen = 0;
        for (let i = 0; i < bytes.length; i += step) seen += counter.feed(bytes.subarray(i, i + step));
        assert.equal(seen, expected, `${format}, split every ${step} bytes`);
      }
    }
  });

  it('copies a chunk into a table it created exactly once in effect, and replays by range once the key is built', async () => {
    await target.prepareTable(big);
    const half: ChunkRange = { index: 0, lo: null, hi: ['1000000'] };
    const rest: ChunkRange = { index: 1, lo: ['1000000'], hi: null };
    const inHalf = await count(sourceUrl, half);
    // Stopped mid-stream (a pause given up, a lost lock): nothing of the chunk stays.
    let paced = 0;
    const stop = control(async (rows) => {
      paced += rows;
      if (paced > 10_000) throw new Error('stopped mid-stream');
    });
    await assert.rejects(target.copyChunk(big, pgPool(sourceUrl), half, stop), /stopped mid-stream/);
    assert.equal(await count(targetUrl), 0, 'the stopped chunk left no row');
    assert.ok(paced > 10_000, 'the pace heard the rows as they streamed');

    assert.deepEqual(await target.copyChunk(big, pgPool(sourceUrl), half, control()), { rows: inHalf });
    // Committed, then asked again (its worker died before reporting): the ledger answers.
    assert.deepEqual(await target.copyChunk(big, pgPool(sourceUrl), half, control()), { rows: inHalf });
    assert.equal(await count(targetUrl), inHalf);
    await target.copyChunk(big, pgPool(sourceUrl), rest, control());
    assert.equal(await count(targetUrl), ROWS);

    await target.finishTable(big);
    const db = pgPool(targetUrl);
    assert.equal(Number((await db.query(`SELECT count(*) AS n FROM pg_index WHERE indrelid = 'public.big'::regclass AND indisprimary`)).rows[0].n), 1);
    assert.deepEqual((await db.query(`SELECT (SELECT count(*) FROM _ferry.loading_tables)::int AS t, (SELECT count(*) FROM _ferry.copied_chunks)::int AS c`)).rows[0], { t: '0', c: '0' }, 'the load ledger forgets the table once its key is built');
    // Keyed now: a repeated chunk deletes its range and copies it again, no duplicate key.
    await db.query(`UPDATE public.big SET note = 'changed on the target' WHERE id < 1000`);
    assert.deepEqual(await target.copyChunk(big, pgPool(sourceUrl), half, control()), { rows: inHalf });
    assert.equal(await count(targetUrl), ROWS);
    assert.equal(Number((await db.query(`SELECT count(*) AS n FROM public.big WHERE note = 'changed on the target'`)).rows[0].n), 0);
  });

  it('a table Ferry left half loaded by an earlier run is emptied when a run prepares it again', async () => {
    const db = pgPool(targetUrl);
    await db.query(`DROP TABLE public.big`);
    await target.prepareTable(big);
    await target.copyChunk(big, pgPool(sourceUrl), { index: 0, lo: null, hi: ['500000'] }, control());
    assert.ok((await count(targetUrl)) > 0);
    await target.prepareTable(big);
    assert.equal(await count(targetUrl), 0);
    assert.equal(Number((await db.query(`SELECT count(*) AS n FROM _ferry.copied_chunks`)).rows[0].n), 0);
    assert.deepEqual(await target.copyChunk(big, pgPool(sourceUrl), whole, control()), { rows: ROWS });
  });
});
