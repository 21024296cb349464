// Operator shadow queries on a MongoDB target: `find(filter)` or `aggregate(pipeline)` on a
// collection, with every string value exactly "$1", "$2" … replaced by the sampled key's
// column values converted as the document mapping converts them (an int8 key column becomes
// a Long, a uuid Binary, and so on), so a filter on a key field matches what the copy wrote.
//
// How the results compare (exact where the mapping knows the column, stated where not):
//  - a source result column named like a column of the query's table is converted by that
//    column's converter (its lossy policy included) and compared under the column's field
//    name (renames apply), as BSON by verification's canonical text: Int32 5, Int64 5, Double
//    5.0 and Decimal128 5.00 are one value, any other difference (type class, value) is not;
//  - any other source column (an aggregate, an alias) compares under its own name: a value
//    that reads as a decimal number as that number (so count(*) = $sum), other text as a string;
//  - target documents are compared on exactly the field names the source rows have (a field
//    the document lacks is null; `_id` and other fields the source does not select are left
//    out); a row's canonical text is its fields in name order.
// Results compare as multisets: order never matters, duplicates do.
import type { Document } from 'mongodb';
import type { ShadowQuery, Spec } from '../../contracts/spec';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import type { SourceQueryRows, TargetQueryRows } from '../engine';
import { mongoClient } from '../connections';
import { canonicalText } from '../checksum';
import { columnConverter, fieldOf } from './mapping/columns';
import { numericExact } from './mapping/decimal128';

/** The key's values as the mapping converts its key columns (text form in, BSON values out). */
export function keyParams(plan: TablePlan, key: string[]): unknown[] {
  return plan.key.map((name, i) => {
    const col = plan.columns.find((c) => c.name === name)!;
    const convert = columnConverter(col);
    return convert === null ? key[i] : convert(key[i]);
  });
}

/** Every BSON type as stored (as verification reads documents). */
const rawBson = { promoteValues: false, promoteLongs: false, promoteBuffers: false } as const;

const PLACEHOLDER = /^\$(\d+)$/;

/** A copy of a filter or pipeline with every string "$n" replaced by params[n-1]; a "$n" beyond the key is refused. */
export function substituteParams(value: unknown, params: readonly unknown[]): unknown {
  if (typeof value === 'string') {
    const m = PLACEHOLDER.exec(value);
    if (!m) return value;
    const n = Number(m[1]);
    if (n < 1 || n > params.length) throw new Error(`the query uses "$${n}" but the table's key has ${params.length} column${params.length === 1 ? '' : 's'} ("$1"…"$${params.length}")`);
    return params[n - 1];
  }
  if (Array.isArray(value)) return value.map((v) => substituteParams(v, params));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: substituteParams(v, params), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

export async function runQueryMongo(spec: Spec, plan: TablePlan, query: ShadowQuery['target'], key: string[]): Promise<TargetQueryRows> {
  if (typeof query === 'string') throw new Error('a MongoDB target runs { collection, filter } or { collection, pipeline }, not SQL');
  if (query.filter && query.pipeline) throw new Error('give either filter or pipeline, not both');
  const params = keyParams(plan, key);
  const db = (await mongoClient(spec.target.url)).db(spec.target.database);
  const coll = db.collection(query.collection);
  const rows = query.pipeline
    ? await coll.aggregate(substituteParams(query.pipeline, params) as Document[], rawBson).toArray()
    : await coll.find(substituteParams(query.filter ?? {}, params) as Document, rawBson).toArray();
  return { fields: null, rows };
}

/** What a source result column becomes: its field name and how its text converts. */
interface MappedField {
  name: string;
  value: (text: string) => unknown;
}

function unmapped(text: string): unknown {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) {
    try {
      return numericExact(text.trim());
    } catch {
      return text; // more digits than Decimal128 holds: compared as text
    }
  }
  return text;
}

function mappedField(plan: TablePlan, name: string): MappedField {
  const col: ColumnInfo | undefined = plan.columns.find((c) => c.name === name);
  if (!col) return { name, value: unmapped };
  const convert = columnConverter(col);
  return { name: fieldOf(col) ?? name, value: convert === null ? (t) => t : convert };
}

const rowText = (names: string[], values: unknown[]) => names.map((n, i) => `${n.length}:${n}=${canonicalText(values[i] ?? null)}`).join(';');

export function canonicalRowsMongo(plan: TablePlan, source: SourceQueryRows, target: TargetQueryRows): { source: string[]; target: string[] } {
  const fields = source.fields.map((f) => mappedField(plan, f));
  // Name order, so the row text does not depend on the SELECT list's order.
  const order = fields.map((_f, i) => i).sort((a, b) => (fields[a].name < fields[b].name ? -1 : fields[a].name > fields[b].name ? 1 : 0));
  const names = order.map((i) => fields[i].name);
  const sourceRows = source.rows.map((r) => rowText(names, order.map((i) => (r[i] === null ? null : fields[i].value(r[i] as string)))));
  const targetRows = (target.rows as Document[]).map((d) => rowText(names, names.map((n) => (Object.prototype.hasOwnProperty.call(d, n) ? d[n] : null))));
  return { source: sourceRows, target: targetRows };
}
