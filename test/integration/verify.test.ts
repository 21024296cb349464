// Verification and repair on the real servers, for both targets: a faithful copy verifies
// clean (also when a MongoDB document holds its fields in another order or an Int64 where
// an Int32 was written); one changed, one deleted and one added target row are found by
// key; repair fixes exactly those and a new verification is clean. Text keys under an ICU
// collation (chunk ranges that MongoDB's _id order cannot follow) go through the sweep.
import { strict as assert } from 'node:assert';
import { Long, MongoClient, type Document } from 'mongodb';
import { Pool } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { planChunkPage } from '../../engines/postgres/chunk-plan';
import { openTarget } from '../../engines';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { readMismatches, repairTable, sweepExtras, verifyChunk } from '../../activities/verify';
import type { TablePlan } from '../../contracts/tables';
import { chunkSum } from '../../engines/postgres/verifier';
import { keyCollations, keySql } from '../../engines/postgres/key-ranges';
import type { ChunkVerdict, MismatchKind, RepairResult } from '../../contracts/verify';

const CHUNK_ROWS = 700;

interface Totals {
  chunks: ChunkVerdict[];
  sourceRows: number;
  targetRows: number;
  mismatches: Array<{ kind: MismatchKind; key: string[] }>;
  counts: Record<MismatchKind, number>;
}

async function plan(pool: Pool, name: string): Promise<TablePlan> {
  const p = await introspectTable(pool, { name: { schema: 'public', name } });
  if (typeof p === 'string') throw new Error(p);
  p.chunkRows = CHUNK_ROWS;
  return p;
}

async function copy(spec: Spec, p: TablePlan): Promise<void> {
  const target = openTarget(spec);
  await target.prepareTable(p);
  const source = pgPool(spec.source.url);
  let after: string[] | null = null;
  for (;;) {
    const batch = await target.copyBatch(p, source, { index: 0, lo: null, hi: null }, after, 1_000);
    if (batch.last === null) break;
    after = batch.last;
  }
  // As the backfill does once a table's rows are in: its key (which repairs upsert on).
  await target.finishLoad(p);
}

/** Every chunk of the table verified (as the workflow does), plus the sweep when a chunk asks for it. */
async function verifyAll(spec: Spec, p: TablePlan, verifyId: string): Promise<Totals> {
  const page = await planChunkPage(pgPool(spec.source.url), p, CHUNK_ROWS, null, 1_000);
  assert.ok(page.ranges.length >= 2, 'the table spans several chunks');
  const chunks = await Promise.all(page.ranges.map((r, index) => verifyChunk({ spec, plan: p, chunk: { index, ...r }, verifyId })));
  const totals: Totals = { chunks, sourceRows: 0, targetRows: 0, mismatches: [], counts: { missing: 0, extra: 0, different: 0 } };
  for (const c of chunks) {
    totals.sourceRows += c.sourceRows;
    totals.targetRows += c.targetRows;
    totals.mismatches.push(...c.sample);
    for (const k of ['missing', 'extra', 'different'] as const) totals.counts[k] += c[k];
  }
  if (chunks.some((c) => !c.extrasChecked)) {
    const swept = await sweepExtras({ spec, plan: p, verifyId });
    totals.counts.extra += swept.extra;
    totals.targetRows += swept.extra;
    totals.mismatches.push(...swept.sample.map((key) => ({ kind: 'extra' as const, key })));
  }
  return totals;
}

function assertClean(t: Totals, rows: number): void {
  assert.deepEqual(t.counts, { missing: 0, extra: 0, different: 0 }, JSON.stringify(t.mismatches));
  assert.equal(t.sourceRows, rows);
  assert.equal(t.targetRows, rows);
  for (const c of t.chunks) assert.equal(c.sourceHash, c.targetHash, `chunk ${c.index}`);
}

function sorted(ms: Array<{ kind: MismatchKind; key: string[] }>): string[] {
  return ms.map((m) => `${m.kind} ${JSON.stringify(m.key)}`).sort();
}

async function repair(spec: Spec, p: TablePlan, verifyId: string): Promise<RepairResult> {
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d) => beats.push(d));
  const result: RepairResult = await env.run(repairTable, { spec, plan: p, verifyId });
  if (result.keys > 0) assert.ok(beats.some((b) => b && typeof b === 'object' && 'after' in b), 'repair heartbeats its cursor');
  return result;
}

const sourceSql = (collation: string) => `
CREATE TABLE items (
  id int PRIMARY KEY, name text, qty int, price numeric(10,2), score float8, big int8,
  at timestamptz, ok bool, doc jsonb, bin bytea, u uuid, nothing text
);
INSERT INTO items SELECT g, 'item ' || g, g % 17, (g * 1.25)::numeric(10,2), g / 3.0, g::int8 * 1000000007,
       timestamptz '2024-01-01 00:00:00.123456+00' + g * interval '1 minute', g % 2 = 0,
       jsonb_build_object('n', g, 'tags', jsonb_build_array('x', g % 4), 'f', g / 4.0), decode(md5(g::text), 'hex'),
       md5(g::text)::uuid, NULL
  FROM generate_series(1, 2000) g;
-- (not named n: planChunkPage's own row counter is s.n)
CREATE TABLE pairs (k text, seq int8, v text, PRIMARY KEY (k, seq));
INSERT INTO pairs SELECT chr(97 + g % 5), g, 'v' || g FROM generate_series(1, 1500) g;
-- Values a single-bit or single-character change must show through (PostgreSQL target only).
CREATE TABLE shades (
  id int PRIMARY KEY, f float8, ts timestamptz, n numeric, j jsonb, b bytea, t text, arr int[], iv interval,
  g int GENERATED ALWAYS AS (id * 2) STORED
);
INSERT INTO shades (id, f, ts, n, j, b, t, arr, iv)
SELECT g, g / 7.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g * 1.5, jsonb_build_object('k', g, 'a', jsonb_build_array(g, 'x')),
       decode(md5(g::text), 'hex'), 'row ' || g, ARRAY[g, g + 1], g * interval '1 hour'
  FROM generate_series(1, 2100) g;
CREATE TABLE codes (c text COLLATE "C" PRIMARY KEY, v int);
INSERT INTO codes SELECT CASE WHEN g % 2 = 0 THEN 'Z' ELSE 'a' END || g, g FROM generate_series(1, 1500) g;
${collation ? `CREATE TABLE words (w text COLLATE ${collation} PRIMARY KEY, v int);
INSERT INTO words SELECT CASE WHEN g % 3 = 0 THEN upper(chr(97 + g % 26)) ELSE chr(97 + g % 26) END || lpad(g::text, 4, '0'), g FROM generate_series(1, 1500) g;` : ''}
`;

describe('checksum verification and repair (real PostgreSQL and MongoDB wire server)', function () {
  this.timeout(180_000);
  let sourceUrl: string;
  let pgTargetUrl: string;
  let collation = '';
  const mongoDatabase = uniqueName('verify');
  let mongo: MongoClient;

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('verify_src');
    pgTargetUrl = await createDatabase('verify_tgt');
    process.env.FERRY_VERIFY_SOURCE_URL = sourceUrl;
    process.env.FERRY_VERIFY_TARGET_URL = pgTargetUrl;
    const admin = new Pool({ connectionString: sourceUrl, max: 1 });
    try {
      const found = await admin.query(
        `SELECT quote_ident(collname) AS c FROM pg_collation WHERE collname = ANY($1) ORDER BY array_position($1, collname::text) LIMIT 1`,
        [['und-x-icu', 'en-x-icu', 'en_US', 'en_US.utf8']],
      );
      collation = found.rows[0]?.c ?? '';
      if (!collation) console.warn('      (no ICU or en_US collation on this server: the non-C text key cases are skipped)');
      await admin.query(sourceSql(collation));
      await admin.query('ANALYZE');
    } finally {
      await admin.end();
    }
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
  });

  after(async () => {
    await closeAll();
    await mongo?.db(mongoDatabase).dropDatabase().catch(() => undefined);
    await mongo?.close();
    if (sourceUrl) await dropDatabase(sourceUrl);
    if (pgTargetUrl) await dropDatabase(pgTargetUrl);
  });

  const specFor = (kind: 'postgres' | 'mongodb'): Spec =>
    validateSpec(
      kind === 'mongodb'
        ? { name: 'verify-test', source: { url: '${FERRY_VERIFY_SOURCE_URL}' }, target: { url: '${FERRY_MONGO_URL}', database: mongoDatabase }, tables: ['public.items'] }
        : { name: 'verify-test', source: { url: '${FERRY_VERIFY_SOURCE_URL}' }, target: { url: '${FERRY_VERIFY_TARGET_URL}' }, tables: ['public.items'] },
      process.env,
    );

  for (const kind of ['postgres', 'mongodb'] as const) {
    describe(`${kind} target`, () => {
      let spec: Spec;
      const tp = () => pgPool(pgTargetUrl, 'target.url');
      const coll = (name: string) => mongo.db(mongoDatabase).collection(name);

      before(() => {
        spec = specFor(kind);
      });

      it('finds one changed, one missing and one extra row by key, repairs them, and verifies clean again', async () => {
        const items = await plan(pgPool(sourceUrl), 'items');
        await copy(spec, items);
        assertClean(await verifyAll(spec, items, `${kind}-items-0`), 2000);

        if (kind === 'mongodb') {
          // Same values, other field order, Int64 where the copy wrote Int32: still equal.
          const d = (await coll('items').findOne({ _id: 20 as never }, { promoteValues: false }))!;
          const reordered: Document = { _id: d._id };
          for (const k of Object.keys(d).reverse()) if (k !== '_id') reordered[k] = k === 'qty' ? Long.fromNumber(20 % 17) : d[k];
          await coll('items').replaceOne({ _id: 20 as never }, reordered);
          assertClean(await verifyAll(spec, items, `${kind}-items-1`), 2000);
          await coll('items').updateOne({ _id: 1500 as never }, { $set: { name: 'tampered' } });
          await coll('items').deleteOne({ _id: 10 as never });
        } else {
          await tp().query(`UPDATE items SET name = 'tampered' WHERE id = 1500`);
          await tp().query(`DELETE FROM items WHERE id = 10`);
        }
        if (kind === 'mongodb') {
          // An _id no key maps to (a string in an integer-keyed table) is extra, counted but not repairable by key.
          await coll('items').insertOne({ _id: '77' as never, name: 'stray' });
          const stray = await verifyAll(spec, items, `${kind}-items-stray`);
          assert.deepEqual(stray.counts, { missing: 1, extra: 1, different: 1 }, JSON.stringify(stray.mismatches));
          assert.ok(stray.mismatches.some((m) => m.kind === 'extra' && m.key[0].startsWith('_id ')));
          assert.equal((await readMismatches({ spec, verifyId: `${kind}-items-stray`, limit: 100 })).length, 2, 'the stray _id is not stored');
          await coll('items').deleteOne({ _id: '77' as never });
        }
        await openTarget(spec).writeRows(items, [{ id: '5000', name: 'ghost', qty: '1', price: '1.00', score: '1', big: '1', at: null, ok: 't', doc: null, bin: null, u: null, nothing: null }]);

        const found = await verifyAll(spec, items, `${kind}-items-2`);
        assert.deepEqual(found.counts, { missing: 1, extra: 1, different: 1 });
        assert.deepEqual(sorted(found.mismatches), ['different ["1500"]', 'extra ["5000"]', 'missing ["10"]']);
        assert.ok(found.chunks.every((c) => c.extrasChecked), 'integer keys are range-checked on both targets');
        const bad = found.chunks.filter((c) => c.sourceHash !== c.targetHash || c.sourceRows !== c.targetRows);
        assert.ok(bad.length >= 2 && bad.length <= 3, 'only the chunks holding those keys differ');

        const stored = await readMismatches({ spec, verifyId: `${kind}-items-2`, limit: 100 });
        assert.deepEqual(sorted(stored), sorted(found.mismatches));
        assert.ok(stored.every((s) => s.table === 'public.items' && !s.repaired));

        const repaired = await repair(spec, items, `${kind}-items-2`);
        assert.deepEqual(repaired, { table: 'public.items', keys: 3, written: 2, deleted: 1, stillDifferent: 0 });
        assert.ok((await readMismatches({ spec, verifyId: `${kind}-items-2`, table: 'public.items', limit: 100 })).every((s) => s.repaired));
        // Nothing is left to repair: a second run (or a retry) does nothing.
        assert.equal((await repair(spec, items, `${kind}-items-2`)).keys, 0);
        assertClean(await verifyAll(spec, items, `${kind}-items-3`), 2000);
      });

      it('composite text+bigint keys (database default collation) are range-checked', async () => {
        const pairs = await plan(pgPool(sourceUrl), 'pairs');
        await copy(spec, pairs);
        assertClean(await verifyAll(spec, pairs, `${kind}-pairs-0`), 1500);
        await openTarget(spec).writeRows(pairs, [{ k: 'zz', seq: '999', v: 'ghost' }, { k: 'a', seq: '7', v: 'ghost' }]);
        const found = await verifyAll(spec, pairs, `${kind}-pairs-1`);
        assert.deepEqual(found.counts, { missing: 0, extra: 2, different: 0 }, JSON.stringify(found.mismatches));
        assert.deepEqual(sorted(found.mismatches), ['extra ["a","7"]', 'extra ["zz","999"]']);
        assert.ok(found.chunks.every((c) => c.extrasChecked));
        assert.deepEqual(await repair(spec, pairs, `${kind}-pairs-1`), { table: 'public.pairs', keys: 2, written: 0, deleted: 2, stillDifferent: 0 });
        assertClean(await verifyAll(spec, pairs, `${kind}-pairs-2`), 1500);
      });

      it('text keys under an explicit "C" collation are range-checked', async () => {
        const codes = await plan(pgPool(sourceUrl), 'codes');
        assert.equal(codes.columns[0].collation, 'pg_catalog."C"');
        await copy(spec, codes);
        await openTarget(spec).writeRows(codes, [{ c: 'b0', v: '0' }]);
        const found = await verifyAll(spec, codes, `${kind}-codes-0`);
        assert.deepEqual(sorted(found.mismatches), ['extra ["b0"]']);
        assert.ok(found.chunks.every((c) => c.extrasChecked));
      });

      it('text keys under a non-C collation: chunks mean the same rows, extras found (MongoDB: by the sweep)', async function () {
        if (!collation) this.skip();
        const words = await plan(pgPool(sourceUrl), 'words');
        assert.ok(words.columns[0].collation, 'the key column carries its collation');
        await copy(spec, words);
        assertClean(await verifyAll(spec, words, `${kind}-words-0`), 1500);

        // Keys whose ICU position differs from their byte position: 'D0003' sorts among the d's under ICU, before every lower-case key in byte order.
        const src = pgPool(sourceUrl);
        const [changed, gone] = (await src.query(`SELECT w FROM words WHERE w IN ('D0003', 'x0023') ORDER BY w`)).rows.map((r) => r.w as string);
        assert.ok(changed && gone, 'test keys exist');
        if (kind === 'mongodb') {
          await coll('words').updateOne({ _id: changed as never }, { $set: { v: -1 } });
          await coll('words').deleteOne({ _id: gone as never });
        } else {
          await tp().query(`UPDATE words SET v = -1 WHERE w = $1`, [changed]);
          await tp().query(`DELETE FROM words WHERE w = $1`, [gone]);
        }
        await openTarget(spec).writeRows(words, [{ w: 'Ghost', v: '0' }]);
        if (kind === 'mongodb') {
          await coll('words').insertOne({ _id: 42 as never, v: 1 });
          const stray = await verifyAll(spec, words, `${kind}-words-stray`);
          assert.equal(stray.counts.extra, 2, JSON.stringify(stray.mismatches));
          assert.ok(stray.mismatches.some((m) => m.kind === 'extra' && m.key[0].startsWith('_id ')));
          await coll('words').deleteOne({ _id: 42 as never });
        }
        const found = await verifyAll(spec, words, `${kind}-words-1`);
        assert.deepEqual(found.counts, { missing: 1, extra: 1, different: 1 }, JSON.stringify(found.mismatches));
        assert.deepEqual(sorted(found.mismatches), [`different ["${changed}"]`, 'extra ["Ghost"]', `missing ["${gone}"]`]);
        assert.equal(found.chunks.every((c) => c.extrasChecked), kind === 'postgres', 'MongoDB cannot range-check ICU-ordered _ids');
        assert.deepEqual(await repair(spec, words, `${kind}-words-1`), { table: 'public.words', keys: 3, written: 2, deleted: 1, stillDifferent: 0 });
        assertClean(await verifyAll(spec, words, `${kind}-words-2`), 1500);
      });
    });
  }

  describe('postgres target: chunk sums', () => {
    // Each change alone, then reverted: the chunk sums of the chunk holding the row differ,
    // the drill-down names exactly that key and kind, and every other chunk sums equal.
    const changes: Array<[string, string, MismatchKind, string]> = [
      ['float8, in the last digits', `UPDATE shades SET f = f + 2.3e-16 * f WHERE id = 100`, 'different', '100'],
      ['timestamptz, one microsecond', `UPDATE shades SET ts = ts + interval '1 microsecond' WHERE id = 800`, 'different', '800'],
      ['numeric, scale only', `UPDATE shades SET n = n::numeric(20,4) WHERE id = 1500`, 'different', '1500'],
      ['jsonb, a nested element', `UPDATE shades SET j = jsonb_set(j, '{a,1}', '"y"') WHERE id = 2000`, 'different', '2000'],
      ['bytea, one bit', `UPDATE shades SET b = set_bit(b, 0, 1 - get_bit(b, 0)) WHERE id = 1`, 'different', '1'],
      ['text, an empty string', `UPDATE shades SET t = '' WHERE id = 2100`, 'different', '2100'],
      ['text, NULL', `UPDATE shades SET t = NULL WHERE id = 700`, 'different', '700'],
      ['int[], one element', `UPDATE shades SET arr[2] = arr[2] + 1 WHERE id = 701`, 'different', '701'],
      ['interval, an equal one in other units', `UPDATE shades SET iv = justify_hours(iv) WHERE id = 1400`, 'different', '1400'],
      ['a missing row', `DELETE FROM shades WHERE id = 1050`, 'missing', '1050'],
      ['an extra row', `INSERT INTO shades (id, f) VALUES (5000, 1)`, 'extra', '5000'],
    ];
    let spec: Spec;
    let shades: TablePlan;
    const tp = () => pgPool(pgTargetUrl, 'target.url');

    before(async () => {
      spec = validateSpec(
        { name: 'verify-test', source: { url: '${FERRY_VERIFY_SOURCE_URL}' }, target: { url: '${FERRY_VERIFY_TARGET_URL}' }, tables: ['public.shades'] },
        process.env,
      );
      shades = await plan(pgPool(sourceUrl), 'shades');
      await copy(spec, shades);
    });

    beforeEach(async () => {
      // Back to an exact copy, checked, before each change.
      await tp().query('TRUNCATE shades');
      await copy(spec, shades);
    });

    it('an exact copy sums equal in every chunk, generated column included', async () => {
      assert.ok(shades.columns.some((c) => c.name === 'g' && c.generated), 'the plan lists the generated column');
      assertClean(await verifyAll(spec, shades, 'shades-clean'), 2100);
    });

    it('where the servers hash differently, the md5 sums still compare the chunk', async () => {
      const coll = await keyCollations(pgPool(sourceUrl), tp(), shades);
      const sk = keySql(shades, coll.source);
      const tk = keySql(shades, coll.target);
      const range = { index: 0, lo: null, hi: null };
      const both = (kind: 'fast' | 'md5') => Promise.all([chunkSum(pgPool(sourceUrl), shades, sk, range, kind), chunkSum(tp(), shades, tk, range, kind)]);
      const [fs, ft] = await both('fast');
      assert.ok(fs.probe && fs.probe === ft.probe, 'the two test servers hash alike');
      const [s0, t0] = await both('md5');
      assert.deepEqual([s0.rows, s0.sum], [t0.rows, t0.sum]);
      assert.equal(s0.probe, undefined);
      await tp().query(`UPDATE shades SET t = 'changed' WHERE id = 3`);
      const [s1, t1] = await both('md5');
      assert.equal(s1.rows, t1.rows);
      assert.notEqual(s1.sum, t1.sum);
    });

    for (const [what, sql, kind, key] of changes) {
      it(`finds ${what} by key`, async () => {
        await tp().query(sql);
        const found = await verifyAll(spec, shades, `shades-${key}`);
        assert.deepEqual(sorted(found.mismatches), [`${kind} ["${key}"]`], what);
        const bad = found.chunks.filter((c) => c.sourceHash !== c.targetHash || c.sourceRows !== c.targetRows);
        assert.equal(bad.length, 1, 'only the chunk holding the row differs');
        assert.ok(found.chunks.every((c) => /^[0-9a-f]{16}$/.test(c.sourceHash) && /^[0-9a-f]{16}$/.test(c.targetHash)), 'hashes are 16 hex digits');
      });
    }
  });

  describe('repair', () => {
  it('resumes after the cursor a failed attempt heartbeated', async () => {
    const spec = specFor('postgres');
    const items = await plan(pgPool(sourceUrl), 'items');
    await pgPool(pgTargetUrl, 'target.url').query(`UPDATE items SET qty = -1 WHERE id IN (3, 4)`);
    const found = await verifyAll(spec, items, 'resume');
    assert.equal(found.counts.different, 2);
    // A previous attempt got past key ["3"]: only ["4"] is left for this one.
    const env = new MockActivityEnvironment({ heartbeatDetails: { after: JSON.stringify(['3']), keys: 1, written: 1, deleted: 0, stillDifferent: 0 } });
    const result: RepairResult = await env.run(repairTable, { spec, plan: items, verifyId: 'resume' });
    assert.deepEqual(result, { table: 'public.items', keys: 2, written: 2, deleted: 0, stillDifferent: 0 });
    const left = await verifyAll(spec, items, 'resume-after');
    assert.deepEqual(sorted(left.mismatches), ['different ["3"]']);
  });
  });
});
