// The inverse of the per-type converters (scalars.ts, columns.ts): a value read from a MongoDB
// document → the PostgreSQL text the column type's input accepts and that equals the value
// the forward mapping started from. Chosen once per column by the same rules as the forward
// converter (so a column stored as text comes back as that text), and read both with and
// without the driver's promotion (Int32/Double/small Long as JS numbers, or as BSON objects).
//
// Numbers never pass through a lossy step: Long and Decimal128 by their digits, Decimal128 in
// plain notation with its scale (PostgreSQL before 15 refuses numeric exponents beyond ±1000),
// JSON numbers by their BSON type. A value whose type does not fit the column throws Misfit,
// which the row mapper turns into a MappingError naming table, column and key.
//
// Not restored because the document does not hold it: json (not jsonb) comes back as the same
// JSON value, not the same text (whitespace, duplicate keys — the last one won — and the order
// of integer-like keys, which JavaScript objects put first), and a JSON number the forward
// mapping stored as a Double comes back in its shortest form (jsonb 1.0 as 1: equal as jsonb).
import { BSON } from 'mongodb';
import type { ColumnInfo } from '../../../contracts/tables';
import { preview } from './convert';
import { columnConverter } from './columns';
import { OID } from './oids';

/** Reads one document value back to PostgreSQL text; never called with null or undefined. */
export type Revert = (value: unknown) => string;

/** A document value whose type the column cannot take: `found` says what it was. */
export class Misfit extends Error {
  constructor(readonly found: string, readonly expected: string) {
    super(`found ${found}, expected ${expected}`);
  }
}

const bsonType = (v: unknown): string | undefined => (v !== null && typeof v === 'object' ? (v as { _bsontype?: string })._bsontype : undefined);

/** What a value is, for messages: its BSON type and (shortened) Extended JSON. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return `a string ${JSON.stringify(preview(v))}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `a ${typeof v} ${String(v)}`;
  if (v instanceof Date) return `a Date ${Number.isNaN(v.getTime()) ? 'that is invalid' : v.toISOString()}`;
  let text: string;
  try {
    text = preview(BSON.EJSON.stringify(v as BSON.Document, { relaxed: false }));
  } catch {
    text = String(v);
  }
  const kind = bsonType(v) ?? (Array.isArray(v) ? 'array' : v instanceof Uint8Array ? 'Buffer' : 'document');
  return `${kind === 'Binary' ? `Binary subtype ${(v as BSON.Binary).sub_type}` : kind} ${text}`;
}

const INT_RANGE: Record<number, [bigint, bigint]> = {
  [OID.int2]: [-(2n ** 15n), 2n ** 15n - 1n],
  [OID.int4]: [-(2n ** 31n), 2n ** 31n - 1n],
  [OID.int8]: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** `[-]digits[.digits][E±n]` (Decimal128's text) in plain notation, its scale kept. */
export function plainDecimal(t: string): string {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(t);
  if (!m) return t; // NaN, Infinity, -Infinity: numeric reads them as they are
  const [, sign, whole, fraction = '', exp = '0'] = m;
  let digits = (whole + fraction).replace(/^0+(?=\d)/, '');
  const scale = fraction.length - Number(exp);
  if (scale <= 0) return sign + (digits === '0' ? '0' : digits + '0'.repeat(-scale));
  if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
  return `${sign}${digits.substring(0, digits.length - scale)}.${digits.substring(digits.length - scale)}`;
}

/** A number of any BSON numeric type as text PostgreSQL and JSON read exactly; null when it is not a number. */
function numberText(v: unknown): string | null {
  // A double's shortest text ('1e+300', '5e-324'), which float input and JSON read as the same double.
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return v.toString();
  switch (bsonType(v)) {
    case 'Int32':
      return String((v as BSON.Int32).value);
    case 'Double':
      return numberText((v as BSON.Double).value);
    case 'Long':
      return (v as BSON.Long).toString();
    case 'Decimal128':
      return plainDecimal((v as BSON.Decimal128).toString());
    default:
      return null;
  }
}

function integer(oid: number): Revert {
  const [min, max] = INT_RANGE[oid];
  const expected = oid === OID.int8 ? 'a bigint (Int64, Int32 or an integral number)' : `${oid === OID.int2 ? 'a smallint' : 'an integer'} (Int32 or an integral number)`;
  return (v) => {
    const n = typeof v === 'number' ? v : bsonType(v) === 'Double' ? (v as BSON.Double).value : null;
    // An integral double (mongosh writes numbers as doubles) by its exact digits, not as '1e+21'.
    const t = n !== null && Number.isInteger(n) ? BigInt(n).toString() : numberText(v);
    if (t === null || !/^-?\d+$/.test(t) || BigInt(t) < min || BigInt(t) > max) throw new Misfit(describe(v), expected);
    return t === '-0' ? '0' : t;
  };
}

function float(v: unknown): string {
  const t = numberText(v);
  if (t === null) throw new Misfit(describe(v), 'a number (Double, Int32, Int64 or Decimal128)');
  return t;
}

function numeric(v: unknown): string {
  const t = numberText(v);
  if (t === null) throw new Misfit(describe(v), 'a numeric (Decimal128 or another BSON number)');
  return t;
}

function binaryBytes(v: unknown, subtype: number): Uint8Array | null {
  if (bsonType(v) === 'Binary' && (v as BSON.Binary).sub_type === subtype) return (v as BSON.Binary).buffer.subarray(0, (v as BSON.Binary).length());
  if (subtype === 0 && v instanceof Uint8Array) return v; // promoteBuffers
  return null;
}

function bytea(v: unknown): string {
  const bytes = binaryBytes(v, 0);
  if (!bytes) throw new Misfit(describe(v), 'bytea (Binary subtype 0)');
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

function uuid(v: unknown): string {
  const bytes = binaryBytes(v, 4);
  if (!bytes || bytes.length !== 16) throw new Misfit(describe(v), 'a uuid (Binary subtype 4, 16 bytes)');
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
  return `${h.substring(0, 8)}-${h.substring(8, 12)}-${h.substring(12, 16)}-${h.substring(16, 20)}-${h.substring(20)}`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A Date as PostgreSQL's ISO input: years from 1 (BC after), UTC, milliseconds. */
function dateTime(kind: 'timestamptz' | 'timestamp' | 'date'): Revert {
  return (v) => {
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw new Misfit(describe(v), `a ${kind} (Date)`);
    const y = v.getUTCFullYear();
    const day = `${pad(y > 0 ? y : 1 - y, 4)}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())}`;
    const bc = y > 0 ? '' : ' BC';
    if (kind === 'date') {
      if (v.getUTCHours() || v.getUTCMinutes() || v.getUTCSeconds() || v.getUTCMilliseconds()) {
        throw new Misfit(describe(v), 'a date (a Date at midnight UTC)');
      }
      return day + bc;
    }
    const time = `${pad(v.getUTCHours())}:${pad(v.getUTCMinutes())}:${pad(v.getUTCSeconds())}.${pad(v.getUTCMilliseconds(), 3)}`;
    return `${day} ${time}${kind === 'timestamptz' ? '+00' : ''}${bc}`;
  };
}

/** JSON text of a document value, numbers by their BSON type (Int64 and Decimal128 digits exact). */
function jsonText(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const n = numberText(v);
  if (n !== null) {
    if (!/^-?\d/.test(n)) throw new Misfit(describe(v), 'a JSON number (NaN and Infinity have none)');
    return n;
  }
  if (Array.isArray(v)) return `[${v.map((e) => (e === undefined ? 'null' : jsonText(e))).join(',')}]`;
  const type = bsonType(v);
  if (type === 'DBRef') return jsonText((v as BSON.DBRef).toJSON()); // {$ref, $id} as the driver promotes it
  if (type !== undefined || v instanceof Date || v instanceof Uint8Array || typeof v !== 'object') {
    throw new Misfit(describe(v), 'a JSON value (documents, arrays, strings, numbers, booleans, null)');
  }
  const parts: string[] = [];
  for (const k of Object.keys(v as object)) {
    const e = (v as Record<string, unknown>)[k];
    if (e !== undefined) parts.push(`${JSON.stringify(k)}:${jsonText(e)}`);
  }
  return `{${parts.join(',')}}`;
}

function text(v: unknown): string {
  if (typeof v !== 'string') throw new Misfit(describe(v), 'a string');
  return v;
}

/** The inverse of scalarConverter: the same OIDs, everything else stored as text. */
function scalarRevert(oid: number): Revert {
  switch (oid) {
    case OID.bool:
      return (v) => {
        if (typeof v !== 'boolean') throw new Misfit(describe(v), 'a boolean');
        return v ? 't' : 'f';
      };
    case OID.int2:
    case OID.int4:
    case OID.int8:
      return integer(oid);
    case OID.float4:
    case OID.float8:
      return float;
    case OID.numeric:
      return numeric;
    case OID.bytea:
      return bytea;
    case OID.uuid:
      return uuid;
    case OID.date:
      return dateTime('date');
    case OID.timestamp:
      return dateTime('timestamp');
    case OID.timestamptz:
      return dateTime('timestamptz');
    case OID.json:
    case OID.jsonb:
      return jsonText;
    default:
      return text;
  }
}

/** An array element as an array literal holds it: always quoted, `"` and `\` escaped. */
const quoted = (t: string) => `"${t.replace(/["\\]/g, '\\$&')}"`;

/** Nested arrays → `{…}` literal; sub-arrays must all be arrays of one length (PostgreSQL's rule). */
function arrayRevert(element: Revert): Revert {
  const literal = (v: unknown[], depth: number, shape: number[]): string => {
    if (shape.length <= depth) shape.push(v.length);
    else if (shape[depth] !== v.length) throw new Misfit('sub-arrays of different lengths', 'a rectangular array (PostgreSQL arrays are)');
    const nested = v.length > 0 && Array.isArray(v[0]);
    return `{${v.map((e) => {
      if (Array.isArray(e) !== nested) throw new Misfit('arrays mixed with values at one level', 'a rectangular array (PostgreSQL arrays are)');
      if (nested) return literal(e as unknown[], depth + 1, shape);
      return e === null || e === undefined ? 'NULL' : quoted(element(e));
    }).join(',')}}`;
  };
  return (v) => {
    if (!Array.isArray(v)) throw new Misfit(describe(v), 'an array');
    return literal(v, 0, []);
  };
}

/** The inverse of the column's forward converter (columnConverter). */
export function columnRevert(col: ColumnInfo): Revert {
  if (columnConverter(col) === null) return text; // lossy: string, box[] and types kept as text
  if (col.elementOid) return arrayRevert(scalarRevert(col.elementOid));
  return scalarRevert(col.baseOid || col.typeOid);
}
