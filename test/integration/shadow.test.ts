// Shadow reads and the cutover's changed-keys check against the real stack: an online
// migration (Debezium → Kafka → the sync workflow on in-process workers) keeps a target
// following the source; shadowRound and compareChangedKeys run as activities (in
// MockActivityEnvironment, with the Temporal client their wait for the sync needs) against
// that live sync. Differences are planted on the target behind Ferry's back; lag is made
// certain by pausing the sync while the source changes, under a steady write load.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { MongoClient, type Db } from 'mongodb';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Kafka, logLevel } from 'kafkajs';
import { createDatabase, uniqueName } from '../helpers/stack';
import { startMigration, testSpec, waitForStatus } from '../helpers/temporal';
import { onlineSpec, onlineSuite, syncedPast } from '../helpers/sync';
import { createLoadTables, startLoad } from '../../scripts/bench/cdc-load';
import { shadowRound } from '../../activities/shadow/round';
import { compareChangedKeys } from '../../activities/shadow/changed-keys';
import { inspectSource } from '../../activities/plan/prepare';
import { introspectTable, readKeys } from '../../engines/postgres/source';
import { SMALL_TABLE_ROWS, sampleKeys } from '../../engines/postgres/sample';
import { captureName } from '../../activities/cdc/capture';
import { markerTopicFor, planTopics } from '../../activities/cdc/topics';
import { holdSignal, syncProgressQuery } from '../../contracts/messages';
import type { CaptureInfo } from '../../contracts/capture';
import type { ChangedKeysResult, ShadowRoundResult } from '../../contracts/shadow';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { Client } from '@temporalio/client';

interface Live {
  spec: Spec;
  plans: TablePlan[];
  capture: CaptureInfo;
  id: string;
  syncId: string;
  pool: Pool;
  load: string;
}

/** Starts an online migration of `tables` and waits until it syncs; returns what the activities need. */
async function migrate(client: Client, raw: Spec, id: string, pool: Pool, load: string): Promise<Live> {
  await startMigration(client, raw, id);
  const s = await waitForStatus(client, id, (x) => x.phase === 'sync' || x.phase === 'failed', 'sync phase', 5 * 60_000);
  assert.equal(s.phase, 'sync', s.error ?? '');
  const { plans, problems } = await inspectSource(raw);
  assert.deepEqual(problems, []);
  const name = captureName(id);
  const capture: CaptureInfo = {
    name,
    topics: planTopics(name, plans).topics,
    markerTopic: markerTopicFor(name),
    marker: s.capture!.marker,
    startOffsets: [],
    retentionHours: 168,
  };
  return { spec: raw, plans, capture, id, syncId: s.syncWorkflowId!, pool, load };
}

function round(client: Client, live: Live, onStage?: (stage: string) => void): Promise<ShadowRoundResult> {
  const env = new MockActivityEnvironment(undefined, { client });
  if (onStage) env.on('heartbeat', (d: { stage?: string } | undefined) => d?.stage && onStage(d.stage));
  return env.run(shadowRound, { spec: live.spec, plans: live.plans, migrationId: live.id, syncWorkflowId: live.syncId, capture: live.capture });
}

function changedKeys(client: Client, live: Live, sinceMs: number): Promise<ChangedKeysResult> {
  return new MockActivityEnvironment(undefined, { client }).run(compareChangedKeys, { spec: live.spec, plans: live.plans, capture: live.capture, sinceMs, syncWorkflowId: live.syncId });
}

async function caughtUp(client: Client, live: Live): Promise<void> {
  const now = Date.now();
  await waitForStatus(client, live.id, (s) => syncedPast(s, now), 'the sync caught up', 120_000);
}

const ids = (n: number, from = 1) => Array.from({ length: n }, (_v, i) => from + i);

describe('shadow reads and the changed-keys check (real PostgreSQL, Debezium, Kafka, a live sync)', function () {
  this.timeout(15 * 60_000);
  const suite = onlineSuite();

  describe('into PostgreSQL', () => {
    let live: Live;
    let target: Pool;

    before(async () => {
      const sourceUrl = await createDatabase('ferry_t_shadow');
      const targetUrl = await createDatabase('ferry_t_shadow_tgt');
      suite.databases.push(sourceUrl, targetUrl);
      process.env.FERRY_SHADOW_SRC = sourceUrl;
      process.env.FERRY_SHADOW_TGT = targetUrl;
      const pool = new Pool({ connectionString: sourceUrl });
      target = new Pool({ connectionString: targetUrl });
      const [load] = await createLoadTables(pool, 'public', 1, 3_000);
      await pool.query(`CREATE TABLE public.small (id int PRIMARY KEY, v text NOT NULL)`);
      await pool.query(`INSERT INTO public.small SELECT g, 'v' || g FROM generate_series(1, 20) g`);
      const base = onlineSpec('shadow-pg', '${FERRY_SHADOW_SRC}', { url: '${FERRY_SHADOW_TGT}' }, [load, 'public.small']);
      const spec = testSpec({
        ...base,
        shadow: {
          sampleKeys: 50,
          recentKeys: 200,
          maxReadsPerSecond: 5_000,
          queries: [
            { name: 'row', table: load, source: `SELECT id, account, amount, note FROM ${load} WHERE id = $1`, target: `SELECT id, account, amount, note FROM ${load} WHERE id = $1` },
            { name: 'small-count', table: 'public.small', source: 'SELECT count(*), sum(id) FROM public.small', target: 'SELECT count(*), sum(id) FROM public.small' },
            { name: 'broken', table: 'public.small', source: 'SELECT no_such_column FROM public.small WHERE id = $1', target: 'SELECT v FROM public.small WHERE id = $1' },
          ],
        },
      });
      const id = uniqueName('shadow-pg');
      suite.migrations.push(id);
      live = await migrate(suite.harness.client, spec, id, pool, load);
      await caughtUp(suite.harness.client, live);
    });

    after(async () => {
      await target?.end();
      await live?.pool.end();
    });

    it('a quiet round compares sampled and recent keys clean; a matching query has no mismatch and reports latencies, a broken one counts errors', async () => {
      await live.pool.query(`UPDATE ${live.load} SET amount = amount + 1 WHERE id <= 30`);
      await caughtUp(suite.harness.client, live);
      const r = await round(suite.harness.client, live);
      assert.equal(r.mismatches, 0, JSON.stringify(r.differences));
      assert.equal(r.lagResolved + r.inFlight, 0);
      // 20 small rows (all sampled), 50 sampled load rows, and the 30 just changed (some may be sampled too).
      assert.ok(r.keysCompared >= 20 + 50, `compared ${r.keysCompared}`);
      assert.ok(r.sourceMs.length > 0 && r.targetMs.length > 0);
      const q = Object.fromEntries(r.queries.map((x) => [x.name, x]));
      assert.equal(q.row.runs, 5);
      assert.equal(q.row.errors, 0, q.row.lastError ?? '');
      assert.equal(q.row.mismatches, 0);
      assert.equal(q.row.sourceMs.length, 5);
      assert.equal(q.row.targetMs.length, 5);
      assert.equal(q['small-count'].runs, 1);
      assert.equal(q['small-count'].mismatches, 0);
      assert.equal(q.broken.errors, q.broken.runs);
      assert.ok(q.broken.runs > 0);
      assert.equal(q.broken.mismatches, 0);
      assert.match(q.broken.lastError ?? '', /no_such_column/);
      assert.doesNotMatch(q.broken.lastError ?? '', /:\/\/[^@]*:[^@]*@/);
      // The topic tails were read by throwaway groups, gone again; the sync's own group is the only one of this capture.
      const admin = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(live.capture.name));
        assert.deepEqual(groups, [live.capture.name]);
      } finally {
        await admin.disconnect();
      }
    });

    it('finds differences planted on the target behind Ferry\'s back, and they survive the re-check', async () => {
      // A recently changed row of the large table (the tail of its topic), two rows of the small one (its sample).
      await live.pool.query(`UPDATE ${live.load} SET note = 'changed' WHERE id = 2500`);
      await caughtUp(suite.harness.client, live);
      await target.query(`UPDATE ${live.load} SET amount = amount + 1000 WHERE id = 2500`);
      await target.query(`UPDATE public.small SET v = 'tampered' WHERE id = 7`);
      await target.query(`DELETE FROM public.small WHERE id = 8`);
      await target.query(`INSERT INTO public.small VALUES (99, 'extra')`);
      try {
        const r = await round(suite.harness.client, live);
        const found = r.differences.map((d) => `${d.table} ${d.key.join(',')} ${d.kind} ${d.source}`).sort();
        assert.deepEqual(found, [`${live.load} 2500 different recent`, 'public.small 7 different sample', 'public.small 8 missing sample']);
        assert.equal(r.mismatches, 3);
        assert.equal(r.lagResolved + r.inFlight, 0);
        // The extra row 99 is no source key, so only a query sees it: the count query's difference survives too.
        const q = Object.fromEntries(r.queries.map((x) => [x.name, x]));
        assert.equal(q['small-count'].mismatches, 1);
      } finally {
        await target.query(`UPDATE ${live.load} SET amount = amount - 1000 WHERE id = 2500`);
        await target.query(`UPDATE public.small SET v = 'v7' WHERE id = 7`);
        await target.query(`INSERT INTO public.small VALUES (8, 'v8')`);
        await target.query(`DELETE FROM public.small WHERE id = 99`);
      }
    });

    it('does not count lag: rows changed while the sync is held, under a steady load, end as lagResolved or inFlight', async () => {
      const load = startLoad({ pool: live.pool, tables: [live.load], eventsPerSecond: 100, idStart: 1_000_000 });
      const sync = suite.harness.client.workflow.getHandle(live.syncId);
      // Held as a repair holds it (its consumer stopped); the migration itself is the holder, so the hold stays valid.
      const holder = live.id;
      let released = false;
      const release = async () => {
        if (released) return;
        released = true;
        await sync.signal(holdSignal, { holder, hold: false });
      };
      try {
        await sync.signal(holdSignal, { holder, hold: true });
        for (;;) {
          const p = await sync.query(syncProgressQuery);
          if (p.heldBy?.includes(holder)) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        // Changed on the source while nothing applies them: every one differs at its first read.
        await live.pool.query(`UPDATE public.small SET v = v || '+' WHERE id <= 10`);
        const r = await round(suite.harness.client, live, (stage) => {
          // The first reads are done: let the sync apply what it holds, so the re-check can pass.
          if (stage === 'waiting for the sync') void release();
        });
        assert.ok(released, 'the round waited for the sync before re-checking');
        assert.equal(r.mismatches, 0, JSON.stringify(r.differences));
        assert.ok(r.lagResolved >= 10, `lagResolved ${r.lagResolved}, inFlight ${r.inFlight}`);
        const q = Object.fromEntries(r.queries.map((x) => [x.name, x]));
        assert.equal(q.row.mismatches, 0);
        assert.equal(q['small-count'].mismatches, 0);
      } finally {
        await release();
        const stats = await load.stop();
        assert.ok(stats.updates > 0 && stats.transactions > 0);
      }
    });

    it('samples large tables by pages (TABLESAMPLE SYSTEM), partitioned ones too, and returns distinct keys that exist', async () => {
      await live.pool.query(`CREATE TABLE public.big (id int PRIMARY KEY, pad text)`);
      await live.pool.query(`INSERT INTO public.big SELECT g, repeat('x', 50) FROM generate_series(1, 60000) g`);
      await live.pool.query(`CREATE TABLE public.parted (id int, r text, PRIMARY KEY (id, r)) PARTITION BY LIST (r)`);
      await live.pool.query(`CREATE TABLE public.parted_a PARTITION OF public.parted FOR VALUES IN ('a')`);
      await live.pool.query(`CREATE TABLE public.parted_b PARTITION OF public.parted FOR VALUES IN ('b')`);
      await live.pool.query(`INSERT INTO public.parted SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 40000) g`);
      await live.pool.query(`ANALYZE public.big; ANALYZE public.parted`);
      for (const name of ['big', 'parted']) {
        const plan = await introspectTable(live.pool, { name: { schema: 'public', name } });
        assert.ok(typeof plan !== 'string', String(plan));
        assert.ok(plan.estimatedRows >= SMALL_TABLE_ROWS, `${name}: estimated ${plan.estimatedRows}, large enough to be sampled by pages`);
        const keys = await sampleKeys(live.pool, plan, 50);
        assert.equal(keys.length, 50, name);
        assert.equal(new Set(keys.map((k) => JSON.stringify(k))).size, 50, `${name}: distinct`);
        assert.equal((await readKeys(live.pool, plan, keys)).length, 50, `${name}: every sampled key is a row`);
      }
    });

    it('compareChangedKeys finds a planted difference among the keys changed since a moment, and is clean otherwise', async () => {
      await caughtUp(suite.harness.client, live);
      const since = Date.now();
      // The load of the test before may have deleted some of these ids: the keys are those it changed.
      const changed: string[] = (await live.pool.query(`UPDATE ${live.load} SET note = 'final' WHERE id = ANY($1::bigint[]) RETURNING id::text`, [ids(40, 100)])).rows.map((r: { id: string }) => r.id);
      const planted = changed[changed.length >> 1];
      await live.pool.query(`UPDATE public.small SET v = 'final' WHERE id IN (1, 2)`);
      await caughtUp(suite.harness.client, live);
      const clean = await changedKeys(suite.harness.client, live, since);
      const byTable = Object.fromEntries(clean.tables.map((t) => [t.table, t]));
      assert.equal(clean.clean, true, JSON.stringify(clean.tables));
      assert.equal(byTable[live.load].keysChecked, changed.length);
      assert.ok(changed.length > 20);
      assert.equal(byTable['public.small'].keysChecked, 2);
      assert.equal(byTable['public.small'].sourceRows, 20);
      assert.equal(byTable['public.small'].targetRows, 20);

      await target.query(`UPDATE ${live.load} SET note = 'behind your back' WHERE id = $1`, [planted]);
      await target.query(`UPDATE public.small SET v = 'v3!' WHERE id = 3`); // not changed since: not looked at
      try {
        const dirty = await changedKeys(suite.harness.client, live, since);
        const t = dirty.tables.find((x) => x.table === live.load)!;
        assert.equal(dirty.clean, false);
        assert.deepEqual({ different: t.different, missing: t.missing, extra: t.extra }, { different: 1, missing: 0, extra: 0 });
        assert.deepEqual(t.sample, [{ kind: 'different', key: [planted] }]);
        assert.equal(dirty.tables.find((x) => x.table === 'public.small')!.different, 0);
      } finally {
        await target.query(`UPDATE ${live.load} SET note = 'final' WHERE id = $1`, [planted]);
        await target.query(`UPDATE public.small SET v = 'v3' WHERE id = 3`);
      }
    });
  });
  describe('into MongoDB', () => {
    let live: Live;
    let mongo: MongoClient;
    let db: Db;
    let loadName: string;

    before(async () => {
      const sourceUrl = await createDatabase('ferry_t_shadow_m');
      suite.databases.push(sourceUrl);
      process.env.FERRY_SHADOW_MSRC = sourceUrl;
      const pool = new Pool({ connectionString: sourceUrl });
      const [load] = await createLoadTables(pool, 'public', 1, 2_000);
      loadName = load.split('.')[1];
      await pool.query(`CREATE TABLE public.small (id int PRIMARY KEY, v text NOT NULL)`);
      await pool.query(`INSERT INTO public.small SELECT g, 'v' || g FROM generate_series(1, 20) g`);
      const database = uniqueName('shadow');
      const base = onlineSpec('shadow-mongo', '${FERRY_SHADOW_MSRC}', { url: '${FERRY_MONGO_URL}', database }, [load, 'public.small']);
      const spec = testSpec({
        ...base,
        shadow: {
          sampleKeys: 50,
          recentKeys: 100,
          maxReadsPerSecond: 5_000,
          queries: [
            // Planned columns through the mapping (bigint → Long, numeric → Decimal128, text), the key's value converted for the filter.
            { name: 'doc', table: load, source: `SELECT id, account, amount, note FROM ${load} WHERE id = $1`, target: { collection: loadName, filter: { _id: '$1' } } },
            // An aggregate: count(*) (text "20") against $count (an Int32).
            { name: 'small-count', table: 'public.small', source: 'SELECT count(*) AS n FROM public.small', target: { collection: 'small', pipeline: [{ $count: 'n' }] } },
            { name: 'broken', table: 'public.small', source: 'SELECT v FROM public.small WHERE id = $1', target: { collection: 'small', pipeline: [{ $match: { _id: '$1' } }, { $nosuchstage: 1 }] } },
          ],
        },
      });
      const id = uniqueName('shadow-mongo');
      suite.migrations.push(id);
      mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
      db = mongo.db(database);
      live = await migrate(suite.harness.client, spec, id, pool, load);
      await caughtUp(suite.harness.client, live);
    });

    after(async () => {
      await db?.dropDatabase().catch(() => undefined);
      await mongo?.close();
      await live?.pool.end();
    });

    it('a quiet round is clean; a find and an aggregate match through the mapping; a broken pipeline counts errors', async () => {
      await live.pool.query(`UPDATE ${live.load} SET amount = amount + 1 WHERE id <= 30`);
      await caughtUp(suite.harness.client, live);
      const r = await round(suite.harness.client, live);
      assert.equal(r.mismatches, 0, JSON.stringify(r.differences));
      assert.equal(r.lagResolved + r.inFlight, 0);
      assert.ok(r.keysCompared >= 20 + 50, `compared ${r.keysCompared}`);
      const q = Object.fromEntries(r.queries.map((x) => [x.name, x]));
      assert.deepEqual({ runs: q.doc.runs, errors: q.doc.errors, mismatches: q.doc.mismatches, lastError: q.doc.lastError }, { runs: 5, errors: 0, mismatches: 0, lastError: null });
      assert.equal(q.doc.sourceMs.length, 5);
      assert.equal(q.doc.targetMs.length, 5);
      assert.deepEqual({ runs: q['small-count'].runs, errors: q['small-count'].errors, mismatches: q['small-count'].mismatches }, { runs: 1, errors: 0, mismatches: 0 });
      assert.ok(q.broken.runs > 0);
      assert.equal(q.broken.errors, q.broken.runs);
      assert.match(q.broken.lastError ?? '', /nosuchstage/i);
    });

    it('finds documents altered behind Ferry\'s back, and they survive the re-check', async () => {
      await live.pool.query(`UPDATE ${live.load} SET note = 'changed' WHERE id = 1500`);
      await caughtUp(suite.harness.client, live);
      const small = db.collection('small');
      const loadColl = db.collection(loadName);
      const before7 = await small.findOne({ _id: 7 as never });
      const before1500 = await loadColl.findOne({ _id: 1500n as never });
      assert.ok(before7 && before1500, 'the documents exist under the mapped _id');
      await loadColl.updateOne({ _id: 1500n as never }, { $set: { note: 'tampered' } });
      await small.updateOne({ _id: 7 as never }, { $set: { v: 'tampered' } });
      await small.deleteOne({ _id: 8 as never });
      try {
        const r = await round(suite.harness.client, live);
        const found = r.differences.map((d) => `${d.table} ${d.key.join(',')} ${d.kind} ${d.source}`).sort();
        assert.deepEqual(found, [`${live.load} 1500 different recent`, 'public.small 7 different sample', 'public.small 8 missing sample']);
        assert.equal(r.mismatches, 3);
        const q = Object.fromEntries(r.queries.map((x) => [x.name, x]));
        assert.equal(q['small-count'].mismatches, 1, 'the count is 19 on the target');
      } finally {
        await loadColl.replaceOne({ _id: 1500n as never }, before1500!);
        await small.replaceOne({ _id: 7 as never }, before7!);
        await live.pool.query(`UPDATE public.small SET v = v WHERE id = 8`); // the sync writes it back
        await caughtUp(suite.harness.client, live);
      }
    });

    it('compareChangedKeys finds a planted difference among the changed keys, and is clean otherwise', async () => {
      const since = Date.now();
      const changed: string[] = (await live.pool.query(`UPDATE ${live.load} SET note = 'final' WHERE id BETWEEN 200 AND 229 RETURNING id::text`)).rows.map((r: { id: string }) => r.id);
      await caughtUp(suite.harness.client, live);
      const clean = await changedKeys(suite.harness.client, live, since);
      assert.equal(clean.clean, true, JSON.stringify(clean.tables));
      assert.equal(clean.tables.find((t) => t.table === live.load)!.keysChecked, changed.length);
      await db.collection(loadName).updateOne({ _id: 210n as never }, { $set: { amount: 'not a number' } });
      try {
        const dirty = await changedKeys(suite.harness.client, live, since);
        const t = dirty.tables.find((x) => x.table === live.load)!;
        assert.equal(dirty.clean, false);
        assert.deepEqual(t.sample, [{ kind: 'different', key: ['210'] }]);
        assert.equal(t.sourceRows, t.targetRows);
      } finally {
        await live.pool.query(`UPDATE ${live.load} SET note = 'final again' WHERE id = 210`);
        await caughtUp(suite.harness.client, live);
      }
    });
  });
});
