// Row changes into a PostgreSQL target, set-based: per batch one DELETE … USING unnest for the
// deletes, one INSERT … ON CONFLICT for the full rows (PostgresTarget's own statements, so the
// sync writes exactly as the backfill's repair does), and one UPDATE … FROM unnest per set of
// unavailable columns for the partial rows. Every value travels as text and is cast by the
// column's type, as the backfill's upserts do.
import { escapeLiteral, type Pool } from 'pg';
import type { Spec } from '../../contracts/spec';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import { inTransaction, pgPool } from '../connections';
import { isUniqueViolation, rethrowClassified } from '../errors';
import { quoteIdent, quoteQualified } from './identifiers';
import { PostgresTarget } from './target';
import { createRecorded } from './created-ledger';
import { planShape } from '../plan-shape';
import { coalesce } from '../coalesce';
import { type ChangeSink } from '../engine';
import { isDataError, keyText, writeIsolating, type Refused } from '../write-isolating';
import type { ChangeFailure, RowChange } from '../rows';

type Upsert = Extract<RowChange, { kind: 'upsert' }>;

const FOREIGN_KEY_VIOLATION = '23503';
/** TRUNCATE of a table another table's foreign key references. */
const FEATURE_NOT_SUPPORTED = '0A000';

interface PgError {
  code?: string;
  message?: string;
  constraint?: string;
}

/**
 * A foreign key violation is the one data error that is not the row's fault: each table's
 * changes arrive on their own topic, so a child row can come before its parent (or a parent's
 * delete before its children's). Applying the batch again later succeeds; dead-lettering it
 * would lose the row.
 */
const refuses = (err: unknown) => isDataError(err) && (err as PgError).code !== FOREIGN_KEY_VIOLATION;

export class PostgresSink implements ChangeSink {
  private readonly target: PostgresTarget;
  private readonly updates = new Map<string, Promise<UpdateStatement | null>>();

  constructor(private readonly spec: Spec) {
    this.target = new PostgresTarget(spec);
  }

  private get pool(): Pool {
    return pgPool(this.spec.target.url, 'target.url');
  }

  async apply(plan: TablePlan, changes: RowChange[]): Promise<ChangeFailure[]> {
    const deletes: RowChange[] = [];
    const full: Upsert[] = [];
    const partial = new Map<string, Upsert[]>();
    // Coalescing again is a no-op on coalesced input and keeps a stray duplicate key from
    // failing a whole statement (ON CONFLICT cannot touch one row twice).
    for (const c of coalesce(changes)) {
      if (c.kind === 'delete') deletes.push(c);
      else if (c.unavailable.length === 0) full.push(c);
      else {
        const id = JSON.stringify([...c.unavailable].sort());
        const group = partial.get(id);
        if (group) group.push(c);
        else partial.set(id, [c]);
      }
    }
    const refused: Refused<RowChange>[] = [];
    try {
      // Deletes first: a unique value a deleted row held is free for the upserts that follow.
      refused.push(...(await writeIsolating(deletes, (batch) => this.target.deleteKeys(plan, batch.map((c) => c.key)), refuses)));
      refused.push(...(await writeIsolating(full, (batch) => this.target.writeRows(plan, batch.map((c) => c.row)), refuses)));
      for (const group of partial.values()) {
        refused.push(...(await writeIsolating(group, (batch) => this.update(plan, group[0].unavailable, batch), refuses)));
      }
    } catch (err) {
      throw retryOrClassify(err, `applying changes to ${plan.display} on the target`);
    }
    // Isolated and tried again after the rest of the batch (writeIsolating), a unique value
    // that moved within the batch has landed by now. One still refused is held by a row whose
    // change has not arrived yet: retry the batch rather than dead-letter the row.
    const waiting = refused.find(({ error }) => isUniqueViolation(error));
    if (waiting) {
      const e = waiting.error as PgError;
      throw new Error(
        `applying changes to ${plan.display} on the target: ${reason(plan, waiting.item, e)}: another row still holds that value, and its change has not been applied yet; ` +
          'the batch is retried until it is (if this persists, the target has a unique constraint or index the source does not)',
      );
    }
    return refused.map(({ item, error }) => ({ change: item, reason: reason(plan, item, error) }));
  }

  /** Sets the available columns of rows that exist; a missing row stays missing. */
  private async update(plan: TablePlan, unavailable: string[], changes: Upsert[]): Promise<void> {
    const statement = await this.updateStatement(plan, unavailable);
    if (!statement) return;
    const keys = plan.key.map((_k, i) => changes.map((c) => c.key[i]));
    const values = statement.columns.map((col) => changes.map((c) => c.row[col.name] ?? null));
    try {
      await this.pool.query(statement.sql, [...keys, ...values]);
    } catch (err) {
      // Built from the target table as it was; one recreated since may differ: rebuild next
      // time (not for a row's own fault, SQLSTATE classes 22 and 23).
      if (!/^2[23]/.test((err as PgError).code ?? '')) this.updates.delete(updateId(plan, unavailable));
      throw err;
    }
  }

  private updateStatement(plan: TablePlan, unavailable: string[]): Promise<UpdateStatement | null> {
    const id = updateId(plan, unavailable);
    let statement = this.updates.get(id);
    if (!statement) {
      statement = buildUpdate(this.pool, plan, unavailable);
      statement.catch(() => this.updates.delete(id));
      this.updates.set(id, statement);
    }
    return statement;
  }

  async truncate(plan: TablePlan): Promise<void> {
    const table = quoteQualified(plan.table);
    try {
      await this.pool.query(`TRUNCATE ${table}`);
    } catch (err) {
      if ((err as PgError).code !== FEATURE_NOT_SUPPORTED) rethrowClassified(err, `truncating ${plan.display} on the target`);
      // Another table's foreign key references this one. The source truncated that table too
      // (it had to), but its own truncate event may not have been applied yet: DELETE honours
      // the foreign keys' actions and fails (retried) until the referencing rows are gone,
      // where TRUNCATE … CASCADE could wipe rows the other table received since.
      try {
        await this.pool.query(`DELETE FROM ${table}`);
      } catch (deleteErr) {
        throw retryOrClassify(deleteErr, `emptying ${plan.display} on the target (source TRUNCATE)`);
      }
    }
  }

  async addColumns(plan: TablePlan, added: ColumnInfo[], existingValues?: Record<string, string | null>, migrationId?: string): Promise<void> {
    const table = quoteQualified(plan.table);
    try {
      for (const c of added) {
        if (c.userType) await this.createType(c.userType, migrationId);
        const fill = fillFor(c, existingValues);
        await inTransaction(this.pool, async (client) => {
          await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${columnDdl(c, fill)}`);
          if (!c.generated && fill !== c.defaultExpr) {
            await client.query(
              `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(c.name)} ${c.defaultExpr ? `SET DEFAULT ${c.defaultExpr}` : 'DROP DEFAULT'}`,
            );
          }
        });
      }
    } catch (err) {
      rethrowClassified(err, `adding ${added.map((c) => c.name).join(', ')} to ${plan.display} on the target`);
    }
  }

  /** An enum or domain a new column uses, as PostgresTarget creates them (and records them, with `migrationId`): kept when it exists. */
  private async createType(t: NonNullable<ColumnInfo['userType']>, migrationId: string | undefined): Promise<void> {
    const schema = quoteIdent(t.schema);
    const found = await this.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]);
    if (found.rowCount === 0) await inTransaction(this.pool, (client) => createRecorded(client, migrationId, 'schema', schema, [`CREATE SCHEMA ${schema}`]));
    await inTransaction(this.pool, (client) => createRecorded(client, migrationId, 'type', quoteQualified(t), [t.ddl]));
  }
}

const updateId = (plan: TablePlan, unavailable: string[]) => JSON.stringify([planShape(plan), [...unavailable].sort()]);

interface UpdateStatement {
  sql: string;
  /** The columns it sets, in parameter order after the key columns. */
  columns: ColumnInfo[];
}

/**
 * UPDATE … SET available columns FROM unnest(key text[]…, value text[]…) WHERE key matches.
 * Key columns are matched, never set; generated columns and GENERATED ALWAYS identity columns
 * cannot be set (and never change on the source). Null when nothing is left to set.
 */
async function buildUpdate(pool: Pool, plan: TablePlan, unavailable: string[]): Promise<UpdateStatement | null> {
  const always = await pool.query(`SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attidentity = 'a'`, [quoteQualified(plan.table)]);
  const fixed = new Set<string>(always.rows.map((r) => r.attname));
  const columns = plan.columns.filter((c) => !c.generated && !plan.key.includes(c.name) && !fixed.has(c.name) && !unavailable.includes(c.name));
  if (columns.length === 0) return null;
  const keyColumns = plan.key.map((k) => plan.columns.find((c) => c.name === k)!);
  const params = [...keyColumns, ...columns].map((_c, i) => `$${i + 1}::text[]`).join(', ');
  const aliases = [...keyColumns.map((_c, i) => `k${i}`), ...columns.map((_c, i) => `v${i}`)].join(', ');
  const sql =
    `UPDATE ${quoteQualified(plan.table)} AS t SET ${columns.map((c, i) => `${quoteIdent(c.name)} = u.v${i}::${c.type}`).join(', ')} ` +
    `FROM unnest(${params}) AS u(${aliases}) ` +
    `WHERE ${keyColumns.map((c, i) => `t.${quoteIdent(c.name)} = u.k${i}::${c.type}`).join(' AND ')}`;
  return { sql, columns };
}

/**
 * What rows already on the target get in an added column. The source's stored value when it
 * has one (PostgreSQL keeps a non-volatile default as the column's "missing value", without a
 * rewrite; the column's default may have changed since, so the default is set apart, after).
 * No stored value means those rows hold NULL, unless the column is NOT NULL: then a volatile
 * default filled them by rewriting the table, and the target evaluates that default itself
 * (its values cannot be the source's anyway). Without `existingValues`, the default it is.
 */
function fillFor(c: ColumnInfo, existingValues: Record<string, string | null> | undefined): string | null {
  const existing = existingValues?.[c.name];
  if (existing !== undefined && existing !== null) return `${escapeLiteral(existing)}::${c.type}`;
  if (existing === null && c.nullable) return null;
  return c.defaultExpr;
}

/** A column for ADD COLUMN: type, collation, generation or default, NOT NULL. */
function columnDdl(c: ColumnInfo, fill: string | null): string {
  let sql = `${quoteIdent(c.name)} ${c.type}`;
  if (c.collation) sql += ` COLLATE ${c.collation}`;
  if (c.generated) sql += ` GENERATED ALWAYS AS (${c.generationExpr}) STORED`;
  else if (fill) sql += ` DEFAULT ${fill}`;
  return sql + (c.nullable ? '' : ' NOT NULL');
}

/** A foreign key violation becomes a plain (retryable) error; anything else is classified as usual. */
function retryOrClassify(err: unknown, where: string): unknown {
  const e = err as PgError;
  if (e?.code === FOREIGN_KEY_VIOLATION) {
    return new Error(
      `${where}: ${e.message}: the row it refers to (or that refers to it) is in another table whose changes have not been applied yet; the batch is retried until they are`,
    );
  }
  try {
    rethrowClassified(err, where);
  } catch (classified) {
    return classified;
  }
}

function reason(plan: TablePlan, change: RowChange, error: unknown): string {
  const e = error as PgError;
  const code = e?.code ? ` (SQLSTATE ${e.code})` : '';
  return `${plan.display} key ${keyText(plan, change.key)}: ${e?.message ?? String(error)}${code}`;
}
