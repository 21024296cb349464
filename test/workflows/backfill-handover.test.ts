// A backfill that outlasts its history: the migration continues-as-new in the middle of the
// backfill phase, the new run adopts the tables already copying and starts the rest, and the
// migration completes with every row, verified. Tested with a tiny history threshold.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { uniqueName } from '../helpers/stack';
import { offlineSuite, testSpec, waitForStatus } from '../helpers/temporal';
import { assertPostgresEqual } from '../helpers/compare';
import { executeWorkflow, startWorkflow } from '../../contracts/workflow-types';
import { abortSignal } from '../../contracts/messages';
import type { MigrationInput, MigrationStatus } from '../../contracts/migration';
import { taskQueues } from '../../contracts/queues';

describe('backfill phase through continue-as-new (real Temporal and PostgreSQL)', function () {
  this.timeout(300_000);
  const tables = ['public.t1', 'public.t2', 'public.t3', 'public.t4'];

  const suite = offlineSuite({
    databases: ['ferry_t_hand', 'ferry_t_hand_tgt'],
    env: ['FERRY_HAND_SRC', 'FERRY_HAND_TGT'],
    seed: async (pool) => {
      for (const [i, t] of tables.entries()) {
        await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text NOT NULL)`);
        await pool.query(`INSERT INTO ${t} SELECT g, md5(g::text) FROM generate_series(1, ${1500 + i * 500}) g`);
      }
    },
  });

  it('hands over mid-backfill, adopts running tables, starts the rest, completes verified', async () => {
    const spec = testSpec({ name: 'hand', source: { url: '${FERRY_HAND_SRC}' }, target: { url: '${FERRY_HAND_TGT}' }, tables, backfill: { chunkRows: 500, batchRows: 250, tableParallelism: 2 } });
    const input: MigrationInput = { spec, continueAsNewAfterEvents: 40 };
    const id = uniqueName('wf-hand');
    const status: MigrationStatus = await executeWorkflow(suite.harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [input] });
    assert.equal(status.phase, 'completed');
    assert.ok((status.runs ?? 1) >= 2, `continued-as-new during the backfill (runs: ${status.runs})`);
    assert.equal(status.rowsCopied, 1500 + 2000 + 2500 + 3000);
    assert.deepEqual(status.tables.map((t) => t.state), ['done', 'done', 'done', 'done']);
    assert.equal(status.verification?.clean, true);
    assert.equal(status.verification?.tables.length, 4);
    // Each table was copied by exactly one backfill workflow (never started twice).
    for (const t of tables) {
      let runs = 0;
      for await (const wf of suite.harness.client.workflow.list({ query: `WorkflowId = '${id}/backfill/${t}'` })) runs += wf.status.name === 'COMPLETED' ? 1 : 0;
      assert.equal(runs, 1, `${t}: one completed backfill`);
    }
    await assertPostgresEqual(suite.sourceUrl, suite.targetUrl, tables);
  });

  it('an abort after a hand-over stops the adopted children before the migration ends', async () => {
    const target = new Pool({ connectionString: suite.targetUrl });
    for (const t of tables) await target.query(`DROP TABLE IF EXISTS ${t}`);
    await target.end();
    const spec = testSpec({ name: 'hand2', source: { url: '${FERRY_HAND_SRC}' }, target: { url: '${FERRY_HAND_TGT}' }, tables, backfill: { chunkRows: 500, batchRows: 100, tableParallelism: 2, maxRowsPerSecond: 400 } });
    const id = uniqueName('wf-hand2');
    const handle = await startWorkflow(suite.harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [{ spec, continueAsNewAfterEvents: 25 }] });
    await waitForStatus(suite.harness.client, id, (s) => (s.runs ?? 1) >= 2 && s.tables.some((t) => t.state === 'copying'), 'a second run while tables copy', 120_000);
    await handle.signal(abortSignal, 'test: abort after hand-over');
    const err = await handle.result().then(() => null, (e) => e as Error);
    assert.ok(err, 'the migration ended aborted');
    for (const t of tables) {
      const d = await suite.harness.client.workflow.getHandle(`${id}/backfill/${t}`).describe().catch(() => null);
      if (d) assert.notEqual(d.status.name, 'RUNNING', `${t}'s backfill stopped before the migration ended`);
    }
  });
});
