// The backfill maps rows read as arrays (valuesMapper); repair, change events and verification
// map row objects (documentMapper). What reaches MongoDB must be the same bytes either way, or
// verification would compare the source with something the copy never wrote.
import { strict as assert } from 'node:assert';
import { BSON } from 'mongodb';
import { documentMapper, valuesMapper } from '../../engines/mongodb/mapping/document';
import { keyOfValues, keyPositions } from '../../engines/mongodb/read';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import type { SourceRow } from '../../engines/rows';
import { column as col, tablePlan } from '../helpers/plan';

const plan = (columns: ColumnInfo[], key: string[]): TablePlan => tablePlan('t', columns, key);
const asValues = (p: TablePlan, row: SourceRow) => p.columns.map((c) => row[c.name] ?? null);
const bytes = (doc: unknown) => Buffer.from(BSON.serialize(doc as BSON.Document)).toString('hex');

const allTypes = plan(
  [
    col('id', 'integer', 23), col('i2', 'smallint', 21), col('i8', 'bigint', 20), col('f4', 'real', 700), col('f8', 'double precision', 701),
    col('n', 'numeric', 1700), col('b', 'boolean', 16), col('t', 'text', 25), col('c', 'character(5)', 1042), col('by', 'bytea', 17),
    col('u', 'uuid', 2950), col('d', 'date', 1082), col('ts', 'timestamp', 1114, 0, { lossy: 'truncate' }), col('tz', 'timestamptz', 1184, 0, { lossy: 'truncate' }),
    col('j', 'jsonb', 3802), col('ai', 'integer[]', 1007, 23), col('at', 'text[]', 1009, 25), col('s', 'numeric', 1700, 0, { lossy: 'string' }),
  ],
  ['id'],
);

const rows: SourceRow[] = [
  {
    id: '1', i2: '-32768', i8: '9223372036854775807', f4: '0.1', f8: '-0', n: '12345678901234567890.5', b: 't', t: 'héllo\n', c: 'ab   ',
    by: '\\x00ff10', u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', d: '2024-02-29', ts: '2024-01-01 12:34:56.789123', tz: '2024-01-01 12:34:56.5+00',
    j: '{"a": [1, 2.5, {"b": null}], "big": 12345678901234567890}', ai: '{1,NULL,3}', at: '{"a b",c}', s: '1.50',
  },
  { id: '2147483647', i2: '0', i8: '-5', f4: 'NaN', f8: 'Infinity', n: '0', b: 'f', t: '', c: '     ', by: '\\x', u: '00000000-0000-0000-0000-000000000000', d: '1970-01-01', ts: '1970-01-01 00:00:00', tz: '1969-12-31 23:59:59.999+00', j: '[]', ai: '{}', at: '{}', s: 'NaN' },
  Object.fromEntries(allTypes.columns.map((c) => [c.name, c.name === 'id' ? '-2147483648' : null])),
];

describe('row arrays map to the same documents as row objects', () => {
  it('every type, NULLs included: the same BSON bytes, field order included', () => {
    const objects = documentMapper(allTypes);
    const arrays = valuesMapper(allTypes);
    for (const row of rows) assert.equal(bytes(arrays(asValues(allTypes, row))), bytes(objects(row)), `row ${row.id}`);
  });

  it('composite keys, renamed, dropped and __proto__ fields', () => {
    const p = plan(
      [col('v', 'text', 25, 0, { field: 'value' }), col('b', 'smallint', 21), col('secret', 'text', 25, 0, { field: null }), col('a', 'bigint', 20), col('__proto__', 'text', 25)],
      ['a', 'b'],
    );
    const row: SourceRow = { v: 'x', b: '2', secret: 's', a: '5', __proto__: 'p' } as never;
    Object.defineProperty(row, '__proto__', { value: 'p', enumerable: true });
    const fromArray = valuesMapper(p)(['x', '2', 's', '5', 'p']);
    assert.equal(bytes(fromArray), bytes(documentMapper(p)(row)));
    assert.equal(Object.getPrototypeOf(fromArray), Object.prototype);
    assert.deepEqual(keyOfValues(keyPositions(p), ['x', '2', 's', '5', 'p']), ['5', '2']);
  });

  it('a value that cannot be mapped fails with the same message, naming the row by its key', () => {
    const p = plan([col('id', 'integer', 23), col('n', 'numeric', 1700)], ['id']);
    const row = { id: '7', n: '1' + '0'.repeat(40) + '.1' };
    const message = (() => {
      try {
        documentMapper(p)(row);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    })();
    assert.match(message, /^public\.t\.n \(row id=7\)/);
    assert.throws(() => valuesMapper(p)([row.id, row.n]), (err: Error) => err.message === message);
  });
});
