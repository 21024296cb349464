// Rollback after the switch from a MongoDB target (real stack): PostgreSQL → MongoDB with a
// role fence, a renamed field and timestamps kept exact (lossy: fail, so the mapping inverts); after the cutover the application writes documents straight
// to MongoDB (inserts of every mapped type, updates, deletes) while the reverse sync follows
// each collection's change stream back to the source. `ferry rollback --wait` sends the writes
// to the source through the routing record, drains the streams to markers, compares everything
// and lifts the source's fence: every document written after the switch is a row on the source,
// mapped back exactly (types and renames), every deleted one is gone (a child table's rows
// first, as its foreign key needs), and the workflow completes rolled-back.
import { strict as assert } from 'node:assert';
import { Binary, BSON, Decimal128, Int32, MongoClient } from 'mongodb';
import { Pool } from 'pg';
import { createDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { startMigration, waitForStatus } from '../helpers/temporal';
import { onlineSpec, onlineSuite } from '../helpers/sync';
import { ferryAsync } from '../helpers/cli';
import { canWrite, createAppRole, cutOverWhenAllowed, dropRole } from '../helpers/cutover';
import { introspectTable, readBatch } from '../../engines/postgres/source';
import { documentMapper } from '../../engines/mongodb/mapping/document';
import { pgPool } from '../../engines/connections';

const ej = (v: unknown) => BSON.EJSON.stringify(v as BSON.Document, { relaxed: false });
/** Canonical EJSON with object keys sorted at every level: jsonb keeps no key order of its own. */
const canon = (v: unknown): string => {
  const sort = (x: unknown): unknown => (Array.isArray(x) ? x.map(sort) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])])) : x);
  return JSON.stringify(sort(JSON.parse(ej(v))));
};

describe('rollback after the switch from MongoDB through change streams (real Debezium, Kafka, Temporal, MongoDB-wire server)', function () {
  this.timeout(10 * 60_000);
  const suite = onlineSuite();
  const role = uniqueName('mapp').toLowerCase();
  let mongo: MongoClient;
  before(async () => {
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
  });
  after(async () => {
    await mongo?.close();
    await dropRole(process.env.FERRY_PG_ADMIN_URL!, role).catch(() => undefined);
  });

  let source: Pool | undefined;
  after(async () => {
    await source?.end().catch(() => undefined);
  });

  it('carries every document written on the target back to the source, mapped exactly, and completes rolled-back', async () => {
    loadStackEnv();
    const sourceUrl = await createDatabase('ferry_t_mback');
    suite.databases.push(sourceUrl);
    process.env.FERRY_MBACK_SRC = sourceUrl;
    source = new Pool({ connectionString: sourceUrl });
    // Idle clients of a pool left open would see the database dropped after the test.
    source.on('error', () => undefined);
    await source.query(`CREATE TABLE public.orders (
      id int PRIMARY KEY, customer text NOT NULL, total numeric(12,2) NOT NULL, placed_at timestamptz NOT NULL,
      tags text[], meta jsonb NOT NULL, paid boolean NOT NULL, ref uuid, qty bigint)`);
    await source.query(`INSERT INTO public.orders SELECT g, 'c' || g, g * 1.25, timestamptz '2026-01-01 00:00:00Z' + g * interval '1 minute',
      ARRAY['a', 'b,' || g], jsonb_build_object('n', g, 'big', 9007199254740993), g % 2 = 0, gen_random_uuid(), g * 1000000000000 FROM generate_series(1, 200) g`);
    // A child table with a foreign key: the reverse sync must write parents and children in an order the source accepts.
    await source.query(`CREATE TABLE public.order_lines (id int PRIMARY KEY, order_id int NOT NULL REFERENCES public.orders (id), qty int NOT NULL)`);
    await source.query(`INSERT INTO public.order_lines SELECT g, (g + 1) / 2, g FROM generate_series(1, 400) g`);
    await createAppRole(process.env.FERRY_PG_ADMIN_URL!, role, sourceUrl, ['public.orders', 'public.order_lines']);
    const database = uniqueName('mback');
    const spec = onlineSpec('mback', '${FERRY_MBACK_SRC}', { url: '${FERRY_MONGO_URL}', database }, [{ table: 'public.orders', columns: { customer: { rename: 'customerName' }, placed_at: { lossy: 'fail' } } }, 'public.order_lines'], {});
    Object.assign(spec, { cutover: { ...spec.cutover, fence: { roles: [role] }, gates: { ...spec.cutover.gates, maxLagSeconds: 60, holdSeconds: 2 } } });
    const id = uniqueName('mback');
    suite.migrations.push(id);
    await startMigration(suite.harness.client, spec, id);
    const ready = await waitForStatus(suite.harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');

    const cut = await cutOverWhenAllowed(id, true);
    assert.equal(cut.code, 0, cut.out + cut.err);
    const s = await waitForStatus(suite.harness.client, id, (x) => x.phase === 'cut-over' && !!x.reverse?.workflowId, 'cut over, reverse sync started');
    assert.equal(s.cutover!.steps.find((x) => x.name === 'reverse-capture')?.state, 'done');
    assert.equal(s.reverse?.streams?.length, 2);

    // Paused while the application writes, so the reverse sync then meets the parents' deletes
    // before their children's (streams are read parents first): it must wait for the children.
    assert.equal((await ferryAsync(['signal', '--id', id, 'pause'])).code, 0);
    await waitForStatus(suite.harness.client, id, (x) => x.reverse?.progress?.state === 'stopped', 'the reverse sync paused');
    // The application, after the switch, writes MongoDB directly.
    const orders = mongo.db(database).collection('orders');
    for (let i = 1000; i < 1050; i++) {
      await orders.insertOne({
        _id: new Int32(i) as never,
        // Documents as the mapping shapes them: the key is also a field.
        id: new Int32(i),
        customerName: `new ${i} ü`,
        total: Decimal128.fromString(`${i}.50`),
        placed_at: new Date(Date.UTC(2026, 11, 1, 12, 0, 0, i % 1000)),
        tags: i % 3 === 0 ? null : ['x', `q"uote ${i}`, null],
        meta: { n: new Int32(i), nested: { ok: true }, list: [new Int32(1), 2.5] },
        paid: i % 2 === 0,
        ref: new Binary(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), 4),
        qty: BSON.Long.fromString('9007199254740993'),
      });
    }
    const lines = mongo.db(database).collection('order_lines');
    for (let i = 1000; i < 1050; i++) await lines.insertOne({ _id: new Int32(10_000 + i) as never, id: new Int32(10_000 + i), order_id: new Int32(i), qty: new Int32(i) });
    // Children first, then their parents, as the application must on the source too.
    for (let i = 21; i <= 30; i++) await lines.deleteMany({ order_id: new Int32(i) });
    for (let i = 1; i <= 20; i++) await orders.updateOne({ _id: new Int32(i) as never }, { $set: { total: Decimal128.fromString('7.77'), customerName: `upd ${i}` } });
    for (let i = 21; i <= 30; i++) await orders.deleteOne({ _id: new Int32(i) as never });

    assert.equal((await ferryAsync(['signal', '--id', id, 'resume'])).code, 0);
    const rb = await ferryAsync(['rollback', '--id', id, '--wait', '--drill', '--reason', 'test: rollback from MongoDB']);
    assert.equal(rb.code, 0, rb.out + rb.err);
    console.log(rb.out.split('\n').map((l) => `      ${l}`).join('\n'));
    const result = (await suite.harness.client.workflow.getHandle(id).result()) as { phase: string; routing: { writes: string } };
    assert.equal(result.phase, 'rolled-back');
    assert.equal(result.routing.writes, 'source');
    assert.ok(await canWrite(source, role, 'public.orders'), 'the source fence is lifted');

    // Every document is a row on the source that maps to exactly it; the deleted ones are gone.
    // Ferry's own pool: values in PostgreSQL's text form, as the mapping reads them.
    const pool = pgPool(sourceUrl);
    const found = await introspectTable(pool, { name: { schema: 'public', name: 'orders' } });
    if (typeof found === 'string') throw new Error(found);
    const plan = { ...found };
    plan.columns = plan.columns.map((c) => (c.name === 'customer' ? { ...c, field: 'customerName' } : c.name === 'placed_at' ? { ...c, lossy: 'fail' as const } : c));
    const rows = await readBatch(pool, plan, { index: 0, lo: null, hi: null }, null, 10_000);
    const toDoc = documentMapper(plan);
    const fromSource = new Map(rows.map((r) => { const d = toDoc(r); return [ej(d._id), canon(d)]; }));
    const docs = await orders.find({}).toArray();
    assert.equal(rows.length, docs.length, 'as many rows on the source as documents');
    for (const d of docs) assert.equal(fromSource.get(ej(d._id)), canon(d), `document ${ej(d._id)} mapped back exactly`);
    assert.equal((await source.query('SELECT count(*)::int AS n FROM public.orders WHERE id BETWEEN 21 AND 30')).rows[0].n, 0, 'deleted documents are deleted rows');
    // The child table too: its documents and rows are the same set.
    const lineRows = (await source.query<{ id: number; order_id: number; qty: number }>('SELECT id, order_id, qty FROM public.order_lines ORDER BY id')).rows;
    const lineDocs = (await lines.find({}).sort({ _id: 1 }).toArray()).map((d) => ({ id: Number(d.id), order_id: Number(d.order_id), qty: Number(d.qty) }));
    assert.deepEqual(lineRows, lineDocs);
    assert.equal(lineRows.length, 400 - 20 + 50);
  });
});
