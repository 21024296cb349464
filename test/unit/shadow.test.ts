// The pure pieces of shadow reads: order-insensitive result comparison, the pace arithmetic,
// parameter substitution (SQL and MongoDB), how query rows become canonical on each target,
// and how keys of a round are chosen and sampled.
import { strict as assert } from 'node:assert';
import { Decimal128, Double, Int32, Long } from 'mongodb';
import { multisetDiff, safeMessage, sameRows } from '../../activities/shadow/compare';
import { Pacer, batchSizes, waitBeforeBatch } from '../../activities/shadow/throttle';
import { keysToCheck } from '../../activities/shadow/round';
import { takesKey } from '../../activities/shadow/queries';
import { canonicalRowsPostgres, highestPlaceholder, sqlParams } from '../../engines/postgres/shadow-query';
import { canonicalRowsMongo, keyParams, substituteParams } from '../../engines/mongodb/shadow-query';
import { samplePercent } from '../../engines/postgres/sample';
import { column as col, tablePlan } from '../helpers/plan';

describe('shadow reads: result comparison', () => {
  it('compares results as multisets: order never matters, repeats do', () => {
    assert.equal(sameRows(['a', 'b', 'c'], ['c', 'a', 'b']), true);
    assert.equal(sameRows(['a', 'a', 'b'], ['a', 'b', 'b']), false);
    assert.equal(sameRows([], []), true);
    assert.equal(sameRows(['a'], []), false);
    assert.deepEqual(multisetDiff(['a', 'a', 'b'], ['a', 'c', 'c']), { onlySource: 2, onlyTarget: 2 });
  });

  it('PostgreSQL target: a row is its values\' text in order; NULL is not the text "null"', () => {
    const c = canonicalRowsPostgres({ fields: ['a', 'b'], rows: [['1', null], ['2', 'x']] }, { fields: ['a', 'b'], rows: [['2', 'x'], ['1', 'null']] });
    assert.equal(sameRows(c.source, c.target), false);
    const d = canonicalRowsPostgres({ fields: ['a', 'b'], rows: [['1', null], ['2', 'x']] }, { fields: ['x', 'y'], rows: [['2', 'x'], ['1', null]] });
    assert.equal(sameRows(d.source, d.target), true, 'column names are not compared, only values in order');
  });

  const plan = tablePlan('orders', [col('id', 'bigint', 20), col('total', 'numeric', 1700), col('note', 'text', 25, 0, { field: 'comment' }), col('qty', 'integer', 23)], ['id']);

  it('MongoDB target: planned columns map like the document mapping (types, renames); _id and unselected fields are left out', () => {
    const source = { fields: ['note', 'id', 'total', 'qty'], rows: [['hi', '9007199254740993', '5.50', '3'], [null, '2', '1', '4']] };
    const target = {
      fields: null,
      rows: [
        { _id: Long.fromString('2'), id: Long.fromString('2'), total: new Decimal128('1'), comment: null, qty: new Int32(4), other: 'ignored' },
        { _id: Long.fromString('9007199254740993'), id: Long.fromString('9007199254740993'), total: new Decimal128('5.50'), comment: 'hi', qty: new Int32(3) },
      ],
    };
    const c = canonicalRowsMongo(plan, source, target);
    assert.equal(sameRows(c.source, c.target), true);
    // An int8 beyond 2^53 is exact: one unit off differs.
    const off = { ...target, rows: [target.rows[0], { ...target.rows[1], id: Long.fromString('9007199254740992') }] };
    const d = canonicalRowsMongo(plan, source, off);
    assert.equal(sameRows(d.source, d.target), false);
    // The renamed field is where the value is looked for: the column's own name is not.
    const renamedWrong = { ...target, rows: target.rows.map((r) => ({ ...r, comment: undefined, note: r.comment })) };
    const e = canonicalRowsMongo(plan, source, renamedWrong);
    assert.equal(sameRows(e.source, e.target), false);
  });

  it('MongoDB target: an unplanned column compares as a number when it reads as one (count = $sum), else as a string', () => {
    const source = { fields: ['_id', 'n', 'label'], rows: [['7', '3', 'a'], ['8', '10', 'b']] };
    const target = { fields: null, rows: [{ _id: new Int32(8), n: new Double(10), label: 'b' }, { _id: Long.fromNumber(7), n: new Int32(3), label: 'a' }] };
    const c = canonicalRowsMongo(plan, source, target);
    assert.equal(sameRows(c.source, c.target), true);
    const asText = { fields: null, rows: [{ _id: new Int32(8), n: '10', label: 'b' }, { _id: new Int32(7), n: '3', label: 'a' }] };
    const d = canonicalRowsMongo(plan, source, asText);
    assert.equal(sameRows(d.source, d.target), false, 'a target string "10" is not the number 10');
    const missing = { fields: null, rows: [{ _id: new Int32(8), n: 10 }, { _id: new Int32(7), n: 3, label: 'a' }] };
    const e = canonicalRowsMongo(plan, source, missing);
    assert.equal(sameRows(e.source, e.target), false, 'a field the document lacks is null');
  });
});

describe('shadow reads: parameters', () => {
  it('SQL: passes as many key values as the statement\'s highest $n, and refuses one beyond the key', () => {
    assert.equal(highestPlaceholder('SELECT 1'), 0);
    assert.equal(highestPlaceholder('SELECT * FROM t WHERE a = $2 AND b = $1'), 2);
    assert.deepEqual(sqlParams('SELECT 1', ['5']), []);
    assert.deepEqual(sqlParams('SELECT * FROM t WHERE a = $1', ['5', 'x']), ['5']);
    assert.throws(() => sqlParams('SELECT $3', ['1', '2']), /uses \$3 but the table's key has 2 columns/);
  });

  it('MongoDB: replaces exactly "$n" strings, deep in filters and pipelines, with the key converted like the mapping', () => {
    const p = tablePlan('t', [col('id', 'bigint', 20), col('u', 'uuid', 2950), col('v', 'text', 25)], ['id', 'u']);
    const params = keyParams(p, ['42', '6f1e2c5a-0000-4000-8000-000000000001']);
    assert.ok(params[0] instanceof Long && (params[0] as Long).toString() === '42');
    assert.equal((params[1] as { _bsontype?: string })._bsontype, 'Binary');
    const out = substituteParams(
      [{ $match: { 'key.id': '$1', tags: { $in: ['$2', 'x'] } } }, { $project: { price: '$price', label: '$1 each', n: '$12x' } }],
      params,
    ) as Array<Record<string, Record<string, unknown>>>;
    assert.equal(out[0].$match['key.id'], params[0]);
    assert.deepEqual((out[0].$match.tags as { $in: unknown[] }).$in, [params[1], 'x']);
    assert.deepEqual(out[1].$project, { price: '$price', label: '$1 each', n: '$12x' }, 'field paths and other strings stay');
    assert.throws(() => substituteParams({ a: '$3' }, params), /uses "\$3" but the table's key has 2 columns/);
  });

  it('a query takes the key when either side names a parameter', () => {
    assert.equal(takesKey({ name: 'a', source: 'SELECT count(*) FROM t', target: 'SELECT count(*) FROM t' }), false);
    assert.equal(takesKey({ name: 'b', source: 'SELECT * FROM t WHERE id = $1', target: { collection: 't', filter: { _id: '$1' } } }), true);
    assert.equal(takesKey({ name: 'c', source: 'SELECT 1', target: { collection: 't', pipeline: [{ $match: { a: '$1' } }] } }), true);
  });
});

describe('shadow reads: pace', () => {
  it('a batch waits until the reads before it had their time', () => {
    assert.equal(waitBeforeBatch(0, 100, 0), 0);
    assert.equal(waitBeforeBatch(100, 100, 0), 1_000);
    assert.equal(waitBeforeBatch(100, 100, 400), 600);
    assert.equal(waitBeforeBatch(50, 100, 900), 0);
    assert.deepEqual(batchSizes(250, 100), [100, 100, 50]);
    assert.deepEqual(batchSizes(250, 5_000, 1_000), [250]);
    assert.deepEqual(batchSizes(2_500, 5_000, 1_000), [1_000, 1_000, 500]);
    assert.deepEqual(batchSizes(0, 10), []);
  });

  it('keeps a round within the rate: by any moment t, at most rate × t + one batch have started', async () => {
    let now = 0;
    const starts: Array<{ at: number; n: number }> = [];
    const rate = 50;
    const pacer = new Pacer(rate, () => now, async (ms) => {
      now += ms;
    });
    for (const n of [10, 50, 50, 1, 30, 50, 7, 50]) {
      await pacer.take(n);
      starts.push({ at: now, n });
      now += 3; // the reads themselves take a moment
    }
    let started = 0;
    for (const s of starts) {
      started += s.n;
      assert.ok(started <= (rate * s.at) / 1000 + rate, `${started} reads started by ${s.at} ms`);
    }
    assert.equal(pacer.reads, 248);
    // The round as a whole: the last batch starts no earlier than the reads before it allow.
    assert.ok(starts[starts.length - 1].at >= ((248 - 50) * 1000) / rate);
  });
});

describe('shadow reads: keys of a round', () => {
  it('reads each key once, recent changes first', () => {
    assert.deepEqual(keysToCheck([['1'], ['2']], [['2'], ['3'], ['3']]), [
      { key: ['2'], source: 'recent' },
      { key: ['3'], source: 'recent' },
      { key: ['1'], source: 'sample' },
    ]);
  });

  it('samples a few times the pages the keys need, never more than the table', () => {
    assert.equal(samplePercent(50, 1_000_000), 0.02);
    assert.equal(samplePercent(50, 100), 100);
    assert.equal(samplePercent(1, 1e12), 0.0001);
    assert.equal(samplePercent(10, 0), 100);
  });

  it('scrubs credentials from error messages', () => {
    assert.equal(safeMessage(new Error('connect to postgres://ferry:s3cret@db:5432/x failed')), 'connect to postgres://***@db:5432/x failed');
    assert.equal(safeMessage('password=hunter2 rejected'), 'password=*** rejected');
  });
});
