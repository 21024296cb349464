// A migration started the way the Temporal UI's Start Workflow form starts it: the raw JSON
// an operator typed, no defaults filled in by the CLI. The workflow validates its own input,
// copies everything with the defaults, and refuses what is not a spec at once with one line
// per problem. Operator messages with payloads that mean nothing are refused, not obeyed.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { uniqueName } from '../helpers/stack';
import { offlineSuite, waitForStatus } from '../helpers/temporal';
import { startWorkflow } from '../../contracts/workflow-types';
import type { MigrationStatus } from '../../contracts/migration';
import { taskQueues } from '../../contracts/queues';

describe('migration input as the Temporal UI sends it (raw JSON, real Temporal and PostgreSQL)', function () {
  this.timeout(300_000);

  const suite = offlineSuite({
    databases: ['ferry_t_raw', 'ferry_t_raw_tgt'],
    env: ['FERRY_RAW_SRC', 'FERRY_RAW_TGT'],
    seed: async (pool) => {
      await pool.query(`CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL)`);
      await pool.query(`INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 3000) g`);
    },
  });

  const start = (input: unknown, id = uniqueName('wf-raw')) =>
    startWorkflow(suite.harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [input as never] });
  const minimal = (extra: Record<string, unknown> = {}) => ({ name: 'raw', source: { url: '${FERRY_RAW_SRC}' }, target: { url: '${FERRY_RAW_TGT}' }, tables: ['public.items'], ...extra });

  it('a partial backfill section gets the defaults for the rest and copies every row', async () => {
    const status: MigrationStatus = await (await start({ spec: minimal({ backfill: { maxRowsPerSecond: 20_000 } }) })).result();
    assert.equal(status.phase, 'completed');
    assert.equal(status.rowsCopied, 3000);
    assert.equal(status.verification?.clean, true);
    assert.equal(status.verification?.tables.length, 1, 'clean only with every planned table compared');
    const target = new Pool({ connectionString: suite.targetUrl });
    assert.equal((await target.query('SELECT count(*)::int AS n FROM public.items')).rows[0].n, 3000);
    await target.query('DROP TABLE public.items');
    await target.end();
  });

  it('no backfill section at all: the defaults', async () => {
    const status: MigrationStatus = await (await start({ spec: minimal() })).result();
    assert.equal(status.phase, 'completed');
    assert.equal(status.rowsCopied, 3000);
    const target = new Pool({ connectionString: suite.targetUrl });
    await target.query('DROP TABLE public.items');
    await target.end();
  });

  it('a spec that is not valid fails at once, one line per problem, and nothing starts', async () => {
    for (const input of [{ spec: { name: 'Bad Name', source: {}, tables: [], backfill: { parallelism: 'four' } } }, {}, { spec: minimal({ mode: 'sideways' }) }]) {
      const err = await (await start(input)).result().then(() => null, (e) => e);
      assert.ok(err instanceof WorkflowFailedError, `failed: ${JSON.stringify(input)}`);
      const cause = err.cause as Error & { type?: string };
      assert.equal(cause.type, 'SpecError');
      assert.match(cause.message, /not a valid spec \(nothing was started\)/);
      if ('spec' in input && (input.spec as { name: string }).name === 'Bad Name') {
        const lines = cause.message.split('\n').slice(1);
        for (const path of ['name', 'source.url', 'target', 'tables', 'backfill.parallelism']) assert.ok(lines.some((l) => l.startsWith(`${path}: `)), `a line for ${path}: ${cause.message}`);
      }
    }
  });

  it('throttle payloads: a bare number or {"rowsPerSecond": N} are obeyed; nothing, text or NaN are refused and the throttle stays', async () => {
    const handle = await start({ spec: minimal({ backfill: { maxRowsPerSecond: 200, chunkRows: 500, batchRows: 100 } }) });
    await waitForStatus(suite.harness.client, handle.workflowId, (s) => s.phase === 'backfill', 'backfill');
    await handle.signal('throttle', { rowsPerSecond: 150 });
    let s = await waitForStatus(suite.harness.client, handle.workflowId, (x) => x.throttle === 150, 'throttle from an object payload');
    await handle.signal('throttle');
    await handle.signal('throttle', 'fast');
    await handle.signal('throttle', { rows: 5 });
    await handle.signal('throttle', -3);
    s = await waitForStatus(suite.harness.client, handle.workflowId, (x) => (x.refused?.length ?? 0) === 4, 'four refusals');
    assert.equal(s.throttle, 150, 'the throttle stayed');
    assert.match(s.refused![0].reason, /got no value/);
    assert.match(s.refused![1].reason, /got "fast"/);
    await handle.signal('throttle', 0);
    s = await waitForStatus(suite.harness.client, handle.workflowId, (x) => x.throttle === 0, 'unlimited');
    await handle.signal('abort', { reason: 'done testing' });
    const err = await handle.result().then(() => null, (e) => e);
    assert.match((err as WorkflowFailedError).cause!.message, /migration aborted: done testing/);
  });
});
