// Row → MongoDB document. Values arrive in PostgreSQL's text output (see connections.ts:
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
import { Binary, Decimal128, Double, Int32, Long, UUID, type Document } from 'mongodb';
import { parse as parseArray } from 'postgres-array';
import { parse as parseLosslessJson, type ParseOptions } from 'lossless-json';
import type { ColumnInfo, LossyPolicy, TablePlan } from '../contracts/tables';
import type { SourceRow } from '../engines/postgres/source';
import { MappingError } from '../engines/errors';

const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, json: 114, float4: 700, float8: 701, box: 603,
  date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700, uuid: 2950, jsonb: 3802,
} as const;

const TWO32 = 4294967296;

/** A value's conversion; null means the text is stored as it is. */
type Convert = ((text: string) => unknown) | null;

/** A value the target cannot hold as the policy asks; the mapper turns it into a MappingError. */
class Unmappable extends Error {
  /** True when `lossy: truncate` would have accepted the value. */
  constructor(message: string, readonly truncatable: boolean) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Scalars

function scalarConverter(oid: number, truncate: boolean): Convert {
  switch (oid) {
    case OID.bool:
      return (t) => t === 't';
    case OID.int2:
    case OID.int4:
      return (t) => new Int32(+t);
    case OID.int8:
      return int64;
    case OID.float4:
    case OID.float8:
      // Number() reads 'NaN', 'Infinity', '-Infinity' and '-0' as PostgreSQL prints them. A real
      // becomes the double of the decimal PostgreSQL shows (0.1, not 0.10000000149011612).
      return (t) => new Double(Number(t));
    case OID.numeric:
      return truncate ? numericTruncating : numericExact;
    case OID.bytea:
      return bytea;
    case OID.uuid:
      return uuid;
    case OID.date:
      return truncate ? dateTruncating : dateExact;
    case OID.timestamp:
    case OID.timestamptz:
      return truncate ? timestampTruncating : timestampExact;
    case OID.json:
    case OID.jsonb:
      return jsonConverter(truncate);
    default:
      return null;
  }
}

function int64(t: string): Long {
  // Up to 15 digits the value is an exact double: split it into the two 32-bit halves directly
  // (two's complement). Longer: BigInt parses natively (Long.fromString is several times slower).
  if (t.length <= 15) {
    const n = +t;
    const high = Math.floor(n / TWO32);
    return new Long((n - high * TWO32) | 0, high | 0);
  }
  return Long.fromBigInt(BigInt(t));
}

function bytea(t: string): Binary {
  if (t.charCodeAt(0) === 92 /* \ */ && t.charCodeAt(1) === 120 /* x */) {
    return new Binary(Buffer.from(t.substring(2), 'hex'), Binary.SUBTYPE_DEFAULT);
  }
  return new Binary(byteaEscape(t), Binary.SUBTYPE_DEFAULT);
}

/** bytea_output = escape (a server or role may set it): `\\` and `\ooo` octal escapes. */
function byteaEscape(t: string): Buffer {
  const out = Buffer.allocUnsafe(t.length);
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 92) out[n++] = c;
    else if (t.charCodeAt(i + 1) === 92) { out[n++] = 92; i++; }
    else { out[n++] = parseInt(t.substring(i + 1, i + 4), 8); i += 3; }
  }
  return out.subarray(0, n);
}

const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[65 + i] = HEX_VALUE[97 + i] = 10 + i;
/** Where each byte's two hex digits start in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const UUID_BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

function uuid(t: string): UUID {
  // PostgreSQL always prints the canonical 8-4-4-4-12 form; decoding it by hand is about
  // twice as fast as building a 32-digit string for Buffer.from(…, 'hex').
  if (t.length !== 36) throw new Error(`unrecognised uuid text ${JSON.stringify(t)}`);
  const bytes = Buffer.allocUnsafe(16);
  for (let k = 0; k < 16; k++) {
    const p = UUID_BYTE_AT[k];
    bytes[k] = (HEX_VALUE[t.charCodeAt(p)] << 4) | HEX_VALUE[t.charCodeAt(p + 1)];
  }
  return new UUID(bytes);
}

// ---------------------------------------------------------------------------------------
// Dates and timestamps: PostgreSQL's ISO output parsed by hand (years beyond 9999, BC,
// offsets with seconds, 1-6 fractional digits), computed as milliseconds since the epoch.

const MS_PER_DAY = 86_400_000;
/** The range of a JavaScript Date, which is how the driver writes a BSON date. */
const MAX_DATE_MS = 8.64e15;

/** Days from 1970-01-01 to a proleptic Gregorian date (astronomical year numbering). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function digits2(t: string, i: number): number {
  return (t.charCodeAt(i) - 48) * 10 + (t.charCodeAt(i + 1) - 48);
}

/**
 * `YYYY-MM-DD[ HH:MM:SS[.f{1,6}][±HH[:MM[:SS]]]][ BC]` → epoch milliseconds. With `truncate`
 * digits below the millisecond are dropped, which always moves toward the earlier instant
 * (the fraction is a positive addend, BC or not); without it they are refused.
 */
function parseTimestamp(t: string, withTime: boolean, truncate: boolean): Date {
  const c0 = t.charCodeAt(0);
  if (c0 === 105 /* i */ || c0 === 45 /* - */) {
    throw new Unmappable(`${t} has no MongoDB date equivalent`, false);
  }
  const len = t.length;
  let i = 0;
  let year = 0;
  for (let c = c0; i < len && c !== 45; c = t.charCodeAt(++i)) year = year * 10 + (c - 48);
  const month = digits2(t, i + 1);
  const day = digits2(t, i + 4);
  i += 6;
  let ms = 0;
  if (withTime) {
    ms = ((digits2(t, i + 1) * 60 + digits2(t, i + 4)) * 60 + digits2(t, i + 7)) * 1000;
    i += 9;
    if (t.charCodeAt(i) === 46 /* . */) {
      let n = 0;
      let frac = 0;
      let c = t.charCodeAt(++i);
      for (; c >= 48 && c <= 57; c = t.charCodeAt(++i), n++) {
        if (n < 3) frac = frac * 10 + (c - 48);
        else if (c !== 48 && !truncate) {
          throw new Unmappable(`${t} has digits below the millisecond, which a MongoDB date cannot hold`, true);
        }
      }
      for (; n < 3; n++) frac *= 10;
      ms += frac;
    }
    const s = t.charCodeAt(i);
    if (s === 43 /* + */ || s === 45 /* - */) {
      let offset = digits2(t, i + 1) * 3600;
      i += 3;
      if (t.charCodeAt(i) === 58 /* : */) { offset += digits2(t, i + 1) * 60; i += 3; }
      if (t.charCodeAt(i) === 58) { offset += digits2(t, i + 1); i += 3; }
      ms -= (s === 43 ? offset : -offset) * 1000;
    }
  }
  if (t.charCodeAt(i) === 32 /* space: ' BC' */) year = 1 - year;
  const total = daysFromCivil(year, month, day) * MS_PER_DAY + ms;
  if (!(total >= -MAX_DATE_MS && total <= MAX_DATE_MS)) {
    if (Number.isNaN(total)) throw new Error(`unrecognised date/time text ${JSON.stringify(t)}`);
    throw new Unmappable(`${t} is outside the range of a MongoDB date as the driver writes it (years -271821 to 275760)`, false);
  }
  return new Date(total);
}

const timestampExact = (t: string) => parseTimestamp(t, true, false);
const timestampTruncating = (t: string) => parseTimestamp(t, true, true);
const dateExact = (t: string) => parseTimestamp(t, false, false);
const dateTruncating = dateExact;

// ---------------------------------------------------------------------------------------
// Decimal128, encoded directly from the digits (BID layout: a coefficient below 2^113 and a
// biased exponent), so each value costs one parse of its own text.

const EXP_MIN = -6176;
const EXP_MAX = 6111;
const EXP_BIAS = 6176;
const MASK64 = 0xffffffffffffffffn;

/** coefficient: at most 34 decimal digits; exponent within [EXP_MIN, EXP_MAX]. */
function encodeDecimal(negative: boolean, coefficient: string, exponent: number): Decimal128 {
  const top = ((negative ? 0x80000000 : 0) | ((exponent + EXP_BIAS) << 17)) >>> 0;
  if (coefficient.length <= 15) {
    // Below 2^53: the low 64 bits as two exact 32-bit words, written byte by byte.
    const c = +coefficient;
    const lo = c % TWO32;
    const hi = (c - lo) / TWO32;
    const b = new Uint8Array(16);
    b[0] = lo; b[1] = lo >>> 8; b[2] = lo >>> 16; b[3] = lo >>> 24;
    b[4] = hi; b[5] = hi >>> 8; b[6] = hi >>> 16; b[7] = hi >>> 24;
    b[12] = top; b[13] = top >>> 8; b[14] = top >>> 16; b[15] = top >>> 24;
    return new Decimal128(b);
  }
  const c = BigInt(coefficient);
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeBigUInt64LE(c & MASK64, 0);
  bytes.writeBigUInt64LE((c >> 64n) | (BigInt(top) << 32n), 8);
  return new Decimal128(bytes);
}

const DECIMAL_NAN = () => encodeSpecial(0x7c);
const DECIMAL_INF = () => encodeSpecial(0x78);
const DECIMAL_NEG_INF = () => encodeSpecial(0xf8);

function encodeSpecial(topByte: number): Decimal128 {
  const bytes = Buffer.alloc(16);
  bytes[15] = topByte;
  return new Decimal128(bytes);
}

/** A decimal text split into sign, significant digits and exponent: value = ±digits × 10^exponent. */
interface DecimalParts {
  negative: boolean;
  /** Significant digits without leading or trailing zeros; '' for zero. */
  digits: string;
  exponent: number;
  /** Zeros after the last significant digit that the text wrote (they carry its scale). */
  trailingZeros: number;
}

/** Splits `-?digits[.digits][e[+-]digits]` (PostgreSQL numeric or JSON number text). */
function splitDecimal(t: string): DecimalParts {
  const len = t.length;
  let i = 0;
  const negative = t.charCodeAt(0) === 45;
  if (negative || t.charCodeAt(0) === 43) i++;
  let mantissa = '';
  let fractionDigits = 0;
  let seenPoint = false;
  const start = i;
  for (; i < len; i++) {
    const c = t.charCodeAt(i);
    if (c === 46) { seenPoint = true; continue; }
    if (c < 48 || c > 57) break;
    if (seenPoint) fractionDigits++;
  }
  mantissa = t.substring(start, i).replace('.', '');
  let exponent = -fractionDigits;
  if (i < len) exponent += Number(t.substring(i + 1)); // 'e' or 'E'
  let first = 0;
  while (first < mantissa.length && mantissa.charCodeAt(first) === 48) first++;
  let last = mantissa.length;
  while (last > first && mantissa.charCodeAt(last - 1) === 48) last--;
  if (first === last) return { negative, digits: '', exponent, trailingZeros: 0 };
  const trailingZeros = mantissa.length - last;
  return { negative, digits: mantissa.substring(first, last), exponent: exponent + trailingZeros, trailingZeros };
}

/** Rounds to 34 significant digits, half away from zero like PostgreSQL's own numeric rounding. */
function roundTo34(p: DecimalParts): DecimalParts {
  const drop = p.digits.length - 34;
  let kept = p.digits.substring(0, 34);
  let exponent = p.exponent + drop;
  if (p.digits.charCodeAt(34) >= 53 /* '5' */) {
    const up = (BigInt(kept) + 1n).toString();
    if (up.length > 34) { kept = up.substring(0, 34); exponent++; } else kept = up;
  }
  // Zeros the rounding leaves at the end stay in the coefficient: the result keeps the quantum
  // of its 34th digit (1.000…000, not 1).
  let last = kept.length;
  while (last > 1 && kept.charCodeAt(last - 1) === 48) last--;
  const zeros = kept.length - last;
  return { negative: p.negative, digits: kept.substring(0, last), exponent: exponent + zeros, trailingZeros: zeros };
}

/**
 * The Decimal128 for a split decimal, keeping as much of the text's scale (trailing zeros) as
 * 34 digits allow. More than 34 significant digits: rounded with `truncate`, else refused.
 * Beyond Decimal128's exponent range: refused whatever the policy (nothing to truncate to).
 */
function decimalFromParts(p: DecimalParts, text: string, truncate: boolean): Decimal128 {
  if (p.digits.length === 0) {
    return encodeDecimal(p.negative, '0', Math.min(Math.max(p.exponent, EXP_MIN), EXP_MAX));
  }
  if (p.digits.length > 34) {
    if (!truncate) {
      throw new Unmappable(`${preview(text)} has ${p.digits.length} significant digits; Decimal128 holds 34`, true);
    }
    p = roundTo34(p);
  }
  const keep = Math.min(p.trailingZeros, 34 - p.digits.length, Math.max(0, p.exponent - EXP_MIN));
  let coefficient = keep ? p.digits + '0'.repeat(keep) : p.digits;
  let exponent = p.exponent - keep;
  if (exponent > EXP_MAX && coefficient.length + (exponent - EXP_MAX) <= 34) {
    coefficient += '0'.repeat(exponent - EXP_MAX);
    exponent = EXP_MAX;
  }
  if (exponent > EXP_MAX || exponent < EXP_MIN) {
    throw new Unmappable(`${preview(text)} is outside Decimal128's exponent range (1E-6176 to 9.99E+6144)`, false);
  }
  return encodeDecimal(p.negative, coefficient, exponent);
}

function numericSpecial(t: string): Decimal128 | null {
  const c0 = t.charCodeAt(0);
  if (c0 === 78 /* N */) return DECIMAL_NAN();
  if (c0 === 73 /* I */) return DECIMAL_INF();
  if (c0 === 45 && t.charCodeAt(1) === 73) return DECIMAL_NEG_INF();
  return null;
}

function numeric(t: string, truncate: boolean): Decimal128 {
  const special = numericSpecial(t);
  if (special) return special;
  // PostgreSQL prints numerics without exponent: 34 characters hold at most 34 digits and an
  // exponent of at least -34, so the text is the coefficient and the scale is the exponent.
  if (t.length <= 34) {
    const negative = t.charCodeAt(0) === 45;
    const body = negative ? t.substring(1) : t;
    const point = body.indexOf('.');
    if (point < 0) return encodeDecimal(negative, body, 0);
    return encodeDecimal(negative, body.substring(0, point) + body.substring(point + 1), point + 1 - body.length);
  }
  return decimalFromParts(splitDecimal(t), t, truncate);
}

const numericExact = (t: string) => numeric(t, false);
const numericTruncating = (t: string) => numeric(t, true);

function preview(t: string): string {
  return t.length > 48 ? `${t.substring(0, 24)}…${t.substring(t.length - 12)} (${t.length} characters)` : t;
}

// ---------------------------------------------------------------------------------------
// JSON: parsed with lossless-json so every number is read from its own text.

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isIntegerText(s: string): boolean {
  for (let i = s.charCodeAt(0) === 45 ? 1 : 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Same numeric value (sign of zero ignored)? Both are decimal texts. */
function sameDecimalValue(a: string, b: string): boolean {
  const x = splitDecimal(a);
  const y = splitDecimal(b);
  if (x.digits === '' || y.digits === '') return x.digits === y.digits;
  return x.negative === y.negative && x.digits === y.digits && x.exponent === y.exponent;
}

/**
 * A JSON number by its text: integers as Int32 or Int64 when they fit, else Decimal128;
 * other numbers as Double when the double is exactly the written value (1.5, 0.1 — the
 * double's shortest text reads back as the same decimal), else Decimal128.
 */
function jsonNumber(s: string, truncate: boolean): unknown {
  if (isIntegerText(s)) {
    if (s.length <= 11) {
      const n = +s;
      if (n >= INT32_MIN && n <= INT32_MAX) return new Int32(n);
    }
    if (s.length <= 20) {
      const b = BigInt(s);
      if (b >= INT64_MIN && b <= INT64_MAX) return Long.fromBigInt(b);
    }
    return decimalFromParts(splitDecimal(s), s, truncate);
  }
  const d = Number(s);
  if (Number.isFinite(d)) {
    const shortest = String(d);
    if (shortest === s || sameDecimalValue(s, shortest)) return new Double(d);
  }
  return decimalFromParts(splitDecimal(s), s, truncate);
}

function jsonConverter(truncate: boolean): Convert {
  const options: ParseOptions = {
    parseNumber: (s) => jsonNumber(s, truncate),
    // json (not jsonb) keeps duplicate keys; the last one wins, as in jsonb and JSON.parse.
    onDuplicateKey: ({ newValue }) => newValue,
  };
  return (t) => {
    const value = parseLosslessJson(t, null, options);
    // A NUL can only come from a \u0000 escape (json, not jsonb); BSON keys cannot hold one.
    if (t.includes('\\u0000')) checkJsonKeys(value, t);
    return value;
  };
}

function checkJsonKeys(value: unknown, text: string): void {
  if (Array.isArray(value)) {
    for (const v of value) checkJsonKeys(v, text);
  } else if (value !== null && typeof value === 'object' && value.constructor === Object) {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\0')) throw new Unmappable(`the JSON key ${JSON.stringify(k)} contains a NUL character, which a BSON field name cannot hold`, false);
      checkJsonKeys(v, text);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Columns

/** box[] separates its elements with ';', not ',': such arrays are kept whole as text. */
const delimitedOtherwise = (col: ColumnInfo) => col.elementOid === OID.box;

function columnConverter(col: ColumnInfo): Convert {
  const policy: LossyPolicy = col.lossy ?? 'fail';
  if (policy === 'string') return null;
  const truncate = policy === 'truncate';
  if (col.elementOid) {
    if (delimitedOtherwise(col)) return null;
    const element = scalarConverter(col.elementOid, truncate);
    return element ? (t) => parseArray(t, element) : (t) => parseArray(t);
  }
  return scalarConverter(col.baseOid || col.typeOid, truncate);
}

/** Can this column's converter produce an array (which MongoDB refuses as an _id)? */
function mayBeArray(col: ColumnInfo): boolean {
  if ((col.lossy ?? 'fail') === 'string') return false;
  const oid = col.baseOid || col.typeOid;
  return (col.elementOid !== 0 && !delimitedOtherwise(col)) || oid === OID.json || oid === OID.jsonb;
}

/** Types whose values `lossy: truncate` may change. */
function truncationMayChange(col: ColumnInfo): boolean {
  const oid = col.elementOid || col.baseOid || col.typeOid;
  return [OID.numeric, OID.timestamp, OID.timestamptz, OID.json, OID.jsonb].includes(oid as never);
}

function fieldOf(col: ColumnInfo): string | null {
  return col.field === undefined ? col.name : col.field;
}

/** Sets a property even when its name is `__proto__` (which plain assignment would not). */
function setOwn(target: Document, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

interface CompiledColumn {
  name: string;
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

function compile(plan: TablePlan): Compiled {
  const all: CompiledColumn[] = plan.columns.map((c) => ({
    name: c.name,
    field: fieldOf(c),
    convert: columnConverter(c),
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
  const { columns, id, simpleId } = compile(plan);
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
        const text = row[c.name];
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
      throw mappingError(plan, columns[i].name, rowKeyText(plan, row), err);
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

/** Fields that cannot be written as the spec names them; a reason each, none if all is well. */
export function mongoFieldProblems(plan: TablePlan): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string[]>();
  const singleKey = plan.key.length === 1 ? plan.key[0] : null;
  const claim = (field: string, owner: string) => owners.set(field, [...(owners.get(field) ?? []), owner]);
  for (const c of plan.columns) {
    const field = fieldOf(c);
    if (field === null) continue;
    const where = `${plan.display}.${c.name}${field === c.name ? '' : ` (field ${JSON.stringify(field)})`}`;
    if (field === '_id') {
      if (c.name !== singleKey || mayBeArray(c)) {
        problems.push(`${where}: a field named _id would replace the key-derived _id: rename the field in the spec (tables[].columns.${c.name}.rename) or drop it`);
      }
    } else if (field.startsWith('$')) {
      problems.push(`${where}: MongoDB field names cannot start with $: rename it in the spec (tables[].columns.${c.name}.rename)`);
    } else if (field === '' || field.includes('\0')) {
      problems.push(`${where}: a MongoDB field name cannot be empty or contain a NUL character: rename it in the spec`);
    }
    claim(field, `column ${c.name}`);
  }
  for (const e of plan.embeds ?? []) {
    if (e.as === '_id' || e.as.startsWith('$')) problems.push(`${plan.display}: embedded ${e.plan.display} cannot be stored as field ${JSON.stringify(e.as)}: choose another name`);
    claim(e.as, `embedded ${e.plan.display}`);
  }
  for (const [field, list] of owners) {
    if (list.length > 1 && field !== '_id') {
      problems.push(`${plan.display}: ${list.join(' and ')} would all be stored as field ${JSON.stringify(field)}: rename or drop all but one in the spec`);
    }
  }
  for (const k of plan.key) {
    const c = plan.columns.find((col) => col.name === k);
    if (c && c.lossy === 'truncate' && truncationMayChange(c)) {
      problems.push(`${plan.display}.${k}: key column with lossy: truncate: distinct keys could become one _id and overwrite each other; use lossy: string (or fail) for key columns`);
    }
  }
  return problems;
}
