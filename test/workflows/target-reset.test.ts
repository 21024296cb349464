// A second run after a target reset: the target database is dropped and recreated while the
// same workers keep running, then the same spec starts again. Nothing a worker remembers of
// the first run's target objects (store tables, compiled statements) may break the second.
import { strict as assert } from 'node:assert';
import { recreateDatabase, uniqueName } from '../helpers/stack';
import { offlineSuite, startMigration, testSpec } from '../helpers/temporal';
import { assertPostgresEqual } from '../helpers/compare';
import { seedShop, demoTables } from '../../scripts/demo/seed';
import type { MigrationStatus } from '../../contracts/migration';

describe('a second run after a target reset (real Temporal, PostgreSQL)', function () {
  this.timeout(300_000);

  const suite = offlineSuite({
    databases: ['ferry_t_src', 'ferry_t_tgt'],
    env: ['FERRY_TEST_RESET_SOURCE_URL', 'FERRY_TEST_RESET_TARGET_URL'],
    seed: (pool) => seedShop(pool, { customers: 100, products: 20, orders: 300, itemsPerOrder: 2 }),
  });

  it('runs the same spec again, with the same workers, into the recreated database', async () => {
    const spec = testSpec({
      name: 'wf-reset',
      source: { url: '${FERRY_TEST_RESET_SOURCE_URL}' },
      target: { url: '${FERRY_TEST_RESET_TARGET_URL}' },
      tables: demoTables,
      backfill: { chunkRows: 200, batchRows: 100 },
    });
    const first: MigrationStatus = await (await startMigration(suite.harness.client, spec, uniqueName('wf-reset'))).result();
    assert.equal(first.verification?.clean, true);
    await recreateDatabase(suite.targetUrl);
    const second: MigrationStatus = await (await startMigration(suite.harness.client, spec, uniqueName('wf-reset'))).result();
    assert.equal(second.phase, 'completed');
    assert.equal(second.verification?.clean, true);
    await assertPostgresEqual(suite.sourceUrl, suite.targetUrl, demoTables);
  });
});
