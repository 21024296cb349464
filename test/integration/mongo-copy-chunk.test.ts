// MongoTarget.copyChunk on the real servers: chunks copied as pipelined keyset batches write
// exactly the documents buildDocuments builds from the same rows (embedded tables included),
// an attempt stopped part way resumes from its last committed cursor without losing or
// duplicating a row, and a chunk copied again changes nothing.
import { strict as assert } from 'node:assert';
import { BSON, MongoClient, type Document } from 'mongodb';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { introspectTable, readBatch } from '../../engines/postgres/source';
import { planChunkPage } from '../../engines/postgres/chunk-plan';
import { MongoTarget } from '../../engines/mongodb/target';
import { buildDocuments } from '../../engines/mongodb/mapping/document';
import { insertOrReplace, writeLimits } from '../../engines/mongodb/insert';
import { validateSpec } from '../../activities/plan/spec';
import { closeAll, pgPool } from '../../engines/connections';
import type { ChunkCursor, ChunkRange } from '../../contracts/backfill';
import type { ChunkCopyControl } from '../../engines/engine';
import type { TablePlan } from '../../contracts/tables';

const ROWS = 3_000;

const setup = `
CREATE TABLE owners (oid int PRIMARY KEY, label text);
INSERT INTO owners SELECT g, 'owner ' || g FROM generate_series(1, 40) g;
CREATE TABLE items (
  id int8 PRIMARY KEY, owner int, name text, qty int, price numeric(10,2), score float8, at timestamptz, ok bool, doc jsonb, bin bytea, tags text[], nothing text
);
INSERT INTO items SELECT g * 3, g % 41, 'item ' || g, g % 17, (g * 1.25)::numeric(10,2), g / 3.0,
       timestamptz '2024-01-01 00:00:00.123+00' + g * interval '1 minute', g % 2 = 0,
       jsonb_build_object('n', g, 'f', g / 4.0), decode(md5(g::text), 'hex'), ARRAY['t' || g % 3, NULL], NULL
  FROM generate_series(1, ${ROWS}) g;
ANALYZE;
`;

/** A control that records commits, and stops the copy (as a cancellation would) after `stopAfter` paces. */
function control(batchRows: number, resumeFrom?: ChunkCursor, stopAfter = Infinity): ChunkCopyControl & { commits: ChunkCursor[] } {
  let paces = 0;
  const commits: ChunkCursor[] = [];
  return {
    resumeFrom,
    batchRows,
    commits,
    committed: (c) => void commits.push(c),
    pace: async () => {
      if (++paces > stopAfter) throw new Error('stopped');
    },
  };
}

describe('MongoDB chunk copy: pipelined batches, resumable, idempotent (real PostgreSQL and MongoDB wire server)', function () {
  this.timeout(120_000);
  let sourceUrl: string;
  let mongo: MongoClient;
  const database = uniqueName('copychunk');
  let plan: TablePlan;
  let target: MongoTarget;
  let chunks: ChunkRange[];

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('copychunk_src');
    process.env.FERRY_COPYCHUNK_SOURCE_URL = sourceUrl;
    const admin = new Pool({ connectionString: sourceUrl, max: 1 });
    try {
      await admin.query(setup);
    } finally {
      await admin.end();
    }
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    const pool = pgPool(sourceUrl);
    const items = await introspectTable(pool, { name: { schema: 'public', name: 'items' } });
    const owners = await introspectTable(pool, { name: { schema: 'public', name: 'owners' } });
    if (typeof items === 'string' || typeof owners === 'string') throw new Error(String(items));
    items.embeds = [{ kind: 'one', as: 'ownedBy', plan: owners, on: [['oid', 'owner']] }];
    plan = items;
    const spec = validateSpec({ name: 'copychunk', source: { url: '${FERRY_COPYCHUNK_SOURCE_URL}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables: ['public.items'] }, process.env);
    target = new MongoTarget(spec);
    await target.prepareTable(plan);
    const page = await planChunkPage(pool, plan, 1_000, null, 100);
    chunks = page.ranges.map((r, index) => ({ index, ...r }));
    assert.equal(chunks.length, 3);
  });

  after(async () => {
    await closeAll();
    await mongo?.db(database).dropDatabase().catch(() => undefined);
    await mongo?.close();
    if (sourceUrl) await dropDatabase(sourceUrl);
  });

  const stored = async () => {
    const docs = await mongo.db(database).collection('items').find({}, { raw: true }).sort({ _id: 1 }).toArray();
    return (docs as unknown as Buffer[]).map((b) => Buffer.from(b).toString('hex'));
  };
  const expected = async () => {
    const rows = await readBatch(pgPool(sourceUrl), plan, { index: 0, lo: null, hi: null }, null, ROWS + 1);
    return (await buildDocuments(plan, pgPool(sourceUrl), rows)).map((d: Document) => Buffer.from(BSON.serialize(d)).toString('hex'));
  };

  it('an attempt stopped part way resumes from its last cursor; the collection then holds exactly the mapped documents', async () => {
    const source = pgPool(sourceUrl);
    // Chunk 0 in one go; chunk 1 stopped after a few batches, then resumed; chunk 2 twice over.
    const c0 = control(70);
    assert.deepEqual(await target.copyChunk(plan, source, chunks[0], c0), { rows: 1_000 });
    assert.deepEqual(c0.commits.map((c) => c.rows), [...Array.from({ length: 14 }, (_, i) => (i + 1) * 70), 1_000]);

    const first = control(70, undefined, 5);
    await assert.rejects(target.copyChunk(plan, source, chunks[1], first), /stopped/);
    const cursor = first.commits[first.commits.length - 1];
    assert.ok(cursor.rows >= 5 * 70 - 70 && cursor.rows <= 5 * 70, `the batches started before the stop are committed (${cursor.rows})`);
    const resumed = control(70, cursor);
    assert.deepEqual(await target.copyChunk(plan, source, chunks[1], resumed), { rows: 1_000 });
    for (let i = 1; i < resumed.commits.length; i++) assert.ok(resumed.commits[i].rows > resumed.commits[i - 1].rows);

    assert.deepEqual(await target.copyChunk(plan, source, chunks[2], control(333)), { rows: 1_000 });
    const before = await stored();
    assert.deepEqual(await target.copyChunk(plan, source, chunks[2], control(128)), { rows: 1_000 });
    assert.deepEqual(await stored(), before, 'a chunk copied again changes nothing');

    assert.equal(await target.countRows(plan), ROWS);
    assert.deepEqual(await stored(), await expected());
  });

  it('insert commands split past the server\'s batch limit, and documents already there are replaced, wherever they fall', async () => {
    const db = mongo.db(database);
    const coll = db.collection('split');
    const limits = await writeLimits(db);
    const n = Math.min(limits.maxWriteBatchSize, 5_000) * 2 + 17;
    await coll.insertMany([0, 5, limits.maxWriteBatchSize + 3, n - 1].map((i) => ({ _id: i as never, v: 'old' })));
    await insertOrReplace(db, coll, Array.from({ length: n }, (_, i) => ({ _id: i as never, v: 'new', i })));
    assert.equal(await coll.countDocuments({}), n);
    assert.equal(await coll.countDocuments({ v: 'new' }), n);
    await insertOrReplace(db, coll, Array.from({ length: n }, (_, i) => ({ _id: i as never, v: 'again', i })));
    assert.equal(await coll.countDocuments({ v: 'again' }), n, 'a replayed batch replaces every document');
  });
});
