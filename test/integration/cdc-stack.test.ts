// The CDC path of the local stack: a row written in PostgreSQL comes out of Kafka as a
// Debezium change event (pgoutput → Kafka Connect → Kafka), over real connections.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';

interface DebeziumEvent {
  op: string;
  before: unknown;
  after: Record<string, unknown> | null;
  source: { table: string; lsn: number };
}

async function connect(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${process.env.FERRY_CONNECT_URL}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('CDC path of the stack (PostgreSQL → Debezium → Kafka)', function () {
  this.timeout(180_000);
  const name = uniqueName('ferry_probe');
  let dbUrl: string;
  let pool: Pool;

  before(async () => {
    loadStackEnv();
    dbUrl = await createDatabase('ferry_t_cdc');
    pool = new Pool({ connectionString: dbUrl });
    await pool.query('CREATE TABLE public.cdc_probe (id int PRIMARY KEY, note text, amount numeric(10,2))');
  });

  after(async () => {
    await connect(`/connectors/${name}`, { method: 'DELETE' }).catch(() => undefined);
    const admin = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${name}.`));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups([`${name}-reader`]).catch(() => undefined);
    await admin.disconnect();
    // The slot outlives the connector; drop it once the connector has let go.
    await until('replication slot released', async () => {
      const r = await pool.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name]);
      if (r.rowCount === 0) return true;
      if (r.rows[0].active) return undefined;
      await pool.query('SELECT pg_drop_replication_slot($1)', [name]);
      return true;
    }).catch(() => undefined);
    await pool.end();
    await dropDatabase(dbUrl);
  });

  it('delivers an insert as a Debezium "c" event with the row in `after`', async () => {
    const url = new URL(dbUrl);
    const res = await connect('/connectors', {
      method: 'POST',
      body: JSON.stringify({
        name,
        config: {
          'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
          'plugin.name': 'pgoutput',
          'database.hostname': url.hostname,
          'database.port': url.port,
          'database.user': decodeURIComponent(url.username),
          'database.password': decodeURIComponent(url.password),
          'database.dbname': url.pathname.slice(1),
          'topic.prefix': name,
          'table.include.list': 'public.cdc_probe',
          'slot.name': name,
          'publication.name': name,
          'publication.autocreate.mode': 'filtered',
          'snapshot.mode': 'no_data',
          'decimal.handling.mode': 'string',
          'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'key.converter.schemas.enable': 'false',
          'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'value.converter.schemas.enable': 'false',
        },
      }),
    });
    assert.equal(res.status, 201, await res.text());
    await until('connector task running', async () => {
      const s = (await (await connect(`/connectors/${name}/status`)).json()) as { tasks?: { state: string; trace?: string }[] };
      if (s.tasks?.[0]?.state === 'FAILED') throw new Error(s.tasks[0].trace);
      return s.tasks?.[0]?.state === 'RUNNING' ? true : undefined;
    });
    await until('replication slot active', async () => {
      const r = await pool.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name]);
      return r.rows[0]?.active ? true : undefined;
    });

    await pool.query(`INSERT INTO public.cdc_probe VALUES (1, 'héllo ✓', 12.34)`);

    const kafka = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${name}-reader` });
    await consumer.connect();
    try {
      await until('topic created', async () => {
        const admin = kafka.admin();
        await admin.connect();
        const topics = await admin.listTopics();
        await admin.disconnect();
        return topics.includes(`${name}.public.cdc_probe`) ? true : undefined;
      });
      await consumer.subscribe({ topic: `${name}.public.cdc_probe`, fromBeginning: true });
      const event = await new Promise<{ key: unknown; value: DebeziumEvent }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no change event within 60 s')), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve({ key: JSON.parse(String(message.key)), value: JSON.parse(String(message.value)) });
          },
        });
      });
      assert.deepEqual(event.key, { id: 1 });
      assert.equal(event.value.op, 'c');
      assert.equal(event.value.before, null);
      assert.deepEqual(event.value.after, { id: 1, note: 'héllo ✓', amount: '12.34' });
      assert.equal(event.value.source.table, 'cdc_probe');
      assert.ok(Number(event.value.source.lsn) > 0, 'the event carries its source LSN');
    } finally {
      await consumer.disconnect();
    }
  });
});
