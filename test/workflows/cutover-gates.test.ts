// The cutover's refusals on the real stack: with the lag over its limit, a verification that
// found a planted difference and a dead-lettered event, `ferry cutover` is refused by the
// Update's validator naming each failing gate, and nothing is fenced. The same migration's
// shadow reads find the planted difference (a target row altered behind Ferry's back) and,
// under a steady write load on another table, count no lag as a mismatch; `ferry route`
// refuses to send reads to the target while they disagree.
import { strict as assert } from 'node:assert';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { createDatabase, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { onlineSpec, onlineSuite } from '../helpers/sync';
import { ferryAsync } from '../helpers/cli';
import { canWrite, createAppRole, dropRole, fenceRows } from '../helpers/cutover';

describe('cutover gates refuse, shadow reads find a planted difference (real Debezium, Kafka, Temporal)', function () {
  this.timeout(10 * 60_000);
  const suite = onlineSuite();
  const role = uniqueName('app').toLowerCase();
  after(async () => dropRole(process.env.FERRY_PG_ADMIN_URL!, role).catch(() => undefined));

  it('names the failing gates, fences nothing, and shadow reads count the planted difference only', async () => {
    const sourceUrl = await createDatabase('ferry_t_gates');
    const targetUrl = await createDatabase('ferry_t_gates_tgt');
    suite.databases.push(sourceUrl, targetUrl);
    process.env.FERRY_GATES_SRC = sourceUrl;
    process.env.FERRY_GATES_TGT = targetUrl;
    const source = new Pool({ connectionString: sourceUrl });
    const target = new Pool({ connectionString: targetUrl });
    let writing = true;
    let writer: Promise<void> = Promise.resolve();
    try {
      await source.query(`CREATE TABLE public.items (id int PRIMARY KEY, qty int NOT NULL)`);
      await source.query(`INSERT INTO public.items SELECT g, g FROM generate_series(1, 40) g`);
      await source.query(`CREATE TABLE public.hot (id int PRIMARY KEY, n int NOT NULL)`);
      await source.query(`INSERT INTO public.hot SELECT g, 0 FROM generate_series(1, 100) g`);
      await createAppRole(process.env.FERRY_PG_ADMIN_URL!, role, sourceUrl, ['public.items', 'public.hot']);
      const spec = onlineSpec('gates', '${FERRY_GATES_SRC}', { url: '${FERRY_GATES_TGT}' }, ['public.items', 'public.hot'], {});
      Object.assign(spec, {
        shadow: { ...spec.shadow, everySeconds: 2, sampleKeys: 100, recentKeys: 50 },
        cutover: { ...spec.cutover, fence: { roles: [role] }, gates: { ...spec.cutover.gates, maxLagSeconds: 0, holdSeconds: 1 }, verifyEverySeconds: 10 },
      });
      const id = uniqueName('gates');
      suite.migrations.push(id);
      await startMigration(suite.harness.client, spec, id);
      const ready = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
      assert.equal(ready.phase, 'sync', ready.error ?? '');

      // A steady write load on hot rows: shadow reads see them changing and must not call that a mismatch.
      writer = (async () => {
        while (writing) {
          await source.query('UPDATE public.hot SET n = n + 1 WHERE id = $1', [1 + Math.floor(Math.random() * 100)]);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      // Behind Ferry's back: a target row that no source change explains.
      const planted = Date.now();
      await target.query('UPDATE public.items SET qty = -1 WHERE id = 7');
      // A message no decoder can read: dead-lettered.
      const producer = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      await producer.send({ topic: `${ready.capture!.name}.public.items`, messages: [{ key: '{"id":0}', value: '{"op": "u", "after": ' }] });
      await producer.disconnect();

      const seen = await waitForStatus(
        suite.harness.client,
        id,
        (s) => (s.shadow?.mismatches ?? 0) >= 1 && (s.sync?.deadLetters ?? 0) >= 1 && !!s.verification && !s.verification.clean && Date.parse(s.verification.checkedAt) > planted,
        'shadow mismatch, dead letter and a dirty verification',
        4 * 60_000,
      );
      const shadow = seen.shadow!;
      assert.ok(shadow.rounds >= 1 && shadow.keysCompared > 0);
      // Only the planted key: the hot rows moving under the load are lag, not mismatches.
      assert.ok(shadow.differences.length >= 1);
      for (const d of shadow.differences) assert.deepEqual([d.table, d.key], ['public.items', ['7']], JSON.stringify(d));
      assert.ok(shadow.source.samples > 0 && shadow.target.samples > 0, 'latencies measured on both sides');

      const refused = await ferryAsync(['cutover', '--id', id]);
      assert.equal(refused.code, 1, refused.out + refused.err);
      assert.match(refused.err, /refused/);
      for (const gate of ['lag fails', 'verification fails', 'shadow fails', 'dead-letters fails']) assert.ok(refused.err.includes(gate), `${gate} in: ${refused.err}`);
      assert.doesNotMatch(refused.err, /fence fails/);

      const check = await ferryAsync(['cutover', '--id', id, '--check', '--json']);
      assert.equal(check.code, 1, check.out + check.err);
      const gates = JSON.parse(check.out) as { pass: boolean; gates: Array<{ name: string; pass: boolean }> };
      assert.equal(gates.pass, false);
      assert.deepEqual(gates.gates.filter((g) => !g.pass).map((g) => g.name).sort(), ['dead-letters', 'lag', 'shadow', 'verification']);

      const route = await ferryAsync(['route', '--id', id, '--reads', '10']);
      assert.equal(route.code, 1, route.out + route.err);
      assert.match(route.err, /mismatch/);

      // Nothing was fenced: no ledger row, the application role still writes, no attempt recorded.
      assert.equal(await fenceRows(source, id), 0);
      assert.equal(await canWrite(source, role, 'public.items'), true);
      const after = await waitForStatus(suite.harness.client, id, () => true, 'status');
      assert.equal(after.phase, 'sync');
      assert.equal(after.cutover?.attempts ?? 0, 0);
      assert.equal(after.routing?.writes, 'source');
    } finally {
      writing = false;
      await writer.catch(() => undefined);
      await source.end();
      await target.end();
    }
  });
});
