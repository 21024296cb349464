// Rollback after the switch, the way the issue names it: PostgreSQL → PostgreSQL with pgbench
// as the application, through PgBouncer (transaction pooling), writing the whole time. The
// migration cuts over (the reverse sync's capture is made on the target before the switch),
// pgbench writes to the target for 30 s, then `ferry rollback --wait`: the target is PAUSEd,
// the reverse sync drained to a marker — the worker process running every queue (cdc
// included) is killed with SIGKILL during that drain and another started — the changed keys
// checked, PgBouncer repointed at the source and RESUMEd. pgbench reports 0 failed
// transactions; every history row written on the target is on the source, and pgbench's own
// invariant (every transaction moves an account, a teller, a branch and adds a history row by
// the same delta) holds on the source once the load stops: no write of the target was lost.
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
import { reverseCaptureName } from '../../activities/cdc/capture';

const PGBENCH = '/usr/bin/pgbench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pgbench's invariant: each transaction adds the same delta to one account, teller, branch and a history row. */
async function balances(pool: Pool): Promise<{ a: string; t: string; b: string; h: string }> {
  const r = await pool.query(
    `SELECT (SELECT sum(abalance) FROM pgbench_accounts)::text AS a, (SELECT sum(tbalance) FROM pgbench_tellers)::text AS t,
            (SELECT sum(bbalance) FROM pgbench_branches)::text AS b, (SELECT coalesce(sum(delta), 0) FROM pgbench_history)::text AS h`,
  );
  return r.rows[0];
}

describe('rollback after the switch through PgBouncer, pgbench writing throughout, cdc worker killed during the reverse drain (real stack)', function () {
  this.timeout(15 * 60_000);
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

  it('pgbench sees two pauses and no error; every write made on the target is on the source', async () => {
    const sourceUrl = await createDatabase('ferry_t_back');
    const targetUrl = await createDatabase('ferry_t_back_tgt');
    databases.push(sourceUrl, targetUrl);
    process.env.FERRY_BACK_SRC = sourceUrl;
    process.env.FERRY_BACK_TGT = targetUrl;
    appDb = new URL(sourceUrl).pathname.slice(1);
    const appUrl = new URL(process.env.FERRY_PGBOUNCER_URL!);
    appUrl.pathname = `/${appDb}`;
    execFileSync(PGBENCH, ['-i', '-s', '1', '-q', sourceUrl], { stdio: 'pipe' });
    const source = new Pool({ connectionString: sourceUrl });
    const target = new Pool({ connectionString: targetUrl });
    await source.query('ALTER TABLE public.pgbench_history ADD COLUMN hid bigserial PRIMARY KEY');

    const spec = onlineSpec('back', '${FERRY_BACK_SRC}', { url: '${FERRY_BACK_TGT}' }, ['public.pgbench_accounts', 'public.pgbench_branches', 'public.pgbench_tellers', 'public.pgbench_history'], {
      backfill: { chunkRows: 20_000, batchRows: 2_000, parallelism: 2, maxRowsPerSecond: 0 },
    });
    Object.assign(spec, {
      shadow: { ...spec.shadow, everySeconds: 3 },
      cutover: {
        ...spec.cutover,
        fence: { pgbouncer: { admin: '${FERRY_PGBOUNCER_ADMIN_URL}', database: appDb, includeFile: '${FERRY_PGBOUNCER_INCLUDE}' } },
        gates: { ...spec.cutover.gates, maxLagSeconds: 10, holdSeconds: 3 },
        drainTimeoutSeconds: 90,
      },
    });
    const id = uniqueName('back');
    migrations.push(id);
    workers.push(spawnWorker('all', log));
    await startMigration(client, spec, id);
    const ready = await waitForStatus(client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');

    let bench = '';
    // Long enough for the cutover, 30 s on the target and the rollback; it ends on its own after.
    const pgbench = spawn(PGBENCH, ['-n', '-c', '4', '-j', '2', '-R', '100', '-T', '170', '-P', '10', appUrl.toString()], { stdio: ['ignore', 'pipe', 'pipe'] });
    pgbench.stdout.on('data', (d) => (bench += d));
    pgbench.stderr.on('data', (d) => (bench += d));
    let benchEndedAt = 0;
    const benchDone = new Promise<number | null>((res) => pgbench.on('close', (c) => { benchEndedAt = Date.now(); res(c); }));
    try {
      const accepted = await cutOverWhenAllowed(id, true);
      assert.equal(accepted.code, 0, accepted.out + accepted.err);
      const cut = await waitForStatus(client, id, (s) => s.phase === 'cut-over' && !!s.reverse?.workflowId, 'cut over, reverse sync started');
      const reverseStep = cut.cutover!.steps.find((s) => s.name === 'reverse-capture')!;
      assert.equal(reverseStep.state, 'done', reverseStep.detail ?? '');
      const slotOnTarget = await target.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [reverseCaptureName(id)]);
      assert.equal(slotOnTarget.rows[0].n, 1, 'the reverse capture has its slot (on the target database)');

      // 30 s of the application writing to the target.
      await sleep(30_000);
      const onTarget = (await target.query('SELECT count(*)::int AS n FROM pgbench_history')).rows[0].n as number;
      const atSwitch = (await source.query('SELECT count(*)::int AS n FROM pgbench_history')).rows[0].n as number;
      assert.ok(onTarget > atSwitch, `pgbench wrote to the target after the switch (${onTarget} vs ${atSwitch} rows)`);

      const rollback = ferryAsync(['rollback', '--id', id, '--wait', '--drill', '--reason', 'test: rollback after the switch']);
      // Kill the worker (control, copy and cdc) while the reverse drain runs, and start another.
      await waitForStatus(client, id, (s) => !!s.rollback?.steps?.some((x) => x.name === 'drain-reverse' && x.state === 'running'), 'reverse drain running', 2 * 60_000);
      workers[0].kill('SIGKILL');
      workers.push(spawnWorker('all', log));
      const rb = await rollback;
      assert.equal(rb.code, 0, rb.out + rb.err + log.slice(-20).join(''));
      console.log(rb.out.split('\n').map((l) => `      ${l}`).join('\n'));
      const result = (await client.workflow.getHandle(id).result()) as { phase: string; rollback: { freezeSeconds: number; eventsCarried: number; finishedAt: string } };
      assert.equal(result.phase, 'rolled-back');
      assert.equal((await client.workflow.getHandle(id).describe()).status.name, 'COMPLETED');
      assert.ok(result.rollback.eventsCarried > 0, 'the reverse sync carried the target\'s writes');

      const code = await benchDone;
      assert.equal(code, 0, bench);
      assert.match(bench, /number of failed transactions: 0 /, bench);
      assert.equal((await databaseState(process.env.FERRY_PGBOUNCER_ADMIN_URL!, appDb))?.paused ?? false, false, 'PgBouncer resumed');

      // Every history row written on the target is on the source, unchanged.
      const targetRows = await target.query(`SELECT hid, tid, bid, aid, delta FROM pgbench_history ORDER BY hid`);
      const digest = (rows: Array<Record<string, unknown>>) => rows.map((r) => `${r.hid}:${r.tid}:${r.bid}:${r.aid}:${r.delta}`).join(',');
      const maxTarget = targetRows.rows[targetRows.rows.length - 1].hid;
      const sourceSame = await source.query(`SELECT hid, tid, bid, aid, delta FROM pgbench_history WHERE hid <= $1 ORDER BY hid`, [maxTarget]);
      assert.equal(sourceSame.rows.length, targetRows.rows.length, 'the source holds every history row the target has');
      assert.equal(digest(sourceSame.rows), digest(targetRows.rows));
      // Nothing lost on the way back: pgbench's invariant holds on the source after the load (and on the target as it was left).
      const s = await balances(source);
      assert.ok(s.a === s.t && s.t === s.b && s.b === s.h, `source balances agree: ${JSON.stringify(s)}`);
      const t = await balances(target);
      assert.ok(t.a === t.t && t.t === t.b && t.b === t.h, `target balances agree: ${JSON.stringify(t)}`);
      // Writes after the rollback landed on the source, with keys past every value the target handed
      // out (a key it reused would have failed a pgbench transaction). Only asked of a run in which
      // pgbench went on for a while after the rollback ended (its -T leaves about a minute).
      const after = await source.query(`SELECT count(*)::int AS n FROM pgbench_history WHERE hid > $1`, [maxTarget]);
      if (benchEndedAt - Date.parse(result.rollback.finishedAt) > 5_000) assert.ok(after.rows[0].n > 0, 'pgbench wrote to the source after the rollback');
      else console.log('      pgbench ended before the rollback had finished: no writes after it to check');
      // The reverse capture is gone: no slot on the target, no connector.
      const slots = await target.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [reverseCaptureName(id)]);
      assert.equal(slots.rows[0].n, 0, 'no reverse slot left');
      assert.equal((await fetch(`${process.env.FERRY_CONNECT_URL}/connectors/${reverseCaptureName(id)}`)).status, 404, 'no reverse connector left');
    } finally {
      if (pgbench.exitCode === null) pgbench.kill('SIGKILL');
      await source.end();
      await target.end();
    }
  });
});
