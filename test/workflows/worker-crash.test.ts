// Kill -9 the only worker in the middle of the backfill, start a new one, and show that the
// migration finishes with the target equal to the source, nothing lost or doubled. MongoDB:
// chunks resume from their heartbeat cursor and replaced documents make replayed batches
// harmless. PostgreSQL: the kill lands inside whole-chunk COPY transactions, which roll back,
// and the retries copy those chunks again from their start, once each.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, repoRoot, uniqueName } from '../helpers/stack';
import { startMigration, testSpec, waitForStatus } from '../helpers/temporal';
import { assertMongoEqual, assertPostgresEqual } from '../helpers/compare';
import { connectClient } from '../../scripts/cli/client';
import { seedShop } from '../../scripts/demo/seed';
import type { MigrationStatus } from '../../contracts/migration';
import type { Client } from '@temporalio/client';

function spawnWorker(env: NodeJS.ProcessEnv, log: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'ferry.js'), 'worker', '--queue', 'all'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  return child;
}

describe('worker killed mid-backfill (real worker processes)', function () {
  this.timeout(300_000);
  let sourceUrl: string;
  let targetUrl: string;
  let client: Client;
  const workers: ChildProcess[] = [];
  const log: string[] = [];

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_crash');
    targetUrl = await createDatabase('ferry_t_crash_dst');
    const pool = new Pool({ connectionString: sourceUrl });
    await seedShop(pool, { customers: 200, products: 50, orders: 24_000, itemsPerOrder: 1 });
    await pool.end();
    client = await connectClient();
  });

  after(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await client?.connection.close();
    await dropDatabase(sourceUrl);
    await dropDatabase(targetUrl);
  });

  it('finishes with source and target equal after a SIGKILL and a restart', async () => {
    process.env.FERRY_CRASH_SOURCE_URL = sourceUrl; // the spec's reference, for the workers below
    const env = { ...process.env };
    const database = uniqueName('crash');
    const spec = testSpec({
      name: 'crash-test',
      source: { url: '${FERRY_CRASH_SOURCE_URL}' },
      target: { url: '${FERRY_MONGO_URL}', database },
      tables: ['public.orders'],
      // ~4 s per chunk at this rate: the kill lands inside chunks, after some batches.
      backfill: { chunkRows: 6_000, batchRows: 250, parallelism: 2, maxRowsPerSecond: 3_000 },
    });
    workers.push(spawnWorker(env, log));
    const id = uniqueName('crash');
    const handle = await startMigration(client, { ...spec }, id);
    await waitForStatus(client, id, (s) => s.tables[0]?.state === 'copying', 'chunks copying');
    await new Promise((r) => setTimeout(r, 2_500));
    const before = await waitForStatus(client, id, () => true, 'status before kill');
    workers[0].kill('SIGKILL');
    assert.ok(before.rowsCopied < 24_000, `killed before the end (copied ${before.rowsCopied})`);

    workers.push(spawnWorker(env, log));
    const status: MigrationStatus = await handle.result();
    assert.equal(status.phase, 'completed', log.join(''));
    assert.equal(status.verification?.clean, true);
    const orders = status.tables[0];
    assert.ok(orders.chunksResumed >= 1, `at least one chunk resumed from its cursor (${JSON.stringify(orders)})`);
    // Counted from cursors: exact, so no batch was counted twice or skipped.
    assert.equal(orders.rowsCopied, 24_000);
    await assertMongoEqual(sourceUrl, process.env.FERRY_MONGO_URL!, database, ['public.orders']);
  });

  it('PostgreSQL target: a kill inside whole-chunk COPYs redoes those chunks exactly once', async () => {
    process.env.FERRY_CRASH_SOURCE_URL = sourceUrl;
    process.env.FERRY_CRASH_TARGET_URL = targetUrl;
    // Only workers that know the target's variable.
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    const env = { ...process.env };
    const spec = testSpec({
      name: 'crash-test-pg',
      source: { url: '${FERRY_CRASH_SOURCE_URL}' },
      target: { url: '${FERRY_CRASH_TARGET_URL}' },
      // customers: what the orders' foreign key references.
      tables: ['public.customers', 'public.orders'],
      // ~4 s per chunk at this rate, each chunk one COPY in one transaction: the kill lands
      // inside open COPYs.
      backfill: { chunkRows: 6_000, parallelism: 2, maxRowsPerSecond: 3_000 },
    });
    const worker = spawnWorker(env, log);
    workers.push(worker);
    const id = uniqueName('crash-pg');
    const handle = await startMigration(client, { ...spec }, id);
    await waitForStatus(client, id, (s) => s.tables.some((t) => t.table === 'public.orders' && t.state === 'copying'), 'orders copying');
    const target = new Pool({ connectionString: targetUrl });
    try {
      // Wait until COPYs are streaming into the target (both slots, given a little time), then
      // kill the worker mid-stream.
      const streaming = async () =>
        Number((await target.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY %FROM STDIN%' AND state = 'active'`)).rows[0].n);
      let copying = 0;
      for (let i = 0; i < 300 && copying < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        copying = await streaming();
      }
      await new Promise((r) => setTimeout(r, 500));
      copying = Math.min(copying, await streaming());
      worker.kill('SIGKILL');
      assert.ok(copying >= 1, 'whole-chunk COPYs were in flight when the worker was killed');
      const committed = await target.query(`SELECT count(*)::int AS n FROM public.orders`);
      assert.ok(committed.rows[0].n < 24_000, `killed before the end (${committed.rows[0].n} rows committed)`);

      workers.push(spawnWorker(env, log));
      const status: MigrationStatus = await handle.result();
      assert.equal(status.phase, 'completed', log.join(''));
      assert.equal(status.verification?.clean, true);
      const orders = status.tables.find((t) => t.table === 'public.orders')!;
      assert.ok(orders.chunksResumed >= copying, `the ${copying} chunk(s) in flight were copied again (${JSON.stringify(orders)})`);
      // Counted from what each chunk's committed transaction holds: no chunk counted twice.
      assert.equal(orders.rowsCopied, 24_000);
      const keys = await target.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM public.orders`);
      assert.deepEqual(keys.rows[0], { n: 24_000, d: 24_000 }, 'no key twice');
      const pk = await target.query(`SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'public.orders'::regclass AND indisprimary`);
      assert.equal(pk.rows[0].n, 1, 'the key was built after the load');
      const ledger = await target.query(`SELECT (SELECT count(*) FROM _ferry.loading_tables)::int AS tables, (SELECT count(*) FROM _ferry.copied_chunks)::int AS chunks`);
      assert.deepEqual(ledger.rows[0], { tables: 0, chunks: 0 }, 'the load ledger is empty once the key exists');
      await assertPostgresEqual(sourceUrl, targetUrl, ['public.customers', 'public.orders']);
    } finally {
      await target.end();
    }
  });
});
