// Row → MongoDB document. Values arrive in PostgreSQL's text output (see ../connections.ts:
// TimeZone UTC, DateStyle ISO, extra_float_digits 3) and are converted by type OID, so
// nothing passes through a lossy JavaScript number on the way:
//
//   smallint, integer → Int32          bigint → Int64 (Long)       numeric → Decimal128
//   real, double      → Double (NaN, ±Infinity, -0 kept)           boolean → Boolean
//   bytea → Binary 0  uuid → Binary 4  timestamptz, timestamp (read as UTC), date → Date
//   json, jsonb → documents and arrays, numbers exact (Int32, Int64, Double or Decimal128)
//   arrays → arrays (nested when multi-dimensional, NULL elements as null)
//   text, varchar, char (padding kept), enums and every other type → PostgreSQL's text
//
// A value the target cannot hold exactly follows its column's lossy policy: `fail` throws a
// MappingError naming table, column, row key and the spec option to change; `string` stores
// the whole column as PostgreSQL's text; `truncate` drops timestamp digits below the
// millisecond and rounds numerics to 34 significant digits. Converters are chosen once per
// column when the mapper is built; the per-row work is a loop over precompiled closures.
//
// This file turns whole rows (and keys) into documents; the per-type work is in scalars.ts,
// timestamps.ts, decimal128.ts, json.ts and columns.ts.
import type { Pool } from 'pg';
import type { Document } from 'mongodb';
import type { ColumnInfo, EmbedPlan, TablePlan } from '../../../contracts/tables';
import { readMatching } from '../../postgres/source';
import { planShape } from '../../plan-shape';
import type { SourceRow } from '../../rows';
import { MappingError } from '../../errors';
import { Unmappable, preview, type Convert } from './convert';
import { columnConverter, fieldOf, mayBeArray } from './columns';
import { OID } from './oids';

/** Sets a property even when its name is `__proto__` (which plain assignment would not). */
function setOwn(target: Document, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

interface CompiledColumn {
  name: string;
  /** Position among the plan's columns (in a row read as an array). */
  position: number;
  field: string | null;
  convert: Convert;
  /** Position in the key, or -1. */
  keyIndex: number;
}

interface Compiled {
  columns: CompiledColumn[];
  /** The key columns' converters, in key order. */
  key: CompiledColumn[];
  /** How _id is built from the converted key values. */
  id: (values: unknown[]) => unknown;
  /** True when _id is the single key column's value itself. */
  simpleId: boolean;
}

/**
 * smallint and integer as plain JavaScript numbers, which BSON serializes as the same Int32
 * (an integer number within 32 bits is an Int32 on the wire), without an Int32 object per
 * value: the backfill's documents go straight to the driver, so only their bytes matter.
 */
const int32Number = (t: string) => +t | 0;

function wireConverter(c: ColumnInfo): Convert {
  const scalar = c.elementOid === 0 && (c.lossy ?? 'fail') !== 'string';
  const oid = c.baseOid || c.typeOid;
  return scalar && (oid === OID.int2 || oid === OID.int4) ? int32Number : columnConverter(c);
}

function compile(plan: TablePlan, wire = false): Compiled {
  const all: CompiledColumn[] = plan.columns.map((c, position) => ({
    name: c.name,
    position,
    field: fieldOf(c),
    convert: wire ? wireConverter(c) : columnConverter(c),
    keyIndex: plan.key.indexOf(c.name),
  }));
  const key = plan.key.map((k) => {
    const found = all.find((c) => c.name === k);
    if (!found) throw new MappingError(`${plan.display}: key column ${k} is not among the table's columns`);
    return found;
  });
  const keyColumns = plan.key.map((k) => plan.columns.find((c) => c.name === k)!);
  let id: Compiled['id'];
  const simpleId = key.length === 1 && !mayBeArray(keyColumns[0]);
  if (simpleId) {
    id = (values) => values[0];
  } else {
    // A composite key — or a single key that may be an array, which MongoDB refuses as an
    // _id — becomes a subdocument of the key columns by their column names, in key order.
    const names = plan.key;
    const unsafe = names.includes('__proto__');
    id = (values) => {
      const sub: Document = {};
      for (let i = 0; i < names.length; i++) {
        if (unsafe) setOwn(sub, names[i], values[i]);
        else sub[names[i]] = values[i];
      }
      return sub;
    };
  }
  return { columns: all.filter((c) => c.field !== null || c.keyIndex >= 0), key, id, simpleId };
}

/** What a failed conversion says: where, which row, and the spec option that accepts it. */
function mappingError(plan: TablePlan, column: string, keyText: string, err: unknown): MappingError {
  if (err instanceof MappingError) return err;
  const where = `${plan.display}.${column} (row ${keyText})`;
  if (err instanceof Unmappable) {
    const fix = err.truncatable
      ? `set tables[].columns.${column}.lossy: string (store the column as PostgreSQL text) or truncate (drop what does not fit) for ${plan.display} in the spec`
      : `set tables[].columns.${column}.lossy: string for ${plan.display} in the spec to store the column as PostgreSQL text`;
    return new MappingError(`${where}: ${err.message}: ${fix}`);
  }
  return new MappingError(`${where} cannot be converted: ${(err as Error).message}`);
}

function rowKeyText(plan: TablePlan, row: SourceRow): string {
  return plan.key.map((k) => `${k}=${preview(String(row[k]))}`).join(', ');
}

/** A compiled row mapper for one table: converters are chosen once, not per row. */
export function documentMapper(plan: TablePlan): (row: SourceRow) => Document {
  return compileMapper<SourceRow>(plan, false, (row, c) => row[c.name], (row) => rowKeyText(plan, row));
}

/**
 * The backfill's mapper, for rows read as arrays (pg `rowMode: 'array'`), the values in the
 * order of `plan.columns`: its documents serialize to the same BSON as documentMapper's, built
 * without a row object per row, and with smallint and integer values as plain numbers (the
 * same Int32 on the wire, see int32Number), so they are for writing, not for comparing by value.
 */
export function valuesMapper(plan: TablePlan): (values: RowValues) => Document {
  return compileMapper<RowValues>(plan, true, (values, c) => values[c.position], (values) => plan.key.map((k) => `${k}=${preview(String(values[plan.columns.findIndex((c) => c.name === k)]))}`).join(', '));
}

/** A row's values in the order of its plan's columns (PostgreSQL text form, null = SQL NULL). */
export type RowValues = (string | null)[];

function compileMapper<R>(plan: TablePlan, wire: boolean, read: (row: R, c: CompiledColumn) => string | null | undefined, keyText: (row: R) => string): (row: R) => Document {
  const { columns, id, simpleId } = compile(plan, wire);
  const n = columns.length;
  const keyLength = plan.key.length;
  const unsafeNames = columns.some((c) => c.field === '__proto__');
  return (row) => {
    // _id first, as MongoDB stores it; its value is set once the key columns are converted.
    const doc: Document = { _id: null };
    const keyValues: unknown[] | null = simpleId ? null : new Array(keyLength);
    let i = 0;
    try {
      for (; i < n; i++) {
        const c = columns[i];
        const text = read(row, c);
        const value = text === null || text === undefined ? null : c.convert === null ? text : c.convert(text);
        if (c.keyIndex >= 0) {
          if (keyValues === null) doc._id = value;
          else keyValues[c.keyIndex] = value;
        }
        if (c.field !== null && c.field !== '_id') {
          if (unsafeNames && c.field === '__proto__') setOwn(doc, c.field, value);
          else doc[c.field] = value;
        }
      }
    } catch (err) {
      throw mappingError(plan, columns[i].name, keyText(row), err);
    }
    if (keyValues !== null) doc._id = id(keyValues);
    return doc;
  };
}

const compiledIds = new WeakMap<TablePlan, Compiled>();

/** The _id of the document for this key (key column values in PostgreSQL text form, key order). */
export function documentId(plan: TablePlan, key: string[]): unknown {
  let compiled = compiledIds.get(plan);
  if (!compiled) compiledIds.set(plan, (compiled = compile(plan)));
  const values = new Array(key.length);
  for (let i = 0; i < compiled.key.length; i++) {
    const c = compiled.key[i];
    try {
      values[i] = c.convert === null ? key[i] : c.convert(key[i]);
    } catch (err) {
      throw mappingError(plan, c.name, plan.key.map((k, j) => `${k}=${preview(String(key[j]))}`).join(', '), err);
    }
  }
  return compiled.id(values);
}

// Source rows → MongoDB documents, as the target holds them: the row mapping above plus any
// embedded tables. Backfill, repair and verification all build documents here (the backfill
// from rows read as arrays, with the same converters and the same BSON), so what verification
// hashes on the source side is exactly what the copy wrote — embedding stays verifiable
// because the embedded rows are read and mapped the same way both times.
const mappers = new Map<string, (row: SourceRow) => Document>();
const arrayMappers = new Map<string, (values: RowValues) => Document>();

/** The compiled row mapper of a table, built once per table shape per process. */
export function mapperFor(plan: TablePlan): (row: SourceRow) => Document {
  const key = planShape(plan);
  let map = mappers.get(key);
  if (!map) mappers.set(key, (map = documentMapper(plan)));
  return map;
}

/** The compiled mapper of a table's rows read as arrays, built once per table shape per process. */
export function valuesMapperFor(plan: TablePlan): (values: RowValues) => Document {
  const key = planShape(plan);
  let map = arrayMappers.get(key);
  if (!map) arrayMappers.set(key, (map = valuesMapper(plan)));
  return map;
}

/** The documents for these rows, in the same order, embedded tables included. */
export async function buildDocuments(plan: TablePlan, source: Pool, rows: SourceRow[]): Promise<Document[]> {
  const map = mapperFor(plan);
  const docs = rows.map(map);
  for (const embed of plan.embeds) {
    const ownCols = embed.on.map(([, p]) => p);
    await embedInto(embed, source, rows.map((r) => ownCols.map((c) => r[c])), docs);
  }
  return docs;
}

/**
 * buildDocuments for rows read as arrays (values in the order of plan.columns), as the backfill
 * reads them: documents that serialize to the same BSON (test/unit/mongo-values-mapper.test.ts).
 */
export async function buildDocumentsFromValues(plan: TablePlan, source: Pool, rows: RowValues[]): Promise<Document[]> {
  const map = valuesMapperFor(plan);
  const docs = new Array<Document>(rows.length);
  for (let i = 0; i < rows.length; i++) docs[i] = map(rows[i]);
  for (const embed of plan.embeds) {
    const positions = embed.on.map(([, p]) => plan.columns.findIndex((c) => c.name === p));
    await embedInto(embed, source, rows.map((r) => positions.map((at) => r[at] ?? null)), docs);
  }
  return docs;
}

const tupleKey = (values: (string | null)[]) => JSON.stringify(values);

/**
 * One query per batch per embedded table: the related rows of every row in the batch, in
 * the embedded table's key order (so an embedded array's order is stable and verifiable).
 * Embedded documents carry their columns without an _id of their own. `wanted` holds, per
 * document, the values of its own columns the embedded table refers to.
 */
async function embedInto(embed: EmbedPlan, source: Pool, wanted: (string | null)[][], docs: Document[]): Promise<void> {
  const embeddedCols = embed.on.map(([c]) => c);
  const usable = wanted.filter((t): t is string[] => t.every((v) => v !== null));
  const related = await readMatching(source, embed.plan, embeddedCols, [...new Map(usable.map((t) => [tupleKey(t), t])).values()]);
  const map = mapperFor(embed.plan);
  const byTuple = new Map<string, Document[]>();
  for (const r of related) {
    const doc = map(r);
    delete doc._id;
    const k = tupleKey(embeddedCols.map((c) => r[c]));
    const list = byTuple.get(k);
    if (list) list.push(doc);
    else byTuple.set(k, [doc]);
  }
  docs.forEach((doc, i) => {
    const found = wanted[i].some((v) => v === null) ? undefined : byTuple.get(tupleKey(wanted[i]));
    doc[embed.as] = embed.kind === 'many' ? (found ?? []) : (found?.[0] ?? null);
  });
}
