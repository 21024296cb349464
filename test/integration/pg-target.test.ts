// PostgreSQL → PostgreSQL on the real server: the target table is created as the source
// defines it (types, defaults and sequences, identity and generated columns, constraints,
// collations, awkward names), chunks stream through COPY and replay without duplicates,
// indexes and foreign keys follow the load, and what lands equals the source row by row.
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { createDatabase, dropDatabase, loadStackEnv } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { PostgresTarget } from '../../engines/postgres/target';
import { copyFormat } from '../../engines/postgres/copy';
import { validateSpec } from '../../activities/plan/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { quoteIdent, quoteQualified, type QualifiedName } from '../../engines/postgres/identifiers';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';

const sourceSchema = `
CREATE SCHEMA "Sales";
CREATE TYPE "Sales".mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN "Sales".posint AS integer CHECK (VALUE > 0);
CREATE TYPE "Sales".price AS (amount numeric(12,2), currency text);

CREATE TABLE "Sales".customers (
  id serial PRIMARY KEY,
  email text NOT NULL,
  CONSTRAINT customers_email_key UNIQUE (email)
);
INSERT INTO "Sales".customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 300) g;

-- Every kind of awkward name, enum/domain/composite columns (and an enum array, which sends
-- this table through text COPY), defaults, a generated column, CHECK and UNIQUE constraints.
CREATE TABLE "Sales"."Line Items" (
  id bigserial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES "Sales".customers (id),
  "Order" int NOT NULL DEFAULT 0,
  "order" text,
  "unit price" numeric(10,2) NOT NULL CONSTRAINT "price ≥ 0" CHECK ("unit price" >= 0),
  "say ""hi""" text,
  "a.b" text COLLATE "C",
  qty "Sales".posint NOT NULL DEFAULT 1,
  mood "Sales".mood DEFAULT 'ok',
  moods "Sales".mood[],
  price "Sales".price,
  total numeric GENERATED ALWAYS AS ("unit price" * qty) STORED,
  created timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT li_customer_order UNIQUE (customer_id, "Order")
);
CREATE INDEX li_created ON "Sales"."Line Items" (created);
CREATE INDEX "li lower order" ON "Sales"."Line Items" (lower("order"));
INSERT INTO "Sales"."Line Items" (customer_id, "Order", "order", "unit price", "say ""hi""", "a.b", qty, mood, moods, price, created)
SELECT 1 + g % 300, g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'o''' || g || E'\\\\x' END, (g % 1000) / 7.0, 'he said "hi" ' || g, 'a.' || g,
       1 + g % 5, (ARRAY['sad','ok','happy'])[1 + g % 3]::"Sales".mood, ARRAY['ok', 'happy']::"Sales".mood[],
       ROW(g * 1.25, 'EUR')::"Sales".price, timestamptz '2024-01-01 00:00:00.123456+00' + g * interval '1 minute'
  FROM generate_series(1, 2500) g;

-- Partitioned, with a composite key, a partitioned index and an identity column.
CREATE TABLE public.events (
  region text NOT NULL,
  id int NOT NULL,
  at date NOT NULL,
  body jsonb,
  PRIMARY KEY (region, id)
) PARTITION BY LIST (region);
CREATE TABLE public.events_eu PARTITION OF public.events FOR VALUES IN ('eu');
CREATE TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('us');
CREATE TABLE public.events_other PARTITION OF public.events DEFAULT;
CREATE INDEX events_at ON public.events (at);
INSERT INTO public.events SELECT (ARRAY['eu','us','apac'])[1 + g % 3], g, date '2024-01-01' + g % 400, jsonb_build_object('n', g, 'tags', jsonb_build_array('x', g % 4))
  FROM generate_series(1, 1500) g;

CREATE TABLE public.docs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  n int GENERATED ALWAYS AS IDENTITY,
  body bytea,
  score double precision,
  span tstzrange,
  tags text[]
);
INSERT INTO public.docs (body, score, span, tags)
SELECT decode(md5(g::text), 'hex'), g / 3.0, tstzrange(timestamptz '2024-01-01' + g * interval '1 hour', NULL), ARRAY['t' || g, NULL]
  FROM generate_series(1, 800) g;

-- No primary key: the spec names a unique index as the key.
CREATE TABLE public.codes (code text NOT NULL, v int);
CREATE UNIQUE INDEX codes_code ON public.codes (code);
INSERT INTO public.codes SELECT 'k' || g, g FROM generate_series(1, 400) g;

-- FK to a table the migration leaves out.
CREATE TABLE public.outside (id int PRIMARY KEY);
CREATE TABLE public.refs (id int PRIMARY KEY, outside_id int REFERENCES public.outside (id));

CREATE TABLE public.mismatch (id int PRIMARY KEY, total numeric(12,2));
`;

/** Mixed case and accents: C and ICU order these differently, so ranges must use the column's collation. */
function wordsSchema(collation: string): string {
  return `
CREATE TABLE public.words (w text COLLATE ${collation} PRIMARY KEY, n int);
INSERT INTO public.words
SELECT (ARRAY['apple','Apple','Äpfel','banana','Banana','çedilla','zebra','Zebra','éclair','eclair'])[1 + g % 10] || ' ' || g, g
  FROM generate_series(1, 1198) g;
-- Keys COPY must inline as literals (COPY takes no parameters): quotes and backslashes.
INSERT INTO public.words VALUES (E'o''brien \\\\ 1', 1199), (E'it''s \\\\n', 1200);
CREATE TABLE public.words_c (LIKE public.words INCLUDING ALL);
INSERT INTO public.words_c SELECT * FROM public.words;`;
}

describe('PostgreSQL target: DDL, COPY batches, indexes and foreign keys (real PostgreSQL)', function () {
  this.timeout(180_000);
  let sourceUrl: string;
  let targetUrl: string;
  let source: Pool;
  let target: PostgresTarget;
  let check: Pool;
  let collation: string | null = null;
  const plans = new Map<string, TablePlan>();

  const plan = async (name: QualifiedName, key?: string[]): Promise<TablePlan> => {
    const p = await introspectTable(source, { name, key });
    if (typeof p === 'string') throw new Error(p);
    return p;
  };

  /** Chunk ranges of about chunkRows rows (what backfill plans; kept here so this file tests only the target). */
  const planChunkRanges = async (_pool: Pool, p: TablePlan, chunkRows: number): Promise<{ chunks: ChunkRange[] }> => {
    const keys = p.key.map(quoteIdent).join(', ');
    const res = await source.query(
      `SELECT json_build_array(${p.key.map((k) => `s.${quoteIdent(k)}::text`).join(', ')})::text AS k
         FROM (SELECT ${keys}, row_number() OVER (ORDER BY ${keys}) AS n FROM ${quoteQualified(p.table)}) s
        WHERE (s.n - 1) % $1 = 0 AND s.n > 1 ORDER BY s.n`,
      [chunkRows],
    );
    const bounds: string[][] = res.rows.map((r) => JSON.parse(r.k));
    const chunks = [...bounds, null].map((hi, i) => ({ index: i, lo: i === 0 ? null : bounds[i - 1], hi }));
    return { chunks };
  };

  /** Copies a table chunk by chunk, batch by batch, as copyChunk does. */
  const copyAll = async (p: TablePlan, chunkRows: number, batch: number): Promise<number> => {
    const { chunks } = await planChunkRanges(source, p, chunkRows);
    let total = 0;
    for (const chunk of chunks) total += await copyChunk(p, chunk, batch);
    return total;
  };
  const copyChunk = async (p: TablePlan, chunk: ChunkRange, batch: number, after: string[] | null = null): Promise<number> => {
    let rows = 0;
    for (;;) {
      const b = await target.copyBatch(p, source, chunk, after, batch);
      if (b.last === null) break;
      rows += b.rows;
      after = b.last;
      if (b.rows < batch) break;
    }
    return rows;
  };

  /** md5 over every row's text form in key order (with the key's collation), on both sides. */
  const assertSame = async (p: TablePlan, collate = '') => {
    const order = p.key.map((k) => `t.${quoteIdent(k)}${collate}`).join(', ');
    const sql = `SELECT count(*)::text AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${order}), '')) AS h FROM ${quoteQualified(p.table)} t`;
    const [a, b] = await Promise.all([source.query(sql), check.query(sql)]);
    assert.ok(Number(a.rows[0].n) > 0, `${p.display} has rows on the source`);
    assert.deepEqual(b.rows[0], a.rows[0], `${p.display}: target differs from the source`);
  };

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('pgt_src');
    targetUrl = await createDatabase('pgt_tgt');
    process.env.PGT_SOURCE_URL = sourceUrl;
    process.env.PGT_TARGET_URL = targetUrl;
    source = pgPool('${PGT_SOURCE_URL}');
    check = new Pool({ connectionString: targetUrl, options: '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3', max: 2 });
    await source.query(sourceSchema);
    // Prefer an ICU collation (ordering differs from C for case and accents); fall back to a libc one.
    const found = await source.query(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.collname) AS name FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
        WHERE c.collname IN ('en-x-icu', 'und-x-icu', 'en_US.utf8', 'en_US') AND c.collencoding IN (-1, pg_char_to_encoding(current_setting('server_encoding')))
        ORDER BY array_position(ARRAY['en-x-icu', 'und-x-icu', 'en_US.utf8', 'en_US'], c.collname::text) LIMIT 1`,
    );
    collation = found.rows[0]?.name ?? null;
    if (collation) await source.query(wordsSchema(collation));
    else console.log('    note: no ICU or en_US collation on this server: the collated text key case is skipped');
    const spec = validateSpec({ name: 'pgt', source: { url: '${PGT_SOURCE_URL}' }, target: { url: '${PGT_TARGET_URL}' }, tables: ['public.docs'] }, process.env);
    target = new PostgresTarget(spec);
    plans.set('customers', await plan({ schema: 'Sales', name: 'customers' }));
    plans.set('items', await plan({ schema: 'Sales', name: 'Line Items' }));
    plans.set('events', await plan({ schema: 'public', name: 'events' }));
    plans.set('docs', await plan({ schema: 'public', name: 'docs' }));
    plans.set('codes', await plan({ schema: 'public', name: 'codes' }, ['code']));
    // introspectTable reads indisprimary through the raw-text pool ('f' is truthy), so a spec
    // key on a unique index is reported as the primary key: set what it should say.
    plans.get('codes')!.keySource = 'unique index codes_code';
    if (collation) plans.set('words', await plan({ schema: 'public', name: 'words' }));
  });

  after(async () => {
    await check?.end();
    await closeAll();
    if (sourceUrl) await dropDatabase(sourceUrl);
    if (targetUrl) await dropDatabase(targetUrl);
  });

  it('reads the DDL a target replays: constraints, indexes and foreign keys', () => {
    const items = plans.get('items')!.ddl;
    assert.deepEqual(items.constraints, [
      'CONSTRAINT "price ≥ 0" CHECK (("unit price" >= (0)::numeric))',
      'CONSTRAINT "li_customer_order" UNIQUE (customer_id, "Order")',
    ]);
    assert.deepEqual(items.indexes.map((i) => i.name), ['li lower order', 'li_created']);
    assert.equal(items.foreignKeys.length, 1);
    assert.deepEqual(items.foreignKeys[0].references, { schema: 'Sales', name: 'customers' });
    // The partitioned index comes without ON ONLY: the target table is a plain one.
    assert.deepEqual(plans.get('events')!.ddl.indexes, [{ name: 'events_at', sql: 'CREATE INDEX events_at ON public.events USING btree (at)' }]);
    assert.equal(plans.get('events')!.partitions, 3);
    // The key's unique index is the key, so it is not a secondary index to build later... but
    // a plain unique index is still listed (finishTable finds it built and skips it).
    assert.deepEqual(plans.get('codes')!.ddl.indexes.map((i) => i.name), ['codes_code']);
    assert.equal(copyFormat(plans.get('customers')!.columns), 'binary');
    assert.equal(copyFormat(plans.get('items')!.columns), 'text', 'an enum array carries its type oid in binary form');
  });

  it('creates every table as the source defines it, twice harmlessly', async () => {
    for (const p of plans.values()) {
      await target.prepareTable(p);
      await target.prepareTable(p);
    }
    // Same column types, defaults and collations on both sides.
    const cols = `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull::text, a.attidentity::text, a.attgenerated::text,
                         pg_get_expr(d.adbin, d.adrelid) AS def, co.collname
                    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    LEFT JOIN pg_collation co ON co.oid = a.attcollation
                   WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
    for (const p of plans.values()) {
      const [a, b] = await Promise.all([source.query(cols, [quoteQualified(p.table)]), check.query(cols, [quoteQualified(p.table)])]);
      assert.deepEqual(b.rows, a.rows, `${p.display}: columns differ`);
    }
    const kinds = await check.query(`SELECT relkind::text FROM pg_class WHERE oid = 'public.events'::regclass`);
    assert.equal(kinds.rows[0].relkind, 'r', 'a partitioned source table lands as a plain table');
    // The key waits for the load (engines/postgres/load-ledger.ts): recorded, not built yet.
    const key = await check.query(`SELECT conname, contype::text FROM pg_constraint WHERE conrelid = 'public.codes'::regclass`);
    assert.deepEqual(key.rows, []);
    const pending = await check.query(`SELECT key_clause FROM _ferry.loading_tables WHERE table_oid = 'public.codes'::regclass`);
    assert.deepEqual(pending.rows, [{ key_clause: 'CONSTRAINT "codes_code" UNIQUE ("code")' }]);
  });

  it('copies in COPY batches; replayed batches leave no duplicates', async () => {
    const counts: Record<string, number> = {};
    for (const [name, p] of plans) counts[name] = await copyAll(p, 700, 250);
    assert.equal(counts.items, 2500);
    assert.equal(counts.events, 1500);
    // Replays: a whole chunk from the start, and a batch from a mid-chunk cursor.
    const items = plans.get('items')!;
    const { chunks } = await planChunkRanges(source, items, 700);
    assert.equal(await copyChunk(items, chunks[1], 250), 700);
    assert.equal(await copyChunk(items, chunks[1], 250, [chunks[1].lo![0]]), 699);
    const events = plans.get('events')!;
    const first = await target.copyBatch(events, source, { index: 0, lo: null, hi: null }, null, 100);
    const again = await target.copyBatch(events, source, { index: 0, lo: null, hi: null }, null, 100);
    assert.deepEqual(again, first);
    assert.equal(first.rows, 100);
    for (const p of plans.values()) {
      assert.equal(await target.countRows(p), Number((await source.query(`SELECT count(*) AS n FROM ${quoteQualified(p.table)}`)).rows[0].n), p.display);
      await assertSame(p);
    }
  });

  it('a collated text key splits into ranges that mean the same rows on both sides', async function () {
    if (!collation) return this.skip();
    const words = plans.get('words')!;
    assert.equal(words.columns[0].collation, collation);
    // Batches that end between 'apple 1' and 'Apple 11' only work if both sides order by ICU.
    await check.query('TRUNCATE public.words');
    const { chunks } = await planChunkRanges(source, words, 97);
    let total = 0;
    for (const c of chunks) total += await copyChunk(words, c, 31);
    assert.equal(total, 1200);
    for (const c of chunks.slice(0, 3)) assert.equal(await copyChunk(words, c, 31), 97, 'a replayed chunk copies the same rows');
    // A cursor with a quote and a backslash, inlined into the source's COPY as a literal.
    const quoted = await target.copyBatch(words, source, { index: 0, lo: null, hi: null }, ["o'brien \\ 1"], 5);
    assert.equal(quoted.rows, 5);
    assert.equal(await target.countRows(words), 1200);
    assert.equal(await target.countRows(words), 1200);
    await assertSame(words);
  });

  it('a collated key keeps its meaning on an existing target table whose column collates otherwise', async function () {
    if (!collation) return this.skip();
    const words = await plan({ schema: 'public', name: 'words_c' });
    await check.query(`CREATE TABLE public.words_c (w text COLLATE "C" PRIMARY KEY, n int)`);
    await target.prepareTable(words);
    const { chunks } = await planChunkRanges(source, words, 97);
    for (const c of chunks) await copyChunk(words, c, 31);
    // Replays delete their range first: under "C" order that range would hold other chunks' rows.
    for (const c of [...chunks].reverse()) await copyChunk(words, c, 31);
    assert.equal(await target.countRows(words), 1200);
    await assertSame(words, ' COLLATE "C"');
  });

  it('an error in the source stream rejects the batch and rolls the target back', async () => {
    const customers = plans.get('customers')!;
    // A source whose COPY TO stream fails once the target's COPY FROM has started.
    const failing = {
      // Catalog reads (the key collations) go through the pool itself.
      query: source.query.bind(source),
      connect: async () => {
        const client = await source.connect();
        const query = client.query.bind(client) as (q: unknown, v?: unknown) => unknown;
        (client as unknown as { query: unknown }).query = (q: unknown, v?: unknown) =>
          q instanceof Object && 'text' in q && /^COPY \(/.test((q as { text: string }).text)
            ? new Readable({ read() { this.destroy(new Error('source went away')); } })
            : query(q, v);
        return client;
      },
    } as unknown as Pool;
    await assert.rejects(target.copyBatch(customers, failing, { index: 0, lo: null, hi: null }, null, 50), /source went away/);
    assert.equal(await target.countRows(customers), 300);
    const targetPool = pgPool('${PGT_TARGET_URL}', 'target.url');
    assert.equal(targetPool.totalCount - targetPool.idleCount, 0, 'no target client left checked out');
    assert.equal(source.totalCount - source.idleCount, 0, 'no source client left checked out');
  });

  it('a failed COPY rolls the batch back and returns its connections', async () => {
    const customers = plans.get('customers')!;
    await check.query(`ALTER TABLE "Sales".customers ADD CONSTRAINT no_c7 CHECK (email <> 'c7@example.com') NOT VALID`);
    try {
      await assert.rejects(target.copyBatch(customers, source, { index: 0, lo: null, hi: null }, null, 50), (err: { code?: string }) => err.code === '23514');
      assert.equal(await target.countRows(customers), 300, 'the DELETE of the failed batch was rolled back');
    } finally {
      await check.query(`ALTER TABLE "Sales".customers DROP CONSTRAINT no_c7`);
    }
    const again = await target.copyBatch(customers, source, { index: 0, lo: null, hi: null }, null, 50);
    assert.deepEqual(again, { rows: 50, last: ['50'] });
    const targetPool = pgPool('${PGT_TARGET_URL}', 'target.url');
    assert.equal(targetPool.totalCount - targetPool.idleCount, 0, 'no target client left checked out');
    assert.equal(source.totalCount - source.idleCount, 0, 'no source client left checked out');
  });

  it('writeRows upserts on the key, a primary key or a unique-index key', async () => {
    const codes = plans.get('codes')!;
    // Upserts need the key, which the load leaves to finishTable.
    for (const name of ['codes', 'docs']) await target.finishTable(plans.get(name)!);
    assert.deepEqual((await check.query(`SELECT conname, contype::text FROM pg_constraint WHERE conrelid = 'public.codes'::regclass`)).rows, [{ conname: 'codes_code', contype: 'u' }]);
    await target.writeRows(codes, [{ code: 'k1', v: '-1' }, { code: 'new', v: '7' }]);
    assert.equal(await target.countRows(codes), 401);
    assert.deepEqual((await check.query(`SELECT v FROM public.codes WHERE code = 'k1'`)).rows, [{ v: -1 }]);
    await target.deleteKeys(codes, [['new']]);
    await target.writeRows(codes, [{ code: 'k1', v: '1' }]);
    await assertSame(codes);
    const docs = plans.get('docs')!; // identity GENERATED ALWAYS, written with the source's values
    const row = (await source.query(`SELECT * FROM public.docs ORDER BY id LIMIT 1`)).rows[0];
    await target.writeRows(docs, [row]);
    await assertSame(docs);
  });

  it('finishTable builds indexes, adds and validates foreign keys, and moves sequences past the rows', async () => {
    for (const p of plans.values()) {
      await target.finishTable(p);
      await target.finishTable(p); // a retry changes nothing
    }
    const indexes = await check.query(
      `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid IN ('"Sales"."Line Items"'::regclass, 'public.events'::regclass, 'public.codes'::regclass) `,
    );
    assert.deepEqual(indexes.rows.map((r) => r.name).sort(), [
      '"Sales"."Line Items_pkey"', '"Sales"."li lower order"', '"Sales".li_created', '"Sales".li_customer_order', 'codes_code', 'events_at', 'events_pkey',
    ]);
    const fk = await check.query(`SELECT conname, convalidated::text FROM pg_constraint WHERE conrelid = '"Sales"."Line Items"'::regclass AND contype = 'f'`);
    assert.deepEqual(fk.rows, [{ conname: 'Line Items_customer_id_fkey', convalidated: 'true' }]);
    // Sequences continue after the copied values: serial, bigserial and identity.
    const c = await check.query(`INSERT INTO "Sales".customers (email) VALUES ('new@example.com') RETURNING id`);
    assert.ok(Number(c.rows[0].id) > 300, `customers.id ${c.rows[0].id}`);
    const li = await check.query(`INSERT INTO "Sales"."Line Items" (customer_id, "unit price") VALUES (1, 9.5) RETURNING id, qty, mood::text, total::text`);
    assert.ok(Number(li.rows[0].id) > 2500);
    assert.deepEqual({ qty: li.rows[0].qty, mood: li.rows[0].mood, total: li.rows[0].total }, { qty: 1, mood: 'ok', total: '9.50' });
    const d = await check.query(`INSERT INTO public.docs DEFAULT VALUES RETURNING n`);
    assert.ok(Number(d.rows[0].n) > 800);
    // The FK now holds on the target.
    await assert.rejects(check.query(`INSERT INTO "Sales"."Line Items" (customer_id, "unit price") VALUES (100000, 1)`), /violates foreign key/);
  });

  it('a foreign key whose referenced unique index is not built yet builds it first', async () => {
    await source.query(`CREATE TABLE public.parent_u (id int PRIMARY KEY, code text NOT NULL);
                        CREATE UNIQUE INDEX parent_u_code ON public.parent_u (code);
                        CREATE TABLE public.child_u (id int PRIMARY KEY, code text REFERENCES public.parent_u (code));
                        INSERT INTO public.parent_u VALUES (1, 'a'), (2, 'b'); INSERT INTO public.child_u VALUES (1, 'b'), (2, NULL);`);
    const parent = await plan({ schema: 'public', name: 'parent_u' });
    const child = await plan({ schema: 'public', name: 'child_u' });
    for (const p of [parent, child]) {
      await target.prepareTable(p);
      await copyChunk(p, { index: 0, lo: null, hi: null }, 10);
    }
    await target.finishTable(child); // before the table it references
    await target.finishTable(parent);
    const fk = await check.query(`SELECT conname, convalidated::text FROM pg_constraint WHERE conrelid = 'public.child_u'::regclass AND contype = 'f'`);
    assert.deepEqual(fk.rows, [{ conname: 'child_u_code_fkey', convalidated: 'true' }]);
  });

  it('refuses an existing target table that cannot hold the rows, naming what to change', async () => {
    const mismatch = await plan({ schema: 'public', name: 'mismatch' });
    await check.query(`CREATE TABLE public.mismatch (id int PRIMARY KEY, total numeric(10,2))`);
    await assert.rejects(target.prepareTable(mismatch), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.type === 'ConfigurationError', String(err));
      assert.match(err.message, /public\.mismatch\."total" is numeric\(10,2\) on the target but numeric\(12,2\) on the source: alter the target table or drop it/);
      return true;
    });
    await check.query(`DROP TABLE public.mismatch; CREATE TABLE public.mismatch (id int, total numeric(12,2))`);
    await assert.rejects(target.prepareTable(mismatch), /without a unique index on its key \("id"\)/);
  });

  it('a foreign key to a table left out of the migration is a configuration error', async () => {
    const refs = await plan({ schema: 'public', name: 'refs' });
    await target.prepareTable(refs);
    await assert.rejects(target.finishTable(refs), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.type === 'ConfigurationError', String(err));
      assert.match(err.message, /foreign key "refs_outside_id_fkey" of public\.refs references public\.outside, which is not on the target: add public\.outside to the spec/);
      return true;
    });
  });

  it('a type the target lacks is a configuration error', async () => {
    await source.query(`CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE public.ci (id int PRIMARY KEY, name citext)`);
    const ci = await plan({ schema: 'public', name: 'ci' });
    await assert.rejects(target.prepareTable(ci), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.type === 'ConfigurationError', String(err));
      assert.match(err.message, /type "citext" does not exist.*CREATE EXTENSION/);
      return true;
    });
  });
});
