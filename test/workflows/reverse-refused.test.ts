// The switch is refused when the reverse sync cannot stream (real stack): the target's user
// may not open a replication connection (no REPLICATION; the same refusal a target without
// wal_level=logical gets, from the same checks). The reverse-capture step runs before the
// switch, fails with what to change on the target, and the attempt is undone like any failed
// step: the source un-fenced, routing back to the source, no reverse slot or connector left,
// and the migration syncs on — the target never took a write a rollback could not bring back.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { adminUrl, createDatabase, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { onlineSpec, onlineSuite } from '../helpers/sync';
import { ferryAsync } from '../helpers/cli';
import { canWrite, createAppRole, dropRole } from '../helpers/cutover';
import { reverseCaptureName } from '../../activities/cdc/capture';

describe('the switch refused when the reverse capture cannot start (real Debezium, Kafka, Temporal)', function () {
  this.timeout(8 * 60_000);
  const suite = onlineSuite();
  const owner = `ferry_norepl_${Math.random().toString(36).slice(2, 8)}`;
  const app = `ferry_app_${Math.random().toString(36).slice(2, 8)}`;
  after(async () => {
    // After the suite's own after hook has dropped the databases these roles own or hold grants in.
    await dropRole(adminUrl(), app).catch(() => undefined);
    await dropRole(adminUrl(), owner).catch(() => undefined);
  });

  it('fails the reverse-capture step with what to change, un-fences, and syncs on', async () => {
    const sourceUrl = await createDatabase('ferry_t_norev');
    const targetUrl = await createDatabase('ferry_t_norev_tgt');
    suite.databases.push(sourceUrl, targetUrl);
    // The target belongs to a user without REPLICATION: Ferry loads and syncs into it, but cannot capture from it.
    const admin = new Pool({ connectionString: adminUrl(), max: 1 });
    await admin.query(`CREATE ROLE ${owner} LOGIN NOREPLICATION`);
    await admin.query(`ALTER DATABASE ${new URL(targetUrl).pathname.slice(1)} OWNER TO ${owner}`);
    await admin.end();
    const asOwner = new URL(targetUrl);
    asOwner.username = owner;
    process.env.FERRY_NOREV_SRC = sourceUrl;
    process.env.FERRY_NOREV_TGT = asOwner.toString();
    const source = new Pool({ connectionString: sourceUrl });
    const target = new Pool({ connectionString: targetUrl });
    try {
      await source.query(`CREATE TABLE public.items (id int PRIMARY KEY, v text NOT NULL)`);
      await source.query(`INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 300) g`);
      await createAppRole(adminUrl(), app, sourceUrl, ['public.items']);
      const spec = onlineSpec('norev', '${FERRY_NOREV_SRC}', { url: '${FERRY_NOREV_TGT}' }, ['public.items'], {});
      Object.assign(spec, { cutover: { ...spec.cutover, fence: { roles: [app] }, gates: { ...spec.cutover.gates, holdSeconds: 2 } } });
      const id = uniqueName('norev');
      suite.migrations.push(id);
      await startMigration(suite.harness.client, spec, id);
      const ready = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
      assert.equal(ready.phase, 'sync', ready.error ?? '');
      await waitForStatus(suite.harness.client, id, (s) => !!s.cutover?.gates.length && s.cutover.gates.every((g) => g.pass), 'gates passing', 3 * 60_000);

      const r = await ferryAsync(['cutover', '--id', id, '--wait']);
      assert.notEqual(r.code, 0, r.out + r.err);
      const said = r.out + r.err;
      assert.match(said, /reverse sync cannot stream from the target/, said);
      assert.match(said, new RegExp(`ALTER ROLE "?${owner}"? REPLICATION`), said);

      const s = await waitForStatus(suite.harness.client, id, (x) => x.phase === 'sync' && x.cutover?.state === 'failed', 'back in sync');
      const step = s.cutover!.steps.find((x) => x.name === 'reverse-capture')!;
      assert.equal(step.state, 'failed');
      assert.ok(!s.cutover!.steps.some((x) => x.name === 'switch'), 'the switch never began');
      assert.equal(s.routing?.writes, 'source');
      assert.ok(await canWrite(source, app, 'public.items'), 'the source is un-fenced');
      const slots = await target.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [reverseCaptureName(id)]);
      assert.equal(slots.rows[0].n, 0, 'no reverse slot left');
      assert.equal((await fetch(`${process.env.FERRY_CONNECT_URL}/connectors/${reverseCaptureName(id)}`)).status, 404, 'no reverse connector left');
      // The sync goes on: a new source row reaches the target.
      await source.query(`INSERT INTO public.items VALUES (1000, 'after')`);
      await waitForStatus(suite.harness.client, id, () => true, 'status');
      for (let i = 0; i < 60; i++) {
        if ((await target.query('SELECT 1 FROM public.items WHERE id = 1000')).rowCount) break;
        await new Promise((res) => setTimeout(res, 1_000));
      }
      assert.equal((await target.query('SELECT 1 FROM public.items WHERE id = 1000')).rowCount, 1, 'the sync still follows the source');
    } finally {
      await source.end();
      await target.end();
    }
  });
});
