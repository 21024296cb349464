import { strict as assert } from 'node:assert';
import { Binary, Decimal128, Double, Long, UUID } from 'mongodb';
import { documentMapper, mongoFieldProblems } from '../../activities/mapping';
import { MappingError } from '../../activities/errors';
import type { ColumnInfo, TablePlan } from '../../workflows/definitions';
import { column, tablePlan } from '../helpers/plan';

const col = column;
const plan = (columns: ColumnInfo[], key: string[]): TablePlan => tablePlan('t', columns, key);

describe('row → document mapping (from PostgreSQL text form)', () => {
  it('keeps integer widths, exact bigint and numeric, and doubles as doubles', () => {
    const map = documentMapper(plan([col('id', 'integer', 23), col('big', 'bigint', 20), col('n', 'numeric', 1700), col('f', 'double precision', 701)], ['id']));
    const doc = map({ id: '7', big: '9223372036854775807', n: '12345678901234567890.123456789', f: '2' });
    assert.equal(doc._id, 7);
    assert.ok(doc.big instanceof Long && doc.big.toString() === '9223372036854775807');
    assert.ok(doc.n instanceof Decimal128 && doc.n.toString() === '12345678901234567890.123456789');
    assert.ok(doc.f instanceof Double && doc.f.value === 2);
  });

  it('keeps NaN, infinities and -0 for floats and NaN for numeric', () => {
    const map = documentMapper(plan([col('id', 'integer', 23), col('f', 'double precision', 701), col('n', 'numeric', 1700)], ['id']));
    assert.ok(Number.isNaN(map({ id: '1', f: 'NaN', n: 'NaN' }).f.value));
    assert.equal(map({ id: '1', f: '-Infinity', n: '1' }).f.value, -Infinity);
    assert.ok(Object.is(map({ id: '1', f: '-0', n: '1' }).f.value, -0));
    assert.equal(map({ id: '1', f: '1', n: 'NaN' }).n.toString(), 'NaN');
  });

  it('maps bytea, uuid, timestamps, booleans, json, arrays with NULL elements, and NULL as a present null', () => {
    const map = documentMapper(plan([
      col('id', 'uuid', 2950), col('b', 'bytea', 17), col('ts', 'timestamptz', 1184), col('t', 'timestamp', 1114),
      col('d', 'date', 1082), col('ok', 'boolean', 16), col('j', 'jsonb', 3802), col('arr', 'integer[]', 1007, 23), col('none', 'text', 25),
    ], ['id']));
    const doc = map({
      id: '0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f', b: '\\x00ff10', ts: '2024-02-29 23:59:59.123+00', t: '2024-02-29 23:59:59.5',
      d: '2024-02-29', ok: 't', j: '{"a": [1, {"b": null}]}', arr: '{{1,NULL},{3,4}}', none: null,
    });
    assert.ok(doc._id instanceof Binary && doc._id.sub_type === Binary.SUBTYPE_UUID);
    assert.equal((doc._id as UUID).toHexString(true), '0e4d6f5c-8a3b-4c1d-9e2f-1a2b3c4d5e6f');
    assert.deepEqual([...(doc.b as Binary).buffer], [0, 255, 16]);
    assert.equal((doc.ts as Date).toISOString(), '2024-02-29T23:59:59.123Z');
    assert.equal((doc.t as Date).toISOString(), '2024-02-29T23:59:59.500Z');
    assert.equal((doc.d as Date).toISOString(), '2024-02-29T00:00:00.000Z');
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.j, { a: [1, { b: null }] });
    assert.deepEqual(doc.arr, [[1, null], [3, 4]]);
    assert.ok('none' in doc && doc.none === null);
  });

  it('makes a composite key a subdocument of the key columns', () => {
    const map = documentMapper(plan([col('a', 'bigint', 20), col('b', 'smallint', 21), col('v', 'text', 25)], ['a', 'b']));
    const doc = map({ a: '5', b: '2', v: 'x' });
    assert.equal(doc._id.a.toString(), '5');
    assert.equal(doc._id.b, 2);
  });

  it('names the table, column and row key when a value cannot be converted', () => {
    const map = documentMapper(plan([col('id', 'integer', 23), col('n', 'numeric', 1700)], ['id']));
    assert.throws(() => map({ id: '42', n: '1234567890123456789012345678901234567890' }), (err: unknown) =>
      err instanceof MappingError && /public\.t\.n \(row id=42\) cannot be converted/.test(err.message));
  });

  it('refuses a non-key column named _id and $-prefixed names', () => {
    assert.equal(mongoFieldProblems(plan([col('id', 'integer', 23), col('_id', 'text', 25)], ['id'])).length, 1);
    assert.deepEqual(mongoFieldProblems(plan([col('_id', 'integer', 23)], ['_id'])), []);
    assert.match(mongoFieldProblems(plan([col('id', 'integer', 23), col('$x', 'text', 25)], ['id']))[0], /cannot start with \$/);
  });
});
