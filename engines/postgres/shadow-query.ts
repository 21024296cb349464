// Operator shadow queries in SQL: run on the source (always PostgreSQL) and on a PostgreSQL
// target with the sampled key's values as $1, $2 … (text parameters: PostgreSQL reads them as
// the types the statement needs, exactly as a key travels elsewhere). Both sides read through
// pools that return every value in PostgreSQL's own text form under the same session settings
// (connections.ts), so a row compares as the JSON array of its values' text: exact, with
// NULL kept apart from the text 'null'. Column names are not compared, only values in order.
import type { Pool } from 'pg';
import type { SourceQueryRows, TargetQueryRows } from '../engine';

/** The highest $n a statement uses (0 for none); placeholders inside quoted text count too, which only asks for more parameters. */
export function highestPlaceholder(sql: string): number {
  let max = 0;
  for (const m of sql.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** The key values a statement's $1…$n take; a statement asking for more values than the key has is refused. */
export function sqlParams(sql: string, key: string[]): string[] {
  const n = highestPlaceholder(sql);
  if (n > key.length) throw new Error(`the query uses $${n} but the table's key has ${key.length} column${key.length === 1 ? '' : 's'} ($1…$${key.length})`);
  return key.slice(0, n);
}

/** Runs one query with the key's values as parameters; values as text, rows as arrays. */
export async function runSqlQuery(pool: Pool, sql: string, key: string[]): Promise<SourceQueryRows> {
  const res = await pool.query({ text: sql, values: sqlParams(sql, key), rowMode: 'array' });
  return { fields: res.fields.map((f) => f.name), rows: res.rows as Array<Array<string | null>> };
}

/** One row's canonical text: its values' PostgreSQL text in column order, as JSON. */
export function canonicalSqlRow(values: ReadonlyArray<unknown>): string {
  return JSON.stringify(values.map((v) => (v === null || v === undefined ? null : String(v))));
}

export function canonicalRowsPostgres(source: SourceQueryRows, target: TargetQueryRows): { source: string[]; target: string[] } {
  return { source: source.rows.map(canonicalSqlRow), target: target.rows.map((r) => canonicalSqlRow(r as unknown[])) };
}
