// Online migrations end to end on the real stack: Debezium (Kafka Connect) captures the
// source, Kafka holds the events, the sync applies them. Writes run the whole time — during
// the backfill, the catch-up and the verification — and the target must end up equal to the
// source, row for row, with the verification clean although writes never stopped.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { createDatabase, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { cleanUpMigration, onlineSpec, onlineSuite, syncedPast } from '../helpers/sync';
import { assertMongoEqual, assertPostgresEqual } from '../helpers/compare';
import { createLoadTables, startLoad } from '../../scripts/bench/cdc-load';
import { deadLetterStore } from '../../engines';
import { ferryAsync } from '../helpers/cli';

describe('online migration: backfill + CDC sync with writes that never stop (real Debezium, Kafka, Temporal)', function () {
  this.timeout(15 * 60_000);
  const suite = onlineSuite();

  for (const kind of ['postgres', 'mongodb'] as const) {
    it(`into ${kind}: converges and verifies clean while inserts, updates and deletes run throughout`, async () => {
      const sourceUrl = await createDatabase('ferry_t_sync');
      suite.databases.push(sourceUrl);
      process.env[`FERRY_SYNC_SRC_${kind.toUpperCase()}`] = sourceUrl;
      let target: Record<string, unknown>;
      let targetUrl = '';
      if (kind === 'postgres') {
        targetUrl = await createDatabase('ferry_t_sync_tgt');
        suite.databases.push(targetUrl);
        process.env.FERRY_SYNC_TGT_POSTGRES = targetUrl;
        target = { url: '${FERRY_SYNC_TGT_POSTGRES}' };
      } else {
        target = { url: '${FERRY_MONGO_URL}', database: uniqueName('sync') };
      }
      const pool = new Pool({ connectionString: sourceUrl });
      const tables = await createLoadTables(pool, 'public', 3, 4_000);
      const spec = onlineSpec(`sync-${kind}`, `\${FERRY_SYNC_SRC_${kind.toUpperCase()}}`, target, tables);
      const id = uniqueName(`sync-${kind}`);
      suite.migrations.push(id);

      const load = startLoad({ pool, tables, eventsPerSecond: 150, idStart: 1_000_000 });
      try {
        await startMigration(suite.harness.client, spec, id);
        const copying = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'backfill' && s.rowsCopied > 0, 'backfill copying');
        assert.ok(copying.capture?.marker.position, 'the start marker was recorded before the backfill');
        const synced = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 10 * 60_000);
        assert.equal(synced.phase, 'sync', synced.error ?? '');
        assert.equal(synced.verification?.clean, true, JSON.stringify(synced.verification?.tables));
        assert.equal(load.stats().deletes > 0 && load.stats().updates > 0 && load.stats().inserts > 0, true, 'the load wrote all three kinds');
      } finally {
        await load.stop();
      }
      const stoppedAt = Date.now();
      const caughtUp = await waitForStatus(suite.harness.client, id, (s) => syncedPast(s, stoppedAt), 'caught up after the load stopped', 5 * 60_000);
      assert.equal(caughtUp.sync?.deadLetters, 0);
      if (kind === 'postgres') await assertPostgresEqual(sourceUrl, targetUrl, tables);
      else await assertMongoEqual(sourceUrl, process.env.FERRY_MONGO_URL!, (target as { database: string }).database, tables);
      await cleanUpMigration(suite.harness.client, id);
      const slots = await pool.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [caughtUp.capture!.name]);
      assert.equal(slots.rows[0].n, 0, 'the abort released the replication slot');
      await pool.end();
    });
  }

  it('follows a key change, a TOASTed row, an added column, a truncate, and dead-letters a poison event (PostgreSQL target)', async () => {
    const sourceUrl = await createDatabase('ferry_t_sync_edge');
    const targetUrl = await createDatabase('ferry_t_sync_edge_tgt');
    suite.databases.push(sourceUrl, targetUrl);
    process.env.FERRY_SYNC_EDGE_SRC = sourceUrl;
    process.env.FERRY_SYNC_EDGE_TGT = targetUrl;
    const pool = new Pool({ connectionString: sourceUrl });
    await pool.query(`CREATE TABLE public.items (sku text PRIMARY KEY, qty int NOT NULL)`);
    await pool.query(`CREATE TABLE public.docs (id int PRIMARY KEY, title text, body text)`);
    await pool.query(`ALTER TABLE public.docs ALTER COLUMN body SET STORAGE EXTERNAL`);
    await pool.query(`CREATE TABLE public.scratch (id int PRIMARY KEY, v text)`);
    await pool.query(`INSERT INTO public.items SELECT 'sku-' || g, g FROM generate_series(1, 200) g`);
    await pool.query(`INSERT INTO public.scratch SELECT g, 'before' FROM generate_series(1, 50) g`);
    const big = 'x'.repeat(1_000_000);
    await pool.query(`INSERT INTO public.docs VALUES (1, 'first', $1), (2, 'second', 'small')`, [big]);
    // Short apply runs and continue-as-new every two: every change below crosses activity restarts and new runs.
    const spec = onlineSpec('sync-edge', '${FERRY_SYNC_EDGE_SRC}', { url: '${FERRY_SYNC_EDGE_TGT}' }, ['public.items', 'public.docs', 'public.scratch'], { sync: { runSeconds: 10, runsPerWorkflow: 2 } });
    const id = uniqueName('sync-edge');
    suite.migrations.push(id);
    await startMigration(suite.harness.client, spec, id);
    const ready = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');

    await pool.query(`UPDATE public.items SET sku = 'renamed-1' WHERE sku = 'sku-1'`);
    await pool.query(`UPDATE public.docs SET title = 'first, edited' WHERE id = 1`);
    await pool.query(`ALTER TABLE public.items ADD COLUMN color text DEFAULT 'red'`);
    await pool.query(`UPDATE public.items SET color = 'blue', qty = qty + 1 WHERE sku IN ('sku-2', 'sku-3')`);
    await pool.query(`INSERT INTO public.items VALUES ('new-1', 1, 'green')`);
    await pool.query(`TRUNCATE public.scratch`);
    await pool.query(`INSERT INTO public.scratch VALUES (7, 'after the truncate')`);

    // A message no decoder can read, in the middle of the items topic.
    const topic = `${ready.capture!.name}.public.items`;
    const producer = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: '{"sku":"poison"}', value: '{"op": "u", "after": ' }] });
    await producer.disconnect();
    await pool.query(`UPDATE public.items SET qty = 999 WHERE sku = 'sku-4'`);

    // What a runbook does: block until caught up, then read the status.
    const wait = await ferryAsync(['wait', '--id', id, '--caught-up', '--max-lag', '30', '--timeout', '180']);
    assert.equal(wait.code, 0, wait.out + wait.err);
    assert.match(wait.out, /caught up: lag \d+\.\d s/);

    const since = Date.now();
    const done = await waitForStatus(suite.harness.client, id, (s) => syncedPast(s, since) && (s.sync?.deadLetters ?? 0) >= 1, 'caught up with the poison event dead-lettered', 3 * 60_000);
    assert.equal(done.sync?.deadLetters, 1);
    assert.deepEqual(done.sync?.columnsAdded, ['public.items.color']);
    await assertPostgresEqual(sourceUrl, targetUrl, ['public.items', 'public.docs', 'public.scratch']);
    const target = new Pool({ connectionString: targetUrl });
    const doc = await target.query(`SELECT title, length(body) AS n FROM public.docs WHERE id = 1`);
    assert.deepEqual(doc.rows[0], { title: 'first, edited', n: 1_000_000 }, 'the unchanged TOASTed value was kept, never replaced by the placeholder');
    const scratch = await target.query(`SELECT id FROM public.scratch`);
    assert.deepEqual(scratch.rows, [{ id: 7 }], 'the truncate reached the target, in order with the insert after it');
    const gone = await target.query(`SELECT count(*)::int AS n FROM public.items WHERE sku = 'sku-1'`);
    assert.equal(gone.rows[0].n, 0, 'the old key is gone after the key change');
    await target.end();
    const letters = await deadLetterStore(spec).list(id, 10);
    assert.equal(letters.length, 1);
    assert.equal(letters[0].topic, topic);
    assert.equal(letters[0].key, '{"sku":"poison"}');
    assert.match(letters[0].reason, /JSON|decode|envelope/i);
    // runsPerWorkflow 2 × runSeconds 10: within a minute the sync has continued-as-new, and goes on.
    const sync = suite.harness.client.workflow.getHandle(`${id}/sync`);
    const continued = async () => !!(await sync.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    for (let i = 0; i < 120 && !(await continued()); i++) await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(await continued(), 'the sync workflow has continued-as-new');
    await pool.query(`UPDATE public.items SET qty = 1000 WHERE sku = 'sku-5'`);
    const later = Date.now();
    await waitForStatus(suite.harness.client, id, (s) => syncedPast(s, later), 'caught up after continue-as-new', 2 * 60_000);
    await assertPostgresEqual(sourceUrl, targetUrl, ['public.items', 'public.docs', 'public.scratch']);
    const status = await ferryAsync(['status', '--id', id]);
    assert.match(status.out, /sync: caught-up .*dead letters: 1/);
    assert.match(status.out, /slot: ferry_\S+ active, confirmed LSN/);
    assert.match(status.out, /columns added on the source and followed: public\.items\.color/);
    await pool.end();
  });
});
