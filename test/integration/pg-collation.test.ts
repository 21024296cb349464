// PostgreSQL → PostgreSQL when the two databases order text differently (source database ICU
// en-US, target database libc "C"): chunk and batch ranges are computed in the source's
// order, so every key range the copy evaluates on the target must mean the source's rows.
// Copied by the real copyChunk activity (several chunks, many batches each, chunks out of
// order, a re-run and a resumed attempt after rows changed on the source), compared row by
// row and verified; the same-collation pairing still copies and verifies clean.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadStackEnv } from '../helpers/stack';
import { assertPostgresEqual } from '../helpers/compare';
import { createDatabaseOn, dropDatabaseOn, startMajor } from '../helpers/pg-majors';
import { introspectTable } from '../../engines/postgres/source';
import { planChunkPage } from '../../engines/postgres/chunk-plan';
import { PostgresTarget } from '../../engines/postgres/target';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { copyChunk } from '../../activities/copy/copy-chunk';
import { verifyChunk } from '../../activities/verify';
import type { ChunkCursor, ChunkRange, ChunkResult } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';

const CHUNK_ROWS = 90;
const BATCH_ROWS = 25;

const ICU = `TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`;
const LIBC_C = `TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`;

/** Keys ICU and byte order sort far apart: case, punctuation, accents, digits. */
const SOURCE_SQL = `
CREATE TABLE public.words (w text PRIMARY KEY, n int, note text);
INSERT INTO public.words
SELECT p || s || g, g, 'row ' || g
  FROM generate_series(1, 40) g,
       unnest(ARRAY['a', 'B', 'b', 'Z', 'z', '_x', 'é', 'E', 'e', '-', '0', 'Ä', 'ab', 'A b', '.']) AS p,
       unnest(ARRAY['', 'Q']) AS s;`;

function adminUrl(): string {
  const url = new URL(process.env.FERRY_SOURCE_URL!);
  url.pathname = '/postgres';
  return url.toString();
}

async function createDb(name: string, options: string): Promise<string> {
  const admin = new Pool({ connectionString: adminUrl(), max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name} ${options}`);
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.FERRY_SOURCE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDb(url: string): Promise<void> {
  const admin = new Pool({ connectionString: adminUrl(), max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

describe('PostgreSQL target whose database orders text unlike the source (ICU en-US → libc C)', function () {
  this.timeout(60_000);
  const tag = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const urls: string[] = [];
  /** Databases on other servers than the stack's 15. */
  const drops: Array<() => Promise<void>> = [];
  const tracked = (url: string) => (urls.push(url), url);
  let sourceUrl: string;
  let plan: TablePlan;
  let ranges: ChunkRange[];

  const specFor = (targetVar: string): Spec =>
    validateSpec(
      { name: 'collate', source: { url: '${FERRY_COLL_SOURCE_URL}' }, target: { url: `\${${targetVar}}` }, tables: ['public.words'], backfill: { batchRows: BATCH_ROWS } },
      process.env,
    );

  const runChunk = (spec: Spec, chunk: ChunkRange, heartbeatDetails?: ChunkCursor): Promise<ChunkResult> =>
    new MockActivityEnvironment({ heartbeatDetails }).run(copyChunk, { spec, plan, chunk, maxRowsPerSecond: 0 }) as Promise<ChunkResult>;

  /** Every chunk, last first, so later ranges land before earlier ones. */
  const copyAll = async (spec: Spec): Promise<number> => {
    let rows = 0;
    for (const chunk of [...ranges].reverse()) rows += (await runChunk(spec, chunk)).rows;
    return rows;
  };

  const assertVerified = async (spec: Spec, rows: number) => {
    const verdicts = await Promise.all(ranges.map((chunk) => verifyChunk({ spec, plan, chunk, verifyId: `collate-${tag}-${Date.now()}` })));
    const bad = verdicts.filter((v) => v.missing + v.extra + v.different > 0 || v.sourceHash !== v.targetHash);
    assert.deepEqual(bad.map((v) => ({ index: v.index, missing: v.missing, extra: v.extra, different: v.different, sample: v.sample })), []);
    assert.equal(verdicts.reduce((n, v) => n + v.sourceRows, 0), rows);
    assert.equal(verdicts.reduce((n, v) => n + v.targetRows, 0), rows);
  };

  const sourceRows = async () => Number((await pgPool(sourceUrl).query('SELECT count(*)::int AS n FROM public.words')).rows[0].n);

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDb(`ferry_t_coll_src_${tag}`, ICU);
    urls.push(sourceUrl);
    process.env.FERRY_COLL_SOURCE_URL = sourceUrl;
    await pgPool(sourceUrl).query(SOURCE_SQL);
    const p = await introspectTable(pgPool(sourceUrl), { name: { schema: 'public', name: 'words' } });
    if (typeof p === 'string') throw new Error(p);
    plan = p;
    plan.chunkRows = CHUNK_ROWS;
    const page = await planChunkPage(pgPool(sourceUrl), plan, CHUNK_ROWS, null, 1_000);
    ranges = page.ranges.map((r, index) => ({ index, ...r }));
    assert.ok(ranges.length >= 8, `several chunks (${ranges.length})`);
  });

  after(async () => {
    await closeAll();
    for (const url of urls) await dropDb(url);
    for (const drop of drops) await drop();
  });

  it('a target with no collation ordering like the source is refused before anything is created, and accepted once one exists', async () => {
    const src = await createDb(`ferry_t_coll_kf_${tag}`, ICU.replace("'en-US'", "'en-US-u-kf-upper'"));
    urls.push(src);
    const tgt = await createDb(`ferry_t_coll_kft_${tag}`, LIBC_C);
    urls.push(tgt);
    process.env.FERRY_COLL_KF_SOURCE_URL = src;
    process.env.FERRY_COLL_KF_TARGET_URL = tgt;
    await pgPool(src).query(SOURCE_SQL);
    const spec = validateSpec(
      { name: 'collate-kf', source: { url: '${FERRY_COLL_KF_SOURCE_URL}' }, target: { url: '${FERRY_COLL_KF_TARGET_URL}' }, tables: ['public.words'], backfill: { batchRows: BATCH_ROWS } },
      process.env,
    );
    const p = await introspectTable(pgPool(src), { name: { schema: 'public', name: 'words' } });
    if (typeof p === 'string') throw new Error(p);
    await assert.rejects(new PostgresTarget(spec).prepareTable(p), (err: Error & { nonRetryable?: boolean; type?: string }) => {
      assert.match(err.message, /en-US-u-kf-upper.*create one on the target \(CREATE COLLATION public\.ferry_source_order \(provider = icu, locale = 'en-US-u-kf-upper'\)\)/);
      assert.equal(err.nonRetryable, true);
      assert.equal(err.type, 'ConfigurationError');
      return true;
    });
    const created = await pgPool(tgt, 'target.url').query(`SELECT to_regclass('public.words') AS t`);
    assert.equal(created.rows[0].t, null, 'nothing was created');
    // The statement the message gives.
    await pgPool(tgt, 'target.url').query(`CREATE COLLATION public.ferry_source_order (provider = icu, locale = 'en-US-u-kf-upper')`);
    await new PostgresTarget(spec).prepareTable(p);
    const page = await planChunkPage(pgPool(src), p, CHUNK_ROWS, null, 1_000);
    for (const [index, r] of [...page.ranges.entries()].reverse()) {
      await new MockActivityEnvironment().run(copyChunk, { spec, plan: p, chunk: { index, ...r }, maxRowsPerSecond: 0 });
    }
    await assertPostgresEqual(src, tgt, ['public.words']);
  });

  for (const { title, envVar, make } of [
    {
      title: 'libc "C" target (byte order): every row arrives, re-runs and resumes stay exact, verification is clean',
      envVar: 'FERRY_COLL_C_TARGET_URL',
      make: async () => tracked(await createDb(`ferry_t_coll_tgt_c_${tag}`, LIBC_C)),
    },
    {
      title: 'ICU en-US target (same order as the source): still exact',
      envVar: 'FERRY_COLL_ICU_TARGET_URL',
      make: async () => tracked(await createDb(`ferry_t_coll_tgt_icu_${tag}`, ICU)),
    },
    {
      title: 'PostgreSQL 13 libc "C" target (from 15 ICU): every row arrives, verification is clean',
      envVar: 'FERRY_COLL_PG13_TARGET_URL',
      make: async (): Promise<string | { skip: string }> => {
        const server = startMajor(13);
        if ('skip' in server) return server;
        const url = await createDatabaseOn(server.adminUrl, `ferry_t_coll_tgt13_${tag}`, LIBC_C);
        drops.push(() => dropDatabaseOn(url));
        return url;
      },
    },
  ]) {
    it(title, async function () {
      const made = await make();
      if (typeof made !== 'string') {
        console.log(`      (skipped: ${made.skip})`);
        return this.skip();
      }
      const targetUrl = made;
      process.env[envVar] = targetUrl;
      const spec = specFor(envVar);
      await new PostgresTarget(spec).prepareTable(plan);

      const total = await sourceRows();
      assert.equal(await copyAll(spec), total);
      await assertPostgresEqual(sourceUrl, targetUrl, ['public.words']);
      // The load is over: the table gets its key, and from now on a chunk run again replays
      // by deleting its key range (under the collation) before its COPY.
      await new PostgresTarget(spec).finishLoad(plan);
      await assertVerified(spec, total);

      // The source changes; every chunk runs again (a new attempt, no cursor): rows deleted on
      // the source leave the target, and nothing else does.
      await pgPool(sourceUrl).query(`DELETE FROM public.words WHERE n % 7 = 0; UPDATE public.words SET note = 'changed' WHERE n % 5 = 0; INSERT INTO public.words VALUES ('Ab new', 0, 'new'), ('_a new', 0, 'new')`);
      for (const chunk of ranges) await runChunk(spec, chunk);
      await assertPostgresEqual(sourceUrl, targetUrl, ['public.words']);
      await assertVerified(spec, await sourceRows());

      // A retried attempt (with the cursor an earlier one heartbeated, which a whole-chunk COPY
      // does not need: it copies the chunk again) after more source deletes in its chunk.
      const chunk = ranges[Math.floor(ranges.length / 2)];
      const firstKeys = await pgPool(sourceUrl).query(
        `SELECT w FROM public.words WHERE ($1::text IS NULL OR w >= $1::text) AND ($2::text IS NULL OR w < $2::text) ORDER BY w LIMIT ${BATCH_ROWS}`,
        [chunk.lo?.[0] ?? null, chunk.hi?.[0] ?? null],
      );
      const after = firstKeys.rows[firstKeys.rows.length - 1].w as string;
      await pgPool(sourceUrl).query(
        `DELETE FROM public.words WHERE w > $1::text AND ($2::text IS NULL OR w < $2::text) AND n % 3 = 0`,
        [after, chunk.hi?.[0] ?? null],
      );
      await runChunk(spec, chunk, { after: [after], rows: BATCH_ROWS });
      await assertPostgresEqual(sourceUrl, targetUrl, ['public.words']);
      await assertVerified(spec, await sourceRows());

      // Single batches replayed on their own (the Target's per-batch contract): each clears only its own range.
      const target = new PostgresTarget(spec);
      for (const c of ranges.slice(1, 4)) {
        const first = await target.copyBatch(plan, pgPool(sourceUrl), c, null, BATCH_ROWS);
        assert.deepEqual(await target.copyBatch(plan, pgPool(sourceUrl), c, null, BATCH_ROWS), first);
        await target.copyBatch(plan, pgPool(sourceUrl), c, first.last, BATCH_ROWS);
      }
      await assertPostgresEqual(sourceUrl, targetUrl, ['public.words']);
    });
  }
});
