// Debezium envelopes and value conversions, without services. The forms fed in here are the
// ones a real connector sent (see test/integration/debezium-values.test.ts, which proves the
// outputs equal PostgreSQL's own text).
import { strict as assert } from 'node:assert';
import { LosslessNumber } from 'lossless-json';
import { decodeKey, decodeMessage } from '../../activities/cdc/debezium';
import { debeziumLimits, rowFromDebezium } from '../../engines/postgres/capture/debezium-values';
import { type ChangeEvent } from '../../activities/cdc/types';
import { PoisonMessage } from '../../engines/errors';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';

const json = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const source = { schema: 'public', table: 'orders', ts_ms: 1700000000123, lsn: 123 };

function event(b: Buffer): ChangeEvent {
  const d = decodeMessage(b);
  assert.equal(d.kind, 'change');
  return (d as { event: ChangeEvent }).event;
}

describe('Debezium envelope decoding (pure)', () => {
  it('treats a missing or empty value, and a null payload, as a tombstone', () => {
    assert.deepEqual(decodeMessage(null), { kind: 'tombstone' });
    assert.deepEqual(decodeMessage(Buffer.alloc(0)), { kind: 'tombstone' });
    assert.deepEqual(decodeMessage(json({ schema: { type: 'struct' }, payload: null })), { kind: 'tombstone' });
  });

  for (const op of ['c', 'u', 'd', 'r', 't'] as const) {
    it(`decodes op ${op}, with and without the converter's schema`, () => {
      const payload = { before: op === 'u' || op === 'd' ? { id: 1 } : null, after: op === 'd' || op === 't' ? null : { id: 1 }, source, op, ts_ms: 5 };
      for (const body of [payload, { schema: { type: 'struct', fields: [] }, payload }]) {
        const e = event(json(body));
        assert.equal(e.op, op);
        assert.equal(e.schema, 'public');
        assert.equal(e.table, 'orders');
        assert.equal(e.sourceTsMs, 1700000000123);
        assert.equal(e.lsn, '123');
        assert.equal(e.before === null, payload.before === null);
        assert.equal(e.after === null, payload.after === null);
      }
    });
  }

  it('keeps int8 values and LSNs beyond 2^53 exact', () => {
    const e = event(json(`{"op":"c","before":null,"after":{"id":9223372036854775807,"n":-9007199254740993},"source":{"schema":"s","table":"t","ts_ms":1,"lsn":18446744073709551615}}`));
    assert.equal(e.lsn, '18446744073709551615');
    assert.equal((e.after!.id as LosslessNumber).value, '9223372036854775807');
    assert.equal((e.after!.n as LosslessNumber).value, '-9007199254740993');
  });

  it('falls back to the top-level ts_ms, and allows no lsn', () => {
    const e = event(json({ op: 'c', after: { id: 1 }, source: { schema: 's', table: 't' }, ts_ms: 42 }));
    assert.equal(e.sourceTsMs, 42);
    assert.equal(e.lsn, null);
  });

  const poison: Array<[string, string | object, RegExp]> = [
    ['invalid JSON', '{"op":', /not valid JSON/],
    ['a JSON array', [1, 2], /not a Debezium change event \(a JSON array\)/],
    ['a number', '12', /a JSON number/],
    ['no op', { source, after: {} }, /no op and source/],
    ['no source', { op: 'c', after: {} }, /no op and source/],
    ['an unknown op', { op: 'm', source }, /unsupported Debezium op "m"/],
    ['no table', { op: 'c', source: { schema: 's', ts_ms: 1 } }, /source.schema and source.table/],
    ['no time', { op: 'c', source: { schema: 's', table: 't' } }, /ts_ms/],
    ['an after that is no row', { op: 'c', source, after: [1] }, /after is not a row object \(a JSON array\)/],
    ['a bad lsn', { op: 'c', source: { ...source, lsn: 'x' } }, /source.lsn/],
  ];
  for (const [what, body, reason] of poison) {
    it(`refuses ${what} as a poison message`, () => {
      assert.throws(() => decodeMessage(json(body)), (err: Error) => err instanceof PoisonMessage && reason.test(err.message));
    });
  }

  it('decodes keys with and without schemas', () => {
    assert.equal(decodeKey(null), null);
    assert.equal((decodeKey(json('{"id":9223372036854775807}'))!.id as LosslessNumber).value, '9223372036854775807');
    assert.deepEqual(decodeKey(json({ schema: {}, payload: { k: 'a' } })), { k: 'a' });
    assert.equal(decodeKey(json({ schema: {}, payload: null })), null);
    assert.throws(() => decodeKey(json('[1]')), PoisonMessage);
    assert.throws(() => decodeKey(json('nope')), PoisonMessage);
  });
});

// ---------------------------------------------------------------------------------------

function col(name: string, type: string, typeOid: number, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name, type, typeOid, baseOid: typeOid, elementOid: 0, typeCategory: 'b', nullable: true, generated: false,
    userType: null, generationExpr: null, defaultExpr: null, collation: null, lossy: 'fail', field: name, ...extra,
  };
}

function arr(name: string, type: string, elementOid: number, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return col(name, type, 1, { elementOid, ...extra });
}

function plan(...columns: ColumnInfo[]): TablePlan {
  return {
    table: { schema: 'public', name: 't' }, display: 'public.t', columns, key: [columns[0].name], keySource: 'primary key',
    estimatedRows: 0, estimatedBytes: 0, chunkRows: 0, partitions: 0, ddl: { constraints: [], indexes: [], foreignKeys: [] }, embeds: [], warnings: [],
  };
}

/** The text of one column for each Debezium value. */
function texts(c: ColumnInfo, values: unknown[]): Array<string | null> {
  const p = plan(c);
  return values.map((v) => rowFromDebezium(p, { [c.name]: v }).row[c.name]);
}

const n = (s: string) => new LosslessNumber(s);
const PLACEHOLDER = '__debezium_unavailable_value';

describe('Debezium values → PostgreSQL text (pure)', () => {
  it('converts booleans and integers exactly', () => {
    assert.deepEqual(texts(col('b', 'boolean', 16), [true, false, null]), ['t', 'f', null]);
    assert.deepEqual(texts(col('i', 'bigint', 20), [n('9223372036854775807'), n('-9223372036854775808'), 5]), ['9223372036854775807', '-9223372036854775808', '5']);
    assert.throws(() => texts(col('i', 'bigint', 20), [n('1.5')]), /public\.t\.i \(bigint\): expected an integer/);
  });

  it('prints floats as float4out/float8out do with extra_float_digits 3', () => {
    assert.deepEqual(
      texts(col('f', 'double precision', 701), [n('1.0E15'), n('1.0E14'), n('1.0E-4'), n('1.0E-5'), n('-0.0'), 'NaN', 'Infinity', '-Infinity', n('4.9E-324'), n('1.2345678901234568E20'), n('0.1')]),
      ['1e+15', '100000000000000', '0.0001', '1e-05', '-0', 'NaN', 'Infinity', '-Infinity', '5e-324', '1.2345678901234568e+20', '0.1'],
    );
    // Java prints a float's own digits; the value is the float. PostgreSQL does not accept a
    // decimal halfway between two floats (3.911868e+08 would be, so it prints 8 digits).
    assert.deepEqual(texts(col('r', 'real', 700), [n('0.1'), n('1.6777216E7'), n('123456.7'), n('3.4028235E38'), n('3.9118682E8'), n('2.4414062E-4')]), [
      '0.1', '1.6777216e+07', '123456.7', '3.4028235e+38', '3.9118682e+08', '0.00024414062',
    ]);
  });

  it('keeps numeric text and renames Debezium\'s special values', () => {
    assert.deepEqual(texts(col('n', 'numeric', 1700), ['12.30', '-0.001', 'NAN', 'POSITIVE_INFINITY', 'NEGATIVE_INFINITY', '1.50E+3', '1.5E-3', '123456789012345678901234567890.1']), [
      '12.30', '-0.001', 'NaN', 'Infinity', '-Infinity', '1500', '0.0015', '123456789012345678901234567890.1',
    ]);
    assert.deepEqual(texts(col('m', 'money', 790), ['92233720368547758.07', '-1.50', '0.00', '1234.5']), ['$92,233,720,368,547,758.07', '-$1.50', '$0.00', '$1,234.50']);
  });

  it('converts bytea hex, dates, times and timestamps', () => {
    assert.deepEqual(texts(col('b', 'bytea', 17), ['00FF10', '']), ['\\x00ff10', '\\x']);
    assert.deepEqual(texts(col('d', 'date', 1082), [19782, -2440550, 2145042905, -2147472692, -2147472691, 0]), [
      '2024-02-29', '4713-01-01 BC', '5874897-12-31', 'infinity', '-infinity', '1970-01-01',
    ]);
    assert.throws(() => texts(col('d', 'date', 1082), [-3000000]), /outside PostgreSQL's range/);
    assert.deepEqual(texts(col('t', 'time without time zone', 1083), [n('86400000000'), n('47655123456'), 0]), ['24:00:00', '13:14:15.123456', '00:00:00']);
    assert.deepEqual(texts(col('ts', 'timestamp without time zone', 1114), [n('1709210096000001'), n('-126006883199500000'), n('9223372036825200000'), n('-9223372036832400000')]), [
      '2024-02-29 12:34:56.000001', '2024-01-01 00:00:00.5 BC', 'infinity', '-infinity',
    ]);
    assert.deepEqual(texts(col('ts', 'timestamp(3) without time zone', 1114), [n('1709210096789'), n('9223372036825200'), n('-9223372036832400')]), [
      '2024-02-29 12:34:56.789', 'infinity', '-infinity',
    ]);
    assert.throws(() => texts(col('ts', 'timestamp without time zone', 1114), [n('-9223372036853775810')]), /Debezium overflowed/);
    assert.deepEqual(texts(col('tz', 'timestamp with time zone', 1184), ['2024-06-01T09:00:00.500000Z', '-0043-03-15T12:00:00.000000Z', '+294276-12-31T23:59:59.999999Z', 'infinity', '-infinity']), [
      '2024-06-01 09:00:00.5+00', '0044-03-15 12:00:00+00 BC', '294276-12-31 23:59:59.999999+00', 'infinity', '-infinity',
    ]);
  });

  it('prints intervals in IntervalStyle postgres', () => {
    assert.deepEqual(
      texts(col('i', 'interval', 1186), ['P-1Y-2M3DT-4H-5M-6.789S', 'P0Y0M1DT25H0M0S', 'P0Y0M0DT0H0M0S', 'P0Y0M0DT0H0M-0.000001S', 'P1Y0M-1DT0H0M0S', 'P0Y-1M0DT0H0M0S', 'P0Y0M1DT0H0M-1S', 'P0Y0M0DT2147483647H59M54.775807S']),
      ['-1 years -2 mons +3 days -04:05:06.789', '1 day 25:00:00', '00:00:00', '-00:00:00.000001', '1 year -1 days', '-1 mons', '1 day -00:00:01', '2147483647:59:54.775807'],
    );
  });

  it('rewrites tstzrange bounds in UTC and passes other ranges through', () => {
    assert.deepEqual(texts(col('r', 'tstzrange', 3910), ['["2024-01-01 10:00:00+02","2024-01-01 12:00:00-03:30:52")', '[,infinity)', 'empty']), [
      '["2024-01-01 08:00:00+00","2024-01-01 15:30:52+00")', '[,infinity)', 'empty',
    ]);
    assert.deepEqual(texts(col('r', 'int4range', 3904), ['[1,10)']), ['[1,10)']);
  });

  it('prints hstore as hstore_out: keys by length then bytes, quoted and escaped', () => {
    assert.deepEqual(texts(col('h', 'hstore', 99999), ['{"aa":null,"b":"1","c d":"x\\"y","é":"\\\\"}', '{}']), ['"b"=>"1", "aa"=>NULL, "é"=>"\\\\", "c d"=>"x\\"y"', '']);
  });

  it('quotes array elements as array_out does', () => {
    assert.deepEqual(texts(arr('a', 'text[]', 25), [['a b', 'c"d', 'e\\f', null, 'NULL', 'null', '', '{x}', 'é,', 'plain', 'a\u00a0b'], []]), [
      '{"a b","c\\"d","e\\\\f",NULL,"NULL","null","","{x}","é,",plain,a\u00a0b}', '{}',
    ]);
    assert.deepEqual(texts(arr('a', 'bytea[]', 17), [['01ff']]), ['{"\\\\x01ff"}']);
    assert.deepEqual(texts(arr('a', 'double precision[]', 701), [[n('1.5'), '-Infinity', n('-0.0')]]), ['{1.5,-Infinity,-0}']);
    assert.deepEqual(texts(arr('a', 'date[]', 1082), [[19782, -622191234, -625821272]]), ['{2024-02-29,infinity,-infinity}']);
    assert.throws(() => texts(arr('a', 'date[]', 1082), [[-719162]]), /1582-10-15/);
    assert.deepEqual(texts(arr('a', 'box[]', 603), [['28312e302c312e30292c28302e302c302e3029', '28322e352c322e30292c28312e302c312e3029']]), ['{(1,1),(0,0);(2.5,2),(1,1)}']);
    assert.deepEqual(texts(arr('a', 'posint[]', 23, { userType: { schema: 'public', name: 'posint', ddl: 'CREATE DOMAIN public.posint AS integer' } }), [['31', '3132']]), ['{1,12}']);
    assert.deepEqual(texts(arr('a', 'mood[]', 99999, { userType: { schema: 'public', name: 'mood', ddl: "CREATE TYPE public.mood AS ENUM ('a b')" } }), [['a b']]), ['{"a b"}']);
  });

  it('refuses arrays Debezium flattened wrongly', () => {
    assert.throws(() => texts(arr('a', 'integer[]', 23), [[null, null]]), /multi-dimensional/);
    assert.throws(() => texts(arr('a', 'text[]', 25), [['[Ljava.lang.String;@65022937']]), /multi-dimensional/);
  });

  it('converts bit(n), point, geometric and unknown types', () => {
    assert.deepEqual(texts(col('b', 'bit(10)', 1560), ['gQI=']), ['1010000001']);
    assert.deepEqual(texts(col('b', 'bit(3)', 1560), ['Aw==']), ['011']);
    assert.deepEqual(texts(col('b', 'bit(1)', 1560), [true, false]), ['1', '0']);
    assert.deepEqual(texts(col('p', 'point', 600), [{ x: n('1.5'), y: n('-2.0'), wkb: 'AQ==', srid: null }]), ['(1.5,-2)']);
    assert.deepEqual(texts(col('c', 'circle', 718), [Buffer.from('<(0.0,0.0),1.0E300>').toString('hex')]), ['<(0,0),1e+300>']);
    assert.deepEqual(texts(col('l', 'line', 628), [Buffer.from('{1.0,-1.0,0.0}').toString('hex')]), ['{1,-1,0}']);
    assert.deepEqual(texts(col('v', 'tsvector', 3614), ['276127202763617427']), ["'a' 'cat'"]);
    assert.throws(() => texts(col('v', 'tsvector', 3614), ['not hex']), /hex of the value's text/);
    assert.throws(() => texts(col('v', 'tsvector', 3614), ['ff']), /not UTF-8/);
  });

  it('refuses types Debezium cannot carry exactly, naming table, column and type', () => {
    assert.throws(() => texts(col('t', 'time with time zone', 1266), ['08:00:00Z']), /^PoisonMessage: public\.t\.t \(time with time zone\): .*offset/);
    assert.throws(() => texts(col('v', 'bit varying', 1562), ['BQ==']), /bit length/);
    assert.throws(() => texts(arr('a', 'time without time zone[]', 1083), [[0]]), /milliseconds/);
    assert.throws(() => rowFromDebezium(plan(col('id', 'integer', 23), arr('a', 'interval[]', 1186)), { id: 1 }), /public\.t\.a \(interval\[\]\): Debezium does not send/);
    // A NULL is exact whatever the type.
    assert.deepEqual(texts(col('t', 'time with time zone', 1266), [null]), [null]);
  });

  it('reports unchanged TOASTed values in every form Debezium writes them', () => {
    const p = plan(col('id', 'integer', 23), col('t', 'text', 25), col('b', 'bytea', 17), arr('at', 'text[]', 25), arr('ai', 'integer[]', 23),
      arr('ad', 'date[]', 1082), arr('au', 'uuid[]', 2950), col('h', 'hstore', 99999), col('j', 'jsonb', 3802));
    const d = rowFromDebezium(p, {
      id: 1, t: PLACEHOLDER, b: Buffer.from(PLACEHOLDER).toString('hex'), at: [PLACEHOLDER], ai: [...PLACEHOLDER].map((c) => n(String(c.charCodeAt(0)))),
      ad: [...PLACEHOLDER].map((c) => c.charCodeAt(0)), au: ['b68a35a7-17ad-35b3-af2a-ae46edb4545a'], h: JSON.stringify({ [PLACEHOLDER]: PLACEHOLDER }), j: PLACEHOLDER,
    });
    assert.deepEqual(d.unavailable, ['t', 'b', 'at', 'ai', 'ad', 'au', 'h', 'j']);
    assert.deepEqual(d.row, { id: '1' });
  });

  it('sorts fields into unknown and missing, skips generated columns, and converts only what is asked', () => {
    const p = plan(col('id', 'integer', 23), col('gone', 'text', 25), col('g', 'integer', 23, { generated: true }), col('__proto__', 'text', 25));
    const d = rowFromDebezium(p, JSON.parse('{"id": 1, "added": "x", "__proto__": "p"}'));
    assert.deepEqual(d.unknown, ['added']);
    assert.deepEqual(d.missing, ['gone']);
    assert.equal(Object.getPrototypeOf(d.row), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(d.row, '__proto__')?.value, 'p');
    assert.ok(!('g' in d.row));
    assert.deepEqual(rowFromDebezium(p, { id: 2, gone: null }, ['id']), { row: { id: '2' }, unavailable: [], unknown: [], missing: [] });
  });

  it('lists what Debezium cannot carry, for the plan report', () => {
    const limits = debeziumLimits(plan(col('id', 'integer', 23), col('tz', 'time with time zone', 1266), arr('n', 'numeric[]', 1700), col('m', 'money', 790)));
    assert.deepEqual(limits.map((l) => [l.column, l.refused]), [['tz', true], ['n', false], ['n', false], ['n', false], ['m', false]]);
  });
});
