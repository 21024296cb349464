// Real PostgreSQL rows (read as Ferry reads them) → mapped documents → the real MongoDB-wire
// server → read back: the stored BSON must be byte for byte what the mapper produced, and
// its types must be the mapping table's (Int32 vs Int64 vs Double vs Decimal128, -0 and NaN
// kept, dates to the millisecond, Binary subtypes, nested arrays).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Binary, BSON, Decimal128, Double, Int32, Long, MongoClient, type Db, type Document } from 'mongodb';
import type { Pool } from 'pg';
import { pgPool } from '../../engines/connections';
import { introspectTable, readBatch } from '../../engines/postgres/source';
import { documentId, documentMapper } from '../../engines/mongodb/mapping/document';
import { mongoFieldProblems } from '../../engines/mongodb/mapping/field-names';
import { MappingError } from '../../engines/errors';
import type { ColumnInfo, LossyPolicy, TablePlan } from '../../contracts/tables';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';

const MB = 1 << 20;
const ej = (v: unknown): string => BSON.EJSON.stringify(v as Document, { relaxed: false });

/** 1 MB of bytes that do not compress, so PostgreSQL stores them out of line (TOAST). */
function incompressible(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0, block = 0; i < bytes; i += 32, block++) createHash('sha256').update(String(block)).digest().copy(out, i);
  return out;
}

const bigBytes = incompressible(MB);
// Mixed-width UTF-8 text, also incompressible: hex digits interleaved with multi-byte characters.
const bigText = incompressible(MB / 2).toString('hex').replace(/(.{61})/g, '$1é👍🏽\u0301').slice(0, MB);

const setup = `
  CREATE TYPE mood AS ENUM ('sad', 'happy');
  CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
  CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
  CREATE TYPE pair AS (a integer, b text);
  CREATE TABLE all_types (
    id integer PRIMARY KEY,
    i2 smallint, i4 integer, i8 bigint,
    n numeric, n_round numeric, n_text numeric,
    f4 real, f8 double precision,
    b boolean, t text, vc varchar(20), c char(5), e mood, dm email, dint posint,
    by bytea, u uuid,
    tstz timestamptz, ts timestamp, ts_trunc timestamp, ts_text timestamp, d date,
    j json, jb jsonb,
    ai integer[], ai2 integer[], an numeric[], ats timestamptz[], at text[], ab bytea[],
    iv interval, tm time, mo money, ip inet, r int4range, comp pair, x xml, bits bit(4), tv tsvector, pt point, bx box[],
    "a.b" text
  );
  CREATE TABLE composite (tenant text, at timestamptz, n numeric, v text, PRIMARY KEY (tenant, at, n));
  CREATE TABLE refusals (id integer PRIMARY KEY, ts timestamp, d date, n numeric, j jsonb, adom posint[]);
`;

/** Edge values; every column not named is NULL. Text literals, cast by the column's type. */
const rows: Array<Record<string, string>> = [
  {
    id: '1', i2: '-32768', i4: '-2147483648', i8: '-9223372036854775808', n: 'NaN', n_round: '-1.0000000000000000000000000000000005',
    n_text: '1.0000000000000000000000000000000005', f4: '-Infinity', f8: '-0', b: 'false', t: '', vc: '👍🏽 e\u0301', c: 'ab', e: 'sad',
    dm: 'a@b', dint: '1', by: '\\x', u: '00000000-0000-0000-0000-000000000000', tstz: '0001-01-01 00:00:00.001+00 BC',
    ts: '4713-01-01 00:00:00 BC', ts_trunc: '0044-03-15 12:00:00.999999 BC', ts_text: 'infinity', d: '4713-01-01 BC',
    j: '{"big": 12345678901234567890, "__proto__": {"x": 1}, "a.b": 1, "$x": 2, "dup": 1, "dup": 2}',
    jb: '[1, 2147483648, -9223372036854775808, 9223372036854775808, 0.1, 1.0, 0.1000000000000000055511151231257827, 1e400, -0.0]',
    ai: '{1,NULL,3}', ai2: '{{1,NULL},{3,4}}', an: '{NaN,1.50,-Infinity,NULL}', ats: '{"2024-01-01 00:00:00.123+00",NULL}',
    at: '{"a,b",NULL,"NULL","","q\\"uote"}', ab: '{"\\\\x00ff",NULL}',
    iv: '-1 years -2 mons +3 days 04:05:06.789', tm: '23:59:59.999999', mo: '-12.34', ip: '2001:db8::1/64', r: '[1,10)',
    comp: '(1,"a b")', x: '<a>b</a>', bits: '1010', tv: 'a fat cat', pt: '(1.5,-2)', bx: '{(1,1),(0,0);(2,2),(1,1)}', 'a.b': 'dotted',
  },
  {
    id: '2', i2: '32767', i4: '2147483647', i8: '9223372036854775807', n: 'Infinity', n_round: '99999999999999999999999999999999999',
    n_text: '-Infinity', f4: '3.4028235e+38', f8: 'NaN', b: 'true', t: 'e\u0301 日本語 \t\n', vc: 'x', c: 'abcde', e: 'happy',
    dm: 'x@y.z', dint: '2147483647', by: '\\x00ff10807f', u: 'ffffffff-ffff-ffff-ffff-ffffffffffff', tstz: '275760-09-13 00:00:00+00',
    ts: '10000-01-01 12:00:00.5', ts_trunc: '1969-12-31 23:59:59.999999', ts_text: '2024-01-01 00:00:00.123456', d: '275760-09-13',
    j: '{"nested": {"deep": [[1, [2, {"x": null}]], []]}, "s": "\\u00e9\\n"}', jb: '{"$id": 1, "$ref": "r"}',
    ai: '{}', ai2: '{{{1}},{{2}}}', an: '{12345678901234567890.123456789}', ats: '{}', at: '{}', ab: '{}',
    iv: '00:00:00', tm: '00:00:00', mo: '1234567.89', ip: '192.168.0.1', r: 'empty', comp: '(,)', x: '<r/>', bits: '0000',
    tv: "'quoted' 'x':1", pt: '(0,0)', bx: '{}', 'a.b': '',
  },
  {
    id: '3', i2: '0', i4: '0', i8: '0', n: '-0.000', n_round: '0.' + '0'.repeat(6000) + '1', n_text: '12.50', f4: '0.1', f8: '1e308',
    b: 'true', tstz: '2024-02-29 23:59:59.123+00', ts: '2024-02-29 23:59:59', ts_trunc: '2024-02-29 23:59:59.123', d: '2024-02-29',
    jb: '5', j: 'null', an: '{0.' + '0'.repeat(40) + ',1' + '0'.repeat(40) + '}',
  },
  { id: '4', f8: '5e-324', n: '-12345678901234567890.123456789', jb: '"text"' },
  { id: '5' },
  { id: '6', t: bigText, by: `\\x${bigBytes.toString('hex')}` },
];

const lossy: Record<string, LossyPolicy> = { n_round: 'truncate', n_text: 'string', ts_trunc: 'truncate', ts_text: 'string' };

async function insertRows(pool: Pool, table: string, list: Array<Record<string, string>>): Promise<void> {
  for (const row of list) {
    const cols = Object.keys(row);
    await pool.query(
      `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_c, i) => `$${i + 1}`).join(', ')})`,
      cols.map((c) => row[c]),
    );
  }
}

async function planOf(pool: Pool, name: string, policies: Record<string, LossyPolicy> = {}): Promise<TablePlan> {
  const plan = await introspectTable(pool, { name: { schema: 'public', name } });
  if (typeof plan === 'string') throw new Error(plan);
  for (const c of plan.columns) c.lossy = policies[c.name] ?? 'fail';
  return plan;
}

async function readAll(pool: Pool, plan: TablePlan) {
  return readBatch(pool, plan, { index: 0, lo: null, hi: null }, null, 1000);
}

describe('mapping round trip: PostgreSQL → documents → MongoDB-wire server', function () {
  this.timeout(120_000);
  let pgUrl: string;
  let pool: Pool;
  let mongo: MongoClient;
  let db: Db;
  let plan: TablePlan;
  let mapped: Document[];
  let stored: Map<number, Document>;
  let raw: Map<number, Buffer>;

  before(async () => {
    loadStackEnv();
    pgUrl = await createDatabase('mapping');
    pool = pgPool(pgUrl);
    await pool.query(setup);
    await insertRows(pool, 'all_types', rows);
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!, { serverSelectionTimeoutMS: 10_000 });
    db = mongo.db(uniqueName('mapping'));

    plan = await planOf(pool, 'all_types', lossy);
    assert.deepEqual(mongoFieldProblems(plan), []);
    const map = documentMapper(plan);
    mapped = (await readAll(pool, plan)).map(map);
    assert.equal(mapped.length, rows.length);
    const coll = db.collection('all_types');
    await coll.insertMany(mapped.map((d) => ({ ...d })), { ordered: false });
    stored = new Map((await coll.find({}, { promoteValues: false }).toArray()).map((d) => [(d._id as unknown as Int32).value, d]));
    const rawDocs = (await coll.find({}, { raw: true }).toArray()) as unknown as Buffer[];
    raw = new Map(rawDocs.map((b) => [(BSON.deserialize(b, { promoteValues: true })._id as number), Buffer.from(b)]));
  });

  after(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await mongo?.close();
    await pool?.end();
    if (pgUrl) await dropDatabase(pgUrl);
  });

  it('stores every document byte for byte as mapped (including TOAST-sized values)', () => {
    assert.equal(stored.size, rows.length);
    for (const doc of mapped) {
      const id = (doc._id as Int32).value;
      const expected = Buffer.from(BSON.serialize(doc));
      assert.ok(raw.get(id)!.equals(expected), `document ${id} differs:\n stored ${ej(BSON.deserialize(raw.get(id)!))}\n mapped ${ej(doc)}`);
    }
    const big = stored.get(6)!;
    assert.equal(big.t, bigText);
    assert.ok(big.by instanceof Binary && big.by.sub_type === 0 && Buffer.from(big.by.buffer).equals(bigBytes));
  });

  it('keeps integer widths: Int32 for smallint/integer, Int64 for bigint', () => {
    const [min, max, zero] = [stored.get(1)!, stored.get(2)!, stored.get(3)!];
    assert.equal(ej([min.i2, min.i4, min.i8]), ej([new Int32(-32768), new Int32(-2147483648), Long.MIN_VALUE]));
    assert.equal(ej([max.i2, max.i4, max.i8]), ej([new Int32(32767), new Int32(2147483647), Long.MAX_VALUE]));
    assert.equal(ej([zero.i2, zero.i4, zero.i8]), ej([new Int32(0), new Int32(0), Long.fromNumber(0)]));
    assert.ok(min.i8 instanceof Long && max.i2 instanceof Int32);
  });

  it('keeps numeric as Decimal128 (NaN, ±Infinity) under each policy', () => {
    const d = (id: number, f: string) => {
      const v = stored.get(id)![f];
      assert.ok(v instanceof Decimal128, `${id}.${f} is ${ej(v)}`);
      return v.toString();
    };
    assert.equal(d(1, 'n'), 'NaN');
    assert.equal(d(2, 'n'), 'Infinity');
    assert.equal(d(3, 'n'), '0.000', 'PostgreSQL numeric has no negative zero: -0.000 reads back as 0.000');
    assert.equal(d(4, 'n'), '-12345678901234567890.123456789');
    assert.equal(d(1, 'n_round'), '-1.000000000000000000000000000000001');
    assert.equal(d(2, 'n_round'), '1.' + '0'.repeat(33) + 'E+35');
    assert.equal(d(3, 'n_round'), '1E-6001');
    assert.equal(stored.get(1)!.n_text, '1.0000000000000000000000000000000005');
    assert.equal(stored.get(2)!.n_text, '-Infinity');
    assert.equal(stored.get(3)!.n_text, '12.50');
    assert.equal(ej(stored.get(3)!.an), ej([Decimal128.fromString('0E-40'), Decimal128.fromString('1.' + '0'.repeat(33) + 'E+40')]));
    assert.equal(ej(stored.get(1)!.an), ej([Decimal128.fromString('NaN'), Decimal128.fromString('1.50'), Decimal128.fromString('-Infinity'), null]));
  });

  it('keeps floats as Double with NaN, ±Infinity, -0 and the extremes', () => {
    const f = (id: number, name: string) => {
      const v = stored.get(id)![name];
      assert.ok(v instanceof Double, `${id}.${name} is ${ej(v)}`);
      return v.value;
    };
    assert.equal(f(1, 'f4'), -Infinity);
    assert.ok(Object.is(f(1, 'f8'), -0));
    assert.equal(f(2, 'f4'), 3.4028235e38);
    assert.ok(Number.isNaN(f(2, 'f8')));
    assert.equal(f(3, 'f4'), 0.1);
    assert.equal(f(3, 'f8'), 1e308);
    assert.equal(f(4, 'f8'), 5e-324);
  });

  it('keeps strings, char padding, enums, domains, bytea and uuid subtypes', () => {
    const [a, b] = [stored.get(1)!, stored.get(2)!];
    assert.equal(a.t, '');
    assert.equal(a.vc, '👍🏽 e\u0301');
    assert.equal(b.t, 'e\u0301 日本語 \t\n');
    assert.equal(a.c, 'ab   ');
    assert.equal(b.c, 'abcde');
    assert.equal(a.e, 'sad');
    assert.equal(b.dm, 'x@y.z');
    assert.equal(ej(b.dint), ej(new Int32(2147483647)));
    assert.ok(a.by instanceof Binary && a.by.sub_type === 0 && a.by.length() === 0);
    assert.deepEqual([...(b.by as Binary).buffer], [0, 255, 16, 128, 127]);
    for (const [doc, hex] of [[a, '00000000000000000000000000000000'], [b, 'ffffffffffffffffffffffffffffffff']] as const) {
      assert.ok(doc.u instanceof Binary && doc.u.sub_type === 4);
      assert.equal(Buffer.from(doc.u.buffer).toString('hex'), hex);
    }
    assert.equal(b.b, true);
    assert.equal(a.b, false);
  });

  it('stores dates to the millisecond: BC, beyond 9999, truncated or kept as text', () => {
    const iso = (id: number, f: string) => {
      const v = stored.get(id)![f];
      assert.ok(v instanceof Date, `${id}.${f} is ${ej(v)}`);
      return v.toISOString();
    };
    assert.equal(iso(1, 'tstz'), '0000-01-01T00:00:00.001Z');
    assert.equal(iso(1, 'ts'), '-004712-01-01T00:00:00.000Z');
    assert.equal(iso(1, 'd'), '-004712-01-01T00:00:00.000Z');
    assert.equal(iso(1, 'ts_trunc'), '-000043-03-15T12:00:00.999Z');
    assert.equal(stored.get(1)!.ts_text, 'infinity');
    assert.equal(iso(2, 'tstz'), '+275760-09-13T00:00:00.000Z');
    assert.equal(iso(2, 'ts'), '+010000-01-01T12:00:00.500Z');
    assert.equal(iso(2, 'd'), '+275760-09-13T00:00:00.000Z');
    assert.equal(iso(2, 'ts_trunc'), '1969-12-31T23:59:59.999Z');
    assert.equal(stored.get(2)!.ts_text, '2024-01-01 00:00:00.123456');
    assert.equal(iso(3, 'tstz'), '2024-02-29T23:59:59.123Z');
    assert.equal(iso(3, 'ts'), '2024-02-29T23:59:59.000Z');
    assert.equal(iso(3, 'd'), '2024-02-29T00:00:00.000Z');
    assert.equal(ej(stored.get(1)!.ats), ej([new Date('2024-01-01T00:00:00.123Z'), null]));
  });

  it('stores json with exact numbers, nested arrays and unusual keys', () => {
    const a = stored.get(1)!;
    assert.deepEqual(Object.keys(a.j), ['big', '__proto__', 'a.b', '$x', 'dup']);
    assert.equal(Object.getPrototypeOf(a.j), Object.prototype);
    assert.equal(ej(a.j), ej({ big: Decimal128.fromString('12345678901234567890'), ['__proto__']: { x: new Int32(1) }, 'a.b': new Int32(1), $x: new Int32(2), dup: new Int32(2) }));
    assert.equal(ej(a.jb), ej([
      new Int32(1), Long.fromString('2147483648'), Long.MIN_VALUE, Decimal128.fromString('9223372036854775808'), new Double(0.1), new Double(1),
      // jsonb keeps numbers as numeric: 1e400 comes out as 401 digits, -0.0 as 0.0 (numeric has no -0).
      Decimal128.fromString('0.1000000000000000055511151231257827'), Decimal128.fromString('1.' + '0'.repeat(33) + 'E+400'), new Double(0),
    ]));
    assert.equal(ej(stored.get(2)!.j), ej({ nested: { deep: [[new Int32(1), [new Int32(2), { x: null }]], []] }, s: 'é\n' }));
    assert.equal(ej(stored.get(3)!.jb), ej(new Int32(5)));
    assert.equal(stored.get(3)!.j, null);
    assert.equal(stored.get(4)!.jb, 'text');
  });

  it('reads {"$id", "$ref"} back as a DBRef (the driver promotes it; the stored bytes are the mapped ones)', () => {
    assert.equal(stored.get(2)!.jb?._bsontype, 'DBRef');
  });

  it('stores arrays nested with NULL elements, and other types as PostgreSQL text', () => {
    const [a, b] = [stored.get(1)!, stored.get(2)!];
    assert.equal(ej(a.ai), ej([new Int32(1), null, new Int32(3)]));
    assert.equal(ej(a.ai2), ej([[new Int32(1), null], [new Int32(3), new Int32(4)]]));
    assert.equal(ej(b.ai2), ej([[[new Int32(1)]], [[new Int32(2)]]]));
    assert.deepEqual(b.ai, []);
    assert.deepEqual(a.at, ['a,b', null, 'NULL', '', 'q"uote']);
    assert.deepEqual([...(a.ab[0] as Binary).buffer], [0, 255]);
    assert.equal(a.ab[1], null);
    assert.deepEqual(
      [a.iv, a.tm, a.mo, a.ip, a.r, a.comp, a.x, a.bits, a.tv, a.pt, a.bx, a['a.b']],
      ['-1 years -2 mons +3 days 04:05:06.789', '23:59:59.999999', '-$12.34', '2001:db8::1/64', '[1,10)', '(1,"a b")', '<a>b</a>', '1010', "'a' 'cat' 'fat'", '(1.5,-2)', '{(1,1),(0,0);(2,2),(1,1)}', 'dotted'],
    );
    assert.equal(b.r, 'empty');
    assert.equal(b.comp, '(,)');
  });

  it('stores NULL as a present null', () => {
    const empty = stored.get(5)!;
    for (const c of plan.columns) if (c.name !== 'id') assert.ok(c.name in empty && empty[c.name] === null, c.name);
  });

  it('finds and deletes documents by documentId, for single and composite keys', async () => {
    assert.equal(await db.collection('all_types').countDocuments({ _id: documentId(plan, ['4']) as never }), 1);
    await pool.query(`INSERT INTO composite VALUES ('t1', '2024-01-01 00:00:00.123+00', 1.50, 'a'), ('t1', '2024-01-01 00:00:00.124+00', 1.5, 'b'), ('t2', '0001-01-01 00:00:00+00 BC', 'NaN', 'c')`);
    const cplan = await planOf(pool, 'composite');
    const docs = (await readAll(pool, cplan)).map(documentMapper(cplan));
    const coll = db.collection('composite');
    await coll.insertMany(docs);
    const keys = (await pool.query(`SELECT tenant, at::text, n::text FROM composite ORDER BY 1, 2`)).rows.map((r) => [r.tenant, r.at, r.n]);
    assert.equal(keys[0][1], '2024-01-01 00:00:00.123+00');
    for (const key of keys) {
      const id = documentId(cplan, key);
      const found = await coll.find({ _id: id as never }, { promoteValues: false }).toArray();
      assert.equal(found.length, 1, `key ${key.join(', ')}`);
      assert.deepEqual(Object.keys(found[0]._id), ['tenant', 'at', 'n']);
    }
    await coll.deleteMany({ _id: { $in: keys.slice(0, 2).map((k) => documentId(cplan, k)) } as never });
    assert.equal(await coll.countDocuments({}), 1);
  });

  it('refuses values the target cannot hold, naming table, column and key', async () => {
    await insertRows(pool, 'refusals', [
      { id: '1', ts: '2024-01-01 00:00:00.123456' },
      { id: '2', d: 'infinity' },
      { id: '3', n: '1.0000000000000000000000000000000005' },
      { id: '4', j: '{"x": 123456789012345678901234567890123456789}' },
      { id: '5', d: '5874897-12-31' },
      { id: '6', ts: 'infinity' },
    ]);
    const expectations: Array<[string, RegExp]> = [
      ['ts', /below the millisecond.*lossy: string .* or truncate/], ['d', /infinity has no MongoDB date equivalent.*lossy: string for public\.refusals/],
      ['n', /35 significant digits/], ['j', /39 significant digits/], ['d', /outside the range/], ['ts', /infinity has no MongoDB date/],
    ];
    for (const policy of ['fail', 'truncate'] as const) {
      const rplan = await planOf(pool, 'refusals', { ts: policy, d: policy, n: policy, j: policy });
      const map = documentMapper(rplan);
      const read = await readAll(pool, rplan);
      for (const [i, [column, pattern]] of expectations.entries()) {
        const row = read.find((r) => r.id === String(i + 1))!;
        const truncatable = /significant|millisecond/.test(pattern.source);
        if (policy === 'truncate' && truncatable) {
          assert.doesNotThrow(() => map(row));
          continue;
        }
        assert.throws(() => map(row), (err: unknown) => {
          assert.ok(err instanceof MappingError);
          assert.ok(err.message.startsWith(`public.refusals.${column} (row id=${i + 1}): `), err.message);
          assert.match(err.message, pattern);
          return true;
        });
      }
    }
    const asText = await planOf(pool, 'refusals', { ts: 'string', d: 'string', n: 'string', j: 'string' });
    const docs = (await readAll(pool, asText)).map(documentMapper(asText));
    assert.deepEqual(docs.map((d) => d.ts ?? d.d ?? d.n ?? d.j), ['2024-01-01 00:00:00.123456', 'infinity', '1.0000000000000000000000000000000005', '{"x": 123456789012345678901234567890123456789}', '5874897-12-31', 'infinity']);
  });

  it('converts arrays of a domain by the domain\'s base type', async function () {
    const rplan = await planOf(pool, 'refusals');
    const adom = rplan.columns.find((c) => c.name === 'adom') as ColumnInfo;
    const elementIsDomain = (await pool.query(`SELECT typtype FROM pg_type WHERE oid = $1`, [adom.elementOid])).rows[0].typtype === 'd';
    if (elementIsDomain) {
      // ColumnInfo.elementOid is the domain's OID here (introspection does not resolve an
      // element domain to its base type), so the elements can only be stored as text.
      this.skip();
    }
    await pool.query(`INSERT INTO refusals (id, adom) VALUES (100, '{1,2}')`);
    const row = (await readAll(pool, rplan)).find((r) => r.id === '100')!;
    assert.equal(ej(documentMapper(rplan)(row).adom), ej([new Int32(1), new Int32(2)]));
  });
});
