// The ledger of what Ferry creates on a target, and dropping exactly that (rollback with
// --drop-target), on the stack's real PostgreSQL and MongoDB: objects that existed before are
// untouched, an object a user added keeps what it needs (named in `kept`), a second run is a
// no-op, and Ferry's shared `_ferry` objects go only with the last migration recorded.
import { strict as assert } from 'node:assert';
import { MongoClient } from 'mongodb';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { PostgresTarget } from '../../engines/postgres/target';
import { PostgresSink } from '../../engines/postgres/sink';
import { MongoTarget } from '../../engines/mongodb/target';
import { postgres } from '../../engines/postgres';
import { mongodb } from '../../engines/mongodb';
import { validateSpec } from '../../activities/plan/spec';
import { closeAll, pgPool } from '../../engines/connections';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { column, tablePlan } from '../helpers/plan';
import { ensureFerryTable } from '../../engines/postgres/created-ledger';

const sourceSchema = `
CREATE SCHEMA "Shop";
CREATE TYPE "Shop".mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN "Shop".posint AS integer CHECK (VALUE > 0);
CREATE TYPE "Shop".price AS (amount numeric(12,2), currency text);
CREATE SEQUENCE public.order_numbers;
CREATE TABLE "Shop".customers (id serial PRIMARY KEY, email text NOT NULL);
CREATE TABLE "Shop".orders (
  id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES "Shop".customers (id), mood "Shop".mood,
  qty "Shop".posint, price "Shop".price, number bigint DEFAULT nextval('public.order_numbers'));
CREATE SCHEMA legacy;
CREATE TABLE legacy.kept (id int PRIMARY KEY, note text);
CREATE TABLE legacy.viewed (id int PRIMARY KEY, note text);
CREATE TABLE legacy.fresh (id int PRIMARY KEY, note text);
CREATE TABLE public.other (id int PRIMARY KEY);
`;

/** On the target before any migration: a schema and a table the migration's tables also use. */
const targetBefore = `
CREATE SCHEMA legacy;
CREATE TABLE legacy.kept (id int PRIMARY KEY, note text);
INSERT INTO legacy.kept VALUES (1, 'was here before');
`;

describe('created ledger: dropping exactly what Ferry created (real PostgreSQL and MongoDB)', function () {
  this.timeout(120_000);
  let sourceUrl: string;
  const targets: string[] = [];
  let source: Pool;
  const plans = new Map<string, TablePlan>();

  const plan = async (schema: string, name: string): Promise<TablePlan> => {
    const p = await introspectTable(source, { name: { schema, name } });
    if (typeof p === 'string') throw new Error(p);
    return p;
  };

  /** A fresh target database with `setup` run on it, and a spec pointing at it. */
  const pgTarget = async (setup: string): Promise<{ spec: Spec; db: Pool }> => {
    const url = await createDatabase('ferry_t_ledger_tgt');
    targets.push(url);
    const variable = `FERRY_T_LEDGER_TGT_${targets.length}`;
    process.env[variable] = url;
    const db = new Pool({ connectionString: url, max: 2 });
    if (setup) await db.query(setup);
    const spec = validateSpec({ name: 'ledger', source: { url: '${FERRY_T_LEDGER_SRC}' }, target: { url: `\${${variable}}` }, tables: ['public.other'] }, process.env);
    return { spec, db };
  };

  const relations = async (db: Pool): Promise<string[]> =>
    (
      await db.query(
        `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'v', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  const schemas = async (db: Pool): Promise<string[]> =>
    (await db.query(`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`)).rows.map((r) => r.nspname);
  const ledgerRows = async (db: Pool): Promise<string[]> =>
    (await db.query(`SELECT migration || ' ' || kind || ' ' || name AS r FROM _ferry.created`)).rows.map((r) => r.r as string).sort();

  /** Uses Ferry's target-side stores for `migration`, so each creates its `_ferry` table. */
  const useStores = async (spec: Spec, migration: string, engine = postgres) => {
    await engine.mismatches(spec).recordChunk(`${migration}/verify`, 'Shop.orders', 0, [{ kind: 'missing', key: ['1'] }]);
    await engine.deadLetters(spec).add([{ migrationId: migration, topic: 't', partition: 0, offset: '7', key: null, table: 'Shop.orders', reason: 'test', value: '{}' }]);
    await engine.routing(spec).write({ migration, writes: 'source', reads: 'source', readShare: 0, phase: 'sync', changedAt: new Date().toISOString() });
  };

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_ledger_src');
    process.env.FERRY_T_LEDGER_SRC = sourceUrl;
    source = pgPool('${FERRY_T_LEDGER_SRC}');
    await source.query(sourceSchema);
    for (const [s, n] of [['Shop', 'customers'], ['Shop', 'orders'], ['legacy', 'kept'], ['legacy', 'viewed'], ['legacy', 'fresh'], ['public', 'other']]) plans.set(n, await plan(s, n));
  });

  after(async () => {
    await closeAll();
    for (const url of targets) await dropDatabase(url);
    if (sourceUrl) await dropDatabase(sourceUrl);
  });

  it('PostgreSQL: records only what it created, drops exactly that, keeps what a user object needs, and a second run is a no-op', async () => {
    const { spec, db } = await pgTarget(targetBefore);
    try {
      const id = uniqueName('mig');
      const target = new PostgresTarget(spec);
      for (const n of ['customers', 'orders', 'kept', 'viewed', 'fresh']) await target.prepareTable(plans.get(n)!, id);
      for (const n of ['customers', 'orders', 'kept', 'viewed', 'fresh']) await target.finishTable(plans.get(n)!);
      await target.prepareTable(plans.get('orders')!, id); // preparing again records nothing more
      await useStores(spec, id);
      assert.deepEqual(await ledgerRows(db), [
        `${id} schema "Shop"`,
        `${id} table "Shop"."customers"`,
        `${id} table "Shop"."orders"`,
        `${id} table "legacy"."fresh"`,
        `${id} table "legacy"."viewed"`,
        `${id} sequence "public"."order_numbers"`,
        `${id} type "Shop"."mood"`,
        `${id} type "Shop"."posint"`,
        `${id} type "Shop"."price"`,
        `* ferry-table "_ferry"."copied_chunks"`,
        `* ferry-table "_ferry"."created"`,
        `* ferry-table "_ferry"."dead_letters"`,
        `* ferry-table "_ferry"."loading_tables"`,
        `* ferry-table "_ferry"."mismatches"`,
        `* ferry-table "_ferry"."routing"`,
        `* schema "_ferry"`,
      ].sort());
      // What users add after the prepare: a table in Ferry's schema, a view on one of Ferry's tables.
      await db.query(`CREATE TABLE "Shop".user_notes (id int); CREATE VIEW public.user_view AS SELECT id FROM legacy.viewed`);
      await db.query(`INSERT INTO legacy.fresh VALUES (1, 'copied')`);

      const first = await postgres.dropCreated(spec, id);
      assert.deepEqual([...first.dropped].sort(), [
        'schema _ferry',
        'table "Shop".customers',
        'table "Shop".orders',
        'table _ferry.copied_chunks',
        'table _ferry.created',
        'table _ferry.dead_letters',
        'table _ferry.loading_tables',
        'table _ferry.mismatches',
        'table _ferry.routing',
        'sequence public.order_numbers',
        'table legacy.fresh',
        'type "Shop".mood',
        'type "Shop".posint',
        'type "Shop".price',
      ].sort());
      assert.equal(first.kept.length, 2, first.kept.join('\n'));
      assert.match(first.kept.find((k) => k.startsWith('table legacy.viewed'))!, /view public\.user_view depends on it/);
      assert.match(first.kept.find((k) => k.startsWith('schema "Shop"'))!, /holds table "Shop"\.user_notes/);
      // What existed before is untouched; what users added stays.
      assert.deepEqual(await relations(db), ['Shop.user_notes', 'legacy.kept', 'legacy.viewed', 'public.user_view']);
      assert.deepEqual(await schemas(db), ['Shop', 'legacy', 'public']);
      assert.deepEqual((await db.query(`SELECT id, note FROM legacy.kept`)).rows, [{ id: 1, note: 'was here before' }]);
      assert.equal((await db.query(`SELECT count(*)::int AS n FROM pg_type WHERE typname IN ('mood', 'posint', 'price')`)).rows[0].n, 0);

      const second = await postgres.dropCreated(spec, id);
      assert.deepEqual(second, { dropped: [], kept: [] });
      assert.deepEqual(await relations(db), ['Shop.user_notes', 'legacy.kept', 'legacy.viewed', 'public.user_view']);
    } finally {
      await db.end();
    }
  });

  it('PostgreSQL: a type a user table uses is kept; without a migration id nothing is recorded; shared objects go with the last migration', async () => {
    const { spec, db } = await pgTarget(targetBefore);
    try {
      const [a, b] = [uniqueName('miga'), uniqueName('migb')];
      const target = new PostgresTarget(spec);
      await target.prepareTable(plans.get('other')!); // an old caller: no migration id
      for (const n of ['customers', 'orders']) await target.prepareTable(plans.get(n)!, a);
      await target.prepareTable(plans.get('fresh')!, b);
      await useStores(spec, a);
      await useStores(spec, b);
      assert.deepEqual((await ledgerRows(db)).filter((r) => !r.startsWith('* ')), [
        `${a} schema "Shop"`,
        `${a} table "Shop"."customers"`,
        `${a} sequence "public"."order_numbers"`,
        `${a} table "Shop"."orders"`,
        `${a} type "Shop"."mood"`,
        `${a} type "Shop"."posint"`,
        `${a} type "Shop"."price"`,
        `${b} table "legacy"."fresh"`,
      ].sort());
      await db.query(`CREATE TABLE public.user_moods (m "Shop".mood)`);

      const first = await postgres.dropCreated(spec, a);
      assert.deepEqual([...first.dropped].sort(), ['sequence public.order_numbers', 'table "Shop".customers', 'table "Shop".orders', 'type "Shop".posint', 'type "Shop".price']);
      assert.equal(first.kept.length, 2, first.kept.join('\n'));
      assert.match(first.kept.find((k) => k.startsWith('type "Shop".mood'))!, /column m of table public\.user_moods depends on it/);
      assert.match(first.kept.find((k) => k.startsWith('schema "Shop"'))!, /holds type "Shop"\.mood/);
      // b is still recorded: Ferry's shared tables stay, with only b's rows in them.
      assert.deepEqual((await db.query(`SELECT migration_id FROM _ferry.dead_letters`)).rows, [{ migration_id: b }]);
      assert.deepEqual((await db.query(`SELECT migration FROM _ferry.routing`)).rows, [{ migration: b }]);
      assert.deepEqual((await db.query(`SELECT verify_id FROM _ferry.mismatches`)).rows, [{ verify_id: `${b}/verify` }]);

      // The last migration recorded: Ferry's shared tables go, but for the load ledger, which
      // still holds the load state of public.other (prepared by a run that recorded no id).
      const last = await postgres.dropCreated(spec, b);
      assert.deepEqual([...last.dropped].sort(), ['table _ferry.copied_chunks', 'table _ferry.dead_letters', 'table _ferry.mismatches', 'table _ferry.routing', 'table legacy.fresh']);
      assert.deepEqual(last.kept, ['table _ferry.loading_tables: holds rows of other migrations']);
      assert.deepEqual(await relations(db), ['_ferry.created', '_ferry.loading_tables', 'legacy.kept', 'public.other', 'public.user_moods']);
      assert.deepEqual(await ledgerRows(db), ['* ferry-table "_ferry"."created"', '* ferry-table "_ferry"."loading_tables"', '* schema "_ferry"']);
      assert.deepEqual(await postgres.dropCreated(spec, a), { dropped: [], kept: [] });
      assert.deepEqual(await postgres.dropCreated(spec, b), { dropped: [], kept: [] });
    } finally {
      await db.end();
    }
  });

  it('PostgreSQL: a schema and type the sync creates for a column added on the source are recorded and dropped with the migration', async () => {
    await source.query(`CREATE SCHEMA "Extra"; CREATE TABLE "Extra".things (id int PRIMARY KEY)`);
    const { spec, db } = await pgTarget('');
    try {
      const id = uniqueName('mig');
      await new PostgresTarget(spec).prepareTable(await plan('Extra', 'things'), id);
      await source.query(`CREATE SCHEMA "Tiers"; CREATE TYPE "Tiers".tier AS ENUM ('gold'); ALTER TABLE "Extra".things ADD COLUMN tier "Tiers".tier`);
      const wider = await plan('Extra', 'things');
      await new PostgresSink(spec).addColumns(wider, wider.columns.filter((c) => c.name === 'tier'), undefined, id);
      const rows = await ledgerRows(db);
      assert.ok(rows.includes(`${id} schema "Tiers"`) && rows.includes(`${id} type "Tiers"."tier"`), rows.join('\n'));
      const r = await postgres.dropCreated(spec, id);
      assert.deepEqual(r.kept, []);
      assert.ok(['schema "Extra"', 'schema "Tiers"', 'table "Extra".things', 'type "Tiers".tier', 'schema _ferry'].every((d) => r.dropped.includes(d)), r.dropped.join('\n'));
      assert.deepEqual(await schemas(db), ['public']);
    } finally {
      await db.end();
    }
  });

  it('PostgreSQL: sessions racing to create one of Ferry\'s tables all succeed, and it is recorded once', async () => {
    const { db } = await pgTarget('');
    const url = targets[targets.length - 1];
    const pools = Array.from({ length: 6 }, () => new Pool({ connectionString: url, max: 1 }));
    try {
      await Promise.all(pools.map((pool) => ensureFerryTable(pool, 'raced', [`CREATE TABLE _ferry.raced (id int PRIMARY KEY)`], [`CREATE INDEX IF NOT EXISTS raced_id ON _ferry.raced (id)`])));
      assert.deepEqual(await ledgerRows(db), ['* ferry-table "_ferry"."created"', '* ferry-table "_ferry"."raced"', '* schema "_ferry"']);
    } finally {
      for (const pool of pools) await pool.end();
      await db.end();
    }
  });

  it('MongoDB: drops the collections it created and its own, leaves one that existed before', async () => {
    const database = uniqueName('ledger');
    const spec = validateSpec({ name: 'ledger', source: { url: '${FERRY_T_LEDGER_SRC}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables: ['public.other'] }, process.env);
    const client = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    try {
      const db = client.db(database);
      await db.collection('existing').insertOne({ _id: 1 as never, note: 'was here before' });
      const id = uniqueName('mig');
      const target = new MongoTarget(spec);
      const existing = tablePlan('existing', [column('id', 'integer', 23)], ['id']);
      const items = tablePlan('items', [column('id', 'integer', 23)], ['id']);
      await target.prepareTable(existing, id);
      await target.prepareTable(items, id);
      await target.prepareTable(items, id);
      await useStores(spec, id, mongodb);
      const ledger = (await db.collection<{ _id: { migration: string; kind: string; name: string } }>('_ferry_created').find().toArray()).map((d) => `${d._id.migration} ${d._id.kind} ${d._id.name}`).sort();
      assert.deepEqual(ledger, [
        `${id} collection items`,
        '* ferry-collection _ferry_created',
        '* ferry-collection _ferry_dead_letters',
        '* ferry-collection _ferry_mismatches',
        '* ferry-collection _ferry_routing',
      ].sort());

      const first = await mongodb.dropCreated(spec, id);
      assert.deepEqual([...first.dropped].sort(), ['collection _ferry_created', 'collection _ferry_dead_letters', 'collection _ferry_mismatches', 'collection _ferry_routing', 'collection items']);
      assert.deepEqual(first.kept, []);
      const left = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
      assert.deepEqual(left, ['existing']);
      assert.deepEqual(await db.collection('existing').find().toArray(), [{ _id: 1, note: 'was here before' }]);
      assert.deepEqual(await mongodb.dropCreated(spec, id), { dropped: [], kept: [] });
    } finally {
      await client.db(database).dropDatabase().catch(() => undefined);
      await client.close();
    }
  });

  it('MongoDB: with two migrations, the first drop leaves the shared collections holding only the other one\'s documents; the last drop takes them', async () => {
    const database = uniqueName('ledger2');
    const spec = validateSpec({ name: 'ledger', source: { url: '${FERRY_T_LEDGER_SRC}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables: ['public.other'] }, process.env);
    const client = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    try {
      const db = client.db(database);
      const [a, b] = [uniqueName('miga'), uniqueName('migb')];
      const target = new MongoTarget(spec);
      await target.prepareTable(tablePlan('one', [column('id', 'integer', 23)], ['id']), a);
      await target.prepareTable(tablePlan('two', [column('id', 'integer', 23)], ['id']), b);
      await useStores(spec, a, mongodb);
      await useStores(spec, b, mongodb);
      const names = async () => (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();

      assert.deepEqual(await mongodb.dropCreated(spec, a), { dropped: ['collection one'], kept: [] });
      assert.deepEqual(await names(), ['_ferry_created', '_ferry_dead_letters', '_ferry_mismatches', '_ferry_routing', 'two']);
      assert.deepEqual((await db.collection('_ferry_routing').find().toArray()).map((d) => d._id), [b]);
      assert.deepEqual((await db.collection<{ _id: { m: string } }>('_ferry_dead_letters').find().toArray()).map((d) => d._id.m), [b]);
      assert.deepEqual((await db.collection<{ _id: { v: string } }>('_ferry_mismatches').find().toArray()).map((d) => d._id.v), [`${b}/verify`]);

      const last = await mongodb.dropCreated(spec, b);
      assert.deepEqual([...last.dropped].sort(), ['collection _ferry_created', 'collection _ferry_dead_letters', 'collection _ferry_mismatches', 'collection _ferry_routing', 'collection two']);
      assert.deepEqual(await names(), []);
      assert.deepEqual(await mongodb.dropCreated(spec, a), { dropped: [], kept: [] });
    } finally {
      await client.db(database).dropDatabase().catch(() => undefined);
      await client.close();
    }
  });
});
