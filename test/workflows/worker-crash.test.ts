// Kill -9 the only worker in the middle of the backfill, start a new one, and show that the
// migration finishes with the target equal to the source: chunks resume from their
// heartbeat cursor, upserts make replayed batches harmless, nothing is lost or doubled.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, repoRoot, uniqueName } from '../helpers/stack';
import { startMigration, testSpec, waitForStatus } from '../helpers/temporal';
import { assertMongoEqual } from '../helpers/compare';
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
  let client: Client;
  const workers: ChildProcess[] = [];
  const log: string[] = [];

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_crash');
    const pool = new Pool({ connectionString: sourceUrl });
    await seedShop(pool, { customers: 200, products: 50, orders: 24_000, itemsPerOrder: 1 });
    await pool.end();
    client = await connectClient();
  });

  after(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await client?.connection.close();
    await dropDatabase(sourceUrl);
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
});
