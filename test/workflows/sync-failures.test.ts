// The sync survives what production does to it: the CDC worker killed with SIGKILL, Kafka
// Connect restarted, the Kafka broker restarted — each while the source keeps writing. After
// each, the sync resumes from its committed offsets, and at the end the target equals the
// source row for row: nothing lost, nothing applied twice into a different result.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, repoRoot, uniqueName } from '../helpers/stack';
import { startMigration, startWorkers, waitForStatus, type Harness } from '../helpers/temporal';
import { assertPostgresEqual } from '../helpers/compare';
import { createLoadTables, startLoad } from '../../scripts/bench/cdc-load';
import { closeAll } from '../../engines/connections';
import { cleanUpMigration, onlineSpec, syncedPast } from '../helpers/sync';

function spawnCdcWorker(log: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'ferry.js'), 'worker', '--queue', 'cdc'], { env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => log.push(String(d)));
  child.stderr!.on('data', (d) => log.push(String(d)));
  return child;
}

function restartService(name: string): void {
  execFileSync('bash', [join(repoRoot, 'scripts', 'stack', 'stack.sh'), 'restart', name], { stdio: 'ignore' });
}

describe('online sync through failures: CDC worker killed, Kafka Connect and Kafka restarted', function () {
  this.timeout(20 * 60_000);
  let harness: Harness;
  let sourceUrl: string;
  let targetUrl: string;
  const workers: ChildProcess[] = [];
  const log: string[] = [];
  const id = uniqueName('sync-fail');

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_syncf');
    targetUrl = await createDatabase('ferry_t_syncf_tgt');
    process.env.FERRY_SYNCF_SRC = sourceUrl;
    process.env.FERRY_SYNCF_TGT = targetUrl;
    // The cdc queue runs in its own process, so it can be killed; the rest runs here.
    harness = await startWorkers(['control', 'copy']);
    workers.push(spawnCdcWorker(log));
  });

  after(async () => {
    await cleanUpMigration(harness.client, id).catch(() => undefined);
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await harness?.stop();
    await closeAll();
    await dropDatabase(sourceUrl).catch(() => undefined);
    await dropDatabase(targetUrl).catch(() => undefined);
  });

  it('loses and duplicates nothing', async () => {
    const pool = new Pool({ connectionString: sourceUrl });
    const tables = await createLoadTables(pool, 'public', 2, 2_000);
    const spec = onlineSpec('sync-failures', '${FERRY_SYNCF_SRC}', { url: '${FERRY_SYNCF_TGT}' }, tables);
    const load = startLoad({ pool, tables, eventsPerSecond: 100, idStart: 1_000_000 });
    const applied = async () => (await waitForStatus(harness.client, id, () => true, 'status')).sync?.eventsApplied ?? 0;
    const movesOn = async (what: string) => {
      const before = await applied();
      await waitForStatus(harness.client, id, (s) => (s.sync?.eventsApplied ?? 0) > before + 50, `events applied again after ${what}\n${log.join('')}`, 5 * 60_000);
    };
    try {
      await startMigration(harness.client, spec, id);
      const ready = await waitForStatus(harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 10 * 60_000);
      assert.equal(ready.phase, 'sync', ready.error ?? log.join(''));

      workers[0].kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 5_000));
      workers.push(spawnCdcWorker(log));
      await movesOn('the CDC worker was killed and restarted');

      restartService('connect');
      await movesOn('Kafka Connect restarted');

      restartService('kafka');
      await movesOn('the Kafka broker restarted');
    } finally {
      await load.stop();
    }
    const stoppedAt = Date.now();
    const done = await waitForStatus(harness.client, id, (s) => syncedPast(s, stoppedAt), 'caught up after the load stopped', 5 * 60_000);
    assert.equal(done.sync?.deadLetters, 0);
    await assertPostgresEqual(sourceUrl, targetUrl, tables);
    await pool.end();
  });
});
