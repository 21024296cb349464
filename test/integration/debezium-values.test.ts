// The proof that a CDC row equals a backfill row: a real Debezium connector (Ferry's value
// settings) captures rows holding every type Ferry maps, at their edges, and for every row
// and column rowFromDebezium must give exactly the text the backfill's pool reads from the
// source. Also: an unchanged TOASTed value is reported unavailable, types Debezium cannot
// carry are refused by name, and a connector with schemas.enable=true decodes the same.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { pgPool } from '../../engines/connections';
import { introspectTable } from '../../engines/postgres/source';
import { connectorValueConfig } from '../../engines/postgres/capture/debezium-config';
import { decodeKey, decodeMessage } from '../../activities/cdc/debezium';
import { debeziumLimits, rowFromDebezium } from '../../engines/postgres/capture/debezium-values';
import { type ChangeEvent } from '../../activities/cdc/types';
import { PoisonMessage } from '../../engines/errors';
import type { TablePlan } from '../../contracts/tables';

const SETUP = `
  CREATE EXTENSION hstore; CREATE EXTENSION citext; CREATE EXTENSION ltree;
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'very happy');
  CREATE DOMAIN posint AS int CHECK (VALUE > 0);
  CREATE DOMAIN shorttext AS varchar(20);
  CREATE DOMAIN intarr AS int[];
  CREATE TYPE pair AS (a int, b text);
  CREATE TABLE t (id int PRIMARY KEY,
    b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, n2 numeric(10,2), m money,
    tx text, vc varchar(10), ch char(5), nm name, ci citext, c1 "char", by bytea, u uuid, js json, jb jsonb, x xml,
    d date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3), tstz timestamptz, iv interval,
    ip inet, cd cidr, mac macaddr, mac8 macaddr8, e mood, dpos posint, dtext shorttext, darr intarr,
    r4 int4range, r8 int8range, rn numrange, rts tsrange, rtz tstzrange, rd daterange, mr int4multirange, mrtz tstzmultirange,
    h hstore, pt point, ln line, ls lseg, bx box, pa path, pg polygon, ci2 circle, bt bit(10), bt1 bit(1), o oid,
    lt ltree, tsv tsvector, lsn pg_lsn, cp pair,
    a_i4 int[], a_i8 int8[], a_tx text[], a_vc varchar[], a_n numeric[], a_b bool[], a_f4 float4[], a_f8 float8[],
    a_by bytea[], a_u uuid[], a_jb jsonb[], a_js json[], a_d date[], a_ts timestamp[], a_tstz timestamptz[], a_e mood[],
    a_pos posint[], a_ci citext[], a_h hstore[], a_ip inet[], a_r4 int4range[], a_rtz tstzrange[], a_bx box[], a_ch char(3)[],
    a_o oid[], a_c1 "char"[],
    big text, t_by bytea, t_jb jsonb, t_tx text[], t_h hstore, t_i4 int[], t_d date[], t_f8 float8[], t_u uuid[],
    g int GENERATED ALWAYS AS (i4 % 1000) STORED);
  ALTER TABLE t REPLICA IDENTITY DEFAULT;
  ${['big', 't_by', 't_jb', 't_tx', 't_h', 't_i4', 't_d', 't_f8', 't_u'].map((c) => `ALTER TABLE t ALTER COLUMN ${c} SET STORAGE EXTERNAL;`).join(' ')}
  CREATE TABLE refused (id int PRIMARY KEY, ttz timetz, vb varbit, a_tm time[], a_2d int[], a_t2d text[], a_null int[], a_dbc date[]);
  CREATE TABLE dropped (id int PRIMARY KEY, a_iv interval[]);
  CREATE TABLE s (id bigint PRIMARY KEY, n numeric, tstz timestamptz, a_tx text[]);
`;

// Row 1 typical values (quotes, backslashes, unicode, big TOASTed values); 2 all NULL; 3-5 edges.
const ROWS = `
  INSERT INTO t (id) VALUES (2);
  INSERT INTO t (id, b, i2, i4, i8, f4, f8, n, n2, m, tx, vc, ch, nm, ci, c1, by, u, js, jb, x, d, tm, tm3, ts, ts3, tstz, iv,
    ip, cd, mac, mac8, e, dpos, dtext, darr, r4, r8, rn, rts, rtz, rd, mr, mrtz, h, pt, ln, ls, bx, pa, pg, ci2, bt, bt1, o,
    lt, tsv, lsn, cp, a_i4, a_i8, a_tx, a_vc, a_n, a_b, a_f4, a_f8, a_by, a_u, a_jb, a_js, a_d, a_ts, a_tstz, a_e, a_pos,
    a_ci, a_h, a_ip, a_r4, a_rtz, a_bx, a_ch, a_o, a_c1, big, t_by, t_jb, t_tx, t_h, t_i4, t_d, t_f8, t_u)
  VALUES (1, true, 12, 123456, 1234567890123, 0.1, 3.141592653589793, 12.5000, 12.3, 1234567.89,
    E'quote" back\\\\slash ✓ ''single'' \\n newline', 'héllo', 'ab', 'name', 'CiTe', 'z', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '{"b": 1,  "a":[1.50, 12345678901234567890]}', '{"b": 1,  "a":[1.50, 12345678901234567890], "u": "✓\\u0041"}', '<a x="1">x &amp; y</a>',
    '2024-02-29', '13:14:15.123456', '13:14:15.123', '2024-02-29 12:34:56.000001', '2024-02-29 12:34:56.789', '2024-06-01 12:00:00.5+03',
    '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', 'very happy',
    5, 'dom', '{1,2}', '[1,10)', '(,5]', '(1.5,2.5]', '[2024-01-01 10:00,infinity)', '[2024-01-01 10:00+02,2024-02-01 00:00+00)',
    '[2024-01-01,2024-02-01)', '{[1,3),[5,7)}', '{[2024-01-01 00:00+05,2024-01-02 00:00+00)}', 'b=>1, aa=>NULL, "c d"=>"x\\"y", é=>"\\\\"',
    '(1.5,-2)', '{1,2,3}', '[(0,0),(1,1)]', '((0,0),(1.5,1))', '[(0,0),(1,1),(2,0)]', '((0,0),(1,0),(1,1))', '<(1,1),2.5>',
    B'1010000001', B'1', 4000000000, 'a.b.c', 'a fat cat', '0/16B3748', '(1,"x y")',
    '{1,NULL,3}', '{9223372036854775807,-9223372036854775808}', E'{"a b","c\\\\"d","e\\\\\\\\f",NULL,"NULL","null","","{x}","é, ü"," lead",tab\\t}',
    '{x,y}', '{1.5,2,-0.001,123456789012345678901234567890}', '{t,f,NULL}', '{0.1,-0,NaN,3.4e38,Infinity}', '{1.5,-Infinity,-0,5e-324}',
    E'{"\\\\\\\\x01ff",NULL}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', E'{"{\\\\"a\\\\": [1, 2]}"}', E'{"{\\\\"a\\\\":1}"}',
    '{2024-02-29,infinity,-infinity,NULL}', '{"2024-01-01 00:00:00.5",infinity,-infinity}', '{"2024-01-01 00:00:00.000001+00",infinity}',
    '{sad,"very happy"}', '{1,2}', '{AbC}', ARRAY['a=>1, b=>NULL'::hstore], '{1.2.3.4/32,::1}', '{"[1,2)",empty}',
    '{"[2024-01-01 00:00+00,2024-01-02 00:00+00)"}', '{(1,1),(0,0);(2.5,2),(1,1)}', '{a,bc}', '{4000000000}', '{a,b}',
    repeat('ä', 524288), convert_to(repeat('y', 10000), 'UTF8'), ('{"k":"' || repeat('z', 10000) || '"}')::jsonb,
    ARRAY[repeat('w', 10000)], hstore('k', repeat('h', 10000)), (SELECT array_agg(g) FROM generate_series(1, 3000) g),
    (SELECT array_agg(date '2000-01-01' + g) FROM generate_series(1, 3000) g), (SELECT array_agg(g / 7.0::float8) FROM generate_series(1, 1000) g),
    (SELECT array_agg(md5(g::text)::uuid) FROM generate_series(1, 300) g));
  INSERT INTO t (id, i2, i4, i8, f4, f8, n, n2, m, d, tm, ts, ts3, tstz, iv, tx)
  VALUES (3, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308, '123456789012345678901234567890.123456789',
    99999999.99, '92233720368547758.07', 'infinity', '24:00:00', 'infinity', 'infinity', 'infinity', '178000000 years 11 mons 2147483647 days 2147483647:59:54.775807', '');
  INSERT INTO t (id, i2, i4, i8, f4, f8, n, n2, m, d, tm, ts, ts3, tstz, iv, tx)
  VALUES (4, -32768, -2147483648, -9223372036854775808, '-Infinity', '-0', 'NaN', -0.5, '-92233720368547758.08', '-infinity', '00:00:00',
    '-infinity', '-infinity', '-infinity', '-1 years -2 mons +3 days -04:05:06.789', 'NULL');
  INSERT INTO t (id, f4, f8, n, d, tm, ts, ts3, tstz, iv)
  VALUES (5, 1e-7, 5e-324, '-Infinity', '4713-01-01 BC', '00:00:00.000001', '0044-03-15 12:00:00.5 BC', '0001-01-01 00:00:00 BC',
    '0044-03-15 12:00:00.25+00 BC', '-00:00:00.000001');
  INSERT INTO t (id, f4, f8, n, d, ts, tstz, iv) VALUES (6, 'NaN', 'Infinity', '1e-30', '5874897-12-31', '294247-01-01 00:00:00', '294276-12-31 23:59:59.999999+00', '1 day -00:00:01');
  INSERT INTO refused VALUES (1, '10:00+02', NULL, NULL, NULL, NULL, NULL, NULL), (2, NULL, B'0101', NULL, NULL, NULL, NULL, NULL),
    (3, NULL, NULL, '{12:00:00.000001}', NULL, NULL, NULL, NULL), (4, NULL, NULL, NULL, '{{1,2},{3,4}}', NULL, NULL, NULL),
    (5, NULL, NULL, NULL, NULL, '{{a,b},{c,d}}', NULL, NULL), (6, NULL, NULL, NULL, NULL, NULL, '{NULL,NULL}', NULL),
    (7, NULL, NULL, NULL, NULL, NULL, NULL, '{0044-03-15}');
  INSERT INTO dropped VALUES (1, '{"1 day"}');
`;

async function connect(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${process.env.FERRY_CONNECT_URL}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
}

/** Polls until fn returns a value; the limit only stops a broken stack from hanging the suite. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function kafka(): Kafka {
  return new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
}

/** A connector on dbUrl named `name` (also its slot, publication, topic prefix), started and streaming. */
async function startConnector(name: string, dbUrl: string, tables: string[], pool: Pool, extra: Record<string, string> = {}): Promise<void> {
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
        'table.include.list': tables.join(','),
        'slot.name': name,
        'publication.name': name,
        'publication.autocreate.mode': 'filtered',
        'snapshot.mode': 'no_data',
        ...connectorValueConfig,
        // A row holding 1 MB of text is a message above Kafka's 1 MB defaults (producer and topic).
        'producer.override.max.request.size': '8388608',
        'topic.creation.default.replication.factor': '1',
        'topic.creation.default.partitions': '1',
        'topic.creation.default.max.message.bytes': '8388608',
        ...extra,
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
}

/** Reads `count` messages from the topics (from the beginning), grouped by topic in order. */
async function consume(group: string, topics: string[], count: number): Promise<Map<string, KafkaMessage[]>> {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  await until('topics created', async () => {
    const have = await admin.listTopics();
    return topics.every((t) => have.includes(t)) ? true : undefined;
  });
  await admin.disconnect();
  // kafkajs fetches at most 1 MB per partition by default: the 1 MB row would never arrive.
  const consumer = k.consumer({ groupId: group, maxBytesPerPartition: 16 << 20, maxBytes: 64 << 20 });
  await consumer.connect();
  const out = new Map<string, KafkaMessage[]>(topics.map((t) => [t, []]));
  let seen = 0;
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        out.get(topic)!.push(message);
        seen++;
      },
    });
    await until(`${count} messages`, async () => (seen >= count ? true : undefined), 120_000).catch((err: Error) => {
      throw new Error(`${err.message} (${seen} arrived)`);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

async function cleanup(names: string[], pool: Pool): Promise<void> {
  for (const name of names) await connect(`/connectors/${name}`, { method: 'DELETE' }).catch(() => undefined);
  const admin = kafka().admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => names.some((n) => t.startsWith(`${n}.`)));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.deleteGroups(names).catch(() => undefined);
  await admin.disconnect();
  // A slot outlives its connector; drop it once the connector has let go.
  for (const name of names) {
    await until('replication slot released', async () => {
      const r = await pool.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name]);
      if (r.rowCount === 0) return true;
      if (r.rows[0].active) return undefined;
      await pool.query('SELECT pg_drop_replication_slot($1)', [name]);
      return true;
    }).catch(() => undefined);
  }
}

function changes(messages: KafkaMessage[]): ChangeEvent[] {
  return messages.map((m) => decodeMessage(m.value)).flatMap((d) => (d.kind === 'change' ? [d.event] : []));
}

describe('Debezium values → PostgreSQL text (real connector)', function () {
  this.timeout(300_000);
  const name = uniqueName('ferry_dbzv');
  const nameSchemas = `${name}_s`;
  let dbUrl: string;
  let pool: Pool;
  /** The backfill's own pool settings: what a backfill row looks like. */
  let source: Pool;
  const plans = new Map<string, TablePlan>();
  /** Rows as the backfill reads them, after the inserts and after the update. */
  let inserted: Map<string, Record<string, string | null>>;
  let updated: Record<string, string | null>;
  let messages: Map<string, KafkaMessage[]>;

  before(async () => {
    loadStackEnv();
    dbUrl = await createDatabase('ferry_t_dbzv');
    pool = new Pool({ connectionString: dbUrl, max: 2 });
    source = pgPool(dbUrl);
    await pool.query(SETUP);
    for (const table of ['t', 'refused', 'dropped', 's']) {
      const plan = await introspectTable(pool, { name: { schema: 'public', name: table } });
      assert.ok(typeof plan !== 'string', String(plan));
      plans.set(table, plan);
    }
    await startConnector(name, dbUrl, ['public.t', 'public.refused', 'public.dropped'], pool);
    await pool.query(ROWS);
    inserted = new Map((await source.query('SELECT * FROM t')).rows.map((r) => [r.id, r]));
    // Only a small column changes: the TOASTed ones stay on disk and arrive as the placeholder.
    await pool.query('UPDATE t SET i2 = 7 WHERE id = 1');
    updated = (await source.query('SELECT * FROM t WHERE id = 1')).rows[0];
    await pool.query('DELETE FROM t WHERE id = 2');
    // t: 6 inserts, 1 update, 1 delete + tombstone; refused: 7; dropped: 1.
    messages = await consume(name, ['t', 'refused', 'dropped'].map((t) => `${name}.public.${t}`), 17);
  });

  after(async () => {
    if (!pool) return;
    await cleanup([name, nameSchemas], pool).catch(() => undefined);
    await source?.end().catch(() => undefined);
    await pool.end();
    await dropDatabase(dbUrl);
  });

  function assertRowEqual(actual: Record<string, string | null>, expected: Record<string, string | null>, skip: string[] = []): void {
    for (const c of plans.get('t')!.columns) {
      if (c.generated || skip.includes(c.name)) continue;
      assert.equal(actual[c.name], expected[c.name], `row ${expected.id}, column ${c.name} (${c.type})`);
    }
  }

  it('gives exactly the backfill text for every inserted row and column', () => {
    const events = changes(messages.get(`${name}.public.t`)!).filter((e) => e.op === 'c');
    assert.deepEqual(events.map((e) => e.after!.id?.toString()).sort(), ['1', '2', '3', '4', '5', '6']);
    for (const e of events) {
      assert.equal(e.schema, 'public');
      assert.equal(e.table, 't');
      assert.match(e.lsn!, /^\d+$/);
      const decoded = rowFromDebezium(plans.get('t')!, e.after!);
      assert.deepEqual(decoded.unavailable, []);
      assert.deepEqual(decoded.unknown, []);
      assert.deepEqual(decoded.missing, []);
      assert.ok(!('g' in decoded.row), 'the generated column is not copied');
      const id = decoded.row.id!;
      assertRowEqual(decoded.row, inserted.get(id)!);
    }
  });

  it('reports unchanged TOASTed columns of an update as unavailable and the rest exactly', () => {
    const update = changes(messages.get(`${name}.public.t`)!).find((e) => e.op === 'u')!;
    const decoded = rowFromDebezium(plans.get('t')!, update.after!);
    // Row 1 is wide enough that PostgreSQL also moves jb and two arrays out of line.
    const toasted = ['big', 't_by', 't_jb', 't_tx', 't_h', 't_i4', 't_d', 't_u', 'jb', 'a_jb', 'a_tx'];
    assert.deepEqual(decoded.unavailable.sort(), [...toasted].sort());
    for (const c of toasted) assert.ok(!(c in decoded.row), `${c} is left out of the row`);
    // Debezium's known loss (debeziumLimits): these TOASTed arrays arrive as NULL.
    const nulled = ['a_n', 'a_ip', 't_f8'];
    for (const c of nulled) assert.equal(decoded.row[c], null, `${c} arrives as NULL`);
    assert.equal(decoded.row.i2, '7');
    assertRowEqual(decoded.row, updated, [...toasted, ...nulled]);
    assert.equal(inserted.get('1')!.big!.length, 524288, 'the 1 MB text arrived whole on insert');
    const limits = debeziumLimits(plans.get('t')!).filter((l) => /TOASTed/.test(l.reason)).map((l) => l.column);
    assert.deepEqual(limits.sort(), ['a_f8', 'a_ip', 'a_n', 't_f8']);
  });

  it('decodes a delete (key in before) and its tombstone', () => {
    const raw = messages.get(`${name}.public.t`)!;
    const del = changes(raw).find((e) => e.op === 'd')!;
    assert.equal(del.after, null);
    assert.deepEqual(rowFromDebezium(plans.get('t')!, del.before!, ['id']).row, { id: '2' });
    const last = raw[raw.length - 1];
    assert.deepEqual(decodeMessage(last.value), { kind: 'tombstone' });
    assert.equal(String(decodeKey(last.key)!.id), '2');
  });

  it('refuses, by table, column and type, values Debezium cannot carry exactly', () => {
    const expected: Record<string, RegExp> = {
      1: /public\.refused\.ttz \(time with time zone\): .*offset/,
      2: /public\.refused\.vb \(bit varying\): .*bit length/,
      3: /public\.refused\.a_tm \(time without time zone\[\]\): .*milliseconds/,
      4: /public\.refused\.a_2d \(integer\[\]\): .*multi-dimensional/,
      5: /public\.refused\.a_t2d \(text\[\]\): .*multi-dimensional/,
      6: /public\.refused\.a_null \(integer\[\]\): .*multi-dimensional/,
      7: /public\.refused\.a_dbc \(date\[\]\): .*1582/,
    };
    const events = changes(messages.get(`${name}.public.refused`)!);
    assert.equal(events.length, 7);
    for (const e of events) {
      const id = e.after!.id!.toString();
      assert.throws(() => rowFromDebezium(plans.get('refused')!, e.after!), (err: Error) => err instanceof PoisonMessage && expected[id].test(err.message));
    }
    const dropped = changes(messages.get(`${name}.public.dropped`)!);
    assert.ok(!('a_iv' in dropped[0].after!), 'Debezium leaves interval[] out');
    assert.throws(() => rowFromDebezium(plans.get('dropped')!, dropped[0].after!), /public\.dropped\.a_iv \(interval\[\]\): Debezium does not send/);
  });

  it('decodes a connector whose converters add schemas ({schema, payload})', async () => {
    await startConnector(nameSchemas, dbUrl, ['public.s'], pool, { 'value.converter.schemas.enable': 'true', 'key.converter.schemas.enable': 'true' });
    await pool.query(`INSERT INTO s VALUES (9007199254740993, '1.10', '2024-01-01 00:00:00.000001+00', '{"a,b",NULL}'); DELETE FROM s`);
    const raw = (await consume(nameSchemas, [`${nameSchemas}.public.s`], 3)).get(`${nameSchemas}.public.s`)!;
    assert.ok('schema' in JSON.parse(raw[0].value!.toString()), 'the connector wrote {schema, payload}');
    const [insert, del] = changes(raw);
    assert.equal(insert.op, 'c');
    assert.deepEqual(rowFromDebezium(plans.get('s')!, insert.after!).row, {
      id: '9007199254740993', n: '1.10', tstz: '2024-01-01 00:00:00.000001+00', a_tx: '{"a,b",NULL}',
    });
    assert.equal(String(decodeKey(raw[0].key)!.id), '9007199254740993');
    assert.equal(del.op, 'd');
    assert.deepEqual(decodeMessage(raw[2].value), { kind: 'tombstone' });
  });
});
