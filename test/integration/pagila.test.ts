// Pagila, a real-world schema written outside this project (partitioned payments, an enum,
// a domain, tsvector, text[], bytea, numeric, timestamptz), migrated whole into MongoDB and
// into PostgreSQL, then compared row by row. Read from ../shared/datasets/pagila, never copied.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, repoRoot, uniqueName } from '../helpers/stack';
import { startWorkers, startMigration, testSpec, type Harness } from '../helpers/temporal';
import { assertMongoEqual, assertPostgresEqual } from '../helpers/compare';
import { closeAll } from '../../engines/connections';
import type { MigrationStatus } from '../../contracts/migration';

const pagilaDir = process.env.FERRY_PAGILA_DIR ?? join(repoRoot, '..', 'shared', 'datasets', 'pagila');
const tables = ['actor', 'address', 'category', 'city', 'country', 'customer', 'film', 'film_actor', 'film_category',
  'inventory', 'language', 'payment', 'rental', 'staff', 'store'].map((t) => `public.${t}`);

function psql(url: string, file: string): void {
  const r = spawnSync('psql', ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql -f ${file} failed: ${r.stderr}`);
}

describe('pagila (real-world dataset) → MongoDB and PostgreSQL', function () {
  this.timeout(300_000);
  let sourceUrl: string;
  let targetUrl: string;
  let harness: Harness;

  before(async function () {
    if (!existsSync(join(pagilaDir, 'pagila-schema.sql'))) {
      console.log(`    skipped: the pagila dataset is not at ${pagilaDir} (set FERRY_PAGILA_DIR to its folder)`);
      this.skip();
    }
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_pagila');
    targetUrl = await createDatabase('ferry_t_pagila_tgt');
    // Pagila's dump assigns ownership to "postgres"; the stack's superuser is "ferry".
    const pool = new Pool({ connectionString: sourceUrl });
    await pool.query(`DO $$ BEGIN CREATE ROLE postgres NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await pool.end();
    psql(sourceUrl, join(pagilaDir, 'pagila-schema.sql'));
    psql(sourceUrl, join(pagilaDir, 'pagila-data.sql'));
    process.env.FERRY_PAGILA_SOURCE_URL = sourceUrl;
    process.env.FERRY_PAGILA_TARGET_URL = targetUrl;
    harness = await startWorkers();
  });

  after(async () => {
    await harness?.stop();
    await closeAll();
    if (sourceUrl) await dropDatabase(sourceUrl);
    if (targetUrl) await dropDatabase(targetUrl);
  });

  it('into MongoDB: every row lands as the mapped document', async () => {
    const database = uniqueName('pagila');
    const spec = testSpec({ name: 'pagila', source: { url: '${FERRY_PAGILA_SOURCE_URL}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables, backfill: { chunkRows: 4000 } });
    const status: MigrationStatus = await (await startMigration(harness.client, spec, uniqueName('pagila-mongo'))).result();
    assert.equal(status.verification?.clean, true, JSON.stringify(status.verification));
    assert.equal(status.tables.find((t) => t.table === 'public.payment')?.rowsCopied, 16049, 'the partitioned table is read through its parent');
    await assertMongoEqual(sourceUrl, process.env.FERRY_MONGO_URL!, database, tables);
  });

  it('into PostgreSQL: enum and domain types recreated, every row identical', async () => {
    const spec = testSpec({ name: 'pagila-pg', source: { url: '${FERRY_PAGILA_SOURCE_URL}' }, target: { url: '${FERRY_PAGILA_TARGET_URL}' }, tables, backfill: { chunkRows: 4000 } });
    const status: MigrationStatus = await (await startMigration(harness.client, spec, uniqueName('pagila-pg'))).result();
    assert.equal(status.verification?.clean, true, JSON.stringify(status.verification));
    await assertPostgresEqual(sourceUrl, targetUrl, tables);
  });
});
