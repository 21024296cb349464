// Rollback before the switch, on the real stack: an online migration in its sync phase is
// rolled back with --drop-target. The workflow *completes* with phase rolled-back (an
// operator's rollback is not a failure); no replication slot or connector is left; what Ferry
// created on the target (a schema, a type, tables, its _ferry stores) is gone, and what
// existed there before (a table Ferry loaded into, an unrelated schema) is untouched.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { createDatabase, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { onlineSpec, onlineSuite } from '../helpers/sync';
import { ferryAsync } from '../helpers/cli';
import { captureName } from '../../activities/cdc/capture';

const exists = async (pool: Pool, sql: string, args: unknown[] = []) => ((await pool.query(sql, args)).rows[0].e as string) === 'true';
const relation = (pool: Pool, name: string) => exists(pool, `SELECT (to_regclass($1) IS NOT NULL)::text AS e`, [name]);

describe('rollback before the switch, with --drop-target (real Debezium, Kafka, Temporal)', function () {
  this.timeout(8 * 60_000);
  const suite = onlineSuite();

  it('completes rolled-back, releases capture, and removes exactly what Ferry created on the target', async () => {
    const sourceUrl = await createDatabase('ferry_t_rb');
    const targetUrl = await createDatabase('ferry_t_rb_tgt');
    suite.databases.push(sourceUrl, targetUrl);
    process.env.FERRY_RB_SRC = sourceUrl;
    process.env.FERRY_RB_TGT = targetUrl;
    const source = new Pool({ connectionString: sourceUrl });
    const target = new Pool({ connectionString: targetUrl });
    try {
      await source.query(`CREATE TYPE public.mood AS ENUM ('calm', 'busy')`);
      await source.query(`CREATE TABLE public.items (id int PRIMARY KEY, mood public.mood NOT NULL)`);
      await source.query(`INSERT INTO public.items SELECT g, 'calm' FROM generate_series(1, 200) g`);
      await source.query(`CREATE SCHEMA sales`);
      await source.query(`CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric NOT NULL)`);
      await source.query(`INSERT INTO sales.orders SELECT g, g * 1.5 FROM generate_series(1, 100) g`);
      await source.query(`CREATE TABLE public.pre (id int PRIMARY KEY, v text)`);
      await source.query(`INSERT INTO public.pre SELECT g, 'v' || g FROM generate_series(1, 50) g`);
      // The target before the migration: a table Ferry will load into, and something unrelated.
      await target.query(`CREATE TABLE public.pre (id int PRIMARY KEY, v text)`);
      await target.query(`CREATE SCHEMA legacy`);
      await target.query(`CREATE TABLE legacy.keep (id int PRIMARY KEY)`);
      await target.query(`INSERT INTO legacy.keep VALUES (1), (2)`);

      const spec = onlineSpec('rb', '${FERRY_RB_SRC}', { url: '${FERRY_RB_TGT}' }, ['public.items', 'sales.orders', 'public.pre'], {});
      const id = uniqueName('rb');
      suite.migrations.push(id);
      await startMigration(suite.harness.client, spec, id);
      const ready = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
      assert.equal(ready.phase, 'sync', ready.error ?? '');
      assert.ok(await relation(target, 'public.items'));
      assert.ok(await relation(target, 'sales.orders'));

      const rb = await ferryAsync(['rollback', '--id', id, '--wait', '--drop-target', '--reason', 'test']);
      assert.equal(rb.code, 0, rb.out + rb.err);
      assert.match(rb.out, /rolled-back/);
      const desc = await suite.harness.client.workflow.getHandle(id).describe();
      assert.equal(desc.status.name, 'COMPLETED', 'an operator rollback is not a failure');
      const result = (await suite.harness.client.workflow.getHandle(id).result()) as { phase: string; rollback: { dropped: string[]; kept: string[] } };
      assert.equal(result.phase, 'rolled-back');
      assert.ok(result.rollback.dropped.length > 0);

      // Capture released.
      const slots = await source.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [captureName(id)]);
      assert.equal(slots.rows[0].n, 0, 'no replication slot left');
      assert.equal((await fetch(`${process.env.FERRY_CONNECT_URL}/connectors/${captureName(id)}`)).status, 404, 'no connector left');
      // What Ferry created is gone.
      assert.equal(await relation(target, 'public.items'), false);
      assert.equal(await relation(target, 'sales.orders'), false);
      assert.equal(await exists(target, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'sales')::text AS e`), false, 'the schema Ferry created');
      assert.equal(await exists(target, `SELECT (to_regtype('public.mood') IS NOT NULL)::text AS e`), false, 'the type Ferry created');
      assert.equal(await exists(target, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '_ferry')::text AS e`), false, `Ferry's stores (kept: ${result.rollback.kept.join('; ')})`);
      // What existed before is untouched.
      assert.ok(await relation(target, 'public.pre'), 'the table that existed before stays');
      assert.equal((await target.query('SELECT count(*)::int AS n FROM legacy.keep')).rows[0].n, 2);
    } finally {
      await source.end();
      await target.end();
    }
  });
});
