// What a PostgreSQL target table gets after its rows are loaded: indexes, UNIQUE/EXCLUDE
// constraints (online mode: only at cutover) and foreign keys. Each step first looks at what
// exists, so running it again after a worker was killed part way (or a retry, or once more at
// cutover) finishes the job without doing it twice:
// - an index that exists and is valid is kept; one left INVALID (a build killed part way by
//   CREATE INDEX CONCURRENTLY, by hand or by another tool) is dropped and built again;
// - a constraint or foreign key that exists by name is kept; one left NOT VALID is validated.
import type { Pool } from 'pg';
import { addPendingKey } from './load-ledger';
import { ApplicationFailure } from '@temporalio/common';
import type { TableDdl, TablePlan } from '../../contracts/tables';
import { readTableDdl } from './ddl';
import { displayName, parseQualifiedName, quoteIdent, quoteQualified, type QualifiedName } from './identifiers';

type Index = TableDdl['indexes'][number];
type ForeignKey = TableDdl['foreignKeys'][number];

/** `CONSTRAINT "name" UNIQUE …` / `… EXCLUDE …` (readTableDdl always quotes the name). */
const UNIQUE_CLAUSE = /^CONSTRAINT ("(?:[^"]|"")+") (UNIQUE|EXCLUDE)\b/;

export const isUniqueIndex = (index: Index) => /^CREATE UNIQUE INDEX /.test(index.sql);

/** The quoted name of a UNIQUE or EXCLUDE constraint clause, null for any other (CHECK). */
export function uniqueConstraintName(clause: string): string | null {
  return UNIQUE_CLAUSE.exec(clause)?.[1] ?? null;
}

/** When a PostgreSQL target gets a piece of a table's DDL. */
export type BuiltWhen = 'with the table' | 'after the load' | 'at cutover';

export interface DdlSchedule {
  constraints: Array<{ clause: string; when: BuiltWhen }>;
  /** `key`: the unique index the key comes from, which the table is created with (its key clause). */
  indexes: Array<{ index: Index; when: BuiltWhen; key: boolean }>;
  foreignKeys: Array<{ fk: ForeignKey; when: BuiltWhen }>;
}

/** The quoted name of the source UNIQUE constraint (or unique index) the key comes from, if any. */
export function keyConstraintName(plan: TablePlan): string | null {
  if (plan.keySource === 'primary key') return null;
  const parsed = parseQualifiedName(plan.keySource.replace(/^unique index /, ''));
  return typeof parsed === 'string' ? null : quoteIdent(parsed.name);
}

/**
 * What a new target table is created with, what finishTable builds after the load, and what
 * waits for cutover (buildDeferredConstraints): offline, every constraint with the table and
 * indexes and foreign keys after the load; online, CHECK constraints (and the UNIQUE one that
 * is the key) with the table, non-unique indexes after the load, and UNIQUE and EXCLUDE
 * constraints, unique indexes and foreign keys at cutover, because the sync may apply a
 * unique value's move between rows, or a child before its parent, in an order that briefly
 * breaks them. The target code and `ferry plan` both read it.
 */
export function ddlSchedule(plan: TablePlan, mode: 'offline' | 'online'): DdlSchedule {
  const online = mode === 'online';
  const keyName = keyConstraintName(plan);
  return {
    constraints: plan.ddl.constraints.map((clause) => {
      const name = uniqueConstraintName(clause);
      return { clause, when: !online || name === null || name === keyName ? 'with the table' : 'at cutover' };
    }),
    indexes: plan.ddl.indexes.map((index) => ({
      index,
      when: online && isUniqueIndex(index) ? 'at cutover' : 'after the load',
      key: keyName !== null && quoteIdent(index.name) === keyName,
    })),
    foreignKeys: plan.ddl.foreignKeys.map((fk) => ({ fk, when: online ? 'at cutover' : 'after the load' })),
  };
}

/** pg_get_indexdef text → IF NOT EXISTS: an index built by an earlier run (or by the key clause) is kept. */
function ifNotExists(sql: string): string {
  return sql.replace(/^CREATE (UNIQUE )?INDEX /, (m) => `${m}IF NOT EXISTS `);
}

const codeOf = (err: unknown) => (err as { code?: string }).code;

/**
 * CREATE INDEX IF NOT EXISTS, after dropping an INVALID index of that name (IF NOT EXISTS
 * would keep it: an index that is never used, and for a unique one, never enforced). Also
 * when another table's finishTable (see createUniqueIndexesOf) builds the same index at the
 * same moment: the loser of that race gets a duplicate error although the index now exists.
 */
export async function createIndex(target: Pool, schema: string, index: Index): Promise<void> {
  const name = quoteQualified({ schema, name: index.name });
  const found = await target.query('SELECT indisvalid::text AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [name]);
  if (found.rows[0]?.valid === 'false') await target.query(`DROP INDEX IF EXISTS ${name}`);
  try {
    await target.query(ifNotExists(index.sql));
  } catch (err) {
    if (codeOf(err) !== '42P07' && codeOf(err) !== '23505') throw err;
    const again = await target.query('SELECT (to_regclass($1) IS NOT NULL)::text AS found', [name]);
    if (again.rows[0].found !== 'true') throw err;
  }
}

/** ALTER TABLE … ADD CONSTRAINT for a UNIQUE or EXCLUDE clause, unless the table has a constraint of that name. */
export async function addUniqueConstraint(target: Pool, table: QualifiedName, clause: string): Promise<void> {
  const name = uniqueConstraintName(clause);
  if (!name) return;
  const conname = name.slice(1, -1).replace(/""/g, '"');
  const exists = async () =>
    (await target.query(`SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, [quoteQualified(table), conname])).rowCount! > 0;
  if (await exists()) return;
  try {
    await target.query(`ALTER TABLE ${quoteQualified(table)} ADD ${clause}`);
  } catch (err) {
    // 42710/42P07: a concurrent run added it (or its index) first.
    if ((codeOf(err) !== '42710' && codeOf(err) !== '42P07') || !(await exists())) throw err;
  }
}

/**
 * A referenced table's unique indexes and UNIQUE constraints, from the source's definition:
 * a foreign key needs them, and that table's own finishing (or deferred build) may not have
 * run yet.
 */
async function createUniqueKeysOf(target: Pool, source: Pool, table: QualifiedName): Promise<void> {
  // Its key, when that table is still loading without it (load-ledger.ts).
  await addPendingKey(target, table);
  const rel = await source.query('SELECT to_regclass($1)::oid::text AS oid', [quoteQualified(table)]);
  if (!rel.rows[0].oid) return;
  const ddl = await readTableDdl(source, rel.rows[0].oid);
  for (const clause of ddl.constraints) if (UNIQUE_CLAUSE.exec(clause)?.[2] === 'UNIQUE') await addUniqueConstraint(target, table, clause);
  for (const index of ddl.indexes) if (isUniqueIndex(index)) await createIndex(target, table.schema, index);
}

/**
 * NOT VALID, then validated (the check reads the table once instead of row by row). With
 * `validate: false` (the cutover, inside the freeze) only the NOT VALID constraint is added:
 * it holds every new write at once, and validateForeignKey reads the old rows after the switch.
 */
export async function addForeignKey(target: Pool, source: Pool, plan: TablePlan, fk: ForeignKey, opts: { validate?: boolean } = {}): Promise<void> {
  const table = quoteQualified(plan.table);
  const ref = await target.query('SELECT (to_regclass($1) IS NOT NULL)::text AS found', [quoteQualified(fk.references)]);
  if (ref.rows[0].found !== 'true') {
    throw ApplicationFailure.nonRetryable(
      `foreign key ${quoteIdent(fk.name)} of ${plan.display} references ${displayName(fk.references)}, which is not on the target: ` +
        `add ${displayName(fk.references)} to the spec's tables (or create it on the target), or drop the foreign key on the source`,
      'ConfigurationError',
    );
  }
  const existing = await target.query(`SELECT convalidated::text AS valid FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, [table, fk.name]);
  // A source FK that is itself NOT VALID may have violating rows: replay it unvalidated.
  const sourceValid = !/\sNOT VALID$/.test(fk.definition);
  if (existing.rowCount === 0) {
    const add = `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.definition.replace(/\sNOT VALID$/, '')} NOT VALID`;
    try {
      await target.query(add);
    } catch (err) {
      // 42830: the referenced columns' unique index or constraint is not built yet. Build the
      // referenced table's unique keys now.
      if (codeOf(err) !== '42830') throw err;
      await createUniqueKeysOf(target, source, fk.references);
      await target.query(add);
    }
  }
  if (opts.validate !== false && sourceValid && existing.rows[0]?.valid !== 'true') {
    await target.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`);
  }
}

/** VALIDATE CONSTRAINT for a foreign key added NOT VALID, unless the source's own is NOT VALID or it is validated already. */
export async function validateForeignKey(target: Pool, plan: TablePlan, fk: ForeignKey): Promise<void> {
  if (/\sNOT VALID$/.test(fk.definition)) return;
  const table = quoteQualified(plan.table);
  const existing = await target.query(`SELECT convalidated::text AS valid FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, [table, fk.name]);
  if (existing.rows[0] && existing.rows[0].valid !== 'true') await target.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`);
}
