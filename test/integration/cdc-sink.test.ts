// The CDC target side on the real servers, for both targets: coalesced row changes applied
// set-based and idempotently, partial rows (unchanged TOASTed values left out) updating only
// what they carry, rows the target refuses coming back as failures while the rest of the batch
// lands, source TRUNCATE and ADD COLUMN followed, and the dead-letter store counting each
// Kafka position once.
import { strict as assert } from 'node:assert';
import { MongoClient, type Document } from 'mongodb';
import { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { openTarget, openSink, deadLetterStore } from '../../engines';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { type ChangeSink, type Target } from '../../engines/engine';
import type { RowChange } from '../../engines/rows';
import type { TablePlan } from '../../contracts/tables';

const sourceSchema = `
CREATE TABLE public.docs (
  id bigint PRIMARY KEY,
  small text,
  big text,
  n numeric,
  qty int NOT NULL DEFAULT 1,
  ident bigint GENERATED ALWAYS AS IDENTITY,
  total int GENERATED ALWAYS AS (qty * 2) STORED
);
CREATE TABLE public.widen (id int PRIMARY KEY, v text);
INSERT INTO public.widen SELECT g, 'v' || g FROM generate_series(1, 5) g;
`;

const BIG = 'x'.repeat(1024 * 1024);

let offset = 0;
const at = () => ({ position: { topic: 'ferry.public.docs', partition: 0, offset: String(++offset) }, sourceTsMs: 1_700_000_000_000 + offset });

interface Values {
  small?: string | null;
  big?: string | null;
  n?: string | null;
  qty?: number;
}

/** A full row as Debezium would send it (generated columns included), in text form. */
const upsert = (id: number, v: Values = {}): RowChange => {
  const qty = v.qty ?? 1;
  return {
    kind: 'upsert',
    key: [String(id)],
    row: { id: String(id), small: v.small ?? null, big: v.big ?? null, n: v.n ?? null, qty: String(qty), ident: String(id), total: String(qty * 2) },
    unavailable: [],
    ...at(),
  };
};

/** An update whose `unavailable` columns Debezium left out (unchanged TOASTed values). */
const partial = (id: number, v: Values, unavailable: string[]): RowChange => {
  const change = upsert(id, v) as Extract<RowChange, { kind: 'upsert' }>;
  for (const c of unavailable) delete change.row[c];
  return { ...change, unavailable };
};

const del = (id: number): RowChange => ({ kind: 'delete', key: [String(id)], ...at() });

/** What a target holds per id, in one shape for both engines. */
interface Held {
  small: string | null;
  bigLength: number | null;
  qty: number;
}

interface Fixture {
  spec: Spec;
  /** The target's rows by id. */
  read(table?: string): Promise<Map<number, Held & Record<string, unknown>>>;
  /** Makes the target refuse `small = 'bad'`, or the test's own poison value. */
  poison(plan: TablePlan): Promise<{ change: (id: number) => RowChange; cleanup(): Promise<void> }>;
}


/** A table as the sync finds it: created, then given its key (the backfill's finishLoad) before any change lands. */
async function prepared(target: Target, p: TablePlan): Promise<void> {
  await target.prepareTable(p);
  await target.finishLoad(p);
}

describe('CDC sink: row changes onto the real targets', function () {
  this.timeout(120_000);
  let sourceUrl: string;
  let targetUrl: string;
  let source: Pool;
  let check: Pool;
  let mongo: MongoClient;
  const mongoDatabases: string[] = [];

  const plan = async (name: string): Promise<TablePlan> => {
    const p = await introspectTable(pgPool(sourceUrl), { name: { schema: 'public', name } });
    if (typeof p === 'string') throw new Error(p);
    return p;
  };

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_cdcsink_src');
    targetUrl = await createDatabase('ferry_t_cdcsink_tgt');
    process.env.FERRY_CDCSINK_SOURCE_URL = sourceUrl;
    process.env.FERRY_CDCSINK_TARGET_URL = targetUrl;
    source = new Pool({ connectionString: sourceUrl, max: 2 });
    await source.query(sourceSchema);
    check = new Pool({ connectionString: targetUrl, max: 2 });
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
  });

  after(async () => {
    for (const name of mongoDatabases) await mongo.db(name).dropDatabase();
    await mongo.close();
    await source.end();
    await check.end();
    await closeAll();
    await dropDatabase(sourceUrl);
    await dropDatabase(targetUrl);
  });

  const postgres = (): Fixture => {
    const spec = validateSpec({ name: 'cdc', source: { url: '${FERRY_CDCSINK_SOURCE_URL}' }, target: { url: '${FERRY_CDCSINK_TARGET_URL}' }, tables: ['public.docs'] }, process.env);
    return {
      spec,
      async read(table = 'docs') {
        const res = await check.query(`SELECT * FROM public.${table} ORDER BY id`);
        return new Map(res.rows.map((r) => [Number(r.id), { ...r, small: r.small, bigLength: r.big === null ? null : r.big?.length, qty: r.qty }]));
      },
      async poison() {
        await check.query(`ALTER TABLE public.docs ADD CONSTRAINT small_not_bad CHECK (small IS DISTINCT FROM 'bad')`);
        return {
          change: (id) => upsert(id, { small: 'bad' }),
          cleanup: async () => {
            await check.query(`ALTER TABLE public.docs DROP CONSTRAINT small_not_bad`);
          },
        };
      },
    };
  };

  const mongodb = (): Fixture => {
    const database = uniqueName('targets');
    mongoDatabases.push(database);
    const spec = validateSpec({ name: 'cdc', source: { url: '${FERRY_CDCSINK_SOURCE_URL}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables: ['public.docs'] }, process.env);
    return {
      spec,
      async read(table = 'docs') {
        const docs = await mongo.db(database).collection(table).find({}).toArray();
        return new Map(
          docs.map((d: Document) => [Number(d._id), { ...d, small: d.small, bigLength: d.big === null || d.big === undefined ? null : d.big.length, qty: Number(d.qty) }]),
        );
      },
      async poison(p) {
        // 40 significant digits: more than a Decimal128 holds, refused under lossy: fail.
        p.columns.find((c) => c.name === 'n')!.lossy = 'fail';
        return { change: (id) => upsert(id, { n: '1234567890123456789012345678901234567890' }), cleanup: async () => undefined };
      },
    };
  };

  for (const [kind, fixture] of [['PostgreSQL', postgres], ['MongoDB', mongodb]] as const) {
    describe(`${kind} target`, () => {
      let f: Fixture;
      let sink: ChangeSink;
      let docs: TablePlan;

      before(async () => {
        f = fixture();
        sink = openSink(f.spec);
        docs = await plan('docs');
        await prepared(openTarget(f.spec), docs);
      });

      beforeEach(async () => {
        await sink.truncate(docs);
      });

      it('upserts and deletes by key, and applying a batch twice changes nothing', async () => {
        const first = Array.from({ length: 200 }, (_, i) => upsert(i + 1, { small: `s${i + 1}`, qty: i + 1 }));
        for (let round = 0; round < 2; round++) assert.deepEqual(await sink.apply(docs, first), []);
        let held = await f.read();
        assert.equal(held.size, 200);
        assert.equal(held.get(7)?.small, 's7');
        assert.equal(held.get(7)?.qty, 7);

        const second = [...Array.from({ length: 50 }, (_, i) => del(i + 1)), upsert(60, { small: 'changed', qty: 3 }), upsert(500, { small: 'new' })];
        for (let round = 0; round < 2; round++) assert.deepEqual(await sink.apply(docs, second), []);
        held = await f.read();
        assert.equal(held.size, 151);
        assert.equal(held.has(1), false);
        assert.equal(held.has(50), false);
        assert.equal(held.get(60)?.small, 'changed');
        assert.equal(held.get(60)?.qty, 3);
        assert.equal(held.get(500)?.small, 'new');
      });

      it('a partial upsert keeps the value it lacks (a 1 MB TOASTed text) and sets the rest, idempotently', async () => {
        assert.deepEqual(await sink.apply(docs, [upsert(1, { small: 'a', big: BIG }), upsert(2, { small: 'a', big: BIG })]), []);
        const update = [partial(1, { small: 'b', qty: 4 }, ['big']), partial(2, { big: 'short', qty: 5 }, ['small'])];
        for (let round = 0; round < 2; round++) assert.deepEqual(await sink.apply(docs, update), []);
        const held = await f.read();
        assert.deepEqual([held.get(1)?.small, held.get(1)?.bigLength, held.get(1)?.qty], ['b', BIG.length, 4]);
        assert.deepEqual([held.get(2)?.small, held.get(2)?.bigLength, held.get(2)?.qty], ['a', 5, 5]);
      });

      it('a partial upsert of a missing row leaves it missing', async () => {
        assert.deepEqual(await sink.apply(docs, [upsert(1, { small: 'a', big: BIG })]), []);
        assert.deepEqual(await sink.apply(docs, [partial(1, { small: 'b' }, ['big']), partial(2, { small: 'b' }, ['big'])]), []);
        const held = await f.read();
        assert.deepEqual([...held.keys()], [1]);
        assert.equal(held.get(1)?.small, 'b');
      });

      it('a row the target refuses comes back as a failure naming table, key and error; the rest of the batch lands', async () => {
        const poison = await f.poison(docs);
        try {
          assert.deepEqual(await sink.apply(docs, [upsert(1, { small: 'keep', big: BIG }), upsert(2, { small: 'keep' })]), []);
          const batch = [
            ...Array.from({ length: 40 }, (_, i) => upsert(100 + i, { small: `s${i}` })),
            poison.change(117),
            del(1),
            poison.change(131),
            partial(2, { small: 'partial' }, ['big']),
          ];
          const failures = await sink.apply(docs, batch);
          assert.deepEqual(failures.map((x) => x.change.key).sort(), [['117'], ['131']]);
          for (const x of failures) assert.match(x.reason, new RegExp(`^public\\.docs key id=${x.change.key[0]}: .*(small_not_bad|significant digits|Decimal128|cannot)`));
          const held = await f.read();
          assert.equal(held.has(1), false);
          assert.equal(held.get(2)?.small, 'partial');
          assert.equal(held.has(117), false);
          assert.equal(held.has(131), false);
          assert.equal([...held.keys()].filter((k) => k >= 100).length, 38);
        } finally {
          await poison.cleanup();
        }
      });

      if (kind === 'MongoDB') {
        it('a document above 16 MiB comes back as a failure; the rest of the batch lands', async () => {
          const huge = 'y'.repeat(17 * 1024 * 1024);
          const failures = await sink.apply(docs, [upsert(1, { small: 'a' }), upsert(2, { big: huge }), partial(3, { small: huge }, ['big']), upsert(4)]);
          assert.deepEqual(failures.map((x) => x.change.key).sort(), [['2'], ['3']]);
          assert.match(failures.find((x) => x.change.key[0] === '2')!.reason, /^public\.docs key id=2: the document is \d+ bytes, above MongoDB's 16777216-byte limit$/);
          assert.deepEqual([...(await f.read()).keys()].sort(), [1, 4]);
        });
      }

      it('truncate empties the table', async () => {
        assert.deepEqual(await sink.apply(docs, [upsert(1), upsert(2)]), []);
        await sink.truncate(docs);
        assert.equal((await f.read()).size, 0);
      });

      it('addColumns gives the target a column added on the source, existing rows holding its stored value', async () => {
        await source.query(`DROP TABLE IF EXISTS public.widen; CREATE TABLE public.widen (id int PRIMARY KEY, v text)`);
        const old = await plan('widen');
        const spec = { ...f.spec, tables: ['public.widen'] };
        await prepared(openTarget(spec), old);
        const widenSink = openSink(spec);
        const row = (id: number, extra: Record<string, string | null> = {}): RowChange => ({ kind: 'upsert', key: [String(id)], row: { id: String(id), v: `v${id}`, ...extra }, unavailable: [], ...at() });
        assert.deepEqual(await widenSink.apply(old, [row(1), row(2)]), []);

        await source.query(`ALTER TABLE public.widen ADD COLUMN status text NOT NULL DEFAULT 'new', ADD COLUMN note text`);
        const now = await plan('widen');
        const added = now.columns.filter((c) => !old.columns.some((o) => o.name === c.name));
        assert.deepEqual(added.map((c) => c.name), ['status', 'note']);
        for (let round = 0; round < 2; round++) await widenSink.addColumns(now, added, { status: 'new', note: null });

        assert.deepEqual(await widenSink.apply(now, [row(3, { status: 'shipped', note: 'n3' })]), []);
        const held = await f.read('widen');
        assert.deepEqual([1, 2, 3].map((id) => [held.get(id)?.status, held.get(id)?.note]), [['new', null], ['new', null], ['shipped', 'n3']]);
        if (kind === 'PostgreSQL') {
          // Rows inserted on the target later get the source's default, as on the source.
          const r = await check.query(`SELECT pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'public.widen'::regclass AND a.attname = 'status'`);
          assert.equal(r.rows[0]?.def, `'new'::text`);
        }
      });

      it('the dead-letter store keeps one entry per Kafka position, with its whole value', async () => {
        const store = deadLetterStore(f.spec);
        const migrationId = `m-${Date.now()}-${kind}`;
        const letter = { migrationId, topic: 'ferry.public.docs', partition: 0, offset: '12345678901', key: '{"id":1}', table: 'public.docs', reason: 'public.docs key id=1: refused', value: BIG };
        await store.add([letter]);
        await store.add([letter, { ...letter, offset: '9', value: null, key: null, table: null }]);
        assert.equal(await store.count(migrationId), 2);
        assert.equal(await store.count(`${migrationId}-other`), 0);
        const listed = await store.list(migrationId, 10);
        assert.equal(listed.length, 2);
        const big = listed.find((l) => l.offset === '12345678901')!;
        assert.equal(big.value?.length, BIG.length);
        assert.deepEqual({ ...big, at: undefined }, { ...letter, at: undefined });
        assert.ok(!Number.isNaN(Date.parse(big.at)));
        assert.deepEqual(listed.find((l) => l.offset === '9')?.value, null);
      });
    });
  }

  it('PostgreSQL: a foreign key violation (the other table not applied yet) throws, to be retried, instead of dead-lettering', async () => {
    const spec = postgres().spec;
    const sink = openSink(spec);
    const docs = await plan('docs');
    await prepared(openTarget(spec), docs);
    await sink.truncate(docs);
    await check.query(`CREATE TABLE public.quantities (qty int PRIMARY KEY); INSERT INTO public.quantities VALUES (1);
                       ALTER TABLE public.docs ADD CONSTRAINT docs_qty_fk FOREIGN KEY (qty) REFERENCES public.quantities (qty)`);
    try {
      await assert.rejects(sink.apply(docs, [upsert(1), upsert(2, { qty: 2 })]), (err: Error) => {
        assert.ok(!(err instanceof ApplicationFailure), 'a plain (retryable) error');
        assert.match(err.message, /docs_qty_fk.*retried/);
        return true;
      });
      await check.query(`INSERT INTO public.quantities VALUES (2)`);
      assert.deepEqual(await sink.apply(docs, [upsert(1), upsert(2, { qty: 2 })]), []);
    } finally {
      await check.query(`ALTER TABLE public.docs DROP CONSTRAINT docs_qty_fk; DROP TABLE public.quantities`);
    }
  });

  it('PostgreSQL: truncating a table another table references waits (throws, retried) until that table is emptied too', async () => {
    const spec = postgres().spec;
    const sink = openSink(spec);
    const docs = await plan('docs');
    await prepared(openTarget(spec), docs);
    assert.deepEqual(await sink.apply(docs, [upsert(1), upsert(2)]), []);
    await check.query(`CREATE TABLE public.refs (doc bigint REFERENCES public.docs (id)); INSERT INTO public.refs VALUES (1)`);
    try {
      await assert.rejects(sink.truncate(docs), (err: Error) => !(err instanceof ApplicationFailure) && /retried/.test(err.message));
      await check.query(`DELETE FROM public.refs`);
      await sink.truncate(docs);
      assert.equal((await check.query(`SELECT count(*)::int AS n FROM public.docs`)).rows[0].n, 0);
    } finally {
      await check.query(`DROP TABLE public.refs`);
    }
  });
});
