// The migration workflow end to end on real services: Temporal dev server, PostgreSQL
// source and target, the MongoDB wire-protocol server.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { uniqueName } from '../helpers/stack';
import { offlineSuite, decodedHistory, startMigration, testSpec, waitForStatus } from '../helpers/temporal';
import { assertMongoEqual, assertPostgresEqual } from '../helpers/compare';
import { seedShop, demoTables } from '../../scripts/demo/seed';
import { pauseSignal, resumeSignal, abortSignal } from '../../contracts/messages';
import type { MigrationStatus } from '../../contracts/migration';
import { readStatus, type StatusRead } from '../../scripts/cli/client';

describe('migration workflow (real Temporal, PostgreSQL, MongoDB wire server)', function () {
  this.timeout(300_000);

  const suite = offlineSuite({
    databases: ['ferry_t_src', 'ferry_t_tgt'],
    env: ['FERRY_TEST_SOURCE_URL', 'FERRY_TEST_TARGET_PG_URL'],
    seed: (pool) => seedShop(pool, { customers: 400, products: 60, orders: 1_500, itemsPerOrder: 2 }),
  });

  const mongoSpec = (database: string, extra: Record<string, unknown> = {}) =>
    testSpec({
      name: 'wf-test',
      source: { url: '${FERRY_TEST_SOURCE_URL}' },
      target: { url: '${FERRY_MONGO_URL}', database },
      tables: demoTables,
      backfill: { chunkRows: 300, batchRows: 100, parallelism: 3, ...extra },
    });

  it('copies every table into MongoDB in chunks and verifies the counts', async () => {
    const database = uniqueName('wf_mongo');
    const handle = await startMigration(suite.harness.client, mongoSpec(database), uniqueName('wf-mongo'));
    const status: MigrationStatus = await handle.result();
    assert.equal(status.phase, 'completed');
    assert.equal(status.verification?.clean, true);
    const orders = status.tables.find((t) => t.table === 'public.orders')!;
    assert.equal(orders.rowsCopied, 1_500);
    assert.equal(orders.chunksTotal, 5);
    assert.equal(orders.chunksDone, 5);
    // Row data and resolved URLs never entered history (payloads decoded before searching;
    // the positive controls show the search sees what history does hold).
    for (const wf of [handle.workflowId, status.tables[0].workflowId!]) {
      const history = await decodedHistory(suite.harness.client, wf);
      assert.ok(history.includes('public.customers') && history.includes('${FERRY_TEST_SOURCE_URL}'), 'decoded history holds plans and references');
      assert.ok(!history.includes('Customer 1'), 'row values must not appear in workflow history');
      assert.ok(!history.includes(suite.sourceUrl) && !history.includes(new URL(suite.sourceUrl).pathname), 'resolved URLs must not appear in workflow history');
    }
    await assertMongoEqual(suite.sourceUrl, process.env.FERRY_MONGO_URL!, database, demoTables);
  });

  it('copies every table into PostgreSQL, creating tables and enum types', async () => {
    const spec = testSpec({
      name: 'wf-test-pg',
      source: { url: '${FERRY_TEST_SOURCE_URL}' },
      target: { url: '${FERRY_TEST_TARGET_PG_URL}' },
      tables: demoTables,
      backfill: { chunkRows: 500, batchRows: 200 },
    });
    const status: MigrationStatus = await (await startMigration(suite.harness.client, spec, uniqueName('wf-pg'))).result();
    assert.equal(status.verification?.clean, true);
    await assertPostgresEqual(suite.sourceUrl, suite.targetUrl, demoTables);
  });

  it('continues-as-new through a long table and still copies every chunk exactly once', async () => {
    const database = uniqueName('wf_can');
    const id = uniqueName('wf-can');
    const spec = testSpec({ ...mongoSpec(database, { chunkRows: 40, batchRows: 40, parallelism: 4, chunksPerRun: 10 }), tables: ['public.orders'] });
    const status: MigrationStatus = await (await startMigration(suite.harness.client, spec, id)).result();
    const orders = status.tables[0];
    assert.equal(orders.chunksTotal, 38);
    assert.equal(orders.chunksDone, 38);
    assert.equal(orders.rowsCopied, 1_500);
    // Visibility is eventually consistent: poll until every run is listed.
    let runs: string[] = [];
    for (let i = 0; i < 40 && runs.length < 4; i++) {
      runs = [];
      for await (const w of suite.harness.client.workflow.list({ query: `WorkflowId = "${id}/backfill/public.orders"` })) runs.push(w.runId);
      if (runs.length < 4) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(runs.length >= 4, `expected at least 4 runs of the table's backfill, saw ${runs.length}`);
    await assertMongoEqual(suite.sourceUrl, process.env.FERRY_MONGO_URL!, database, ['public.orders']);
  });

  it('pauses between chunks and resumes on signal', async () => {
    const database = uniqueName('wf_pause');
    const id = uniqueName('wf-pause');
    // ~5 s of copying at this rate: room to pause in the middle even on a slow machine.
    const spec = testSpec({ ...mongoSpec(database, { maxRowsPerSecond: 600, parallelism: 1, chunkRows: 200, batchRows: 100 }), tables: ['public.order_items'] });
    const handle = await startMigration(suite.harness.client, spec, id);
    const read = async () => (await readStatus(suite.harness.client, id)).status!;
    await waitForStatus(suite.harness.client, id, (s) => s.rowsCopied > 0, 'first chunks copied');
    await handle.signal(pauseSignal);
    // The chunk in flight finishes; then nothing moves while paused.
    let settled = await waitForStatus(suite.harness.client, id, (s) => s.paused, 'paused flag');
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_500));
      const now = await read();
      if (now.rowsCopied === settled.rowsCopied) break;
      settled = now;
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const still = await read();
    assert.equal(still.rowsCopied, settled.rowsCopied, 'no rows copied while paused');
    assert.ok(still.rowsCopied < 3_000, `paused before the end (${still.rowsCopied} of 3000)`);
    await handle.signal(resumeSignal);
    const done: MigrationStatus = await handle.result();
    assert.equal(done.phase, 'completed');
    assert.equal(done.verification?.clean, true);
    assert.equal(done.rowsCopied, 3_000);
  });

  it('aborts on signal and reports the phase as aborted', async () => {
    const id = uniqueName('wf-abort');
    const handle = await startMigration(suite.harness.client, mongoSpec(uniqueName('wf_abort'), { maxRowsPerSecond: 1_000, parallelism: 1 }), id);
    await waitForStatus(suite.harness.client, id, (s) => s.phase === 'backfill', 'backfill phase');
    await handle.signal(abortSignal, 'test abort');
    const err = await handle.result().then(() => null, (e) => e);
    assert.ok(err instanceof WorkflowFailedError);
    const cause = err.cause as ApplicationFailure;
    assert.equal(cause.type, 'MigrationAborted');
    assert.equal((cause.details?.[0] as MigrationStatus).phase, 'aborted');
  });

  it('shows an activity that keeps failing, with its attempt and reason, in the status read', async () => {
    process.env.FERRY_TEST_DEAD_MONGO_URL = 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500';
    const spec = testSpec({ ...mongoSpec('x'), target: { url: '${FERRY_TEST_DEAD_MONGO_URL}', database: 'x' } });
    const id = uniqueName('wf-retry');
    const handle = await startMigration(suite.harness.client, spec, id);
    try {
      let read: StatusRead | undefined;
      for (let i = 0; i < 120 && !read?.retrying.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        read = await readStatus(suite.harness.client, id);
      }
      assert.equal(read?.execution, 'RUNNING');
      assert.equal(read?.status?.phase, 'prepare');
      const r = read!.retrying[0];
      assert.equal(r.activity, 'prepareMigration');
      assert.ok(r.attempt >= 2);
      assert.match(r.lastFailure, /ECONNREFUSED|Server selection timed out|connect/i);
    } finally {
      await handle.signal(abortSignal, 'test done');
    }
  });

  it('fails fast with what to grant when the target user may not create tables', async () => {
    const pool = new Pool({ connectionString: suite.targetUrl });
    await pool.query(`DO $$ BEGIN CREATE ROLE ferry_readonly LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await pool.end();
    const url = new URL(suite.targetUrl);
    url.username = 'ferry_readonly';
    process.env.FERRY_TEST_READONLY_URL = url.toString();
    const spec = testSpec({ ...mongoSpec('x'), target: { url: '${FERRY_TEST_READONLY_URL}' }, tables: ['public.customers'] });
    const err = await (await startMigration(suite.harness.client, spec, uniqueName('wf-perm'))).result().then(() => null, (e) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(String((err.cause as Error).message), /(creating public\.customers on the target: permission denied for schema public|copying public\.customers: permission denied for table customers) \(SQLSTATE 42501\): grant the privilege/);
  });

  it('fails fast, without retrying, when a table is missing at prepare time', async () => {
    const spec = testSpec({ ...mongoSpec('x'), tables: ['public.customers', 'public.nope'] });
    const err = await (await startMigration(suite.harness.client, spec, uniqueName('wf-bad'))).result().then(() => null, (e) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(String((err.cause as Error).message), /tables\[1\]: no such table public\.nope/);
  });
});
