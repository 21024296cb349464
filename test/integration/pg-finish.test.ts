// Finishing a PostgreSQL target table on the real server: finishTable heartbeats while it
// runs and is safe to re-run after a worker was killed mid-build (an INVALID index left
// behind is rebuilt, a foreign key left NOT VALID is validated); online mode creates tables
// without UNIQUE/EXCLUDE constraints or unique indexes, so a unique value moving between
// rows applies through the sink in any order, and the deferred builder adds them later.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createDatabase, dropDatabase, loadStackEnv } from '../helpers/stack';
import { introspectTable } from '../../engines/postgres/source';
import { PostgresTarget } from '../../engines/postgres/target';
import { PostgresSink } from '../../engines/postgres/sink';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { buildDeferredConstraints, finishTable } from '../../activities/copy/finish';
import type { RowChange } from '../../engines/rows';
import type { TablePlan } from '../../contracts/tables';

const sourceSchema = `
CREATE TABLE public.parents (id int PRIMARY KEY, code text NOT NULL, CONSTRAINT parents_code_key UNIQUE (code));
INSERT INTO public.parents SELECT g, 'p' || g FROM generate_series(1, 3) g;
CREATE TABLE public.children (
  id int PRIMARY KEY,
  parent_id int NOT NULL REFERENCES public.parents (id),
  email text,
  slot tstzrange,
  note text,
  CONSTRAINT children_email_key UNIQUE (email),
  CONSTRAINT children_slot_excl EXCLUDE USING gist (slot WITH &&),
  CONSTRAINT children_note_check CHECK (note <> 'bad')
);
CREATE UNIQUE INDEX children_lower_note ON public.children (lower(note));
CREATE INDEX children_parent ON public.children (parent_id);
-- Keyed by a UNIQUE constraint (no primary key): that one the table keeps online.
CREATE TABLE public.ukeyed (code text NOT NULL, v text, CONSTRAINT ukeyed_code_key UNIQUE (code), CONSTRAINT ukeyed_v_key UNIQUE (v));
INSERT INTO public.ukeyed VALUES ('a', 'x'), ('b', 'y');
INSERT INTO public.children
SELECT g, 1 + g % 3, 'e' || g, tstzrange(timestamptz '2024-01-01' + g * interval '1 day', timestamptz '2024-01-01' + (g + 1) * interval '1 day'), 'n' || g
  FROM generate_series(1, 5) g;
`;

let offset = 0;
const child = (id: number, email: string): RowChange => ({
  kind: 'upsert',
  key: [String(id)],
  row: { id: String(id), parent_id: String(1 + (id % 3)), email, slot: `["2024-01-0${1 + id} 00:00:00+00","2024-01-0${2 + id} 00:00:00+00")`, note: `n${id}` },
  unavailable: [],
  position: { topic: 'ferry.public.children', partition: 0, offset: String(++offset) },
  sourceTsMs: 1_700_000_000_000 + offset,
});

describe('finishing a PostgreSQL target table (real PostgreSQL)', function () {
  let sourceUrl: string;
  const targets: string[] = [];
  let parents: TablePlan;
  let children: TablePlan;

  const plan = async (name: string): Promise<TablePlan> => {
    const p = await introspectTable(pgPool(sourceUrl), { name: { schema: 'public', name } });
    if (typeof p === 'string') throw new Error(p);
    return p;
  };

  /** A fresh target database with both tables created and loaded as the backfill does. */
  const loadedTarget = async (mode: 'offline' | 'online'): Promise<{ spec: Spec; db: Pool }> => {
    const url = await createDatabase('ferry_t_finish');
    targets.push(url);
    const ref = `FERRY_TEST_FINISH_${targets.length}`;
    process.env[ref] = url;
    // A spec with a sync section validates only with the stack's Kafka addresses: build it
    // offline, then flip the mode, which is all PostgresTarget reads of it.
    const spec = { ...validateSpec({ name: 'finish', source: { url: '${FERRY_TEST_FINISH_SOURCE}' }, target: { url: `\${${ref}}` }, tables: ['public.parents'] }, process.env), mode };
    const target = new PostgresTarget(spec);
    for (const p of [parents, children]) {
      await target.prepareTable(p);
      await target.copyBatch(p, pgPool(sourceUrl), { index: 0, lo: null, hi: null }, null, 1_000);
    }
    return { spec, db: pgPool(url, 'target.url') };
  };

  const runActivity = async (fn: typeof finishTable, spec: Spec, p: TablePlan): Promise<unknown[]> => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d) => beats.push(d));
    await env.run(fn, { spec, plan: p });
    return beats;
  };

  const constraintKinds = async (db: Pool, table: string) =>
    (await db.query(`SELECT contype::text || ':' || conname || ':' || convalidated AS c FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY 1`, [table])).rows.map((r) => r.c);
  const indexes = async (db: Pool, table: string) =>
    (
      await db.query(
        `SELECT c.relname || ':' || i.indisunique || ':' || i.indisvalid AS i FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass ORDER BY 1`,
        [table],
      )
    ).rows.map((r) => r.i);

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_finish_src');
    process.env.FERRY_TEST_FINISH_SOURCE = sourceUrl;
    await pgPool(sourceUrl).query(sourceSchema);
    parents = await plan('parents');
    children = await plan('children');
  });

  after(async () => {
    await closeAll();
    for (const url of [sourceUrl, ...targets]) if (url) await dropDatabase(url);
  });

  describe('offline', () => {
    let spec: Spec;
    let db: Pool;
    before(async () => ({ spec, db } = await loadedTarget('offline')));

    it('finishTable heartbeats, naming each step, and builds indexes and foreign keys', async () => {
      await runActivity(finishTable, spec, parents);
      const beats = await runActivity(finishTable, spec, children);
      const steps = beats.map((b) => (b as { step: string }).step);
      assert.deepEqual(steps, ['starting', 'key PRIMARY KEY ("id")', 'index children_lower_note', 'index children_parent', 'foreign key children_parent_id_fkey', 'sequences']);
      assert.ok((await indexes(db, 'public.children')).includes('children_parent:false:true'));
      assert.ok((await constraintKinds(db, 'public.children')).includes('f:children_parent_id_fkey:true'));
    });

    it('a re-run after a kill mid-build drops and rebuilds an INVALID index and validates a NOT VALID foreign key', async () => {
      // What a killed build leaves: an invalid index by the plan's name (here from a CONCURRENTLY
      // build that failed on duplicates) and a foreign key added but never validated.
      await db.query('DROP INDEX public.children_parent');
      await assert.rejects(db.query('CREATE UNIQUE INDEX CONCURRENTLY children_parent ON public.children (parent_id)'));
      assert.ok((await indexes(db, 'public.children')).includes('children_parent:true:false'), 'an invalid index was left behind');
      await db.query('ALTER TABLE public.children DROP CONSTRAINT children_parent_id_fkey');
      await db.query('ALTER TABLE public.children ADD CONSTRAINT children_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.parents (id) NOT VALID');
      await runActivity(finishTable, spec, children);
      assert.ok((await indexes(db, 'public.children')).includes('children_parent:false:true'), JSON.stringify(await indexes(db, 'public.children')));
      assert.ok((await constraintKinds(db, 'public.children')).includes('f:children_parent_id_fkey:true'));
      // And once more: nothing left to do, nothing fails.
      await runActivity(finishTable, spec, children);
    });
  });

  describe('online', () => {
    let spec: Spec;
    let db: Pool;
    before(async () => ({ spec, db } = await loadedTarget('online')));

    it('creates the table with its key and CHECK constraints only; finishTable adds no unique index and no foreign key', async () => {
      await runActivity(finishTable, spec, parents);
      await runActivity(finishTable, spec, children);
      assert.deepEqual(await constraintKinds(db, 'public.children'), ['c:children_note_check:true', 'p:children_pkey:true']);
      assert.deepEqual(await indexes(db, 'public.children'), ['children_parent:false:true', 'children_pkey:true:true']);
      assert.deepEqual(await constraintKinds(db, 'public.parents'), ['p:parents_pkey:true']);
    });

    it('a table keyed by a UNIQUE constraint keeps that one online, and gets the others from the deferred builder', async () => {
      const p = await introspectTable(pgPool(sourceUrl), { name: { schema: 'public', name: 'ukeyed' }, key: ['code'] });
      if (typeof p === 'string') throw new Error(p);
      const target = new PostgresTarget(spec);
      await target.prepareTable(p);
      await target.copyBatch(p, pgPool(sourceUrl), { index: 0, lo: null, hi: null }, null, 1_000);
      assert.deepEqual(await constraintKinds(db, 'public.ukeyed'), ['u:ukeyed_code_key:true']);
      await target.buildDeferredConstraints(p);
      assert.deepEqual(await constraintKinds(db, 'public.ukeyed'), ['u:ukeyed_code_key:true', 'u:ukeyed_v_key:true']);
    });

    it('a unique value moving between rows applies through the sink whichever row the target sees first', async () => {
      const sink = new PostgresSink(spec);
      // Source: row 2 took e1 after row 1 gave it up; the target hears of row 2 first.
      assert.deepEqual(await sink.apply(children, [child(2, 'e1')]), []);
      assert.deepEqual(await sink.apply(children, [child(1, 'moved')]), []);
      const rows = await db.query(`SELECT id, email FROM public.children WHERE id IN (1, 2) ORDER BY id`);
      assert.deepEqual(rows.rows.map((r) => `${r.id}:${r.email}`), ['1:moved', '2:e1']);
    });

    it('buildDeferredConstraints adds the UNIQUE and EXCLUDE constraints, unique indexes and foreign keys; again is a no-op', async () => {
      await runActivity(buildDeferredConstraints, spec, parents);
      const beats = await runActivity(buildDeferredConstraints, spec, children);
      assert.ok(beats.length >= 4, JSON.stringify(beats));
      assert.deepEqual(await constraintKinds(db, 'public.children'), [
        'c:children_note_check:true',
        'f:children_parent_id_fkey:true',
        'p:children_pkey:true',
        'u:children_email_key:true',
        'x:children_slot_excl:true',
      ]);
      assert.ok((await indexes(db, 'public.children')).includes('children_lower_note:true:true'));
      assert.deepEqual(await constraintKinds(db, 'public.parents'), ['p:parents_pkey:true', 'u:parents_code_key:true']);
      await runActivity(buildDeferredConstraints, spec, children);
    });

    it('with a unique constraint in place: a move within one batch lands; a value still held by another row is retried, not dead-lettered', async () => {
      const sink = new PostgresSink(spec);
      assert.deepEqual(await sink.apply(children, [child(4, 'e3'), child(3, 'z')]), []);
      // Row 3 still holds z on the target: its change has not arrived. Retryable, nothing refused.
      const err = await sink.apply(children, [child(5, 'z')]).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof Error && !(err instanceof ApplicationFailure), `a plain (retryable) error, got ${String(err)}`);
      assert.deepEqual(await sink.apply(children, [child(3, 'q')]), []);
      assert.deepEqual(await sink.apply(children, [child(5, 'z')]), []);
      const rows = await db.query(`SELECT id, email FROM public.children WHERE id IN (3, 4, 5) ORDER BY id`);
      assert.deepEqual(rows.rows.map((r) => `${r.id}:${r.email}`), ['3:q', '4:e3', '5:z']);
    });
  });
});
