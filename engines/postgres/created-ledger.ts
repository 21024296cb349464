// What Ferry created on a PostgreSQL target, so a rollback (`--drop-target`) removes exactly
// that and never an object that was there before:
//
//   _ferry.created  (migration, kind, name, oid, created_at), one row per object Ferry made:
//                   a migration's schemas, types, sequences and tables under its id; the
//                   `_ferry` schema and Ferry's own `_ferry.*` tables (stores every migration on
//                   the target shares) under SHARED ('*')
//
// A row is written in the same transaction as the CREATE that made the object, and only when
// that CREATE made it: the object is looked up first, a missing one is created with the plain
// CREATE (never IF NOT EXISTS, which would also succeed when a concurrent session made it),
// and losing that race to another session rolls back to a savepoint and records nothing.
// `name` is the object's quoted SQL name; `oid` is the object's at its creation, so an object
// dropped and made again by someone else under the same name is not taken for Ferry's.
//
// dropCreated undoes one migration's rows: tables, sequences, then types, then schemas, with
// plain DROPs (never CASCADE). Whatever depends on one of them from outside what is being
// dropped (a user's view on a table, a user's table in a schema, a column of a user's table
// using a type) keeps it, and is named in `kept`. The shared objects go only when no other
// migration has rows left and they hold no rows of another migration; the ledger itself last.
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../connections';
import type { DroppedCreated } from '../engine';
import { quoteIdent, quoteQualified } from './identifiers';

export type CreatedKind = 'schema' | 'type' | 'sequence' | 'table' | 'ferry-table';

/** The migration id under which Ferry's own objects, shared by every migration, are recorded. */
export const SHARED = '*';
export const FERRY_SCHEMA = quoteIdent('_ferry');
export const CREATED_TABLE = ferryTable('created');

type Db = Pick<PoolClient, 'query'>;

/** The quoted name of one of Ferry's tables, as the ledger records it. */
export function ferryTable(name: string): string {
  return quoteQualified({ schema: '_ferry', name });
}

/** What a session losing a CREATE race to another one hears: unique_violation, duplicate_schema/table/object. */
const RACE = new Set(['23505', '42P06', '42P07', '42710']);

const LOOKUP: Record<CreatedKind, string> = {
  schema: 'to_regnamespace($1)',
  type: 'to_regtype($1)',
  sequence: 'to_regclass($1)',
  table: 'to_regclass($1)',
  'ferry-table': 'to_regclass($1)',
};

/** The object's oid (text), or null when nothing of that name exists. */
async function oidOf(db: Db, kind: CreatedKind, name: string): Promise<string | null> {
  const res = await db.query(`SELECT ${LOOKUP[kind]}::oid::text AS oid`, [name]);
  return res.rows[0]?.oid ?? null;
}

let savepoints = 0;

/**
 * In the caller's transaction: runs `sql` (the plain CREATE, then what completes the object)
 * when no object `name` of `kind` exists yet. Returns the new object's oid, or null when it
 * existed (before, or made meanwhile by a concurrent session: then nothing was run).
 */
async function tryCreate(db: Db, kind: CreatedKind, name: string, sql: string[]): Promise<string | null> {
  if (await oidOf(db, kind, name)) return null;
  const sp = `ferry_create_${++savepoints}`;
  await db.query(`SAVEPOINT ${sp}`);
  try {
    for (const s of sql) await db.query(s);
  } catch (err) {
    await db.query(`ROLLBACK TO SAVEPOINT ${sp}`);
    await db.query(`RELEASE SAVEPOINT ${sp}`);
    if (RACE.has((err as { code?: string }).code ?? '') && (await oidOf(db, kind, name))) return null;
    throw err;
  }
  await db.query(`RELEASE SAVEPOINT ${sp}`);
  return oidOf(db, kind, name);
}

/** The ledger table (and the `_ferry` schema), each recorded as shared when this made it. */
async function ensureLedger(db: Db): Promise<void> {
  const made: Array<[CreatedKind, string, string]> = [];
  const schema = await tryCreate(db, 'schema', FERRY_SCHEMA, [`CREATE SCHEMA ${FERRY_SCHEMA}`]);
  if (schema) made.push(['schema', FERRY_SCHEMA, schema]);
  const ledger = await tryCreate(db, 'ferry-table', CREATED_TABLE, [
    `CREATE TABLE ${CREATED_TABLE} (
       migration text NOT NULL, kind text NOT NULL, name text NOT NULL, oid oid, created_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (migration, kind, name))`,
  ]);
  if (ledger) made.push(['ferry-table', CREATED_TABLE, ledger]);
  for (const [kind, name, oid] of made) await insertRow(db, SHARED, kind, name, oid);
}

async function insertRow(db: Db, migration: string, kind: CreatedKind, name: string, oid: string): Promise<void> {
  await db.query(
    `INSERT INTO ${CREATED_TABLE} (migration, kind, name, oid) VALUES ($1, $2, $3, $4::oid)
     ON CONFLICT (migration, kind, name) DO UPDATE SET oid = EXCLUDED.oid, created_at = now()`,
    [migration, kind, name, oid],
  );
}

/**
 * In the caller's transaction: creates the object when it is missing and, when this call made
 * it and `migration` is given, records it under that migration. Returns whether it made it.
 */
export async function createRecorded(db: Db, migration: string | undefined, kind: CreatedKind, name: string, sql: string[]): Promise<boolean> {
  const oid = await tryCreate(db, kind, name, sql);
  if (oid === null) return false;
  if (migration !== undefined) {
    await ensureLedger(db);
    await insertRow(db, migration, kind, name, oid);
  }
  return true;
}

/** In the caller's transaction: the `_ferry` schema, recorded as shared when this made it. */
export async function ensureFerrySchema(db: Db): Promise<void> {
  await createRecorded(db, SHARED, 'schema', FERRY_SCHEMA, [`CREATE SCHEMA ${FERRY_SCHEMA}`]);
}

/**
 * One of Ferry's own tables (`_ferry.<name>`) in place, in its own transaction: the schema
 * and the table created and recorded as shared when missing (`create`: the plain CREATE TABLE
 * and its indexes), then `always` (e.g. CREATE INDEX IF NOT EXISTS for an index added to an
 * existing table later), where losing a race to a concurrent session is fine.
 */
export async function ensureFerryTable(pool: Pool, name: string, create: string[], always: string[] = []): Promise<void> {
  const run = () =>
    inTransaction(pool, async (db) => {
      await ensureFerrySchema(db);
      await createRecorded(db, SHARED, 'ferry-table', ferryTable(name), create);
      for (const sql of always) {
        const sp = `ferry_create_${++savepoints}`;
        await db.query(`SAVEPOINT ${sp}`);
        try {
          await db.query(sql);
        } catch (err) {
          if (!RACE.has((err as { code?: string }).code ?? '')) throw err;
          await db.query(`ROLLBACK TO SAVEPOINT ${sp}`);
        }
        await db.query(`RELEASE SAVEPOINT ${sp}`);
      }
    });
  try {
    await run();
  } catch (err) {
    // A concurrent ledger insert of the same row can still collide: once more finds it all there.
    if (!RACE.has((err as { code?: string }).code ?? '')) throw err;
    await run();
  }
}

interface Row {
  kind: CreatedKind;
  name: string;
  oid: string | null;
}

/** The name as people read it: quotes only where PostgreSQL needs them. */
function readable(name: string): string {
  return name.replace(/"([a-z_][a-z0-9_$]*)"/g, '$1');
}

function label(r: Row): string {
  return `${r.kind === 'ferry-table' ? 'table' : r.kind} ${readable(r.name)}`;
}

const CLASS: Record<CreatedKind, string> = { schema: 'pg_namespace', type: 'pg_type', sequence: 'pg_class', table: 'pg_class', 'ferry-table': 'pg_class' };

/**
 * Which of `rows` cannot be dropped without CASCADE: each with the reason. An object is kept
 * when something outside the objects being dropped depends on it (pg_depend, normal
 * dependencies, following what each object carries with it: its indexes, constraints,
 * defaults, rules, owned sequences, array type), or depends on a kept one, until nothing changes.
 */
async function blockedBy(db: Db, rows: Row[]): Promise<Map<string, string>> {
  const blocked = new Map<string, string>();
  if (rows.length === 0) return blocked;
  const edges = await db.query<{ root: string; dependent: string; roots: string[] | string | null }>(
    `WITH RECURSIVE owned(root, classid, objid) AS (
       SELECT r.root, r.classid::regclass::oid, r.objid FROM unnest($1::text[], $2::text[], $3::oid[]) AS r(root, classid, objid)
       UNION
       SELECT o.root, d.classid, d.objid FROM pg_depend d JOIN owned o ON d.refclassid = o.classid AND d.refobjid = o.objid
        WHERE d.deptype IN ('a', 'i')
     )
     SELECT DISTINCT o.root, pg_describe_object(d.classid, d.objid, d.objsubid) AS dependent,
            to_json((SELECT array_agg(DISTINCT x.root) FROM owned x WHERE x.classid = d.classid AND x.objid = d.objid))::text AS roots
       FROM pg_depend d JOIN owned o ON d.refclassid = o.classid AND d.refobjid = o.objid
      WHERE d.deptype = 'n'`,
    [rows.map((r) => r.name), rows.map((r) => CLASS[r.kind]), rows.map((r) => r.oid)],
  );
  const list = edges.rows.map((e) => ({ root: e.root, dependent: e.dependent, roots: (typeof e.roots === 'string' ? JSON.parse(e.roots) : e.roots) as string[] | null }));
  for (const e of list) {
    if (!e.roots && !blocked.has(e.root)) blocked.set(e.root, `${e.dependent} depends on it, and Ferry did not create that`);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of list) {
      const keeper = e.roots?.find((r) => r !== e.root && blocked.has(r));
      if (keeper && !blocked.has(e.root)) {
        blocked.set(e.root, `${e.dependent} depends on it, and ${readable(keeper)} is kept`);
        changed = true;
      }
    }
  }
  return blocked;
}

/** Rows whose object still exists as the one Ferry created (same oid). */
async function live(db: Db, rows: Row[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const r of rows) {
    const oid = await oidOf(db, r.kind, r.name);
    if (oid !== null && (r.oid === null || oid === r.oid)) out.push({ ...r, oid });
  }
  return out;
}

/**
 * Drops `rows` (relations and types) that nothing else needs: one statement per sort, so
 * dependencies among them hold; should PostgreSQL still refuse one, each is tried on its own
 * and the refused ones kept with PostgreSQL's reason.
 */
async function dropObjects(db: Db, rows: Row[], dropped: string[], kept: string[]): Promise<void> {
  const blocked = await blockedBy(db, rows);
  for (const r of rows) if (blocked.has(r.name)) kept.push(`${label(r)}: ${blocked.get(r.name)}`);
  const free = rows.filter((r) => !blocked.has(r.name));
  const domains = new Set<string>();
  const types = free.filter((r) => r.kind === 'type');
  if (types.length) {
    const res = await db.query<{ oid: string }>(`SELECT oid::text FROM pg_type WHERE oid = ANY($1::oid[]) AND typtype = 'd'`, [types.map((t) => t.oid)]);
    for (const r of res.rows) domains.add(r.oid);
  }
  const groups: Array<[string, Row[]]> = [
    ['TABLE', free.filter((r) => r.kind === 'table' || r.kind === 'ferry-table')],
    ['SEQUENCE', free.filter((r) => r.kind === 'sequence')],
    ['DOMAIN', types.filter((r) => domains.has(r.oid!))],
    ['TYPE', types.filter((r) => !domains.has(r.oid!))],
  ];
  for (const [what, group] of groups) {
    if (group.length === 0) continue;
    // A sequence dropped with its table (OWNED BY) is gone already.
    const still = what === 'SEQUENCE' ? await live(db, group) : group;
    if (still.length === 0) continue;
    const ok = await attempt(db, `DROP ${what} ${still.map((r) => r.name).join(', ')}`);
    if (ok === true) {
      dropped.push(...still.map(label));
      continue;
    }
    for (const r of still) {
      const one = await attempt(db, `DROP ${what} ${r.name}`);
      if (one === true) dropped.push(label(r));
      else kept.push(`${label(r)}: ${one}`);
    }
  }
}

/** Runs one statement under a savepoint: true, or the message of PostgreSQL's refusal (dependent objects). */
async function attempt(db: Db, sql: string): Promise<true | string> {
  const sp = `ferry_drop_${++savepoints}`;
  await db.query(`SAVEPOINT ${sp}`);
  try {
    await db.query(sql);
    await db.query(`RELEASE SAVEPOINT ${sp}`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== '2BP01') throw err;
    await db.query(`ROLLBACK TO SAVEPOINT ${sp}`);
    await db.query(`RELEASE SAVEPOINT ${sp}`);
    return (err as Error).message;
  }
}

/** What a schema still holds (up to a few, described), empty when it can be dropped without CASCADE. */
async function contents(db: Db, schemaOid: string): Promise<string[]> {
  const res = await db.query<{ what: string }>(
    `SELECT pg_describe_object(classid, objid, objsubid) AS what FROM pg_depend
      WHERE refclassid = 'pg_namespace'::regclass AND refobjid = $1::oid AND deptype = 'n' ORDER BY 1 LIMIT 6`,
    [schemaOid],
  );
  return res.rows.map((r) => r.what);
}

async function dropSchemas(db: Db, rows: Row[], dropped: string[], kept: string[]): Promise<void> {
  for (const r of rows) {
    const held = await contents(db, r.oid!);
    if (held.length) {
      kept.push(`${label(r)}: holds ${held.slice(0, 5).join(', ')}${held.length > 5 ? ', …' : ''} (not recorded as this migration's, or kept), so it stays`);
      continue;
    }
    const ok = await attempt(db, `DROP SCHEMA ${r.name}`);
    if (ok === true) dropped.push(label(r));
    else kept.push(`${label(r)}: ${ok}`);
  }
}

/**
 * A migration's rows in Ferry's shared stores, deleted when the store exists: its dead letters,
 * routing record and verification mismatches, and the load ledger's rows of tables now gone.
 */
async function forgetMigrationRows(db: Db, migration: string): Promise<void> {
  const deletes: Array<[string, string]> = [
    ['dead_letters', `DELETE FROM ${ferryTable('dead_letters')} WHERE migration_id = $1`],
    ['routing', `DELETE FROM ${ferryTable('routing')} WHERE migration = $1`],
    ['mismatches', `DELETE FROM ${ferryTable('mismatches')} WHERE verify_id = $1 OR left(verify_id, length($1) + 1) = $1 || '/'`],
    ['copied_chunks', `DELETE FROM ${ferryTable('copied_chunks')} WHERE $1::text IS NOT NULL AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = table_oid)`],
    ['loading_tables', `DELETE FROM ${ferryTable('loading_tables')} WHERE $1::text IS NOT NULL AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = table_oid)`],
  ];
  for (const [table, sql] of deletes) {
    if (await oidOf(db, 'ferry-table', ferryTable(table))) await db.query(sql, [migration]);
  }
}

/**
 * Drops exactly what the ledger records for `migration` (see the top of this file), then its
 * rows; once no other migration has rows, Ferry's shared objects that hold nothing of another
 * migration, and the ledger itself. Idempotent: a second call finds no rows and does nothing
 * (a migration with no rows changes nothing, not even the shared objects).
 * One transaction, the ledger locked against concurrent recording.
 */
export async function dropCreated(pool: Pool, migration: string): Promise<DroppedCreated> {
  return inTransaction(pool, async (db) => {
    // Every name pg_describe_object prints comes out qualified.
    await db.query(`SET LOCAL search_path = ''`);
    const dropped: string[] = [];
    const kept: string[] = [];
    if (!(await oidOf(db, 'ferry-table', CREATED_TABLE))) return { dropped, kept };
    await db.query(`LOCK TABLE ${CREATED_TABLE} IN SHARE ROW EXCLUSIVE MODE`);
    const read = async (m: string) =>
      (await db.query<Row>(`SELECT kind, name, oid::text AS oid FROM ${CREATED_TABLE} WHERE migration = $1 ORDER BY created_at, name`, [m])).rows;
    const recorded = await read(migration);
    // Nothing recorded for it (never prepared with its id, or dropped already): nothing to do.
    if (recorded.length === 0 || migration === SHARED) return { dropped, kept };
    const own = await live(db, recorded);
    await dropObjects(db, own.filter((r) => r.kind !== 'schema'), dropped, kept);
    await dropSchemas(db, own.filter((r) => r.kind === 'schema'), dropped, kept);
    await db.query(`DELETE FROM ${CREATED_TABLE} WHERE migration = $1`, [migration]);
    await forgetMigrationRows(db, migration);

    const others = await db.query(`SELECT 1 FROM ${CREATED_TABLE} WHERE migration <> $1 LIMIT 1`, [SHARED]);
    if (others.rowCount) return { dropped, kept };
    // No other migration is recorded: Ferry's own tables go unless another migration's rows are in them.
    const shared = await live(db, await read(SHARED));
    const tables: Row[] = [];
    for (const r of shared.filter((r) => r.kind === 'ferry-table' && r.name !== CREATED_TABLE)) {
      const rows = await db.query(`SELECT 1 FROM ${r.name} LIMIT 1`);
      if (rows.rowCount) kept.push(`${label(r)}: holds rows of other migrations`);
      else tables.push(r);
    }
    const before = dropped.length;
    await dropObjects(db, tables, dropped, kept);
    const gone = new Set(dropped.slice(before));
    await db.query(`DELETE FROM ${CREATED_TABLE} WHERE migration = $1 AND kind = 'ferry-table' AND name = ANY($2::text[])`, [
      SHARED,
      tables.filter((r) => gone.has(label(r))).map((r) => r.name),
    ]);
    const left = await db.query(`SELECT 1 FROM ${CREATED_TABLE} WHERE NOT (migration = $1 AND (kind = 'schema' OR name = $2)) LIMIT 1`, [SHARED, CREATED_TABLE]);
    if (left.rowCount) return { dropped, kept };
    // Nothing else recorded: the ledger, then the `_ferry` schema when Ferry made it and it is empty.
    const schema = shared.find((r) => r.kind === 'schema' && r.name === FERRY_SCHEMA);
    const ledger = shared.find((r) => r.name === CREATED_TABLE);
    await db.query(`DROP TABLE ${CREATED_TABLE}`);
    if (ledger) dropped.push(label(ledger));
    if (schema) await dropSchemas(db, [schema], dropped, kept);
    return { dropped, kept };
  });
}
