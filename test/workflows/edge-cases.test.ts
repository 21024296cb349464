// Awkward real-world shapes end to end, into both targets, through the real workflow, with
// the checksum verification as the proof: awkward identifiers, a text key under a non-C
// collation, uuid, composite and sparse keys, a generated column, a partitioned table, an
// empty table, a unique key named by the spec, a table without a key refused; then one
// altered field found by `ferry verify` and fixed by `ferry repair`; and a live throttle.
import { strict as assert } from 'node:assert';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { MongoClient } from 'mongodb';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { startWorkers, startMigration, testSpec, waitForStatus, type Harness } from '../helpers/temporal';
import { assertPostgresEqual } from '../helpers/compare';
import { ferry, ferryAsync } from '../helpers/cli';
import { backfillWorkflowId } from '../../contracts/ids';
import { chunkControlQuery, throttleSignal } from '../../contracts/messages';
import type { MigrationStatus } from '../../contracts/migration';
import { closeAll } from '../../engines/connections';

const SCHEMA = `
  CREATE SCHEMA "Sales";
  CREATE TABLE "Sales"."Line Items" (
    "Order ID" int, "line""no" int, "select" text, "a.b" numeric(10,2), "Upper" text,
    doubled numeric GENERATED ALWAYS AS ("a.b" * 2) STORED,
    PRIMARY KEY ("Order ID", "line""no"));
  INSERT INTO "Sales"."Line Items" ("Order ID", "line""no", "select", "a.b", "Upper")
    SELECT g / 3, g % 3, 'row ' || g, g * 1.25, upper(md5(g::text)) FROM generate_series(1, 900) g;
  CREATE TABLE public.words (w text COLLATE %COLLATION% PRIMARY KEY, n int);
  INSERT INTO public.words VALUES ('a', 1), ('B', 2), ('b', 3), ('Ä', 4), ('z', 5), ('é', 6), ('E', 7), ('ab', 8), ('Ab', 9), ('_x', 10);
  INSERT INTO public.words SELECT 'w' || g || CASE WHEN g % 2 = 0 THEN 'É' ELSE 'e' END, g FROM generate_series(1, 600) g;
  CREATE TABLE public.things (id uuid PRIMARY KEY, v text);
  INSERT INTO public.things SELECT md5(g::text)::uuid, 'thing ' || g FROM generate_series(1, 700) g;
  CREATE TABLE public.sparse (id bigint PRIMARY KEY, v text);
  INSERT INTO public.sparse SELECT g::bigint * 1000003 * 1000003, 'v' || g FROM generate_series(1, 500) g;
  INSERT INTO public.sparse VALUES (-9223372036854775808, 'min'), (9223372036854775807, 'max'), (0, 'zero');
  CREATE TABLE public.measures (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
  CREATE TABLE public.measures_2023 PARTITION OF public.measures FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
  CREATE TABLE public.measures_2024 PARTITION OF public.measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  INSERT INTO public.measures SELECT g, date '2023-06-01' + (g % 400), g * 7 FROM generate_series(1, 800) g;
  CREATE TABLE public.empty (id int PRIMARY KEY, v text);
  CREATE TABLE public.nokey (v text);
  CREATE TABLE public.ukey (code text NOT NULL, v int);
  CREATE UNIQUE INDEX ukey_code ON public.ukey (code);
  INSERT INTO public.ukey SELECT 'code-' || g, g FROM generate_series(1, 300) g;
  CREATE TABLE public.authors (id int PRIMARY KEY, name text);
  INSERT INTO public.authors SELECT g, 'author ' || g FROM generate_series(1, 40) g;
  CREATE TABLE public.books (id int PRIMARY KEY, author_id int REFERENCES public.authors, title text);
  INSERT INTO public.books SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g % 37 + 1 END, 'book ' || g FROM generate_series(1, 300) g;
  ANALYZE;
`;

const TABLES = ['"Sales"."Line Items"', 'public.words', 'public.things', 'public.sparse', 'public.measures', 'public.empty'];

describe('edge cases end to end (real Temporal, PostgreSQL, MongoDB wire server)', function () {
  this.timeout(300_000);
  let harness: Harness;
  let sourceUrl: string;
  let targetPgUrl: string;
  let collation: string;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-edge-'));

  before(async function () {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_edge_src');
    targetPgUrl = await createDatabase('ferry_edge_tgt');
    const pool = new Pool({ connectionString: sourceUrl });
    const found = await pool.query(`SELECT collname FROM pg_collation WHERE collname IN ('und-x-icu', 'en-x-icu', 'en_US.utf8', 'en_US') ORDER BY collname DESC LIMIT 1`);
    if (!found.rowCount) {
      await pool.end();
      throw new Error('no non-C collation (und-x-icu, en-x-icu, en_US) in this PostgreSQL: the collation test cannot run');
    }
    collation = `"${found.rows[0].collname}"`;
    await pool.query(SCHEMA.replace('%COLLATION%', collation));
    await pool.end();
    process.env.FERRY_EDGE_SOURCE_URL = sourceUrl;
    process.env.FERRY_EDGE_TARGET_URL = targetPgUrl;
    harness = await startWorkers();
  });

  after(async () => {
    await harness?.stop();
    await closeAll();
    await dropDatabase(sourceUrl);
    await dropDatabase(targetPgUrl);
  });

  const mongoTables = () => [
    { table: '"Sales"."Line Items"', columns: { 'a.b': { rename: 'a_b' }, select: { rename: 'choice' } } },
    ...TABLES.slice(1),
    { table: 'public.ukey', key: ['code'] },
  ];

  const specFile = (name: string, spec: Record<string, unknown>) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(spec));
    return file;
  };

  it('refuses a table without a key, and accepts it with a unique key named in the spec', () => {
    const base = { name: 'edge-plan', source: { url: '${FERRY_EDGE_SOURCE_URL}' }, target: { url: '${FERRY_EDGE_TARGET_URL}' } };
    const bad = ferry(['plan', '--spec', specFile('nokey', { ...base, tables: ['public.nokey', 'public.ukey'] })]);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /tables\[0\]: public\.nokey has no primary key: add one/);
    assert.match(bad.err, /tables\[1\]: public\.ukey has no primary key/);
    const good = ferry(['plan', '--spec', specFile('ukey', { ...base, tables: [{ table: 'public.ukey', key: ['code'] }, ...TABLES] })]);
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, /public\.ukey\s+code \(unique index/);
    assert.match(good.out, /"Sales"\."Line Items"/);
    assert.match(good.out, /public\.measures .*partitioned \(2 partitions\)/);
  });

  it('copies every shape into PostgreSQL and the checksum verification finds them equal', async () => {
    const spec = testSpec({
      name: 'edge-pg',
      source: { url: '${FERRY_EDGE_SOURCE_URL}' },
      target: { url: '${FERRY_EDGE_TARGET_URL}' },
      tables: [...TABLES, { table: 'public.ukey', key: ['code'] }],
      backfill: { chunkRows: 97, batchRows: 40, parallelism: 3 },
    });
    const status: MigrationStatus = await (await startMigration(harness.client, spec, uniqueName('edge-pg'))).result();
    assert.equal(status.verification?.method, 'checksum');
    assert.equal(status.verification?.clean, true, JSON.stringify(status.verification));
    const words = status.verification!.tables.find((t) => t.table === 'public.words')!;
    assert.equal(words.sourceRows, 610);
    assert.ok(words.chunks >= 6, `words in ${words.chunks} chunks`);
    assert.equal(status.verification!.tables.find((t) => t.table === 'public.empty')!.sourceRows, 0);
    await assertPostgresEqual(sourceUrl, targetPgUrl, TABLES);
  });

  it('copies every shape into MongoDB; verify finds one altered field and repair fixes it', async () => {
    const database = uniqueName('wf_edge');
    const id = uniqueName('edge-mongo');
    const spec = testSpec({
      name: 'edge-mongo',
      source: { url: '${FERRY_EDGE_SOURCE_URL}' },
      target: { url: '${FERRY_MONGO_URL}', database },
      tables: mongoTables(),
      backfill: { chunkRows: 97, batchRows: 40, parallelism: 3 },
    });
    const status: MigrationStatus = await (await startMigration(harness.client, spec, id)).result();
    assert.equal(status.verification?.clean, true, JSON.stringify(status.verification));
    assert.equal(status.verification!.tables.find((t) => t.table === 'public.words')!.targetRows, 610);

    const mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    try {
      const items = mongo.db(database).collection('Line Items');
      const one = await items.findOne({ _id: { 'Order ID': 7, 'line"no': 1 } as never });
      assert.ok(one, 'composite _id with awkward names');
      assert.equal(one.choice, 'row 22');
      assert.ok('a_b' in one && !('a.b' in one), 'renamed field');
      // One field of one document changed behind Ferry's back.
      await mongo.db(database).collection('words').updateOne({ _id: 'Ä' as never }, { $set: { n: 999 } });

      const found = await ferryAsync(['verify', '--id', id, '--json']);
      assert.equal(found.code, 1, found.err);
      const report = JSON.parse(found.out);
      assert.equal(report.verification.clean, false);
      const words = report.verification.tables.find((t: { table: string }) => t.table === 'public.words');
      assert.deepEqual([words.missing, words.extra, words.different], [0, 0, 1]);
      assert.deepEqual(report.mismatches.map((m: { kind: string; key: string[] }) => [m.kind, m.key]), [['different', ['Ä']]]);

      const repaired = await ferryAsync(['repair', '--id', id]);
      assert.equal(repaired.code, 0, repaired.err + repaired.out);
      assert.match(repaired.out, /public\.words\s+1\s+1\s+0\s+0/);
      assert.equal((await mongo.db(database).collection('words').findOne({ _id: 'Ä' as never }))?.n, 4);

      const clean = await ferryAsync(['verify', '--id', id]);
      assert.equal(clean.code, 0, clean.err + clean.out);
      assert.match(clean.out, /CLEAN/);
    } finally {
      await mongo.close();
    }
  });

  it('embeds related tables (1:N array, N:1 subdocument) and verifies the embedded copies too', async () => {
    const database = uniqueName('wf_edge');
    const id = uniqueName('edge-embed');
    const spec = testSpec({
      name: 'edge-embed',
      source: { url: '${FERRY_EDGE_SOURCE_URL}' },
      target: { url: '${FERRY_MONGO_URL}', database },
      tables: [
        { table: 'public.authors', embed: [{ table: 'public.books', as: 'books', on: { author_id: 'id' } }] },
        { table: 'public.books', embed: [{ table: 'public.authors', as: 'author', kind: 'one', on: { id: 'author_id' } }] },
      ],
      backfill: { chunkRows: 13, batchRows: 5, parallelism: 2 },
    });
    const status: MigrationStatus = await (await startMigration(harness.client, spec, id)).result();
    assert.equal(status.verification?.clean, true, JSON.stringify(status.verification));
    const mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    try {
      const db = mongo.db(database);
      const author = await db.collection('authors').findOne({ _id: 5 as never });
      assert.deepEqual(author?.books.map((b: { id: number }) => b.id), [4, 41, 78, 115, 152, 189, 226, 263, 300].filter((n) => n % 10 !== 0));
      assert.equal((await db.collection('books').findOne({ _id: 4 as never }))?.author.name, 'author 5');
      assert.equal((await db.collection('books').findOne({ _id: 10 as never }))?.author, null);
      // An embedded copy edited behind Ferry's back is a difference of its parent document.
      await db.collection('authors').updateOne({ _id: 5 as never }, { $set: { 'books.0.title': 'edited' } });
      const found = await ferryAsync(['verify', '--id', id, '--json']);
      assert.equal(found.code, 1, found.err);
      assert.deepEqual(JSON.parse(found.out).mismatches.map((m: { table: string; kind: string; key: string[] }) => [m.table, m.kind, m.key]), [['public.authors', 'different', ['5']]]);
    } finally {
      await mongo.close();
    }
  });

  it('applies a throttle live and lifts it', async () => {
    const database = uniqueName('wf_edge');
    const id = uniqueName('edge-throttle');
    const spec = testSpec({
      name: 'edge-throttle',
      source: { url: '${FERRY_EDGE_SOURCE_URL}' },
      target: { url: '${FERRY_MONGO_URL}', database },
      tables: ['public.sparse'],
      verify: 'counts',
      backfill: { chunkRows: 100, batchRows: 10, parallelism: 2, maxRowsPerSecond: 20 },
    });
    const handle = await startMigration(harness.client, spec, id);
    const child = harness.client.workflow.getHandle(backfillWorkflowId(id, { schema: 'public', name: 'sparse' }));
    await waitForStatus(harness.client, id, (s) => s.phase === 'backfill' && s.tables[0].rowsCopied > 0, 'copying under a throttle');
    assert.deepEqual(await child.query(chunkControlQuery), { rowsPerSecond: 10, paused: false });
    await handle.signal(throttleSignal, 0);
    const done: MigrationStatus = await handle.result();
    assert.equal(done.throttle, 0);
    assert.equal(done.verification?.clean, true);
    assert.equal(done.tables[0].rowsCopied, 503);
  });
});
