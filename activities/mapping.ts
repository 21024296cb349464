// Row → MongoDB document. Values arrive in PostgreSQL's text form (see connections.ts) and
// are converted by type OID, so nothing passes through a lossy JavaScript number on the way:
// bigint becomes Int64 from its digits, numeric becomes Decimal128 from its digits, floats
// are always stored as doubles (the driver would otherwise store 2.0 as an Int32).
import { Binary, Decimal128, Double, Long, UUID, type Document } from 'mongodb';
import { parse as parseArray } from 'postgres-array';
import type { ColumnInfo, TablePlan } from '../workflows/definitions';
import type { SourceRow } from './source/postgres';
import { MappingError } from './errors';

const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, oid: 26, json: 114, float4: 700, float8: 701,
  date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700, uuid: 2950, jsonb: 3802,
} as const;

type Convert = (text: string) => unknown;

function scalarConverter(oid: number): Convert {
  switch (oid) {
    case OID.bool:
      return (t) => t === 't' || t === 'true';
    case OID.int2:
    case OID.int4:
      return (t) => Number.parseInt(t, 10);
    case OID.int8:
      return (t) => Long.fromString(t);
    case OID.float4:
    case OID.float8:
      return (t) => new Double(Number.parseFloat(t));
    case OID.numeric:
      return (t) => Decimal128.fromString(t === 'NaN' ? 'NaN' : t);
    case OID.bytea:
      return (t) => new Binary(Buffer.from(t.slice(2), 'hex'), Binary.SUBTYPE_DEFAULT);
    case OID.uuid:
      return (t) => new UUID(t);
    case OID.date:
      return (t) => pgDate(`${t}T00:00:00Z`, t);
    case OID.timestamp:
      return (t) => pgDate(`${t.replace(' ', 'T')}Z`, t);
    case OID.timestamptz:
      return (t) => pgDate(t.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'), t);
    case OID.json:
    case OID.jsonb:
      return (t) => JSON.parse(t);
    default:
      return (t) => t;
  }
}

/** Infinite or out-of-range timestamps stay as PostgreSQL wrote them rather than bend. */
function pgDate(iso: string, original: string): Date | string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? original : d;
}

function columnConverter(col: ColumnInfo): Convert {
  if (col.elementOid) {
    const element = scalarConverter(col.elementOid);
    return (t) => parseArray(t, element);
  }
  return scalarConverter(col.baseOid || col.typeOid);
}

/** A compiled row mapper for one table: converters are chosen once, not per row. */
export function documentMapper(plan: TablePlan): (row: SourceRow) => Document {
  const converters = plan.columns.map((c) => [c.name, guarded(plan, c.name, columnConverter(c))] as const);
  const keyConverters = plan.key.map((k) => converters.find(([name]) => name === k)!);
  return (row) => {
    const doc: Document = {};
    doc._id =
      keyConverters.length === 1
        ? keyConverters[0][1](row[keyConverters[0][0]] as string, row)
        : Object.fromEntries(keyConverters.map(([name, conv]) => [name, conv(row[name] as string, row)]));
    for (const [name, conv] of converters) {
      const v = row[name];
      doc[name] = v === null || v === undefined ? null : conv(v, row);
    }
    return doc;
  };
}

/** A conversion that fails names the table, column and row key: it will fail the same way again. */
function guarded(plan: TablePlan, column: string, conv: Convert): (text: string, row: SourceRow) => unknown {
  return (text, row) => {
    try {
      return conv(text);
    } catch (err) {
      const key = plan.key.map((k) => `${k}=${row[k]}`).join(', ');
      throw new MappingError(`${plan.display}.${column} (row ${key}) cannot be converted: ${(err as Error).message}`);
    }
  };
}

/** Columns that cannot become fields as they are; a reason per column, none if all is well. */
export function mongoFieldProblems(plan: TablePlan): string[] {
  return plan.columns
    .filter((c) => (c.name === '_id' && !(plan.key.length === 1 && plan.key[0] === '_id')) || c.name.startsWith('$'))
    .map((c) => `${plan.display}.${c.name}: ${c.name === '_id' ? 'a column named _id would replace the key-derived _id; rename it on the source or make it the single primary key' : 'MongoDB field names cannot start with $'}`);
}
