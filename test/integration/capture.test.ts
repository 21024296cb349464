// Change capture set-up against the real stack: prepareCapture checks the source and the
// topics, creates the marker table, publication, topics and Debezium connector, and returns
// once its start marker came out of Kafka; releaseCapture takes it all down again. Refusals
// are checked in a second database, where nothing may be created.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { testSpec } from '../helpers/temporal';
import { inspectSource } from '../../activities/plan/prepare';
import { closeAll } from '../../engines/connections';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import type { CaptureInfo } from '../../contracts/capture';
import type { TablePlan } from '../../contracts/tables';
import { captureName, prepareCapture, releaseCapture, retentionForBackfill, tableRegex } from '../../activities/cdc/capture';
import { identityProblem, walLevelProblem } from '../../engines/postgres/capture/source-checks';
import { retentionProblem, topicForTable } from '../../activities/cdc/topics';
import { stalledSince } from '../../engines/postgres/capture/slot';

const connectUrl = (path: string) => `${process.env.FERRY_CONNECT_URL}${path}`;

function kafka(): Kafka {
  return new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
}

function spec(envVar: string, tables: unknown[], sync: Record<string, unknown> = {}): Spec {
  return testSpec({
    name: 'capture-test',
    mode: 'online',
    source: { url: `\${${envVar}}` },
    target: { url: '${FERRY_MONGO_URL}', database: 'capture_test' },
    tables,
    sync: { connect: '${FERRY_CONNECT_URL}', kafka: '${FERRY_KAFKA_BROKERS}', retentionHours: 24, ...sync },
  });
}

async function plansFor(s: Spec): Promise<TablePlan[]> {
  const { plans, problems } = await inspectSource(s);
  assert.deepEqual(problems, []);
  return plans;
}

/** Every message of a topic, from the beginning, until `done` says enough (or 60 s pass). */
async function readTopic(topic: string, done: (msgs: Array<{ partition: number; offset: string; key: string; value: string }>) => boolean) {
  const groupId = uniqueName('ferry_capture_reader');
  const consumer = kafka().consumer({ groupId, maxWaitTimeInMs: 200 });
  const msgs: Array<{ partition: number; offset: string; key: string; value: string }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: the expected events did not arrive; got ${msgs.length}`)), 60_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          msgs.push({ partition, offset: message.offset, key: String(message.key), value: String(message.value) });
          if (done(msgs)) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return msgs;
}

async function rejection(p: Promise<unknown>): Promise<{ message: string; type?: string; nonRetryable?: boolean }> {
  try {
    await p;
  } catch (err) {
    return err as { message: string; type?: string; nonRetryable?: boolean };
  }
  assert.fail('expected a refusal');
}

async function connectorStatus(name: string): Promise<{ status: number; body: { connector?: { state: string }; tasks?: Array<{ state: string }> } }> {
  const res = await fetch(connectUrl(`/connectors/${name}/status`));
  return { status: res.status, body: (await res.json()) as never };
}

describe('change capture set-up (prepareCapture / releaseCapture)', function () {
  this.timeout(300_000);
  const migrationId = uniqueName('ferry-capture-test');
  const name = captureName(migrationId);
  const refusedIds: string[] = [];
  let dbUrl: string;
  let refusedUrl: string;
  let pool: Pool;
  let refusedPool: Pool;
  let admin: Admin;
  let s: Spec;
  let plans: TablePlan[];
  let first: CaptureInfo;
  const weakRole = uniqueName('ferry_weak');

  before(async () => {
    loadStackEnv();
    admin = kafka().admin();
    await admin.connect();
    dbUrl = await createDatabase('ferry_t_capture');
    refusedUrl = await createDatabase('ferry_t_capref');
    process.env.FERRY_T_CAPTURE_URL = dbUrl;
    process.env.FERRY_T_CAPREF_URL = refusedUrl;
    pool = new Pool({ connectionString: dbUrl });
    refusedPool = new Pool({ connectionString: refusedUrl });
    await pool.query(`
      CREATE TABLE public.orders (id int PRIMARY KEY, note text);
      CREATE SCHEMA "Sales";
      CREATE TABLE "Sales"."Line Items" (id int PRIMARY KEY, v text);
      CREATE TABLE public.events (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE public.events_eu PARTITION OF public.events FOR VALUES IN ('eu');
      CREATE TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('us');
      CREATE TABLE public.keyed (code text NOT NULL, v text);
      CREATE UNIQUE INDEX keyed_code ON public.keyed (code);
      ALTER TABLE public.keyed REPLICA IDENTITY USING INDEX keyed_code;`);
    await refusedPool.query(`
      CREATE TABLE public.orders (id int PRIMARY KEY, note text);
      CREATE TABLE public.nokey (code text NOT NULL UNIQUE, v text);
      CREATE TABLE public.nothing (id int PRIMARY KEY);
      ALTER TABLE public.nothing REPLICA IDENTITY NOTHING;
      CREATE ROLE ${weakRole} LOGIN;
      GRANT USAGE ON SCHEMA public TO ${weakRole};
      GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${weakRole};`);
    s = spec('FERRY_T_CAPTURE_URL', ['public.orders', '"Sales"."Line Items"', 'public.events', { table: 'public.keyed', key: ['code'] }]);
    plans = await plansFor(s);
  });

  after(async () => {
    // Release first: a database with a replication slot cannot be dropped.
    for (const [sp, id] of [[s, migrationId], ...refusedIds.map((r) => [spec('FERRY_T_CAPREF_URL', ['public.orders']), r] as const)] as const) {
      if (!sp) continue;
      await releaseCapture({ spec: sp, captureName: captureName(id), migrationId: id }).catch((err) => console.warn(`cleanup: ${(err as Error).message}`));
    }
    const prefixes = [name, ...refusedIds.map(captureName)];
    const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(`${p}.`) || t === `__debezium-heartbeat.${p}`));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
    await refusedPool.end();
    await closeAll(); // the activities' pools, before their databases go
    await dropDatabase(dbUrl);
    await dropDatabase(refusedUrl);
    const root = new Pool({ connectionString: process.env.FERRY_SOURCE_URL, max: 1 });
    await root.query(`DROP ROLE IF EXISTS ${weakRole}`).catch(() => undefined);
    await root.end();
  });

  describe('names and messages (no stack needed)', () => {
    it('derives one name from the migration id: ferry_, [a-z0-9_], at most 63 characters', () => {
      assert.equal(captureName('ferry_shop_20240101t120000'), 'ferry_shop_20240101t120000', 'an id that is a valid name is kept');
      assert.match(captureName('ferry-shop-20240101t120000'), /^ferry_shop_20240101t120000_[0-9a-f]{8}$/, '- became _: hashed');
      assert.match(captureName('ferry-shop-20240101T120000'), /^ferry_shop_20240101t120000_[0-9a-f]{8}$/, 'lower-casing is lossy: hashed');
      assert.notEqual(captureName('orders-v2'), captureName('orders_v2'));
      assert.match(captureName('shop'), /^ferry_shop_[0-9a-f]{8}$/, 'prefixed: hashed, so it never equals the id ferry_shop');
      const long = captureName(`ferry-${'x'.repeat(100)}`);
      assert.equal(long.length, 63);
      assert.match(long, /^ferry_x+_[0-9a-f]{8}$/);
      assert.notEqual(captureName(`ferry-${'x'.repeat(100)}a`), captureName(`ferry-${'x'.repeat(100)}b`));
      assert.match(captureName('Ferry Shop/1'), /^ferry_shop_1_[0-9a-f]{8}$/);
    });

    it('spells topics as Debezium does and escapes include-list names exactly', () => {
      assert.equal(topicForTable('p', { schema: 'Sales', name: 'Line Items' }), 'p.Sales.Line_Items');
      assert.equal(topicForTable('p', { schema: 'public', name: 'a-b.c' }), 'p.public.a-b.c');
      assert.equal(tableRegex({ schema: 'public', name: 'a,b' }), 'public\\.a\\x{2c}b');
    });

    it('tells how to set wal_level when it is not logical', () => {
      assert.equal(walLevelProblem('logical'), null);
      assert.match(walLevelProblem('replica')!, /wal_level is replica.*ALTER SYSTEM SET wal_level = logical.*restart PostgreSQL/);
    });

    it('judges replica identities against the plan key', () => {
      const base = { sql: '"public"."t"', primaryKey: ['id'], identityIndex: null, keyIndex: null, key: ['id'] };
      assert.equal(identityProblem({ ...base, replident: 'd' }), null);
      assert.equal(identityProblem({ ...base, replident: 'f', primaryKey: null }), null);
      assert.match(identityProblem({ ...base, replident: 'd', primaryKey: ['id'], key: ['code'], keyIndex: 't_code' })!, /does not contain the key.*REPLICA IDENTITY USING INDEX "t_code"/);
      assert.match(identityProblem({ ...base, replident: 'i', identityIndex: { name: 'x', columns: ['other'] } })!, /index x \(other\).*REPLICA IDENTITY DEFAULT/);
      assert.equal(identityProblem({ ...base, replident: 'i', primaryKey: null, identityIndex: { name: 'x', columns: ['id'] } }), null);
    });

    it('refuses topic settings that could drop events, accepts unlimited ones', () => {
      assert.equal(retentionProblem('t', { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' }, 24), null);
      assert.match(retentionProblem('t', { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'retention.bytes': '-1' }, 24)!, /cleanup.policy is compact/);
      assert.match(retentionProblem('t', { 'cleanup.policy': 'delete', 'retention.ms': '86400000', 'retention.bytes': '1000' }, 24)!, /retention.bytes is 1000/);
    });

    it('asks for retention that outlasts a throttled backfill', () => {
      const spec = validateSpec({ name: 'r', mode: 'online', source: { url: 'postgres://u@h:1/s' }, target: { url: 'postgres://u@h:1/t' }, tables: ['public.t'],
        sync: { connect: 'http://c:1', kafka: 'k:1', retentionHours: 48 }, backfill: { maxRowsPerSecond: 100 } }, {});
      const plan = (rows: number) => ({ estimatedRows: rows }) as TablePlan;
      assert.equal(retentionForBackfill(spec, [plan(3_600_000)]), null, '10 h of copying: twice that plus a day fits in 48 h');
      assert.match(retentionForBackfill(spec, [plan(7_200_000)])!, /about 20\.0 h to copy.*set sync.retentionHours to at least 64/);
      assert.equal(retentionForBackfill({ ...spec, backfill: { ...spec.backfill, maxRowsPerSecond: 0 } }, [plan(1e12)]), null, 'unthrottled: not estimated');
    });

    it('calls a slot stalled only while the WAL moves and the confirmed LSN does not', () => {
      const prev = { confirmedLsn: '0/10', currentLsn: '0/20', atMs: 1_000, stalledSinceMs: null };
      assert.equal(stalledSince(prev, '0/10', '0/20'), null, 'idle source');
      assert.equal(stalledSince(prev, '0/10', '0/30'), 1_000, 'WAL moved, confirmed did not');
      assert.equal(stalledSince({ ...prev, stalledSinceMs: 500 }, '0/10', '0/20'), 500, 'still stalled');
      assert.equal(stalledSince({ ...prev, stalledSinceMs: 500 }, '0/18', '0/30'), null, 'confirmed moved');
    });
  });

  describe('against the stack', () => {
    it('sets up capture: connector running, slot active, topics with retention, start marker seen', async () => {
      first = await prepareCapture({ spec: s, plans, migrationId });
      assert.equal(first.name, name);
      const st = await connectorStatus(name);
      assert.equal(st.body.connector?.state, 'RUNNING');
      assert.deepEqual(st.body.tasks?.map((t) => t.state), ['RUNNING']);
      const slot = await pool.query(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [name]);
      assert.equal(slot.rows[0]?.active, true);

      const expected = [`${name}.public.orders`, `${name}.Sales.Line_Items`, `${name}.public.events`, `${name}.public.keyed`];
      assert.deepEqual(first.topics.map((t) => t.topic), expected);
      assert.equal(first.markerTopic, `${name}._ferry.cdc_marker`);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [...expected, first.markerTopic].map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t, configNames: ['retention.ms', 'retention.bytes', 'cleanup.policy', 'max.message.bytes'] })),
      });
      for (const r of configs.resources) {
        const c = Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]));
        assert.deepEqual(c, { 'retention.ms': String(24 * 3_600_000), 'retention.bytes': '-1', 'cleanup.policy': 'delete', 'max.message.bytes': String(16 * 1024 * 1024) }, r.resourceName);
      }
      const meta = await admin.fetchTopicMetadata({ topics: expected });
      for (const t of meta.topics) assert.equal(t.partitions.length, 1, t.name);

      assert.equal(first.marker.position.topic, first.markerTopic);
      assert.match(first.marker.token, /^[0-9a-f-]{36}$/);
      assert.ok(first.marker.lsn && BigInt(first.marker.lsn) > 0n, 'the marker carries its LSN');
      const covered = new Set(first.startOffsets.map((o) => `${o.topic}/${o.partition}`));
      for (const t of expected) assert.ok(covered.has(`${t}/0`), `startOffsets cover ${t}/0`);
      assert.ok(covered.has(`${first.markerTopic}/0`));
      const markerStart = first.startOffsets.find((o) => o.topic === first.markerTopic)!;
      assert.ok(BigInt(markerStart.offset) > BigInt(first.marker.position.offset), 'start offsets are read after the marker');

      const pub = await pool.query(`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [name]);
      assert.deepEqual(pub.rows.map((r) => r.t), ['Sales.Line Items', '_ferry.cdc_marker', 'public.events', 'public.keyed', 'public.orders']);
    });

    it('delivers rows written after it returns at or after the start offsets, under the parent topic and the plan key', async () => {
      await pool.query(`INSERT INTO public.orders VALUES (1, 'after'); INSERT INTO "Sales"."Line Items" VALUES (7, 'x');
        INSERT INTO public.events VALUES (3, 'us'); INSERT INTO public.keyed VALUES ('K1', 'v')`);
      await pool.query(`DELETE FROM public.keyed WHERE code = 'K1'`);
      const start = new Map(first.startOffsets.map((o) => [`${o.topic}/${o.partition}`, BigInt(o.offset)]));
      for (const [topic, key] of [
        [`${name}.public.orders`, '{"id":1}'],
        [`${name}.Sales.Line_Items`, '{"id":7}'],
        [`${name}.public.events`, '{"id":3,"region":"us"}'],
      ]) {
        const msgs = await readTopic(topic, (m) => m.some((x) => x.key === key));
        const hit = msgs.find((x) => x.key === key)!;
        assert.ok(BigInt(hit.offset) >= start.get(`${topic}/${hit.partition}`)!, `${topic}: offset ${hit.offset} is past the start`);
      }
      // Keyed by a unique index: the events carry that key, deletes included (replica identity index).
      const keyed = await readTopic(`${name}.public.keyed`, (m) => m.filter((x) => x.key === '{"code":"K1"}').length >= 2);
      const ops = keyed.filter((x) => x.key === '{"code":"K1"}' && x.value !== 'null').map((x) => JSON.parse(x.value).op);
      assert.deepEqual(ops, ['c', 'd']);
    });

    it('converges when run again: same name and topics, one connector, a new marker', async () => {
      const again = await prepareCapture({ spec: s, plans, migrationId });
      assert.equal(again.name, first.name);
      assert.deepEqual(again.topics, first.topics);
      assert.notEqual(again.marker.token, first.marker.token);
      assert.ok(BigInt(again.marker.position.offset) > BigInt(first.marker.position.offset));
      const connectors = (await (await fetch(connectUrl('/connectors'))).json()) as string[];
      assert.equal(connectors.filter((c) => c === name).length, 1);
      const slots = await pool.query(`SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1`, [name]);
      assert.equal(slots.rows[0].n, 1);
      const markers = await pool.query(`SELECT kind FROM _ferry.cdc_marker WHERE migration = $1 AND kind = 'start'`, [migrationId]);
      assert.equal(markers.rowCount, 1);
    });

    it('refuses a table keyed by a unique key without a usable replica identity, naming the ALTER', async () => {
      const id = uniqueName('ferry-capture-nokey');
      refusedIds.push(id);
      const sp = spec('FERRY_T_CAPREF_URL', [{ table: 'public.nokey', key: ['code'] }]);
      const err = await rejection(prepareCapture({ spec: sp, plans: await plansFor(sp), migrationId: id }));
      assert.equal(err.type, 'ConfigurationError');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /"public"\."nokey" has no primary key.*ALTER TABLE "public"\."nokey" REPLICA IDENTITY USING INDEX "nokey_code_key"/);
    });

    it('refuses REPLICA IDENTITY NOTHING', async () => {
      const id = uniqueName('ferry-capture-nothing');
      refusedIds.push(id);
      const sp = spec('FERRY_T_CAPREF_URL', ['public.nothing']);
      const err = await rejection(prepareCapture({ spec: sp, plans: await plansFor(sp), migrationId: id }));
      assert.equal(err.type, 'ConfigurationError');
      assert.match(err.message, /"public"\."nothing" has REPLICA IDENTITY NOTHING.*ALTER TABLE "public"\."nothing" REPLICA IDENTITY DEFAULT/);
    });

    it('refuses an existing topic whose retention is too short, naming the kafka-configs command', async () => {
      const id = uniqueName('ferry-capture-retention');
      refusedIds.push(id);
      const topic = `${captureName(id)}.public.orders`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
      const sp = spec('FERRY_T_CAPREF_URL', ['public.orders']);
      const err = await rejection(prepareCapture({ spec: sp, plans: await plansFor(sp), migrationId: id }));
      assert.equal(err.type, 'ConfigurationError');
      assert.match(err.message, new RegExp(`topic ${topic.replace(/\./g, '\\.')} already exists and retention.ms is 3600000 \\(1 h\\), less than sync.retentionHours = 24 h`));
      assert.match(err.message, /kafka-configs\.sh --bootstrap-server "\$FERRY_KAFKA_BROKERS" --alter --entity-type topics --entity-name \S+ --add-config cleanup.policy=delete,retention.ms=86400000,retention.bytes=-1/);
    });

    it('refuses an existing topic with more than one partition (a truncate could not be ordered)', async () => {
      const id = uniqueName('ferry-capture-parts');
      refusedIds.push(id);
      const topic = `${captureName(id)}.public.orders`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: String(48 * 3_600_000) }, { name: 'retention.bytes', value: '-1' }] }] });
      const sp = spec('FERRY_T_CAPREF_URL', ['public.orders']);
      const err = await rejection(prepareCapture({ spec: sp, plans: await plansFor(sp), migrationId: id }));
      assert.equal(err.type, 'ConfigurationError');
      assert.match(err.message, new RegExp(`topic ${topic.replace(/\./g, '\\.')} already exists with 3 partitions; Ferry needs 1 \\(a truncate carries no key`));
    });

    it('refuses a user that can neither replicate nor own the tables, before creating anything', async () => {
      const id = uniqueName('ferry-capture-weak');
      refusedIds.push(id);
      const weakUrl = new URL(refusedUrl);
      weakUrl.username = weakRole;
      process.env.FERRY_T_WEAK_URL = weakUrl.toString();
      const plansRef = await plansFor(spec('FERRY_T_CAPREF_URL', ['public.orders']));
      const sp = spec('FERRY_T_WEAK_URL', ['public.orders']);
      const err = await rejection(prepareCapture({ spec: sp, plans: plansRef, migrationId: id }));
      assert.equal(err.type, 'ConfigurationError');
      assert.match(err.message, new RegExp(`ALTER ROLE "${weakRole}" REPLICATION`));
      assert.match(err.message, new RegExp(`GRANT CREATE ON DATABASE "ferry_t_capref_[a-z0-9]+" TO "${weakRole}"`));
      assert.match(err.message, new RegExp(`does not own "public"\\."orders" \\(owner ferry\\).*ALTER TABLE "public"\\."orders" OWNER TO "${weakRole}"`));
      // Nothing was created: no schema, publication, slot, topic or connector.
      const left = await refusedPool.query(
        `SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = '_ferry')::int + (SELECT count(*) FROM pg_publication)::int
              + (SELECT count(*) FROM pg_replication_slots WHERE database = current_database())::int AS n`,
      );
      assert.equal(left.rows[0].n, 0);
      for (const r of refusedIds) {
        assert.equal((await fetch(connectUrl(`/connectors/${captureName(r)}`))).status, 404);
        assert.equal((await admin.listTopics()).filter((t) => t.startsWith(`${captureName(r)}.`) && !t.endsWith('.public.orders')).length, 0);
      }
    });

    it('treats an unreachable Kafka Connect as retryable, named by its reference, before creating anything', async () => {
      const id = uniqueName('ferry-capture-noconnect');
      refusedIds.push(id);
      process.env.FERRY_T_BAD_CONNECT = 'http://127.0.0.1:1';
      const sp = spec('FERRY_T_CAPREF_URL', ['public.orders'], { connect: '${FERRY_T_BAD_CONNECT}' });
      const err = await rejection(prepareCapture({ spec: sp, plans: await plansFor(sp), migrationId: id }));
      assert.notEqual(err.nonRetryable, true);
      assert.match(err.message, /Kafka Connect \(sync\.connect from \$\{FERRY_T_BAD_CONNECT\}\) is unreachable/);
      assert.ok(!err.message.includes('127.0.0.1:1'), err.message);
      const pubs = await refusedPool.query('SELECT count(*)::int AS n FROM pg_publication');
      assert.equal(pubs.rows[0].n, 0);
    });

    it('refuses a source Connect cannot reach, before creating anything and without showing the password', async () => {
      const id = uniqueName('ferry-capture-badhost');
      refusedIds.push(id);
      const secretUrl = new URL(refusedUrl);
      secretUrl.password = 'Sup3r-s3cret-pw'; // trust auth ignores it; Debezium receives it
      process.env.FERRY_T_SECRET_URL = secretUrl.toString();
      const sp = spec('FERRY_T_SECRET_URL', ['public.orders'], { sourceHost: 'no-such-host.invalid' });
      const err = await rejection(prepareCapture({ spec: sp, plans: await plansFor(sp), migrationId: id }));
      assert.equal(err.type, 'ConfigurationError');
      assert.match(err.message, /Kafka Connect refuses the connector config: database\.hostname: [^;]*The connection attempt failed.*as ferry@no-such-host\.invalid:55432\/ferry_t_capref_/);
      const pubs = await refusedPool.query('SELECT count(*)::int AS n FROM pg_publication');
      assert.equal(pubs.rows[0].n, 0, 'refused before anything was created');
      assert.ok(!err.message.includes('Sup3r-s3cret-pw'), err.message);
    });

    it('releases connector, slot, publication and marker rows; a second release is a no-op', async () => {
      await releaseCapture({ spec: s, captureName: name, migrationId });
      // (The status endpoint may answer a little longer: Connect's status store lags its config store.)
      assert.equal((await fetch(connectUrl(`/connectors/${name}`))).status, 404);
      const left = await pool.query(
        `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)::int AS slots, (SELECT count(*) FROM pg_publication WHERE pubname = $1)::int AS pubs,
                (SELECT count(*) FROM _ferry.cdc_marker WHERE migration = $2)::int AS markers`,
        [name, migrationId],
      );
      assert.deepEqual(left.rows[0], { slots: 0, pubs: 0, markers: 0 });
      await releaseCapture({ spec: s, captureName: name, migrationId });
      // Topics stay (they expire by retention).
      assert.ok((await admin.listTopics()).includes(`${name}.public.orders`));
    });
  });
});
