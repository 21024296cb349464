// Target writes are idempotent on the real servers: replaying a batch (as a retried or
// resumed chunk does) leaves one row per key holding the latest values.
import { strict as assert } from 'node:assert';
import { MongoClient } from 'mongodb';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { MongoTarget } from '../../engines/mongodb/target';
import { PostgresTarget } from '../../engines/postgres/target';
import { validateSpec } from '../../activities/plan/spec';
import { closeAll } from '../../engines/connections';
import { column, tablePlan } from '../helpers/plan';

const plan = tablePlan('items', [column('a', 'bigint', 20), column('b', 'smallint', 21), column('v', 'text', 25)], ['a', 'b']);
const rows = (v: string) => Array.from({ length: 50 }, (_, i) => ({ a: String(1_000_000_000 + i), b: String(i % 3), v }));

describe('target writes are idempotent (real MongoDB wire server and PostgreSQL)', function () {
  this.timeout(60_000);
  let pgUrl: string;
  before(async () => {
    loadStackEnv();
    pgUrl = await createDatabase('ferry_t_targets');
    process.env.FERRY_TARGETS_PG_URL = pgUrl;
  });
  after(async () => {
    await closeAll();
    await dropDatabase(pgUrl);
  });

  it('MongoDB: a replayed batch (composite Int64/Int32 _id) replaces, never duplicates', async () => {
    const database = uniqueName('targets');
    const spec = validateSpec({ name: 't', source: { url: '${FERRY_SOURCE_URL}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables: ['public.items'] }, process.env);
    const target = new MongoTarget(spec);
    await target.prepareTable(plan);
    await target.writeRows(plan, rows('first'));
    await target.writeRows(plan, [...rows('second').slice(0, 10), ...rows('first').slice(10)]);
    await target.writeRows(plan, rows('second').slice(0, 10));
    assert.equal(await target.countRows(plan), 50);
    const client = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    try {
      const coll = client.db(database).collection('items');
      assert.equal(await coll.countDocuments({ v: 'second' }), 10);
      assert.equal(await coll.countDocuments({ v: 'first' }), 40);
    } finally {
      await client.close();
    }
  });

  it('PostgreSQL: a replayed batch updates in place (ON CONFLICT), never duplicates', async () => {
    const spec = validateSpec({ name: 't', source: { url: '${FERRY_SOURCE_URL}' }, target: { url: '${FERRY_TARGETS_PG_URL}' }, tables: ['public.items'] }, process.env);
    const target = new PostgresTarget(spec);
    await target.prepareTable(plan);
    await target.prepareTable(plan); // and preparing twice is harmless
    await target.finishLoad(plan); // the key upserts conflict on, as after the backfill
    await target.writeRows(plan, rows('first'));
    await target.writeRows(plan, rows('second').slice(0, 10));
    assert.equal(await target.countRows(plan), 50);
    const pool = new Pool({ connectionString: pgUrl });
    try {
      const r = await pool.query(`SELECT v, count(*)::int AS n FROM public.items GROUP BY v ORDER BY v`);
      assert.deepEqual(r.rows, [{ v: 'first', n: 40 }, { v: 'second', n: 10 }]);
    } finally {
      await pool.end();
    }
  });
});
