import { strict as assert } from 'node:assert';
import { Binary, BSON, Decimal128, Double, Int32, Long, UUID, type Document } from 'mongodb';
import { documentId, documentMapper } from '../../engines/mongodb/mapping/document';
import { mongoFieldProblems } from '../../engines/mongodb/mapping/field-names';
import { MappingError } from '../../engines/errors';
import type { ColumnInfo, LossyPolicy, TablePlan } from '../../contracts/tables';
import { column, tablePlan } from '../helpers/plan';

const col = column;
const plan = (columns: ColumnInfo[], key: string[]): TablePlan => tablePlan('t', columns, key);

/** Canonical Extended JSON: tells Int32, Int64, Double and Decimal128 apart, and shows -0 and NaN. */
const ej = (v: unknown): string => BSON.EJSON.stringify(v as Document, { relaxed: false });

/** Maps one value of one column (plus an integer key). */
function one(type: string, oid: number, text: string | null, lossy: LossyPolicy = 'fail', elementOid = 0): unknown {
  const map = documentMapper(plan([col('id', 'integer', 23), col('v', type, oid, elementOid, { lossy })], ['id']));
  return map({ id: '1', v: text }).v;
}

function refused(type: string, oid: number, text: string, lossy: LossyPolicy, pattern: RegExp, elementOid = 0): void {
  assert.throws(() => one(type, oid, text, lossy, elementOid), (err: unknown) => {
    assert.ok(err instanceof MappingError, `expected a MappingError, got ${err}`);
    assert.match(err.message, /^public\.t\.v \(row id=1\)/);
    assert.match(err.message, pattern);
    return true;
  });
}

const decimal = (v: unknown): string => {
  assert.ok(v instanceof Decimal128, `expected Decimal128, got ${ej(v)}`);
  return v.toString();
};

describe('row → document mapping (from PostgreSQL text form)', () => {
  describe('integers', () => {
    it('stores smallint and integer as Int32 across their ranges', () => {
      for (const [type, oid, values] of [
        ['smallint', 21, ['-32768', '32767', '0', '-1']],
        ['integer', 23, ['-2147483648', '2147483647', '0', '-1', '42']],
      ] as const) {
        for (const text of values) {
          const v = one(type, oid, text);
          assert.ok(v instanceof Int32, `${type} ${text}`);
          assert.equal(v.value, Number(text));
        }
      }
    });

    it('stores bigint as Int64 from its digits, never through a double', () => {
      const values = [
        '-9223372036854775808', '9223372036854775807', '0', '-1', '1', '4294967295', '4294967296', '-4294967296', '-4294967297',
        '2147483648', '-2147483649', '999999999999999', '-999999999999999', '9007199254740993', '-9007199254740993', '1234567890123456789',
      ];
      for (const text of values) {
        const v = one('bigint', 20, text);
        assert.ok(v instanceof Long, text);
        assert.equal(v.toString(), text);
        assert.equal(v.toBigInt(), BigInt(text));
      }
    });
  });

  describe('numeric → Decimal128', () => {
    it('keeps the digits and scale, NaN and ±Infinity', () => {
      for (const text of ['0', '0.000', '-0.000', '1', '-1', '12345678901234567890.123456789', '0.00000000000000000001', '100000000000000000000', '1.50', '-123.4500', '9999999999999999999999999999999999', '0.000000000000000000000000000000001']) {
        const v = one('numeric', 1700, text);
        assert.equal(decimal(v), Decimal128.fromString(text).toString(), text);
        assert.deepEqual([...(v as Decimal128).bytes], [...Decimal128.fromString(text).bytes], `bytes of ${text}`);
      }
      assert.equal(decimal(one('numeric', 1700, 'NaN')), 'NaN');
      assert.equal(decimal(one('numeric', 1700, 'Infinity')), 'Infinity');
      assert.equal(decimal(one('numeric', 1700, '-Infinity')), '-Infinity');
      assert.equal(decimal(one('numeric', 1700, '-0.000')), '-0.000');
    });

    it('encodes exactly as Decimal128.fromString for random values of up to 34 digits', () => {
      let seed = 7;
      const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
      for (let i = 0; i < 3000; i++) {
        const digits = 1 + rand(34);
        let s = '';
        for (let d = 0; d < digits; d++) s += String(rand(10));
        const point = rand(digits + 1);
        let text = point === 0 || point === digits ? s : `${s.slice(0, point)}.${s.slice(point)}`;
        if (text.startsWith('.')) text = '0' + text;
        if (rand(2)) text = '-' + text;
        const v = one('numeric', 1700, text) as Decimal128;
        assert.deepEqual([...v.bytes], [...Decimal128.fromString(text).bytes], text);
      }
    });

    it('applies the column policy beyond 34 significant digits', () => {
      const n35 = '1.0000000000000000000000000000000005';
      refused('numeric', 1700, n35, 'fail', /has 35 significant digits; Decimal128 holds 34: set tables\[\]\.columns\.v\.lossy: string .* or truncate/);
      assert.equal(one('numeric', 1700, n35, 'string'), n35);
      // Rounded half away from zero, like PostgreSQL's own numeric rounding.
      assert.equal(decimal(one('numeric', 1700, n35, 'truncate')), '1.000000000000000000000000000000001');
      assert.equal(decimal(one('numeric', 1700, '-' + n35, 'truncate')), '-1.000000000000000000000000000000001');
      assert.equal(decimal(one('numeric', 1700, '1.0000000000000000000000000000000004', 'truncate')), '1.000000000000000000000000000000000');
      assert.equal(decimal(one('numeric', 1700, '9'.repeat(35), 'truncate')), '1.' + '0'.repeat(33) + 'E+35');
      assert.equal(decimal(one('numeric', 1700, '123456789012345678901234567890.123456789', 'truncate')), '123456789012345678901234567890.1235');
      // 34 significant digits exactly is fine whatever the policy.
      assert.equal(decimal(one('numeric', 1700, '1234567890123456789012345678901234')), '1234567890123456789012345678901234');
    });

    it('keeps values whose extra digits are only zeros (the scale shrinks, the value stays)', () => {
      const text = '1.' + '0'.repeat(40);
      assert.equal(decimal(one('numeric', 1700, text)), '1.' + '0'.repeat(33));
      assert.equal(decimal(one('numeric', 1700, '0.' + '0'.repeat(40))), Decimal128.fromString('0E-40').toString());
      // The quantum nearest the text's own (scale 0): 34 digits, exponent 7.
      assert.equal(decimal(one('numeric', 1700, '1' + '0'.repeat(40))), '1.' + '0'.repeat(33) + 'E+40');
    });

    it('holds very small and very large exponents, and refuses what lies beyond Decimal128', () => {
      assert.equal(decimal(one('numeric', 1700, '0.' + '0'.repeat(6000) + '1')), '1E-6001');
      assert.equal(decimal(one('numeric', 1700, '1' + '0'.repeat(6144))), '1.' + '0'.repeat(33) + 'E+6144');
      assert.equal(decimal(one('numeric', 1700, '-12' + '0'.repeat(6143))), '-1.2' + '0'.repeat(32) + 'E+6144');
      assert.equal(decimal(one('numeric', 1700, '9'.repeat(34) + '0'.repeat(6111))), '9.' + '9'.repeat(33) + 'E+6144');
      for (const policy of ['fail', 'truncate'] as const) {
        refused('numeric', 1700, '0.' + '0'.repeat(6200) + '1', policy, /outside Decimal128's exponent range \(1E-6176 to 9\.99E\+6144\): set tables\[\]\.columns\.v\.lossy: string/);
        refused('numeric', 1700, '1' + '0'.repeat(7000), policy, /outside Decimal128's exponent range/);
      }
      assert.equal((one('numeric', 1700, '1' + '0'.repeat(7000), 'string') as string).length, 7001);
    });
  });

  describe('floats → Double', () => {
    it('keeps NaN, ±Infinity, -0, extremes and stores integral values as doubles', () => {
      const cases: Array<[string, number]> = [
        ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0], ['0', 0], ['2', 2],
        ['1e+308', 1e308], ['5e-324', 5e-324], ['1.7976931348623157e+308', Number.MAX_VALUE], ['0.1', 0.1], ['-2.2250738585072014e-308', -2.2250738585072014e-308],
      ];
      for (const oid of [700, 701]) {
        for (const [text, expected] of cases) {
          const v = one('double precision', oid, text);
          assert.ok(v instanceof Double, text);
          assert.ok(Object.is(v.value, expected), `${text} → ${v.value}`);
        }
      }
      assert.ok(ej(one('double precision', 701, '-0')).includes('"-0.0"'));
    });

    it('stores a real as the double of the decimal PostgreSQL prints', () => {
      assert.equal((one('real', 700, '3.4028235e+38') as Double).value, 3.4028235e38);
      assert.equal((one('real', 700, '0.1') as Double).value, 0.1);
      assert.equal((one('real', 700, '1.1754944e-38') as Double).value, 1.1754944e-38);
    });
  });

  describe('booleans, strings, bytea, uuid', () => {
    it('maps booleans', () => {
      assert.equal(one('boolean', 16, 't'), true);
      assert.equal(one('boolean', 16, 'f'), false);
    });

    it('keeps strings as they are: empty, unicode, char padding, enums and domains', () => {
      for (const text of ['', ' ', '👍🏽 emoji', 'e\u0301 combining', '日本語', 'line\nbreak\ttab', '\\x00', 'a'.repeat(10000)]) {
        assert.equal(one('text', 25, text), text);
        assert.equal(one('character varying(20)', 1043, text), text);
      }
      assert.equal(one('character(5)', 1042, 'ab   '), 'ab   ');
      const enumCol = col('v', 'mood', 90001, 0, { typeCategory: 'e' });
      const domainCol = col('w', 'email', 90002, 0, { typeCategory: 'd', baseOid: 25 });
      const intDomain = col('x', 'posint', 90003, 0, { typeCategory: 'd', baseOid: 23 });
      const doc = documentMapper(plan([col('id', 'integer', 23), enumCol, domainCol, intDomain], ['id']))({ id: '1', v: 'happy', w: 'a@b.c', x: '5' });
      assert.equal(doc.v, 'happy');
      assert.equal(doc.w, 'a@b.c');
      assert.ok(doc.x instanceof Int32 && doc.x.value === 5, 'a domain is converted as its base type');
    });

    it('maps bytea (hex and escape output) to Binary subtype 0', () => {
      const empty = one('bytea', 17, '\\x') as Binary;
      assert.ok(empty instanceof Binary && empty.sub_type === 0 && empty.length() === 0);
      const bin = one('bytea', 17, '\\x00ff10807f') as Binary;
      assert.equal(bin.sub_type, Binary.SUBTYPE_DEFAULT);
      assert.deepEqual([...bin.buffer], [0, 255, 16, 128, 127]);
      assert.deepEqual([...(one('bytea', 17, 'a\\000\\\\b\\377') as Binary).buffer], [97, 0, 92, 98, 255]);
    });

    it('maps uuid to Binary subtype 4', () => {
      const v = one('uuid', 2950, '0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f') as UUID;
      assert.ok(v instanceof Binary && v.sub_type === Binary.SUBTYPE_UUID);
      assert.equal(v.toHexString(true), '0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f');
      assert.equal((one('uuid', 2950, '00000000-0000-0000-0000-000000000000') as UUID).toHexString(false), '00000000000000000000000000000000');
      assert.equal((one('uuid', 2950, 'ffffffff-ffff-ffff-ffff-ffffffffffff') as UUID).toHexString(false), 'ffffffffffffffffffffffffffffffff');
    });
  });

  describe('dates and timestamps → Date', () => {
    const iso = (v: unknown) => {
      assert.ok(v instanceof Date, `expected a Date, got ${ej(v)}`);
      return v.toISOString();
    };

    it('reads 0, 3 and 6 fractional digits under each policy', () => {
      for (const [type, oid, suffix] of [['timestamp', 1114, ''], ['timestamptz', 1184, '+00']] as const) {
        for (const policy of ['fail', 'truncate'] as const) {
          assert.equal(iso(one(type, oid, `2024-02-29 23:59:59${suffix}`, policy)), '2024-02-29T23:59:59.000Z');
          assert.equal(iso(one(type, oid, `2024-02-29 23:59:59.5${suffix}`, policy)), '2024-02-29T23:59:59.500Z');
          assert.equal(iso(one(type, oid, `2024-02-29 23:59:59.123${suffix}`, policy)), '2024-02-29T23:59:59.123Z');
          assert.equal(iso(one(type, oid, `2024-02-29 23:59:59.12${suffix}`, policy)), '2024-02-29T23:59:59.120Z');
          assert.equal(iso(one(type, oid, `2024-02-29 23:59:59.123000${suffix}`, policy)), '2024-02-29T23:59:59.123Z');
        }
        refused(type, oid, `2024-02-29 23:59:59.123456${suffix}`, 'fail', /has digits below the millisecond.*lossy: string .* or truncate/);
        refused(type, oid, `2024-02-29 23:59:59.0001${suffix}`, 'fail', /below the millisecond/);
        assert.equal(iso(one(type, oid, `2024-02-29 23:59:59.123999${suffix}`, 'truncate')), '2024-02-29T23:59:59.123Z');
        assert.equal(one(type, oid, `2024-02-29 23:59:59.123456${suffix}`, 'string'), `2024-02-29 23:59:59.123456${suffix}`);
        assert.equal(one(type, oid, `2024-02-29 23:59:59${suffix}`, 'string'), `2024-02-29 23:59:59${suffix}`);
      }
    });

    it('reads BC dates and times, years beyond 9999, and offsets with minutes and seconds', () => {
      assert.equal(iso(one('timestamp', 1114, '0001-01-01 00:00:00 BC')), '0000-01-01T00:00:00.000Z');
      assert.equal(iso(one('timestamp', 1114, '0001-12-31 23:59:59.999 BC')), '0000-12-31T23:59:59.999Z');
      assert.equal(iso(one('date', 1082, '4713-01-01 BC')), '-004712-01-01T00:00:00.000Z');
      assert.equal(iso(one('date', 1082, '0001-01-01')), '0001-01-01T00:00:00.000Z');
      assert.equal(iso(one('date', 1082, '0099-03-01')), '0099-03-01T00:00:00.000Z');
      // Truncation goes toward the earlier instant, before Christ too.
      assert.equal(iso(one('timestamp', 1114, '0044-03-15 12:00:00.999999 BC', 'truncate')), '-000043-03-15T12:00:00.999Z');
      assert.equal(iso(one('timestamp', 1114, '1969-12-31 23:59:59.999999', 'truncate')), '1969-12-31T23:59:59.999Z');
      assert.equal(iso(one('timestamp', 1114, '10000-01-01 12:00:00.5')), '+010000-01-01T12:00:00.500Z');
      assert.equal(iso(one('timestamptz', 1184, '10000-01-01 12:00:00.5+00')), '+010000-01-01T12:00:00.500Z');
      assert.equal(iso(one('date', 1082, '275760-09-13')), '+275760-09-13T00:00:00.000Z');
      assert.equal(iso(one('timestamptz', 1184, '2024-01-01 05:30:00+05:30')), '2024-01-01T00:00:00.000Z');
      assert.equal(iso(one('timestamptz', 1184, '2024-01-01 00:00:00-08')), '2024-01-01T08:00:00.000Z');
      assert.equal(iso(one('timestamptz', 1184, '1900-01-01 00:00:00+05:21:10')), '1899-12-31T18:38:50.000Z');
      assert.equal(iso(one('timestamptz', 1184, '0001-01-01 00:00:00+05:53:28 BC')), '-000001-12-31T18:06:32.000Z');
    });

    it('agrees with Date.parse on random instants from year 1 to 9999', () => {
      let seed = 11;
      const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
      for (let i = 0; i < 2000; i++) {
        const ms = Date.UTC(2000, 0, 1) + (rand(2147483647) / 2147483647 - 0.5) * 2 * 1999 * 365.25 * 86400000;
        const d = new Date(Math.round(ms));
        if (d.getUTCFullYear() < 1) continue;
        const text = d.toISOString().replace('T', ' ').replace('Z', '');
        const year = String(d.getUTCFullYear()).padStart(4, '0');
        const pgText = year + text.slice(text.indexOf('-'));
        assert.equal((one('timestamp', 1114, pgText) as Date).getTime(), d.getTime(), pgText);
        assert.equal((one('timestamptz', 1184, pgText + '+00') as Date).getTime(), d.getTime(), pgText);
        assert.equal((one('date', 1082, pgText.slice(0, pgText.indexOf(' '))) as Date).getTime(), Math.floor(d.getTime() / 86400000) * 86400000);
      }
    });

    it('refuses ±infinity and dates beyond a JavaScript Date, even under truncate', () => {
      for (const policy of ['fail', 'truncate'] as const) {
        for (const [type, oid] of [['timestamp', 1114], ['timestamptz', 1184], ['date', 1082]] as const) {
          refused(type, oid, 'infinity', policy, /infinity has no MongoDB date equivalent: set tables\[\]\.columns\.v\.lossy: string for public\.t/);
          refused(type, oid, '-infinity', policy, /-infinity has no MongoDB date equivalent/);
        }
        refused('timestamptz', 1184, '294276-12-31 23:59:59+00', policy, /outside the range of a MongoDB date/);
        refused('timestamp', 1114, '275760-09-13 00:00:00.001', policy, /outside the range/);
        refused('date', 1082, '5874897-12-31', policy, /outside the range/);
        refused('date', 1082, '275760-09-14', policy, /outside the range/);
      }
      assert.equal(one('date', 1082, 'infinity', 'string'), 'infinity');
      assert.equal(one('timestamp', 1114, '-infinity', 'string'), '-infinity');
    });
  });

  describe('json and jsonb', () => {
    const json = (text: string, lossy: LossyPolicy = 'fail', oid = 3802) => one('jsonb', oid, text, lossy) as Document;

    it('keeps numbers exact: Int32, Int64, Double or Decimal128 by their text', () => {
      const v = json('{"i32": 2147483647, "n32": -2147483648, "i64": 2147483648, "min64": -9223372036854775808, "max64": 9223372036854775807, ' +
        '"big": 12345678901234567890, "over": 9223372036854775808, "half": 1.5, "tenth": 0.1, "one": 1.0, "exp": 1e2, "tiny": 5e-324, ' +
        '"long": 0.1000000000000000055511151231257827, "huge": 1e400, "negzero": -0.0, "pi": 3.141592653589793238462643383279}');
      assert.equal(ej(v), ej({
        i32: new Int32(2147483647), n32: new Int32(-2147483648), i64: Long.fromString('2147483648'), min64: Long.fromString('-9223372036854775808'),
        max64: Long.fromString('9223372036854775807'), big: Decimal128.fromString('12345678901234567890'), over: Decimal128.fromString('9223372036854775808'),
        half: new Double(1.5), tenth: new Double(0.1), one: new Double(1), exp: new Double(100), tiny: new Double(5e-324),
        long: Decimal128.fromString('0.1000000000000000055511151231257827'), huge: Decimal128.fromString('1E+400'), negzero: new Double(-0),
        pi: Decimal128.fromString('3.141592653589793238462643383279'),
      }));
    });

    it('applies the column policy to numbers beyond 34 significant digits', () => {
      const text = '{"x": [1, 123456789012345678901234567890123456789]}';
      refused('jsonb', 3802, text, 'fail', /39 significant digits.*lossy: string .* or truncate/);
      assert.equal(ej(json(text, 'truncate').x[1]), ej(Decimal128.fromString('1.234567890123456789012345678901235E+38')));
      assert.equal(json(text, 'string'), text);
    });

    it('maps nested objects and arrays, and scalars at the top', () => {
      assert.deepEqual(json('{"a": [1, {"b": null, "c": [true, false, "s"]}], "d": {}}'), { a: [new Int32(1), { b: null, c: [true, false, 's'] }], d: {} });
      assert.deepEqual(json('[[1, [2]], []]'), [[new Int32(1), [new Int32(2)]], []]);
      assert.equal(ej(json('5')), ej(new Int32(5)));
      assert.equal(json('"text"'), 'text');
      assert.equal(json('null'), null);
      assert.deepEqual(json('{"emoji": "👍🏽", "escaped": "a\\"b\\\\c\\u00e9\\n"}'), { emoji: '👍🏽', escaped: 'a"b\\cé\n' });
    });

    it('stores a "__proto__" key as an ordinary field and keeps keys with dots and dollars', () => {
      const v = json('{"__proto__": {"polluted": 1}, "a.b": 2, "$x": 3, "$ref": "r"}');
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      assert.deepEqual(Object.keys(v), ['__proto__', 'a.b', '$x', '$ref']);
      assert.equal(ej(Object.getOwnPropertyDescriptor(v, '__proto__')!.value), ej({ polluted: new Int32(1) }));
      assert.equal(({} as Document).polluted, undefined);
      const bytes = BSON.serialize({ v });
      assert.deepEqual(Object.keys(BSON.deserialize(bytes).v), ['__proto__', 'a.b', '$x', '$ref']);
    });

    it('takes the last of duplicate keys (json keeps them, jsonb does not)', () => {
      assert.deepEqual(json('{"a": 1, "b": 2, "a": "last"}', 'fail', 114), { a: 'last', b: new Int32(2) });
    });

    it('refuses a key with a NUL character, which BSON cannot hold', () => {
      refused('json', 114, '{"a\\u0000b": 1}', 'fail', /contains a NUL character/);
      assert.deepEqual(json('{"a": "x\\u0000y"}', 'fail', 114), { a: 'x\u0000y' });
    });
  });

  describe('arrays', () => {
    it('maps multi-dimensional arrays with NULL elements, converting elements by type', () => {
      assert.equal(ej(one('integer[]', 1007, '{{1,NULL},{3,4}}', 'fail', 23)), ej([[new Int32(1), null], [new Int32(3), new Int32(4)]]));
      assert.equal(ej(one('bigint[]', 1016, '{9223372036854775807,NULL}', 'fail', 20)), ej([Long.MAX_VALUE, null]));
      assert.equal(ej(one('integer[]', 1007, '[0:1]={1,2}', 'fail', 23)), ej([new Int32(1), new Int32(2)]));
      assert.deepEqual(one('integer[]', 1007, '{}', 'fail', 23), []);
      assert.deepEqual(one('text[]', 1009, '{"a,b","NULL",NULL,"","q\\"uote","back\\\\slash",plain}', 'fail', 25), ['a,b', 'NULL', null, '', 'q"uote', 'back\\slash', 'plain']);
      assert.deepEqual(one('character(3)[]', 1014, '{"ab ",NULL,NUL}', 'fail', 1042), ['ab ', null, 'NUL']);
      assert.deepEqual(one('boolean[]', 1000, '{t,f,NULL}', 'fail', 16), [true, false, null]);
      const bytes = one('bytea[]', 1001, '{"\\\\x0001",NULL}', 'fail', 17) as Binary[];
      assert.deepEqual([...bytes[0].buffer], [0, 1]);
      assert.equal(bytes[1], null);
      const uuids = one('uuid[]', 2951, '{0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f}', 'fail', 2950) as UUID[];
      assert.equal(uuids[0].sub_type, 4);
      assert.equal(ej(one('jsonb[]', 3807, '{"{\\"a\\": 12345678901234567890}",NULL}', 'fail', 3802)), ej([{ a: Decimal128.fromString('12345678901234567890') }, null]));
      assert.equal(ej(one('double precision[]', 1022, '{NaN,-0,Infinity}', 'fail', 701)), ej([new Double(NaN), new Double(-0), new Double(Infinity)]));
      assert.deepEqual(one('interval[]', 1187, '{"1 day",NULL}', 'fail', 1186), ['1 day', null]);
    });

    it('applies the column policy to the elements of numeric and timestamp arrays', () => {
      const n = '{1.5,NaN,12345678901234567890123456789012345}';
      refused('numeric[]', 1231, n, 'fail', /35 significant digits/, 1700);
      assert.equal(ej(one('numeric[]', 1231, n, 'truncate', 1700)), ej([Decimal128.fromString('1.5'), Decimal128.fromString('NaN'), Decimal128.fromString('1.234567890123456789012345678901235E+34')]));
      assert.equal(one('numeric[]', 1231, n, 'string', 1700), n);
      const ts = '{"2024-01-01 00:00:00.123456",NULL,"2024-01-02 00:00:00"}';
      refused('timestamp[]', 1115, ts, 'fail', /below the millisecond/, 1114);
      assert.deepEqual(one('timestamp[]', 1115, ts, 'truncate', 1114), [new Date('2024-01-01T00:00:00.123Z'), null, new Date('2024-01-02T00:00:00Z')]);
      refused('timestamp[]', 1115, '{infinity}', 'truncate', /no MongoDB date equivalent/, 1114);
      assert.equal(one('timestamp[]', 1115, ts, 'string', 1114), ts);
    });

    it('keeps arrays whose elements are separated by ; (box) as text', () => {
      assert.equal(one('box[]', 1020, '{(1,1),(0,0);(2,2),(1,1)}', 'fail', 603), '{(1,1),(0,0);(2,2),(1,1)}');
    });
  });

  describe('every other type', () => {
    it('stores PostgreSQL\'s own text output', () => {
      const others: Array<[string, number, string]> = [
        ['interval', 1186, '1 year 2 mons 3 days 04:05:06.789'], ['time without time zone', 1083, '12:34:56.123456'],
        ['time with time zone', 1266, '12:34:56+05:30'], ['money', 790, '$1,234.56'], ['inet', 869, '192.168.0.1/24'],
        ['cidr', 650, '10.0.0.0/8'], ['macaddr', 829, '08:00:2b:01:02:03'], ['int4range', 3904, '[1,10)'], ['tstzrange', 3910, '["2024-01-01 00:00:00+00",infinity)'],
        ['xml', 142, '<a>b</a>'], ['bit(4)', 1560, '1010'], ['bit varying', 1562, '101'], ['tsvector', 3614, "'a':1 'b':2"],
        ['point', 600, '(1,2)'], ['oid', 26, '12345'], ['"char"', 18, 'x'], ['name', 19, 'relname'], ['int4multirange', 4451, '{[1,3),[5,7)}'],
      ];
      for (const [type, oid, text] of others) assert.equal(one(type, oid, text), text, type);
      const composite = col('v', 'pair', 90010, 0, { typeCategory: 'c' });
      assert.equal(documentMapper(plan([col('id', 'integer', 23), composite], ['id']))({ id: '1', v: '(1,"a b")' }).v, '(1,"a b")');
    });

    it('stores every column with lossy: string as text, whatever its type', () => {
      assert.equal(one('integer', 23, '42', 'string'), '42');
      assert.equal(one('jsonb', 3802, '{"a": 1}', 'string'), '{"a": 1}');
      assert.equal(one('integer[]', 1007, '{1,2}', 'string', 23), '{1,2}');
    });
  });

  describe('NULL, keys and fields', () => {
    it('maps NULL to a present null for every type', () => {
      const types: Array<[string, number, number]> = [
        ['smallint', 21, 0], ['integer', 23, 0], ['bigint', 20, 0], ['numeric', 1700, 0], ['real', 700, 0], ['double precision', 701, 0], ['boolean', 16, 0],
        ['text', 25, 0], ['bytea', 17, 0], ['uuid', 2950, 0], ['timestamp', 1114, 0], ['timestamptz', 1184, 0], ['date', 1082, 0], ['json', 114, 0],
        ['jsonb', 3802, 0], ['integer[]', 1007, 23], ['interval', 1186, 0],
      ];
      const columns = types.map(([type, oid, elem], i) => col(`c${i}`, type, oid, elem));
      const doc = documentMapper(plan([col('id', 'integer', 23), ...columns], ['id']))({ id: '1', ...Object.fromEntries(columns.map((c) => [c.name, null])) });
      for (const c of columns) assert.ok(c.name in doc && doc[c.name] === null, c.type);
      for (const policy of ['string', 'truncate'] as const) assert.equal(one('timestamp', 1114, null, policy), null);
    });

    it('puts _id first: the key value, or a subdocument of key columns in key order', () => {
      const single = documentMapper(plan([col('v', 'text', 25), col('id', 'bigint', 20)], ['id']))({ v: 'x', id: '9223372036854775807' });
      assert.deepEqual(Object.keys(single), ['_id', 'v', 'id']);
      assert.equal(ej(single._id), ej(Long.MAX_VALUE));
      const map = documentMapper(plan([col('a', 'bigint', 20), col('b', 'smallint', 21), col('c', 'timestamptz', 1184), col('v', 'text', 25)], ['c', 'a', 'b']));
      const doc = map({ a: '5', b: '2', c: '2024-01-01 00:00:00+00', v: 'x' });
      assert.deepEqual(Object.keys(doc._id), ['c', 'a', 'b']);
      assert.equal(ej(doc._id), ej({ c: new Date('2024-01-01T00:00:00Z'), a: Long.fromNumber(5), b: new Int32(2) }));
    });

    it('wraps a single key that may be an array (MongoDB refuses array _ids) in a subdocument', () => {
      const arr = documentMapper(plan([col('k', 'integer[]', 1007, 23)], ['k']))({ k: '{1,2}' });
      assert.equal(ej(arr._id), ej({ k: [new Int32(1), new Int32(2)] }));
      const j = documentMapper(plan([col('k', 'jsonb', 3802)], ['k']))({ k: '[1]' });
      assert.equal(ej(j._id), ej({ k: [new Int32(1)] }));
    });

    it('renames and drops fields; _id still comes from the key columns', () => {
      const columns = [
        col('id', 'integer', 23, 0, { field: null }), col('tenant', 'text', 25, 0, { field: 'tenantId' }),
        col('secret', 'text', 25, 0, { field: null }), col('name', 'text', 25, 0, { field: 'fullName' }), col('a.b', 'text', 25),
      ];
      const doc = documentMapper(plan(columns, ['tenant', 'id']))({ id: '7', tenant: 't1', secret: 's', name: 'Ann', 'a.b': 'dot' });
      assert.deepEqual(doc, { _id: { tenant: 't1', id: new Int32(7) }, tenantId: 't1', fullName: 'Ann', 'a.b': 'dot' });
      const renamedKey = documentMapper(plan([col('id', 'integer', 23, 0, { field: '_id' }), col('v', 'text', 25)], ['id']))({ id: '3', v: 'x' });
      assert.deepEqual(Object.keys(renamedKey), ['_id', 'v']);
      assert.equal(ej(renamedKey._id), ej(new Int32(3)));
    });

    it('stores a column named __proto__ as an ordinary field', () => {
      const doc = documentMapper(plan([col('id', 'integer', 23), col('__proto__', 'text', 25)], ['id', '__proto__']))({ id: '1', __proto__: 'p' } as never);
      assert.equal(Object.getPrototypeOf(doc), Object.prototype);
      assert.deepEqual(Object.keys(doc), ['_id', 'id', '__proto__']);
      assert.deepEqual(Object.keys(doc._id), ['id', '__proto__']);
    });

    it('documentId gives the _id the mapper writes, from key text', () => {
      const p1 = plan([col('id', 'bigint', 20), col('v', 'text', 25)], ['id']);
      assert.equal(ej(documentId(p1, ['-9223372036854775808'])), ej(documentMapper(p1)({ id: '-9223372036854775808', v: 'x' })._id));
      const p2 = plan([col('u', 'uuid', 2950, 0, { field: null }), col('d', 'date', 1082), col('n', 'numeric', 1700)], ['d', 'u', 'n']);
      const key = ['2024-02-29', '0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f', '1.50'];
      const row = { u: key[1], d: key[0], n: key[2] };
      assert.equal(ej(documentId(p2, key)), ej(documentMapper(p2)(row)._id));
      assert.equal(ej(documentId(p2, key)), ej({ d: new Date('2024-02-29T00:00:00Z'), u: new UUID('0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f'), n: Decimal128.fromString('1.50') }));
      const p3 = plan([col('ts', 'timestamp', 1114, 0, { lossy: 'string' })], ['ts']);
      assert.equal(documentId(p3, ['2024-01-01 00:00:00.123456']), '2024-01-01 00:00:00.123456');
      const p4 = plan([col('ts', 'timestamp', 1114)], ['ts']);
      assert.throws(() => documentId(p4, ['2024-01-01 00:00:00.123456']), /public\.t\.ts \(row ts=2024-01-01 00:00:00\.123456\): .*below the millisecond/);
    });

    it('names the table, column, row key and the spec option in a refusal', () => {
      const map = documentMapper(plan([col('id', 'integer', 23), col('k2', 'text', 25), col('n', 'numeric', 1700)], ['id', 'k2']));
      assert.throws(() => map({ id: '42', k2: 'b', n: '1234567890123456789012345678901234567890' }), (err: unknown) =>
        err instanceof MappingError &&
        err.message.startsWith('public.t.n (row id=42, k2=b): 1234567890123456789012345678901234567890 has 39 significant digits; Decimal128 holds 34: ') &&
        err.message.includes('tables[].columns.n.lossy: string') && err.message.includes('truncate'));
    });
  });

  describe('mongoFieldProblems', () => {
    it('refuses a non-key field named _id, $-prefixed names and duplicate fields after renames', () => {
      assert.equal(mongoFieldProblems(plan([col('id', 'integer', 23), col('_id', 'text', 25)], ['id'])).length, 1);
      assert.deepEqual(mongoFieldProblems(plan([col('_id', 'integer', 23)], ['_id'])), []);
      assert.deepEqual(mongoFieldProblems(plan([col('id', 'integer', 23, 0, { field: '_id' })], ['id'])), []);
      assert.deepEqual(mongoFieldProblems(plan([col('id', 'integer', 23), col('_id', 'text', 25, 0, { field: null })], ['id'])), []);
      assert.deepEqual(mongoFieldProblems(plan([col('id', 'integer', 23), col('_id', 'text', 25, 0, { field: 'legacyId' })], ['id'])), []);
      assert.match(mongoFieldProblems(plan([col('id', 'integer', 23), col('v', 'text', 25, 0, { field: '_id' })], ['id']))[0], /public\.t\.v \(field "_id"\): a field named _id/);
      assert.match(mongoFieldProblems(plan([col('id', 'integer', 23), col('$x', 'text', 25)], ['id']))[0], /cannot start with \$/);
      assert.match(mongoFieldProblems(plan([col('id', 'integer', 23), col('x', 'text', 25, 0, { field: '$x' })], ['id']))[0], /cannot start with \$/);
      const dup = mongoFieldProblems(plan([col('id', 'integer', 23), col('a', 'text', 25, 0, { field: 'b' }), col('b', 'text', 25)], ['id']));
      assert.deepEqual(dup, ['public.t: column a and column b would all be stored as field "b": rename or drop all but one in the spec']);
    });

    it('allows dots in field names (MongoDB 5+ and the local server store them)', () => {
      assert.deepEqual(mongoFieldProblems(plan([col('id', 'integer', 23), col('a.b', 'text', 25)], ['id'])), []);
    });

    it('refuses truncation of key columns, which could merge distinct keys into one _id', () => {
      assert.match(mongoFieldProblems(plan([col('ts', 'timestamp', 1114, 0, { lossy: 'truncate' })], ['ts']))[0], /key column with lossy: truncate/);
      assert.deepEqual(mongoFieldProblems(plan([col('ts', 'timestamp', 1114, 0, { lossy: 'string' })], ['ts'])), []);
      assert.deepEqual(mongoFieldProblems(plan([col('id', 'integer', 23), col('ts', 'timestamp', 1114, 0, { lossy: 'truncate' })], ['id'])), []);
    });

    it('counts embedded fields among the names', () => {
      const child = plan([col('id', 'integer', 23)], ['id']);
      const p = { ...plan([col('id', 'integer', 23), col('items', 'text', 25)], ['id']), embeds: [{ kind: 'many' as const, as: 'items', plan: child, on: [['id', 'id']] as Array<[string, string]> }] };
      assert.match(mongoFieldProblems(p)[0], /column items and embedded public\.t would all be stored as field "items"/);
    });
  });
});
