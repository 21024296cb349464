// The operator path through the CLI: `ferry start --wait` runs a migration to the end
// (workers in this process), `ferry status --json` reports it, `ferry signal` refuses a
// closed migration, and a bad verb is bad input.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { ferry, ferryAsync } from '../helpers/cli';
import { startWorkers, type Harness } from '../helpers/temporal';
import { closeAll } from '../../engines/connections';

describe('ferry start --wait, status, signal (CLI against real services)', function () {
  this.timeout(120_000);
  let sourceUrl: string;
  let harness: Harness;

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_clistart');
    const pool = new Pool({ connectionString: sourceUrl });
    await pool.query(`CREATE TABLE public."Line Items" (id int PRIMARY KEY, "select" text, "a.b" numeric);
      INSERT INTO public."Line Items" SELECT g, 'row ' || g, g / 7.0 FROM generate_series(1, 2500) g`);
    await pool.end();
    process.env.FERRY_CLISTART_SOURCE_URL = sourceUrl;
    harness = await startWorkers();
  });

  after(async () => {
    await harness?.stop();
    await closeAll();
    await dropDatabase(sourceUrl);
  });

  it('starts, follows to completion, and reports the finished migration as JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    const spec = join(dir, 'spec.yaml');
    writeFileSync(spec, [
      'name: cli-start',
      'source: { url: "${FERRY_CLISTART_SOURCE_URL}" }',
      `target: { url: "\${FERRY_MONGO_URL}", database: ${uniqueName('clistart')} }`,
      `tables: ['public."Line Items"']`,
      'backfill: { chunkRows: 1000, batchRows: 300 }',
    ].join('\n'));
    const id = uniqueName('cli-start');
    const run = await ferryAsync(['start', '--spec', spec, '--id', id, '--wait']);
    assert.equal(run.code, 0, run.err + run.out);
    assert.match(run.out, new RegExp(`started migration ${id}`));
    assert.match(run.out, /Temporal UI: http:\/\/.*\/workflows\//);
    assert.match(run.out, /verification .* \(checksum.*\): CLEAN/);

    const status = await ferryAsync(['status', '--id', id, '--json']);
    assert.equal(status.code, 0, status.err);
    const json = JSON.parse(status.out);
    assert.equal(json.phase, 'completed');
    assert.equal(json.execution, 'COMPLETED');
    assert.deepEqual(json.tables.map((t: { table: string; rowsCopied: number; chunksDone: number }) => [t.table, t.rowsCopied, t.chunksDone]), [['public."Line Items"', 2500, 3]]);

    const again = await ferryAsync(['start', '--spec', spec, '--id', id]);
    assert.equal(again.code, 2, 'the same id twice is refused');
    assert.match(again.err, /already exists \(running or finished\)/);

    const late = await ferryAsync(['signal', '--id', id, 'pause']);
    assert.equal(late.code, 1);
    assert.match(late.err, /is completed; signals reach running migrations only/);
  });

  it('refuses an unknown signal verb as bad input', () => {
    const r = ferry(['signal', '--id', 'x', 'explode']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown signal "explode": use one of pause, resume, throttle, abort/);
  });
});
