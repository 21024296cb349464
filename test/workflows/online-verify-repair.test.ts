// Verification and repair while the sync runs, under a steady write load on a few hot rows
// (pgbench_branches-like: five rows updated all the time). The migration's own verification
// must be reachable clean; `ferry verify` must report only proven differences (hot rows are
// in flight, not different); `ferry repair` holds the sync while it writes, so its source
// snapshot never overwrites a newer change, and the sync replays what came meanwhile.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { createDatabase, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { onlineSpec, onlineSuite, syncedPast } from '../helpers/sync';
import { assertPostgresEqual } from '../helpers/compare';
import { ferryAsync } from '../helpers/cli';

/** Updates random rows of public.hot as fast as two connections can, until stopped. */
function hotLoad(pool: Pool): { stop: () => Promise<number> } {
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      await pool.query('UPDATE public.hot SET v = v + 1, at = clock_timestamp() WHERE id = $1', [1 + Math.floor(Math.random() * 5)]).catch(() => undefined);
      n++;
    }
  };
  const workers = [worker(), worker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return n;
    },
  };
}

describe('online verify and repair under a hot-row write load (real Debezium, Kafka, Temporal)', function () {
  this.timeout(15 * 60_000);
  const suite = onlineSuite();

  it('hot rows never count as differences; a real one is proven, repaired with the sync held, and the target converges', async () => {
    const sourceUrl = await createDatabase('ferry_t_hot');
    const targetUrl = await createDatabase('ferry_t_hot_tgt');
    suite.databases.push(sourceUrl, targetUrl);
    process.env.FERRY_HOT_SRC = sourceUrl;
    process.env.FERRY_HOT_TGT = targetUrl;
    const pool = new Pool({ connectionString: sourceUrl, max: 4 });
    await pool.query(`CREATE TABLE public.hot (id int PRIMARY KEY, v bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
    await pool.query(`INSERT INTO public.hot SELECT g, 0 FROM generate_series(1, 5) g`);
    await pool.query(`CREATE TABLE public.cold (id int PRIMARY KEY, qty int NOT NULL)`);
    await pool.query(`INSERT INTO public.cold SELECT g, g FROM generate_series(1, 1000) g`);
    const spec = onlineSpec('hot', '${FERRY_HOT_SRC}', { url: '${FERRY_HOT_TGT}' }, ['public.hot', 'public.cold'], { sync: { runSeconds: 30 } });
    const id = uniqueName('hot');
    suite.migrations.push(id);

    const load = hotLoad(pool);
    let updates = 0;
    try {
      await startMigration(suite.harness.client, spec, id);
      const ready = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 8 * 60_000);
      assert.equal(ready.phase, 'sync', ready.error ?? '');
      assert.equal(ready.verification?.clean, true, `the verification under load is clean: ${JSON.stringify(ready.verification?.tables)}`);

      // A real difference on a row nobody writes: the target is damaged behind Ferry's back.
      const target = new Pool({ connectionString: targetUrl });
      await target.query('UPDATE public.cold SET qty = -999 WHERE id = 3');
      await target.end();
      const verify = await ferryAsync(['verify', '--id', id, '--json']);
      assert.equal(verify.code, 1, verify.err);
      assert.match(verify.err, /the sync is running: differing keys are re-checked/);
      const report = JSON.parse(verify.out) as { verification: { tables: Array<{ table: string; different: number; missing: number; extra: number; inFlight?: number }> } };
      const hot = report.verification.tables.find((t) => t.table === 'public.hot')!;
      const cold = report.verification.tables.find((t) => t.table === 'public.cold')!;
      assert.equal(hot.different + hot.missing + hot.extra, 0, `hot rows are not proven different: ${JSON.stringify(hot)}`);
      assert.deepEqual([cold.different, cold.missing, cold.extra], [1, 0, 0], JSON.stringify(cold));

      const repair = await ferryAsync(['repair', '--id', id]);
      assert.match(repair.err, /the sync is held while the repair writes/);
      assert.match(repair.out, /public\.cold\s+\|?\s*1/);
      // The sync was held by the repair and let go again.
      const history = JSON.stringify(await suite.harness.client.workflow.getHandle(`${id}/sync`).fetchHistory());
      assert.match(history, /"signalName":"hold"/);
      await waitForStatus(suite.harness.client, id, (s) => s.sync?.state !== 'stopped' && !(s.sync?.heldBy ?? []).length, 'the sync running again after the repair', 2 * 60_000);
    } finally {
      updates = await load.stop();
    }
    assert.ok(updates > 100, `the load kept writing (${updates} updates)`);
    const stoppedAt = Date.now();
    await waitForStatus(suite.harness.client, id, (s) => syncedPast(s, stoppedAt), 'caught up after the load stopped', 3 * 60_000);
    await assertPostgresEqual(sourceUrl, targetUrl, ['public.hot', 'public.cold']);
    await pool.end();
  });
});
