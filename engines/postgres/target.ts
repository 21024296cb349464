// PostgreSQL target: the same schema, table, column names and types as the source.
//
// prepareTable creates the table as the source defines it (types it uses, collations,
// defaults and their sequences, identity and generated columns, CHECK/UNIQUE/EXCLUDE
// constraints, the key) or checks that an existing one can hold the rows. Chunks are streamed
// with COPY (copy.ts). Secondary indexes and foreign keys come after the load
// (finishTable): building an index once is cheaper than maintaining it row by row, and a
// foreign key can only hold once the table it references is loaded too. Online, UNIQUE and
// EXCLUDE constraints, unique indexes and foreign keys wait for cutover
// (buildDeferredConstraints), since the sync may apply changes to different rows out of order.
//
// A partitioned source table lands as ONE PLAIN TABLE: its partitions are read through the
// parent, and its partitioned indexes and constraints are created on the plain table.
// Repartitioning the target is a schema decision Ferry leaves to people (create the
// partitioned table on the target beforehand: Ferry checks and uses it).
import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { ChunkRange } from '../../contracts/backfill';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import { keyTypes } from './source';
import { type SourceRow } from '../rows';
import { readColumnSequences, type ColumnSequence } from './ddl';
import { inTransaction, pgPool } from '../connections';
import { displayName, parseQualifiedName, quoteIdent, quoteQualified } from './identifiers';
import { rethrowClassified } from '../errors';
import { type BatchCopied, type ChunkCopied, type ChunkCopyControl, type Target, type Replay } from '../engine';
import { copyBatchStreaming } from './copy';
import { copyChunkWhole } from './copy-chunk';
import { addPendingKey, loadState, recordLoading, restartLoad } from './load-ledger';
import { createRecorded } from './created-ledger';
import { keyCollations } from './key-ranges';
import { planShape } from '../plan-shape';
import { addForeignKey, addUniqueConstraint, createIndex, ddlSchedule, isUniqueIndex, uniqueConstraintName, validateForeignKey } from './finish';

const configuration = (message: string) => ApplicationFailure.nonRetryable(message, 'ConfigurationError');

export class PostgresTarget implements Target {
  readonly kind = 'postgres' as const;
  private readonly statements = new Map<string, string>();

  constructor(private readonly spec: Spec) {}

  private get pool(): Pool {
    return pgPool(this.spec.target.url, 'target.url');
  }

  /** Sequences and FK targets are read from the source by name; the plan carries no oids. */
  private get source(): Pool {
    return pgPool(this.spec.source.url, 'source.url');
  }

  /**
   * With `migrationId`, each schema, type, sequence and table this creates is recorded under it
   * in the target's ledger (created-ledger.ts), in the transaction that creates it, so a
   * rollback can drop exactly those; without it nothing of the migration's is recorded.
   */
  async prepareTable(plan: TablePlan, migrationId?: string): Promise<void> {
    // Refused before anything is created: a target with no collation that orders text keys
    // like the source could neither replay a chunk nor verify one (key-ranges.ts).
    await keyCollations(this.source, this.pool, plan);
    try {
      await this.ensureSchema(plan.table.schema, migrationId);
      const existing = await loadState(this.pool, plan.table);
      if (existing?.pendingKey) {
        // Ferry created it, and a run that never finished loading it left rows in it.
        await this.checkExisting(plan, existing.oid, { keyPending: true });
        return await inTransaction(this.pool, (client) => restartLoad(client, plan, existing.oid));
      }
      if (existing) return await this.checkExisting(plan, existing.oid);
      const done = new Set<string>();
      for (const c of plan.columns) {
        if (c.userType && !done.has(c.userType.ddl)) await this.createType(c.userType, migrationId);
        if (c.userType) done.add(c.userType.ddl);
      }
      await this.createTable(plan, await readColumnSequences(this.source, plan.table), migrationId);
    } catch (err) {
      throw explainMissing(err, `creating ${plan.display} on the target`);
    }
  }

  /** Creates a schema only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even then. */
  private async ensureSchema(schema: string, migrationId: string | undefined): Promise<void> {
    const found = await this.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount !== 0) return;
    const name = quoteIdent(schema);
    await inTransaction(this.pool, (client) => createRecorded(client, migrationId, 'schema', name, [`CREATE SCHEMA ${name}`]));
  }

  /** Enum, domain and composite types, from the source's definition; one that exists is kept as it is. */
  private async createType(t: NonNullable<ColumnInfo['userType']>, migrationId: string | undefined): Promise<void> {
    await this.ensureSchema(t.schema, migrationId);
    try {
      await inTransaction(this.pool, (client) => createRecorded(client, migrationId, 'type', quoteQualified(t), [t.ddl]));
    } catch (err) {
      // A domain over another user type, a composite with an enum field: Ferry only creates
      // the types columns use directly.
      if ((err as { code?: string }).code === '42704') {
        throw configuration(
          `creating type ${displayName(t)} on the target: ${(err as Error).message}: create that type on the target first (as on the source), then start again`,
        );
      }
      throw err;
    }
  }

  /**
   * Sequences, table, ownership: one transaction, so a failure leaves nothing half made. The
   * key is left out and recorded in the load ledger (load-ledger.ts), to be added once the
   * table is loaded (finishTable).
   */
  private async createTable(plan: TablePlan, sequences: ColumnSequence[], migrationId: string | undefined): Promise<void> {
    const key = keyClause(plan);
    for (const s of sequences.filter((s) => !s.identity && s.sequence.schema !== plan.table.schema)) await this.ensureSchema(s.sequence.schema, migrationId);
    await inTransaction(this.pool, async (client) => {
      // A nextval() default names its sequence, which must exist before the table does. One
      // the table will own goes with it (not recorded); one that existed is left as it is.
      const made = new Set<ColumnSequence>();
      for (const s of sequences.filter((s) => !s.identity)) {
        const sql = `CREATE SEQUENCE ${quoteQualified(s.sequence)} AS ${s.type} ${s.options}`;
        if (await createRecorded(client, s.owned ? undefined : migrationId, 'sequence', quoteQualified(s.sequence), [sql])) made.add(s);
      }
      const defs = plan.columns.map((c) => columnDdl(c, sequences.find((s) => s.column === c.name && s.identity)));
      const withTable = ddlSchedule(plan, this.spec.mode).constraints.filter((c) => c.when === 'with the table');
      defs.push(...withTable.map((c) => c.clause));
      const created = await createRecorded(client, migrationId, 'table', quoteQualified(plan.table), [`CREATE TABLE ${quoteQualified(plan.table)} (\n  ${defs.join(',\n  ')}\n)`]);
      // Another session made it since prepareTable looked: undo this attempt; the retry checks that table.
      if (!created) throw new Error(`${plan.display} was created on the target by another session meanwhile: preparing it again`);
      if (key) await recordLoading(client, plan, key);
      // serial: dropping the table drops its sequence, as on the source (only one Ferry made here).
      for (const s of sequences.filter((s) => s.owned && !s.identity && made.has(s))) {
        await client.query(`ALTER SEQUENCE ${quoteQualified(s.sequence)} OWNED BY ${quoteQualified(plan.table)}.${quoteIdent(s.column)}`);
      }
    });
  }

  /**
   * A table that already exists is used as it is when it can hold the rows: every source
   * column with the same type, no extra column that COPY would leave NULL against a NOT NULL,
   * and a unique index on exactly the key columns (what upserts and replays rely on).
   */
  private async checkExisting(plan: TablePlan, oid: string, opts: { keyPending?: boolean } = {}): Promise<void> {
    const cols = await this.pool.query(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type,
              (attnotnull AND NOT atthasdef AND attidentity = '' AND attgenerated = '')::text AS required
         FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped`,
      [oid],
    );
    const found = new Map(cols.rows.map((r) => [r.name as string, r]));
    const table = plan.display;
    const fix = 'alter the target table or drop it so Ferry creates it';
    for (const c of plan.columns) {
      const t = found.get(c.name);
      if (!t) throw configuration(`${table}.${quoteIdent(c.name)} is missing on the target (source type ${c.type}): ${fix}`);
      if (t.type !== c.type) throw configuration(`${table}.${quoteIdent(c.name)} is ${t.type} on the target but ${c.type} on the source: ${fix}`);
    }
    for (const r of cols.rows) {
      if (r.required === 'true' && !plan.columns.some((c) => c.name === r.name)) {
        throw configuration(`${table}.${quoteIdent(r.name)} exists only on the target and is NOT NULL without a default, so copied rows cannot fill it: give it a default, make it nullable or drop it`);
      }
    }
    // Ferry created it without its key, which finishTable adds after the load.
    if (opts.keyPending) return;
    const unique = await this.pool.query(
      `SELECT array_to_json(ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) k(attnum)
                                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum))::text AS cols
         FROM pg_index i
        WHERE i.indrelid = $1::oid AND i.indisunique AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL`,
      [oid],
    );
    const key = [...plan.key].sort().join('\u0000');
    if (!unique.rows.some((r) => (JSON.parse(r.cols) as string[]).sort().join('\u0000') === key)) {
      throw configuration(
        `${table} exists on the target without a unique index on its key (${plan.key.map(quoteIdent).join(', ')}), which replays and upserts need: ` +
          `ALTER TABLE ${quoteQualified(plan.table)} ADD ${plan.keySource === 'primary key' ? 'PRIMARY KEY' : 'UNIQUE'} (${plan.key.map(quoteIdent).join(', ')}), or drop the table so Ferry creates it`,
      );
    }
  }

  async copyBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number, replay: Replay = 'batch'): Promise<BatchCopied> {
    return copyBatchStreaming(plan, source, this.pool, range, after, limit, replay);
  }

  copyChunk(plan: TablePlan, source: Pool, range: ChunkRange, control: ChunkCopyControl): Promise<ChunkCopied> {
    return copyChunkWhole(plan, source, this.pool, range, control);
  }

  /**
   * INSERT … SELECT FROM unnest(text[] per column) … ON CONFLICT (key): one statement per
   * batch, the casts reading PostgreSQL's text form back exactly. OVERRIDING SYSTEM VALUE lets
   * the source's identity values in; GENERATED ALWAYS identity columns outside the key are not
   * updated (PostgreSQL refuses it, and their values never change on the source anyway).
   */
  private async upsertSql(plan: TablePlan): Promise<string> {
    const id = planShape(plan);
    let sql = this.statements.get(id);
    if (sql) return sql;
    const always = await this.pool.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attidentity = 'a'`,
      [quoteQualified(plan.table)],
    );
    const fixed = new Set<string>(always.rows.map((r) => r.attname));
    const cols = plan.columns.filter((c) => !c.generated);
    const names = cols.map((c) => quoteIdent(c.name)).join(', ');
    const casts = cols.map((c, i) => `u.v${i}::${c.type}`).join(', ');
    const unnest = cols.map((_c, i) => `$${i + 1}::text[]`).join(', ');
    const aliases = cols.map((_c, i) => `v${i}`).join(', ');
    const updates = cols
      .filter((c) => !plan.key.includes(c.name) && !fixed.has(c.name))
      .map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
    sql =
      `INSERT INTO ${quoteQualified(plan.table)} (${names}) OVERRIDING SYSTEM VALUE SELECT ${casts} FROM unnest(${unnest}) AS u(${aliases}) ` +
      `ON CONFLICT (${plan.key.map(quoteIdent).join(', ')}) ` +
      (updates.length ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING');
    this.statements.set(id, sql);
    return sql;
  }

  async writeRows(plan: TablePlan, rows: SourceRow[]): Promise<void> {
    if (rows.length === 0) return;
    const cols = plan.columns.filter((c) => !c.generated);
    const values = cols.map((c) => rows.map((r) => r[c.name]));
    try {
      await this.pool.query(await this.upsertSql(plan), values);
    } catch (err) {
      // The statement was built from the target table as it was then; a table dropped and
      // recreated since (a target reset) may differ, so the next attempt builds it afresh.
      // A row's own fault (SQLSTATE classes 22, 23) says nothing about the statement.
      if (!/^2[23]/.test((err as { code?: string }).code ?? '')) this.statements.delete(planShape(plan));
      throw err;
    }
  }

  async deleteKeys(plan: TablePlan, keys: string[][]): Promise<void> {
    if (keys.length === 0) return;
    const types = keyTypes(plan);
    await this.pool.query(
      `DELETE FROM ${quoteQualified(plan.table)} t USING unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) AS k(${plan.key.map((_k, i) => `k${i}`).join(', ')}) ` +
        `WHERE ${plan.key.map((k, i) => `t.${quoteIdent(k)} = k.k${i}`).join(' AND ')}`,
      plan.key.map((_k, i) => keys.map((key) => key[i])),
    );
  }

  /**
   * After every table is loaded: indexes, then foreign keys, then sequences moved past the
   * copied values. Every step skips what exists and rebuilds an index left invalid (see
   * finish.ts), so running it again (a retry after a worker was killed mid-build, or once
   * more at cutover to move sequences past rows that arrived by CDC) is harmless.
   *
   * Online, what could refuse a valid interleaving of changes waits for cutover
   * (buildDeferredConstraints): each table's changes arrive on their own topic, so a child row
   * can land before its parent (foreign keys), and a unique value can move from one row to
   * another in an order the target sees differently (unique indexes; the UNIQUE and EXCLUDE
   * constraints were left out of the table when it was created).
   */
  async finishTable(plan: TablePlan, progress: (step: string) => void = () => undefined): Promise<void> {
    const schedule = ddlSchedule(plan, this.spec.mode);
    try {
      await this.buildLoaded(plan, progress);
      for (const { fk } of schedule.foreignKeys.filter((f) => f.when === 'after the load')) {
        progress(`foreign key ${fk.name}`);
        await addForeignKey(this.pool, this.source, plan, fk);
      }
      progress('sequences');
      await this.advanceSequences(plan);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      rethrowClassified(err, `finishing ${plan.display} on the target`);
    }
  }

  async finishLoad(plan: TablePlan, progress: (step: string) => void = () => undefined): Promise<void> {
    try {
      await this.buildLoaded(plan, progress);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      rethrowClassified(err, `building the key and indexes of ${plan.display} on the target`);
    }
  }

  /** The key a table was loaded without, then its indexes built after the load; each skipped when it exists. */
  private async buildLoaded(plan: TablePlan, progress: (step: string) => void): Promise<void> {
    await addPendingKey(this.pool, plan.table, (key) => progress(`key ${key}`));
    for (const { index } of ddlSchedule(plan, this.spec.mode).indexes.filter((i) => i.when === 'after the load')) {
      progress(`index ${index.name}`);
      await createIndex(this.pool, plan.table.schema, index);
    }
  }

  /**
   * What online mode leaves out until the sync stops (cutover): UNIQUE and EXCLUDE
   * constraints, unique indexes, then foreign keys. Offline they exist already, and this
   * changes nothing. Safe to run again, like finishTable.
   */
  async buildDeferredConstraints(plan: TablePlan, progress: (step: string) => void = () => undefined, opts: { validateForeignKeys?: boolean } = {}): Promise<void> {
    try {
      for (const clause of plan.ddl.constraints) {
        const name = uniqueConstraintName(clause);
        if (!name) continue;
        progress(`constraint ${name}`);
        await addUniqueConstraint(this.pool, plan.table, clause);
      }
      for (const index of plan.ddl.indexes.filter(isUniqueIndex)) {
        progress(`index ${index.name}`);
        await createIndex(this.pool, plan.table.schema, index);
      }
      for (const fk of plan.ddl.foreignKeys) {
        progress(`foreign key ${fk.name}`);
        await addForeignKey(this.pool, this.source, plan, fk, { validate: opts.validateForeignKeys !== false });
      }
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      rethrowClassified(err, `building the constraints of ${plan.display} on the target`);
    }
  }

  async validateForeignKeys(plan: TablePlan, progress: (step: string) => void = () => undefined): Promise<void> {
    try {
      for (const fk of plan.ddl.foreignKeys) {
        progress(`validating foreign key ${fk.name}`);
        await validateForeignKey(this.pool, plan, fk);
      }
    } catch (err) {
      rethrowClassified(err, `validating the foreign keys of ${plan.display} on the target`);
    }
  }

  /**
   * Each sequence the table's columns draw from is set to the largest of the source's last
   * value, the largest value copied and its own value (smallest for descending sequences), so
   * the next default on the target never collides with a copied row.
   */
  async advanceSequences(plan: TablePlan): Promise<void> {
    const table = quoteQualified(plan.table);
    for (const s of await readColumnSequences(this.source, plan.table)) {
      // The target's own sequence: the one its column is tied to, else the source's by name.
      const seq = await this.pool.query(
        `SELECT coalesce(pg_get_serial_sequence($1, $2), to_regclass($3)::text) AS name`,
        [table, s.column, quoteQualified(s.sequence)],
      );
      if (!seq.rows[0].name) continue;
      // Never backwards: a sequence several tables share keeps what an earlier table set.
      const [pick, extreme] = s.ascending ? ['greatest', 'max'] : ['least', 'min'];
      await this.pool.query(
        `SELECT setval($1::regclass, v, true)
           FROM (SELECT ${pick}($2::bigint, ${extreme}(${quoteIdent(s.column)})::bigint, pg_sequence_last_value($1::regclass)) AS v FROM ${table}) x
          WHERE v IS NOT NULL`,
        [seq.rows[0].name, s.lastValue],
      );
    }
  }

  async countRows(plan: TablePlan): Promise<number> {
    const res = await this.pool.query(`SELECT count(*)::text AS n FROM ${quoteQualified(plan.table)}`);
    return Number(res.rows[0].n);
  }
}

/** One column as the source defines it; identity columns keep the source's sequence name and options. */
function columnDdl(c: ColumnInfo, identity: ColumnSequence | undefined): string {
  let sql = `${quoteIdent(c.name)} ${c.type}`;
  if (c.collation) sql += ` COLLATE ${c.collation}`;
  if (c.generated) sql += ` GENERATED ALWAYS AS (${c.generationExpr}) STORED`;
  else if (identity) {
    sql += ` GENERATED ${identity.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY (SEQUENCE NAME ${quoteQualified(identity.sequence)} ${identity.options})`;
  } else if (c.defaultExpr) sql += ` DEFAULT ${c.defaultExpr}`;
  return sql + (c.nullable ? '' : ' NOT NULL');
}

/**
 * PRIMARY KEY, or for a key the spec took from a unique index, a UNIQUE constraint with that
 * index's name (so finishTable, which skips indexes that exist by name, builds no twin), unless
 * the source's own UNIQUE constraint of that name is already among the constraints.
 */
function keyClause(plan: TablePlan): string | null {
  const cols = plan.key.map(quoteIdent).join(', ');
  if (plan.keySource === 'primary key') return `PRIMARY KEY (${cols})`;
  const parsed = parseQualifiedName(plan.keySource.replace(/^unique index /, ''));
  if (typeof parsed === 'string') return `UNIQUE (${cols})`;
  const name = quoteIdent(parsed.name);
  if (plan.ddl.constraints.some((c) => c.startsWith(`CONSTRAINT ${name} `))) return null;
  return `CONSTRAINT ${name} UNIQUE (${cols})`;
}

/**
 * A type, collation or function the table's definition needs but the target lacks fails the
 * same way on every attempt: say which and what to do. Anything else goes to the usual
 * classification (activities/errors.ts) where the caller applies it.
 */
function explainMissing(err: unknown, where: string): unknown {
  const e = err as { code?: string; message?: string };
  if (e?.code === '42704') {
    return configuration(
      `${where}: ${e.message}: create it on the target first (CREATE EXTENSION for an extension's type, CREATE COLLATION for a collation, or the type as on the source), then start again`,
    );
  }
  if (e?.code === '42883') {
    return configuration(`${where}: ${e.message}: a default, generated column or constraint calls a function the target lacks: create it on the target (as on the source), then start again`);
  }
  return err;
}
