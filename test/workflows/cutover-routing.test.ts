// PostgreSQL → MongoDB cut over with a role fence, while a small application writes the whole
// time and follows the routing record (it asks MongoDB's `_ferry_routing` where to write):
//   - a drain that cannot finish (the cdc worker killed) times out: the source is un-fenced,
//     the migration is back in sync and its status says why, and the application writes on;
//   - a second attempt stuck the same way is rolled back by the operator (`ferry rollback`):
//     un-fenced at once, routing back to the source, syncing on;
//   - with the cdc worker back, the cutover goes through; every write acknowledged on either
//     side of the switch is in MongoDB, the source took no application write after the fence;
//   - finalize completes the workflow and gives the application role its grants back.
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { startMigration, startWorkers, waitForStatus, type Harness } from '../helpers/temporal';
import { cleanUpMigration, onlineSpec } from '../helpers/sync';
import { ferryAsync } from '../helpers/cli';
import { canWrite, createAppRole, cutOverWhenAllowed, dropRole, fenceRows, spawnWorker, until } from '../helpers/cutover';
import { closeAll } from '../../engines/connections';
import { ROUTING_COLLECTION } from '../../engines/mongodb/routing';

describe('cutover to MongoDB with a role fence and an application that follows the routing record (real stack)', function () {
  this.timeout(12 * 60_000);
  let harness: Harness;
  const workers: ChildProcess[] = [];
  const log: string[] = [];
  const databases: string[] = [];
  const migrations: string[] = [];
  const role = uniqueName('app').toLowerCase();
  let mongo: MongoClient;

  before(async () => {
    loadStackEnv();
    harness = await startWorkers(['control', 'copy']);
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    for (const id of migrations) await cleanUpMigration(harness.client, id).catch(() => undefined);
    await harness?.stop();
    await mongo?.close();
    await closeAll();
    for (const db of databases) await dropDatabase(db).catch(() => undefined);
    await dropRole(process.env.FERRY_PG_ADMIN_URL!, role).catch(() => undefined);
  });

  it('times out a drain without the cdc worker and un-fences, then cuts over with no acknowledged write lost, then finalizes', async () => {
    const sourceUrl = await createDatabase('ferry_t_route');
    databases.push(sourceUrl);
    process.env.FERRY_ROUTE_SRC = sourceUrl;
    const admin = new Pool({ connectionString: sourceUrl });
    await admin.query(`CREATE TABLE public.notes (id int PRIMARY KEY, body text NOT NULL)`);
    await admin.query(`INSERT INTO public.notes SELECT g, 'seed ' || g FROM generate_series(1, 300) g`);
    const appUrl = await createAppRole(process.env.FERRY_PG_ADMIN_URL!, role, sourceUrl, ['public.notes']);
    const database = uniqueName('route');
    const spec = onlineSpec('route', '${FERRY_ROUTE_SRC}', { url: '${FERRY_MONGO_URL}', database }, ['public.notes'], {});
    Object.assign(spec, {
      shadow: { ...spec.shadow, everySeconds: 3 },
      cutover: { ...spec.cutover, fence: { roles: [role] }, gates: { ...spec.cutover.gates, maxLagSeconds: 60, holdSeconds: 3 }, drainTimeoutSeconds: 8 },
    });
    const id = uniqueName('route');
    migrations.push(id);
    workers.push(spawnWorker('cdc', log));
    await startMigration(harness.client, spec, id);
    const ready = await waitForStatus(harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');

    // The application: asks the routing record where to write, writes there, remembers what was acknowledged.
    const app = new Pool({ connectionString: appUrl, max: 2 });
    // The fence ends the application's sessions: an idle one's error must not end the test.
    app.on('error', () => undefined);
    const routing = mongo.db(database).collection<{ _id: string; writes: string }>(ROUTING_COLLECTION);
    const notes = mongo.db(database).collection<{ _id: number; body: string }>('notes');
    const acked: Array<{ id: number; side: 'source' | 'target'; at: number }> = [];
    let refusals = 0;
    let running = true;
    const application = (async () => {
      let next = 10_000;
      while (running) {
        const r = await routing.findOne({ _id: id }).catch(() => null);
        const side = r?.writes === 'target' ? 'target' : 'source';
        try {
          if (side === 'source') await app.query('INSERT INTO public.notes (id, body) VALUES ($1, $2)', [next, `app ${next}`]);
          else await notes.insertOne({ _id: next, body: `app ${next}` });
          acked.push({ id: next, side, at: Date.now() });
          next += 1;
        } catch {
          // Fenced (permission denied, or its session ended): not acknowledged, asked again.
          refusals += 1;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    try {
      await until('gates passing', async () => (await ferryAsync(['cutover', '--id', id, '--check'])).code === 0, 3 * 60_000, 1_000);

      // No consumer left: the drain cannot finish, so the attempt must give up and un-fence.
      workers[0].kill('SIGKILL');
      const failed = await ferryAsync(['cutover', '--id', id, '--wait']);
      assert.equal(failed.code, 1, failed.out + failed.err);
      assert.match(failed.out + failed.err, /drain/);
      const back = await waitForStatus(harness.client, id, (s) => s.phase === 'sync' && s.cutover?.state === 'failed', 'back in sync');
      assert.match(back.cutover!.error!, /drainTimeoutSeconds|drain did not finish/);
      assert.match(back.cutover!.error!, /un-fenced/);
      assert.deepEqual(back.cutover!.steps.map((s) => `${s.name}:${s.state}`).slice(0, 3), ['fence:done', 'drain:failed', 'unfence:done']);
      assert.equal(await fenceRows(admin, id), 0, 'the ledger holds no fence');
      assert.equal(await canWrite(admin, role, 'public.notes'), true, 'the grants are back');
      const resumedAt = Date.now();
      await until('the application writing to the source again', async () => acked.some((a) => a.side === 'source' && a.at > resumedAt), 30_000);

      // Another attempt, stuck in its drain the same way, rolled back by the operator before it times out.
      await until('gates passing (the lag holds again)', async () => (await ferryAsync(['cutover', '--id', id, '--check'])).code === 0, 60_000, 1_000);
      const second = await ferryAsync(['cutover', '--id', id]);
      assert.equal(second.code, 0, second.out + second.err);
      await waitForStatus(harness.client, id, (s) => s.phase === 'cutover' && !!s.cutover?.steps.some((x) => x.name === 'drain' && x.state === 'running'), 'the second drain running', 30_000);
      const rb = await ferryAsync(['rollback', '--id', id, '--wait', '--reason', 'drill']);
      assert.equal(rb.code, 0, rb.out + rb.err);
      const undone = await waitForStatus(harness.client, id, (s) => s.phase === 'sync' && !!s.rollback?.finishedAt, 'syncing after the rollback');
      assert.match(undone.cutover!.error!, /rolled back by the operator \(drill\)/);
      assert.equal(undone.routing?.writes, 'source');
      assert.equal(await fenceRows(admin, id), 0, 'the rollback lifted the fence');
      assert.equal(await canWrite(admin, role, 'public.notes'), true);

      workers.push(spawnWorker('cdc', log));
      const restartedAt = Date.now();
      // The sync applies again (its figures are fresh), and the gates have seen it.
      await waitForStatus(harness.client, id, (s) => !!s.cutover?.reading && Date.parse(s.cutover.reading.checkedAt) > restartedAt && !!s.sync && Date.parse(s.sync.updatedAt) > restartedAt, 'the sync applying again', 3 * 60_000);
      // The sync may still flip between replaying and caught up right after its restart: a
      // refusal by the gates is what an operator would see and retry, so retry it.
      const done = await cutOverWhenAllowed(id, true);
      assert.equal(done.code, 0, done.out + done.err + log.join('').slice(-3_000));
      assert.match(done.out, /freeze/i);
      const cut = await waitForStatus(harness.client, id, (s) => s.phase === 'cut-over', 'cut-over');
      assert.equal(cut.routing?.writes, 'target');
      console.log(`      freeze window (role fence, MongoDB): ${cut.cutover!.freezeSeconds!.toFixed(2)} s; steps ${cut.cutover!.steps.map((x) => `${x.name} ${x.durationSeconds?.toFixed(2)} s`).join(', ')}`);
      await until('the application writing to the target', async () => acked.some((a) => a.side === 'target'), 30_000);
      await new Promise((res) => setTimeout(res, 2_000));
    } finally {
      running = false;
      await application;
      await app.end();
    }

    // Every acknowledged write is in MongoDB: those made on the source came through the drain.
    const inMongo = new Set((await notes.find({}, { projection: { _id: 1 } }).toArray()).map((d) => Number(d._id)));
    const lost = acked.filter((a) => !inMongo.has(a.id));
    assert.deepEqual(lost, [], `acknowledged writes missing from MongoDB (${acked.length} acknowledged, ${refusals} refused while fenced)`);
    assert.ok(acked.some((a) => a.side === 'source') && acked.some((a) => a.side === 'target'));
    // The source took no application write after the fence: beside the writes it acknowledged
    // before, it holds only what the reverse sync brought back from MongoDB (writes acknowledged there).
    const sourceIds = new Set((await admin.query<{ id: number }>('SELECT id FROM public.notes WHERE id >= 10000')).rows.map((r) => r.id));
    for (const a of acked.filter((x) => x.side === 'source')) assert.ok(sourceIds.has(a.id), `source write ${a.id} is on the source`);
    const ackedIds = new Set(acked.map((a) => a.id));
    for (const sid of sourceIds) assert.ok(ackedIds.has(sid), `source row ${sid} was acknowledged somewhere (not a write after the fence)`);

    const fin = await ferryAsync(['finalize', '--id', id]);
    assert.equal(fin.code, 0, fin.out + fin.err);
    const result = (await harness.client.workflow.getHandle(id).result()) as { phase: string };
    assert.equal(result.phase, 'completed');
    assert.equal(await canWrite(admin, role, 'public.notes'), true, 'finalize lifted the role fence');
    assert.equal(await fenceRows(admin, id), 0);
    await admin.end();
  });
});
