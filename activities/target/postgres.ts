// PostgreSQL target: the same schema and table name as the source. Rows are written from
// their text form with casts to the column types (exact for every type PostgreSQL can print)
// and upserted on the primary key, so a replayed batch changes nothing.
import type { Spec } from '../spec';
import type { Pool } from 'pg';
import type { ChunkRange, ColumnInfo, TablePlan } from '../../workflows/definitions';
import { keyOf, readBatch, type SourceRow } from '../source/postgres';
import { pgPool } from '../connections';
import { quoteIdent, quoteQualified } from '../identifiers';
import type { BatchCopied, Target } from './target';
import { planShape } from './shape';

export class PostgresTarget implements Target {
  readonly kind = 'postgres' as const;
  private readonly statements = new Map<string, string>();

  constructor(private readonly spec: Spec) {}

  private get pool() {
    return pgPool(this.spec.target.url, 'target.url');
  }

  async prepareTable(plan: TablePlan): Promise<void> {
    const cols = plan.columns.map((c) => {
      const gen = c.generated ? ` GENERATED ALWAYS AS (${c.generationExpr}) STORED` : '';
      return `${quoteIdent(c.name)} ${c.type}${c.nullable ? '' : ' NOT NULL'}${gen}`;
    });
    cols.push(`PRIMARY KEY (${plan.key.map(quoteIdent).join(', ')})`);
    await this.ensureSchema(plan.table.schema);
    for (const c of plan.columns) if (c.userType) await this.createType(c.userType);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${quoteQualified(plan.table)} (\n  ${cols.join(',\n  ')}\n)`);
  }

  /** Creates a schema only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even then. */
  private async ensureSchema(schema: string): Promise<void> {
    const found = await this.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  }

  /** Enum and domain types the table uses, created from the source's definition when missing. */
  private async createType(t: NonNullable<ColumnInfo['userType']>): Promise<void> {
    await this.ensureSchema(t.schema);
    await this.pool.query(`DO $ferry$ BEGIN ${t.ddl}; EXCEPTION WHEN duplicate_object THEN NULL; END $ferry$`);
  }

  /** INSERT … SELECT FROM unnest(text[] per column) … ON CONFLICT: one statement per batch. */
  private upsertSql(plan: TablePlan): string {
    const id = planShape(plan);
    let sql = this.statements.get(id);
    if (sql) return sql;
    const cols = plan.columns.filter((c) => !c.generated);
    const names = cols.map((c) => quoteIdent(c.name)).join(', ');
    const casts = cols.map((c, i) => `u.v${i}::${c.type}`).join(', ');
    const unnest = cols.map((_c, i) => `$${i + 1}::text[]`).join(', ');
    const aliases = cols.map((_c, i) => `v${i}`).join(', ');
    const updates = cols.filter((c) => !plan.key.includes(c.name)).map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
    sql =
      `INSERT INTO ${quoteQualified(plan.table)} (${names}) SELECT ${casts} FROM unnest(${unnest}) AS u(${aliases}) ` +
      `ON CONFLICT (${plan.key.map(quoteIdent).join(', ')}) ` +
      (updates.length ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING');
    this.statements.set(id, sql);
    return sql;
  }

  async writeRows(plan: TablePlan, rows: SourceRow[]): Promise<void> {
    if (rows.length === 0) return;
    const cols = plan.columns.filter((c) => !c.generated);
    const values = cols.map((c) => rows.map((r) => r[c.name]));
    await this.pool.query(this.upsertSql(plan), values);
  }

  async copyBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number): Promise<BatchCopied> {
    const rows = await readBatch(source, plan, range, after, limit);
    await this.writeRows(plan, rows);
    return { rows: rows.length, last: rows.length ? keyOf(plan, rows[rows.length - 1]) : null };
  }

  async deleteKeys(plan: TablePlan, keys: string[][]): Promise<void> {
    if (keys.length === 0) return;
    const types = plan.key.map((k) => plan.columns.find((c) => c.name === k)!.type);
    await this.pool.query(
      `DELETE FROM ${quoteQualified(plan.table)} t USING unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) AS k(${plan.key.map((_k, i) => `k${i}`).join(', ')}) ` +
        `WHERE ${plan.key.map((k, i) => `t.${quoteIdent(k)} = k.k${i}`).join(' AND ')}`,
      plan.key.map((_k, i) => keys.map((key) => key[i])),
    );
  }

  async finishTable(): Promise<void> {}

  async countRows(plan: TablePlan): Promise<number> {
    const res = await this.pool.query(`SELECT count(*)::text AS n FROM ${quoteQualified(plan.table)}`);
    return Number(res.rows[0].n);
  }
}
