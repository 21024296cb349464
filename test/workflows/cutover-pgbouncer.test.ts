// The cutover the issue names first: PostgreSQL → PostgreSQL with pgbench as the application,
// connected through PgBouncer (transaction pooling) and writing the whole time. Ferry fences
// with PAUSE, drains to a marker, checks, moves the sequences, repoints PgBouncer's entry at
// the target and RESUMEs. The worker process running every queue is killed with SIGKILL
// during the fence and drain, and a new one started: the cutover still completes (or, had a
// step failed, un-fences). pgbench reports 0 failed transactions; every history row written
// before the switch is on the target, rows written after it land there with fresh serial
// keys, and the source took no application write after the fence (only the reverse sync's
// copies of the target's).
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { cleanUpMigration, onlineSpec } from '../helpers/sync';
import { ferryAsync } from '../helpers/cli';
import { cutOverWhenAllowed, spawnWorker } from '../helpers/cutover';
import { connectClient } from '../../scripts/cli/client';
import { closeAll } from '../../engines/connections';
import { databaseState, removeRoute } from '../../engines/postgres/pgbouncer';

const PGBENCH = '/usr/bin/pgbench';

describe('cutover through PgBouncer with pgbench writing throughout, workers killed mid-cutover (real stack)', function () {
  this.timeout(12 * 60_000);
  let client: Client;
  const workers: ChildProcess[] = [];
  const log: string[] = [];
  const databases: string[] = [];
  const migrations: string[] = [];
  let appDb = '';

  before(async function () {
    loadStackEnv();
    if (!process.env.FERRY_PGBOUNCER_URL) throw new Error('the stack has no PgBouncer (FERRY_PGBOUNCER_URL unset): run ferry stack up');
    client = await connectClient();
  });
  after(async () => {
    for (const id of migrations) await cleanUpMigration(client, id).catch(() => undefined);
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    if (appDb) await removeRoute(process.env.FERRY_PGBOUNCER_INCLUDE!, appDb).catch(() => undefined);
    await client?.connection.close();
    await closeAll();
    for (const db of databases) await dropDatabase(db).catch(() => undefined);
  });

  it('pgbench sees a pause, not an error: 0 failed transactions, nothing lost, sequences moved', async () => {
    const sourceUrl = await createDatabase('ferry_t_bounce');
    const targetUrl = await createDatabase('ferry_t_bounce_tgt');
    databases.push(sourceUrl, targetUrl);
    process.env.FERRY_BOUNCE_SRC = sourceUrl;
    process.env.FERRY_BOUNCE_TGT = targetUrl;
    appDb = new URL(sourceUrl).pathname.slice(1);
    // The application's address: PgBouncer, under the source database's own name (its `*` entry forwards it).
    const appUrl = new URL(process.env.FERRY_PGBOUNCER_URL!);
    appUrl.pathname = `/${appDb}`;
    execFileSync(PGBENCH, ['-i', '-s', '1', '-q', sourceUrl], { stdio: 'pipe' });
    const source = new Pool({ connectionString: sourceUrl });
    const target = new Pool({ connectionString: targetUrl });
    await source.query('ALTER TABLE public.pgbench_history ADD COLUMN hid bigserial PRIMARY KEY');

    const spec = onlineSpec('bounce', '${FERRY_BOUNCE_SRC}', { url: '${FERRY_BOUNCE_TGT}' }, ['public.pgbench_accounts', 'public.pgbench_branches', 'public.pgbench_tellers', 'public.pgbench_history'], {
      backfill: { chunkRows: 20_000, batchRows: 2_000, parallelism: 2, maxRowsPerSecond: 0 },
    });
    Object.assign(spec, {
      shadow: { ...spec.shadow, everySeconds: 3 },
      cutover: {
        ...spec.cutover,
        fence: { pgbouncer: { admin: '${FERRY_PGBOUNCER_ADMIN_URL}', database: appDb, includeFile: '${FERRY_PGBOUNCER_INCLUDE}' } },
        gates: { ...spec.cutover.gates, maxLagSeconds: 10, holdSeconds: 3 },
      },
    });
    const id = uniqueName('bounce');
    migrations.push(id);
    workers.push(spawnWorker('all', log));
    await startMigration(client, spec, id);
    const ready = await waitForStatus(client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');

    // The application: pgbench through PgBouncer for the whole cutover and after it.
    let bench = '';
    const pgbench = spawn(PGBENCH, ['-n', '-c', '4', '-j', '2', '-R', '200', '-T', '75', '-P', '5', appUrl.toString()], { stdio: ['ignore', 'pipe', 'pipe'] });
    pgbench.stdout.on('data', (d) => (bench += d));
    pgbench.stderr.on('data', (d) => (bench += d));
    const benchDone = new Promise<number | null>((res) => pgbench.on('close', res));
    try {
      // Gates can flip between the check and the approval under load: a refusal is retried, as an operator would.
      const accepted = await cutOverWhenAllowed(id, false);
      assert.equal(accepted.code, 0, accepted.out + accepted.err);
      // Kill the worker (control, copy and cdc queues) once the fence or the drain runs, and start another.
      await waitForStatus(client, id, (s) => !!s.cutover?.steps.some((x) => (x.name === 'fence' || x.name === 'drain') && x.state === 'running'), 'fence or drain running', 60_000);
      workers[0].kill('SIGKILL');
      workers.push(spawnWorker('all', log));
      const ended = await waitForStatus(client, id, (s) => s.phase === 'cut-over' || (s.phase === 'sync' && s.cutover?.state === 'failed'), 'cut over, or un-fenced', 5 * 60_000);
      if (ended.phase === 'sync') {
        // The attempt failed and un-fenced (as it must when a step cannot finish): pgbench went on against the source. Cut over now.
        assert.equal((await databaseState(process.env.FERRY_PGBOUNCER_ADMIN_URL!, appDb))?.paused ?? false, false, 'un-fenced');
        const again = await ferryAsync(['cutover', '--id', id, '--wait']);
        assert.equal(again.code, 0, again.out + again.err);
      }
      const cut = await waitForStatus(client, id, (s) => s.phase === 'cut-over', 'cut-over');
      console.log(`      freeze window (PgBouncer, worker killed during it): ${cut.cutover!.freezeSeconds!.toFixed(2)} s; steps ${cut.cutover!.steps.map((s) => `${s.name} ${s.durationSeconds?.toFixed(2)} s`).join(', ')}`);
      const fence = cut.cutover!.steps.find((s) => s.name === 'fence' && s.state === 'done')!;
      const fencedAt = Date.parse(fence.startedAt) + fence.durationSeconds! * 1000;
      // The source's own writes are the hids its sequence handed out; rows past it are the reverse
      // sync's copies of what the target took after the switch (explicit hids, the sequence untouched).
      const ownMax = (await source.query(`SELECT last_value::bigint AS v FROM public.pgbench_history_hid_seq`)).rows[0].v;
      const sourceAtSwitch = (await source.query('SELECT count(*)::int AS n, max(hid)::bigint AS max, max(mtime) AS last FROM public.pgbench_history WHERE hid <= $1', [ownMax])).rows[0];
      const code = await benchDone;
      assert.equal(code, 0, bench);
      assert.match(bench, /number of failed transactions: 0 /, bench);

      // The source took no application write after the fence: what it holds since is the reverse
      // sync's copy of what the target took (the same rows), nothing of its own.
      const sourceAfter = await source.query(`SELECT hid, tid, bid, aid, delta FROM public.pgbench_history WHERE hid > $1 ORDER BY hid`, [sourceAtSwitch.max]);
      for (const row of sourceAfter.rows) {
        const onTarget = await target.query(`SELECT 1 FROM public.pgbench_history WHERE hid = $1 AND tid = $2 AND bid = $3 AND aid = $4 AND delta = $5`, [row.hid, row.tid, row.bid, row.aid, row.delta]);
        assert.equal(onTarget.rowCount, 1, `source row ${row.hid} after the switch came from the target`);
      }
      assert.ok(new Date(sourceAtSwitch.last).getTime() <= fencedAt + 1_000, `the last source write (${sourceAtSwitch.last}) came before the fence held (${new Date(fencedAt).toISOString()})`);
      // Every history row written before the switch is on the target, unchanged.
      const missing = await target.query(`SELECT count(*)::int AS n FROM public.pgbench_history WHERE hid <= $1`, [sourceAtSwitch.max]);
      assert.equal(missing.rows[0].n, sourceAtSwitch.n, 'every source history row is on the target');
      const src = await source.query(`SELECT md5(string_agg(hid || ':' || tid || ':' || bid || ':' || aid || ':' || delta, ',' ORDER BY hid)) AS h FROM public.pgbench_history WHERE hid <= $1`, [sourceAtSwitch.max]);
      const dst = await target.query(`SELECT md5(string_agg(hid || ':' || tid || ':' || bid || ':' || aid || ':' || delta, ',' ORDER BY hid)) AS h FROM public.pgbench_history WHERE hid <= $1`, [sourceAtSwitch.max]);
      assert.equal(dst.rows[0].h, src.rows[0].h);
      // Rows written after the switch landed on the target, with keys past the source's (sequences moved).
      const after = await target.query(`SELECT count(*)::int AS n FROM public.pgbench_history WHERE hid > $1`, [sourceAtSwitch.max]);
      assert.ok(after.rows[0].n > 0, 'pgbench wrote to the target after the switch');
    } finally {
      if (pgbench.exitCode === null) pgbench.kill('SIGKILL');
      await source.end();
      await target.end();
    }
  });
});
