// The inverse mapping against real servers: PostgreSQL rows (read as Ferry reads them) →
// documents → the MongoDB-wire server → read back (with and without the driver's promotion)
// → rows again, proven equal IN POSTGRESQL: each value cast to its column type IS NOT DISTINCT
// FROM the original (json, which has no equality, as jsonb), and for every non-JSON column
// also the same text PostgreSQL prints (numeric scale, char padding, timestamp digits).
import { strict as assert } from 'node:assert';
import { MongoClient, type Db, type Document } from 'mongodb';
import type { Pool } from 'pg';
import { pgPool } from '../../engines/connections';
import { introspectTable, readBatch } from '../../engines/postgres/source';
import { documentMapper } from '../../engines/mongodb/mapping/document';
import { inversionProblems, keyOfId, rowMapperFor } from '../../engines/mongodb/mapping/inverse';
import { MappingError } from '../../engines/errors';
import type { LossyPolicy, TablePlan } from '../../contracts/tables';
import type { SourceRow } from '../../engines/rows';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';

const setup = `
  CREATE TYPE mood AS ENUM ('sad', 'happy');
  CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
  CREATE TABLE inv (
    id integer PRIMARY KEY,
    i2 smallint, i4 integer, i8 bigint, n numeric, n_text numeric, f4 real, f8 double precision,
    b boolean, t text, vc varchar(20), c char(5), e mood, dint posint,
    by bytea, u uuid, tstz timestamptz, ts timestamp, ts_text timestamp, d date,
    j json, jb jsonb,
    ai integer[], ai2 integer[], an numeric[], ats timestamptz[], at text[], ab bytea[], ajb jsonb[], au uuid[], ad date[], ae mood[],
    iv interval, ip inet, r int4range, bx box[],
    renamed text, dropped text,
    g integer GENERATED ALWAYS AS (i2 * 2) STORED
  );
  CREATE TABLE composite (tenant text, at timestamptz, n numeric, v text, PRIMARY KEY (tenant, at, n));
  CREATE TABLE array_key (k integer[] PRIMARY KEY, v text);
  CREATE TABLE parent (id integer PRIMARY KEY, req text NOT NULL, opt text, dflt text NOT NULL DEFAULT 'x', ts timestamp);
  CREATE TABLE child (id integer PRIMARY KEY, parent_id integer);
`;

const zeros = (n: number) => '0'.repeat(n);

/** Edge values; every column not named is NULL. Text literals, cast by the column's type. */
const rows: Array<Record<string, string>> = [
  {
    id: '1', i2: '-32768', i4: '-2147483648', i8: '-9223372036854775808', n: 'NaN', n_text: '1.0000000000000000000000000000000005',
    f4: '-Infinity', f8: '-0', b: 'false', t: '', vc: '👍🏽 e\u0301', c: 'ab', e: 'sad', dint: '1', by: '\\x',
    u: '00000000-0000-0000-0000-000000000000', tstz: '0001-01-01 00:00:00.001+00 BC', ts: '4713-01-01 00:00:00 BC', ts_text: 'infinity',
    d: '4713-01-01 BC',
    j: '{"big": 12345678901234567890, "__proto__": {"x": 1}, "a.b": 1, "$x": 2, "dup": 1, "dup": 2, "dec": 0.1000000000000000055511151231257827, "n": null, "2": "int-like key"}',
    jb: '[1, 2147483648, -9223372036854775808, 9223372036854775808, 0.1, 1.0, 0.1000000000000000055511151231257827, 1e400, -0.0, "s\\"q\\\\", {"k": [null, true, false]}, 1.5e-7]',
    ai: '{1,NULL,3}', ai2: '{{1,NULL},{3,4}}', an: '{NaN,1.50,-Infinity,NULL}', ats: '{"2024-01-01 00:00:00.123+00",NULL}',
    at: '{"a,b",NULL,"NULL","","q\\"uote","back\\\\slash","{brace}"," spaced ","日本"}', ab: '{"\\\\x00ff",NULL,"\\\\x"}',
    ajb: '{"{\\"a\\": [1, \\"x,y\\"]}","2",NULL}', au: '{00000000-0000-0000-0000-000000000001,NULL}', ad: '{2024-02-29,"0044-03-15 BC"}',
    ae: '{happy,NULL,sad}', iv: '-1 years -2 mons +3 days 04:05:06.789', ip: '2001:db8::1/64', r: '[1,10)', bx: '{(1,1),(0,0);(2,2),(1,1)}',
    renamed: 'r1', dropped: 'd1',
  },
  {
    id: '2', i2: '32767', i4: '2147483647', i8: '9223372036854775807', n: 'Infinity', n_text: '-Infinity', f4: '3.4028235e+38', f8: 'NaN',
    b: 'true', t: 'e\u0301 日本語 \t\n\\ "q"', vc: 'x', c: 'abcde', e: 'happy', dint: '2147483647', by: '\\x00ff10807f5c22',
    u: 'ffffffff-ffff-ffff-ffff-ffffffffffff', tstz: '275760-09-13 00:00:00+00', ts: '10000-01-01 12:00:00.5', ts_text: '2024-01-01 00:00:00.123456',
    d: '275760-09-13', j: '{"nested": {"deep": [[1, [2, {"x": null}]], []]}, "s": "\\u00e9\\n\\t\\\\"}', jb: '{"$id": 1, "$ref": "r"}',
    ai: '{}', ai2: '{{{1}},{{2}}}', an: '{12345678901234567890.123456789}', ats: '{}', at: '{}', ab: '{}', bx: '{}', r: 'empty', renamed: '',
  },
  {
    id: '3', i2: '0', i4: '0', i8: '0', n: '-0.000', n_text: '12.50', f4: '0.1', f8: '1e308', b: 'true',
    tstz: '2024-02-29 23:59:59.123+00', ts: '2024-02-29 23:59:59', d: '2024-02-29', jb: '5', j: '"str"',
    an: `{0.${zeros(40)},1${zeros(40)}}`, dropped: 'd3',
  },
  { id: '4', f8: '5e-324', n: '-12345678901234567890.123456789', jb: '"text"', i8: '9007199254740993', i4: '7' },
  { id: '5' },
  {
    id: '6', f4: '-0', f8: '0.1', n: '0.0000001', tstz: '1970-01-01 00:00:00+00', ts: '1969-12-31 23:59:59.999', d: '0001-01-01 BC',
    i8: '-9007199254740993', ai: '{-2147483648,2147483647}', j: '[]', jb: '{}',
  },
  { id: '7', n: `123456789012345678901234567890.1234`, j: '{"d": 1e300, "x": -1.5e-300, "i": 1e3}', jb: `{"big": 1${zeros(30)}, "small": 1e-30, "neg": -12345678901234567890}` },
];

const lossy: Record<string, LossyPolicy> = { n_text: 'string', ts_text: 'string' };

async function insertRows(pool: Pool, table: string, list: Array<Record<string, string>>): Promise<void> {
  for (const row of list) {
    const cols = Object.keys(row);
    await pool.query(
      `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_c, i) => `$${i + 1}`).join(', ')})`,
      cols.map((c) => row[c]),
    );
  }
}

async function planOf(pool: Pool, name: string, options: { lossy?: Record<string, LossyPolicy>; fields?: Record<string, string | null> } = {}): Promise<TablePlan> {
  const plan = await introspectTable(pool, { name: { schema: 'public', name } });
  if (typeof plan === 'string') throw new Error(plan);
  for (const c of plan.columns) {
    c.lossy = options.lossy?.[c.name] ?? 'fail';
    if (options.fields && c.name in options.fields) c.field = options.fields[c.name];
  }
  return plan;
}

const readAll = (pool: Pool, plan: TablePlan) => readBatch(pool, plan, { index: 0, lo: null, hi: null }, null, 1000);

const isJson = (type: string) => /^jsonb?(\[\])?$/.test(type);

/**
 * Every column the inverse wrote, compared with the original row in PostgreSQL; the names of
 * the columns that differ (none when the round trip is exact).
 */
async function differences(pool: Pool, plan: TablePlan, id: string, row: SourceRow, absent: string[]): Promise<string[]> {
  const columns = plan.columns.filter((c) => c.name in row && !absent.includes(c.name));
  const checks: string[] = [];
  const params: (string | null)[] = [id];
  for (const c of columns) {
    params.push(row[c.name]);
    const p = `$${params.length}::${c.type}`;
    const col = `"${c.name}"`;
    const same: string[] = [];
    if (c.type === 'json') same.push(`${p}::jsonb IS NOT DISTINCT FROM ${col}::jsonb`);
    else if (c.type !== 'box[]') same.push(`${p} IS NOT DISTINCT FROM ${col}`); // box has no equality
    if (!isJson(c.type)) same.push(`${p}::text IS NOT DISTINCT FROM ${col}::text`);
    checks.push(`(${same.join(' AND ')}) AS "${c.name}"`);
  }
  const result = await pool.query(`SELECT ${checks.join(', ')} FROM ${plan.table.name} WHERE id = $1`, params);
  assert.equal(result.rows.length, 1, `row ${id}`);
  // Ferry's pools read every value as PostgreSQL text: a boolean is 't' or 'f'.
  return columns.filter((c) => ![true, 't'].includes(result.rows[0][c.name])).map((c) => `${c.name}: ${JSON.stringify(row[c.name])}`);
}

describe('inverse mapping: PostgreSQL → documents → MongoDB-wire server → rows again', function () {
  this.timeout(120_000);
  let pgUrl: string;
  let pool: Pool;
  let mongo: MongoClient;
  let db: Db;
  let plan: TablePlan;
  /** The documents as read back: promoted (driver defaults) and not. */
  let readBack: Record<'promoted' | 'bson', Document[]>;

  before(async () => {
    loadStackEnv();
    pgUrl = await createDatabase('mapping');
    pool = pgPool(pgUrl);
    await pool.query(setup);
    await insertRows(pool, 'inv', rows);
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!, { serverSelectionTimeoutMS: 10_000 });
    db = mongo.db(uniqueName('mapping'));
    plan = await planOf(pool, 'inv', { lossy, fields: { renamed: 'alias', dropped: null } });
    const docs = (await readAll(pool, plan)).map(documentMapper(plan));
    assert.equal(docs.length, rows.length);
    const coll = db.collection('inv');
    await coll.insertMany(docs, { ordered: false });
    readBack = {
      promoted: await coll.find({}).sort({ _id: 1 }).toArray(),
      bson: await coll.find({}, { promoteValues: false }).sort({ _id: 1 }).toArray(),
    };
  });

  after(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await mongo?.close();
    await pool?.end();
    if (pgUrl) await dropDatabase(pgUrl);
  });

  for (const mode of ['promoted', 'bson'] as const) {
    it(`reads every column back equal in PostgreSQL (documents read ${mode === 'promoted' ? 'with' : 'without'} promotion)`, async () => {
      const toRow = rowMapperFor(plan);
      assert.equal(readBack[mode].length, rows.length);
      for (const doc of readBack[mode]) {
        const { key, row, absent } = toRow(doc);
        assert.equal(key.length, 1);
        assert.deepEqual(absent, ['dropped'], `row ${key[0]}`);
        assert.equal(row.dropped, null);
        assert.ok(!('g' in row), 'generated columns are left to the source');
        assert.equal(row.id, key[0]);
        assert.deepEqual(await differences(pool, plan, key[0], row, absent), [], `row ${key[0]} differs`);
      }
    });
  }

  it('the comparison itself sees a changed scale, a changed instant and a changed element', async () => {
    const { row } = rowMapperFor(plan)(readBack.bson[2]);
    const changed = { ...row, n_text: '12.5', tstz: '2024-02-29 23:59:59.124+00', an: `{0,1${zeros(40)}}` };
    assert.deepEqual((await differences(pool, plan, '3', changed, ['dropped'])).map((d) => d.split(':')[0]), ['n_text', 'tstz', 'an']);
  });

  it('brings renamed fields back to their columns and lists missing fields as absent', () => {
    const doc = readBack.bson[0];
    assert.ok('alias' in doc && !('renamed' in doc) && !('dropped' in doc));
    const toRow = rowMapperFor(plan);
    assert.equal(toRow(doc).row.renamed, 'r1');
    const partial = { ...doc };
    delete partial.alias;
    delete partial.i8;
    const back = toRow(partial);
    assert.deepEqual(back.absent.sort(), ['dropped', 'i8', 'renamed']);
    assert.equal(back.row.i8, null);
    assert.deepEqual(toRow({ ...doc, alias: null }).absent, ['dropped'], 'a null field is a NULL, not an absent column');
  });

  it('refuses values of a type the column cannot take, naming table, column, key and what it found', () => {
    const toRow = rowMapperFor(plan);
    const doc = readBack.promoted[0];
    const cases: Array<[Document, RegExp]> = [
      [{ ...doc, i4: 'five' }, /^public\.inv\.i4 \(row id=1\): found a string "five", expected an integer/],
      [{ ...doc, i2: 40000 }, /^public\.inv\.i2 \(row id=1\): found a number 40000, expected a smallint/],
      [{ ...doc, i8: 1.5 }, /^public\.inv\.i8 .*found a number 1\.5, expected a bigint/],
      [{ ...doc, u: '00000000-0000-0000-0000-000000000000' }, /^public\.inv\.u .*found a string .* expected a uuid/],
      [{ ...doc, d: new Date('2024-01-01T10:00:00Z') }, /^public\.inv\.d .*found a Date 2024-01-01T10:00:00.000Z, expected a date \(a Date at midnight UTC\)/],
      [{ ...doc, by: 'AA==' }, /^public\.inv\.by .*expected bytea/],
      [{ ...doc, b: 1 }, /^public\.inv\.b .*found a number 1, expected a boolean/],
      [{ ...doc, t: 5 }, /^public\.inv\.t .*found a number 5, expected a string/],
      [{ ...doc, jb: { when: new Date(0) } }, /^public\.inv\.jb .*found a Date 1970-01-01T00:00:00.000Z, expected a JSON value/],
      [{ ...doc, jb: NaN }, /^public\.inv\.jb .*expected a JSON number/],
      [{ ...doc, ai2: [[1], [2, 3]] }, /^public\.inv\.ai2 .*rectangular/],
      [{ ...doc, ai: [1, 'x'] }, /^public\.inv\.ai .*found a string "x", expected an integer/],
      [{ ...doc, tstz: '2024-01-01' }, /^public\.inv\.tstz .*expected a timestamptz \(Date\)/],
      [{ ...doc, _id: 'one' }, /^public\.inv\.id \(document _id a string "one"\): found a string "one", expected an integer/],
      [{ ...doc, alias: 5 }, /^public\.inv\.renamed \(row id=1\): found a number 5, expected a string/],
      [{ ...doc, id: 2 }, /^public\.inv\.id \(row id=1\): field "id" holds a number 2 but _id says 1/],
    ];
    // Numbers an application wrote as doubles (as mongosh does) are read by their value.
    assert.deepEqual([toRow({ ...doc, i8: 1e18 }).row.i8, toRow({ ...doc, i4: -0 }).row.i4, toRow({ ...doc, f8: 1e300 }).row.f8], ['1000000000000000000', '0', '1e+300']);
    for (const [bad, pattern] of cases) {
      assert.throws(() => toRow(bad), (err: unknown) => {
        assert.ok(err instanceof MappingError, String(err));
        assert.match(err.message, pattern);
        return true;
      });
    }
  });

  it('reads composite and array keys back from _id alone', async () => {
    await pool.query(`INSERT INTO composite VALUES ('t1', '2024-01-01 00:00:00.123+00', 1.50, 'a'), ('t1', '2024-01-01 00:00:00.124+00', 1.5, 'b'), ('t2', '0001-01-01 00:00:00+00 BC', 'NaN', 'c'), ('t,"3', '2024-01-01 00:00:00+00', -1${zeros(30)}.5, 'd')`);
    await pool.query(`INSERT INTO array_key VALUES ('{1,2}', 'a'), ('{{1,NULL},{3,4}}', 'b'), ('{}', 'c')`);
    for (const table of ['composite', 'array_key']) {
      const kplan = await planOf(pool, table);
      const docs = (await readAll(pool, kplan)).map(documentMapper(kplan));
      const coll = db.collection(table);
      await coll.insertMany(docs);
      const stored = await coll.find({}).toArray();
      assert.equal(stored.length, docs.length);
      for (const doc of stored) {
        assert.equal(typeof doc._id, 'object');
        const key = keyOfId(kplan, doc._id);
        assert.deepEqual(rowMapperFor(kplan)(doc).key, key);
        const where = kplan.key.map((k, i) => `"${k}" IS NOT DISTINCT FROM $${i + 1}::${kplan.columns.find((c) => c.name === k)!.type}`).join(' AND ');
        const found = await pool.query(`SELECT v FROM ${table} WHERE ${where}`, key);
        assert.deepEqual(found.rows.map((r) => r.v), [doc.v], `${table} key ${JSON.stringify(key)}`);
      }
    }
    const cplan = await planOf(pool, 'composite');
    assert.throws(() => keyOfId(cplan, { tenant: 't1', at: new Date(0) }), /public\.composite: _id .* is not a key of this table: key column n has no value/);
    assert.throws(() => keyOfId(cplan, { tenant: 't1', at: new Date(0), n: 1, x: 1 }), /it has x, which are not key columns/);
    assert.throws(() => keyOfId(cplan, 't1'), /expected a subdocument of tenant, at, n/);
  });

  it('names what cannot be inverted exactly: embeds, truncation, NOT NULL columns the documents lack, JSON nulls', async () => {
    const parent = await planOf(pool, 'parent', { lossy: { ts: 'truncate' }, fields: { req: null, opt: null, dflt: null } });
    const child = await planOf(pool, 'child');
    parent.embeds = [{ kind: 'many', as: 'children', plan: child, on: [['parent_id', 'id']] }];
    const problems = inversionProblems(parent);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0], /^public\.parent: the embedded public\.child \(field "children"\) cannot be written back/);
    assert.match(problems[1], /^public\.parent\.req \(text\): dropped from the documents but NOT NULL without a default.*tables\[\]\.columns\.req\.drop/);
    assert.match(problems[2], /^public\.parent\.ts \(timestamp without time zone\): lossy: truncate .*set tables\[\]\.columns\.ts\.lossy: string/);
    assert.deepEqual(inversionProblems(await planOf(pool, 'composite')), []);
    assert.deepEqual(inversionProblems(await planOf(pool, 'child')), []);
    assert.deepEqual(inversionProblems(plan).map((p) => p.split(':')[0]), ['public.inv.j (json)', 'public.inv.jb (jsonb)', 'public.inv.ajb (jsonb[])']);
  });
});
