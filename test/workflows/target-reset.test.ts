// A second run after a target reset: the target database is dropped and recreated while the
// same workers keep running, then the same spec starts again. Nothing a worker remembers of
// the first run's target objects (store tables, compiled statements) may break the second.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, recreateDatabase, uniqueName } from '../helpers/stack';
import { startWorkers, startMigration, testSpec, type Harness } from '../helpers/temporal';
import { assertPostgresEqual } from '../helpers/compare';
import { seedShop, demoTables } from '../../scripts/demo/seed';
import type { MigrationStatus } from '../../contracts/migration';
import { closeAll } from '../../engines/connections';

describe('a second run after a target reset (real Temporal, PostgreSQL)', function () {
  this.timeout(300_000);
  let harness: Harness;
  let sourceUrl: string;
  let targetUrl: string;

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_src');
    targetUrl = await createDatabase('ferry_t_tgt');
    const pool = new Pool({ connectionString: sourceUrl });
    await seedShop(pool, { customers: 100, products: 20, orders: 300, itemsPerOrder: 2 });
    await pool.end();
    process.env.FERRY_TEST_RESET_SOURCE_URL = sourceUrl;
    process.env.FERRY_TEST_RESET_TARGET_URL = targetUrl;
    harness = await startWorkers();
  });

  after(async () => {
    await harness?.stop();
    await closeAll();
    if (sourceUrl) await dropDatabase(sourceUrl);
    if (targetUrl) await dropDatabase(targetUrl);
  });

  it('runs the same spec again, with the same workers, into the recreated database', async () => {
    const spec = testSpec({
      name: 'wf-reset',
      source: { url: '${FERRY_TEST_RESET_SOURCE_URL}' },
      target: { url: '${FERRY_TEST_RESET_TARGET_URL}' },
      tables: demoTables,
      backfill: { chunkRows: 200, batchRows: 100 },
    });
    const first: MigrationStatus = await (await startMigration(harness.client, spec, uniqueName('wf-reset'))).result();
    assert.equal(first.verification?.clean, true);
    await recreateDatabase(targetUrl);
    const second: MigrationStatus = await (await startMigration(harness.client, spec, uniqueName('wf-reset'))).result();
    assert.equal(second.phase, 'completed');
    assert.equal(second.verification?.clean, true);
    await assertPostgresEqual(sourceUrl, targetUrl, demoTables);
  });
});
