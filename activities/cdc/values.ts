// Debezium column values → PostgreSQL's own text output, so a CDC row and a backfill row are
// the same SourceRow. The backfill reads with TimeZone=UTC, DateStyle=ISO,
// IntervalStyle=postgres and extra_float_digits=3 (connections.ts); every form below is what
// that session prints. The inputs are what the connector settings in debezium-config.ts
// produce (Debezium 2.7, pgoutput), checked type by type against a real connector in
// test/integration/debezium-values.test.ts. Where Debezium loses information we can see, the
// event is refused (PoisonMessage naming table, column and type) rather than written wrong;
// what it loses invisibly is listed by debeziumLimits() so prepare can warn or refuse.
import { createHash } from 'node:crypto';
import { isLosslessNumber } from 'lossless-json';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import type { SourceRow } from '../../engines/rows';
import { UNAVAILABLE_PLACEHOLDER } from '../../engines/postgres/capture/debezium-config';
import { PoisonMessage, type DecodedRow } from './types';

const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, json: 114, xml: 142,
  point: 600, lseg: 601, path: 602, box: 603, polygon: 604, line: 628, cidr: 650, float4: 700, float8: 701,
  circle: 718, macaddr8: 774, money: 790, macaddr: 829, inet: 869, bpchar: 1042, varchar: 1043, date: 1082,
  time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266, bit: 1560, varbit: 1562,
  numeric: 1700, uuid: 2950, jsonb: 3802, int4range: 3904, numrange: 3906, tsrange: 3908, tstzrange: 3910,
  daterange: 3912, int8range: 3926, tstzmultirange: 4534,
} as const;

/** A column value Debezium could not carry exactly: the event is refused with this reason. */
class Refused extends Error {}

type Convert = (v: unknown) => string;

/** Element types whose arrays Debezium leaves out of the event altogether. */
const DROPPED_ARRAYS = new Set<number>([OID.name, OID.xml, OID.point, OID.money, OID.interval, OID.varbit]);

/** Types Debezium cannot carry exactly whatever the value: refused, with why. */
function refusal(col: ColumnInfo): string | null {
  const elem = col.elementOid;
  const base = elem || col.baseOid;
  if (base === OID.timetz) return 'Debezium converts timetz to UTC and drops the original offset, which PostgreSQL keeps';
  if (elem === OID.time) return 'Debezium truncates time[] elements to milliseconds and turns 24:00:00 into 00:00:00';
  if (base === OID.varbit) return 'Debezium sends varbit as bytes without the bit length, so leading zero bits are lost';
  if (elem === OID.bit) return 'Debezium sends every bit[] value as NULL';
  if (elem && DROPPED_ARRAYS.has(elem)) return `Debezium does not send ${col.type} columns at all`;
  if (!elem && col.baseOid === OID.bit && col.typeCategory === 'd') return 'a domain over bit hides the bit length Debezium\'s bytes need';
  if (/^(\w+\.)?"?(geometry|geography)"?(\[\])?$/.test(col.type)) return 'Debezium sends PostGIS values as WKB structs, not PostgreSQL\'s text form';
  return null;
}

/** Columns whose values Debezium may deliver inexactly in ways no event shows; for prepare's report. */
export function debeziumLimits(plan: TablePlan): Array<{ column: string; type: string; refused: boolean; reason: string }> {
  const out: Array<{ column: string; type: string; refused: boolean; reason: string }> = [];
  for (const col of plan.columns) {
    if (col.generated) continue;
    const refused = refusal(col);
    const add = (r: boolean, reason: string) => out.push({ column: col.name, type: col.type, refused: r, reason });
    if (refused) add(true, refused);
    else if (col.elementOid) {
      const e = col.elementOid;
      if (e === OID.numeric) add(false, 'Debezium sends a numeric[] holding NaN or ±Infinity as NULL');
      if (e === OID.numeric || e === OID.inet || e === OID.float8) add(false, `Debezium sends an unchanged TOASTed ${col.type} in an update as NULL, not as unavailable`);
      if (e === OID.date || e === OID.timestamp || e === OID.timestamptz) add(false, 'Debezium sends BC elements of date/timestamp arrays as AD (those before 1582-10-15 are refused)');
      add(false, 'Debezium drops non-default array lower bounds ([2:3]={…} arrives as {…})');
    } else if (col.baseOid === OID.money) {
      add(false, 'money text is formatted as lc_monetary=C/en_US prints it ($1,234.56)');
    }
  }
  return out;
}

/**
 * One event's row (`after`, or `before` of a delete) in PostgreSQL text form against the plan.
 * `only` restricts the conversion to some columns (a delete needs its key, and with REPLICA
 * IDENTITY DEFAULT its `before` carries nothing else).
 */
export function rowFromDebezium(plan: TablePlan, values: Record<string, unknown>, only?: readonly string[]): DecodedRow {
  const columns = compiled(plan);
  const result: DecodedRow = { row: {}, unavailable: [], unknown: [], missing: [] };
  for (const c of columns) {
    if (c.col.generated || (only && !only.includes(c.col.name))) continue;
    if (!Object.prototype.hasOwnProperty.call(values, c.col.name)) {
      // A type Debezium never sends is not a dropped column: say what it is.
      if (c.refused && c.col.elementOid && DROPPED_ARRAYS.has(c.col.elementOid)) throw poison(plan, c.col, c.refused);
      result.missing.push(c.col.name);
      continue;
    }
    const v = values[c.col.name];
    if (v === null || v === undefined) setOwn(result.row, c.col.name, null);
    else if (isUnavailable(v)) result.unavailable.push(c.col.name);
    else {
      if (c.refused) throw poison(plan, c.col, c.refused);
      try {
        setOwn(result.row, c.col.name, c.convert(v));
      } catch (err) {
        throw poison(plan, c.col, err instanceof Refused ? err.message : `unexpected value ${preview(v)} (${(err as Error).message})`);
      }
    }
  }
  const known = new Set(plan.columns.map((c) => c.name));
  for (const name of Object.keys(values)) if (!known.has(name)) result.unknown.push(name);
  return result;
}

function poison(plan: TablePlan, col: ColumnInfo, reason: string): PoisonMessage {
  return new PoisonMessage(`${plan.display}.${col.name} (${col.type}): ${reason}`);
}

const UNAVAILABLE_HEX = Buffer.from(UNAVAILABLE_PLACEHOLDER).toString('hex');
const UNAVAILABLE_HSTORE = JSON.stringify({ [UNAVAILABLE_PLACEHOLDER]: UNAVAILABLE_PLACEHOLDER });

const UNAVAILABLE_CODES = [...UNAVAILABLE_PLACEHOLDER].map((ch) => ch.charCodeAt(0));
/** uuid[] carries the name-based (v3) UUID of the placeholder's bytes: Java's UUID.nameUUIDFromBytes. */
const UNAVAILABLE_UUID = nameUuid(UNAVAILABLE_PLACEHOLDER);

function nameUuid(name: string): string {
  const b = createHash('md5').update(name).digest();
  b[6] = (b[6] & 0x0f) | 0x30;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * An unchanged TOASTed value. Debezium writes the placeholder as text, as hex bytes, as a
 * one-element array, as an hstore map, as a uuid[] of one made-up UUID, or — for arrays of
 * numbers and dates — as an array of the placeholder's character codes. (numeric[], inet[]
 * and float8[] arrive as NULL instead: see debeziumLimits.)
 */
function isUnavailable(v: unknown): boolean {
  if (typeof v === 'string') return v === UNAVAILABLE_PLACEHOLDER || v === UNAVAILABLE_HEX || v === UNAVAILABLE_HSTORE;
  if (!Array.isArray(v)) return false;
  if (v.length === 1) return v[0] === UNAVAILABLE_PLACEHOLDER || v[0] === UNAVAILABLE_HEX || v[0] === UNAVAILABLE_UUID;
  return v.length === UNAVAILABLE_CODES.length && v.every((e, i) => (isLosslessNumber(e) ? Number(e.value) : e) === UNAVAILABLE_CODES[i]);
}

// ---------------------------------------------------------------------------------------
// Converters, chosen once per column

interface Compiled {
  col: ColumnInfo;
  convert: Convert;
  refused: string | null;
}

const cache = new WeakMap<TablePlan, Compiled[]>();

function compiled(plan: TablePlan): Compiled[] {
  let c = cache.get(plan);
  if (!c) cache.set(plan, (c = plan.columns.map((col) => ({ col, convert: columnConverter(col), refused: refusal(col) }))));
  return c;
}

function columnConverter(col: ColumnInfo): Convert {
  if (!col.elementOid) return scalarConverter(col.baseOid || col.typeOid, col, false);
  // Elements of a domain type (not a domain over an array) are unknown to Debezium: each
  // arrives as the hex of its text.
  const domainElements = col.typeCategory !== 'd' && !!col.userType?.ddl.startsWith('CREATE DOMAIN');
  const element = domainElements ? unknownType : scalarConverter(col.elementOid, col, true);
  const delimiter = col.elementOid === OID.box ? ';' : ',';
  return (v) => {
    if (!Array.isArray(v)) throw new Refused(`expected a JSON array, got ${preview(v)}`);
    // A multi-dimensional array arrives as an array of nulls (or of Java object names).
    if (v.length && v.every((e) => e === null)) {
      throw new Refused('Debezium sends a multi-dimensional array as an array of nulls, so an array of only NULLs cannot be told from one');
    }
    return `{${v.map((e) => (e === null ? 'NULL' : quoteElement(element(e), delimiter))).join(delimiter)}}`;
  };
}

function scalarConverter(oid: number, col: ColumnInfo, inArray: boolean): Convert {
  switch (oid) {
    case OID.bool:
      return (v) => (bool(v) ? 't' : 'f');
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return integer;
    case OID.float4:
      return (v) => formatFloat(float(v), true);
    case OID.float8:
      return (v) => formatFloat(float(v), false);
    case OID.numeric:
      return numeric;
    case OID.money:
      return (v) => formatMoney(numeric(v));
    case OID.bytea:
      return (v) => `\\x${hex(v)}`;
    case OID.date:
      return (v) => date(v, inArray);
    case OID.time:
      return (v) => formatTime(BigInt(integer(v)));
    case OID.timestamp:
      return timestampConverter(col, inArray);
    case OID.timestamptz:
      return (v) => timestamptz(v, inArray);
    case OID.interval:
      return (v) => formatInterval(string(v));
    case OID.bit:
      return bitConverter(col);
    case OID.point:
      return point;
    case OID.line:
    case OID.lseg:
    case OID.box:
    case OID.path:
    case OID.polygon:
    case OID.circle:
      // Unknown to Debezium: the hex of the text Java's PG* classes print (1.0, 1.0E300).
      return (v) => utf8FromHex(string(v)).replace(/-?(?:Infinity|NaN|\d+(?:\.\d+)?(?:E-?\d+)?)/g, (n) => formatFloat(Number(n), false));
    case OID.tstzrange:
      return (v) => tstzToUtc(string(v));
    case OID.tstzmultirange:
      return (v) => tstzToUtc(utf8FromHex(string(v)));
    case OID.text: case OID.varchar: case OID.bpchar: case OID.name: case OID.char: case OID.json: case OID.jsonb:
    case OID.xml: case OID.uuid: case OID.inet: case OID.cidr: case OID.macaddr: case OID.macaddr8:
    case OID.int4range: case OID.int8range: case OID.numrange: case OID.tsrange: case OID.daterange:
      return textValue;
  }
  if (!inArray && col.typeCategory === 'e') return textValue;
  if (inArray && col.userType?.ddl.includes(' AS ENUM (')) return textValue;
  const name = typeName(col);
  if (name === 'hstore') return (v) => hstore(string(v));
  if (name === 'citext' || name === 'ltree' || name === 'isbn') return textValue;
  // include.unknown.datatypes: every other type arrives as the hex of its text output.
  return unknownType;
}

/** The bare type name of a column (or of its elements): `public."hstore"[]` → `hstore`. */
function typeName(col: ColumnInfo): string {
  return col.type.replace(/\[\]$/, '').replace(/^.*\./, '').replace(/"/g, '');
}

const unknownType: Convert = (v) => utf8FromHex(string(v));

const textValue: Convert = (v) => {
  const s = string(v);
  // text[][] arrives as the names of Java arrays.
  if (/^\[L[\w.]+;@[0-9a-f]+$/.test(s)) throw new Refused('Debezium sends a multi-dimensional array as Java object names');
  return s;
};

function string(v: unknown): string {
  if (typeof v !== 'string') throw new Refused(`expected a string, got ${preview(v)}`);
  return v;
}

function bool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Refused(`expected a boolean, got ${preview(v)}`);
  return v;
}

/** A JSON integer's exact digits (a LosslessNumber from debezium.ts; plain numbers are accepted when safe). */
function integer(v: unknown): string {
  let t: string | null = null;
  if (isLosslessNumber(v)) t = v.value;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) t = String(v);
  else if (typeof v === 'bigint') t = v.toString();
  if (t === null || !/^-?\d+$/.test(t)) throw new Refused(`expected an integer, got ${preview(v)}`);
  return t;
}

/** JSON numbers, or the strings Jackson writes for NaN and ±Infinity. */
function float(v: unknown): number {
  if (isLosslessNumber(v)) return Number(v.value);
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new Refused(`expected a floating-point number, got ${preview(v)}`);
}

/** decimal.handling.mode=string, plus the names Debezium gives numeric's special values. */
function numeric(v: unknown): string {
  const s = string(v);
  if (/^-?\d+(\.\d+)?$/.test(s)) return s;
  if (s === 'NAN' || s === 'NaN') return 'NaN';
  if (s === 'POSITIVE_INFINITY' || s === 'Infinity') return 'Infinity';
  if (s === 'NEGATIVE_INFINITY' || s === '-Infinity') return '-Infinity';
  const m = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(s);
  if (m) return plainDecimal(m[1], m[2], m[3] ?? '', Number(m[4]));
  throw new Refused(`expected a decimal string, got ${preview(v)}`);
}

/** `1.50E+3` → `1500`, `1.5E-3` → `0.0015`: BigDecimal's scientific form as numeric prints it. */
function plainDecimal(sign: string, int: string, frac: string, exp: number): string {
  const digits = int + frac;
  const point = int.length + exp;
  let whole: string;
  let fraction: string;
  if (point <= 0) { whole = '0'; fraction = '0'.repeat(-point) + digits; }
  else if (point >= digits.length) { whole = digits + '0'.repeat(point - digits.length); fraction = ''; }
  else { whole = digits.slice(0, point); fraction = digits.slice(point); }
  whole = whole.replace(/^0+(?=\d)/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

function hex(v: unknown): string {
  const s = string(v);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new Refused(`expected hex bytes (binary.handling.mode=hex), got ${preview(v)}`);
  return s.toLowerCase();
}

// Dates and timestamps. Debezium writes ±infinity as fixed numbers (from pgjdbc's
// PGStatement constants and an overflowing conversion); they lie outside PostgreSQL's range
// (4714-11-24 BC … 294276 AD), except timestamp's +infinity, which is also the instant
// 294247-01-10 04:00:25.2 — a value no one stores.

const DATE_MIN = -2440588; // 4714-11-24 BC
const DATE_MAX = 2145042905; // 5874897-12-31
const DATE_INF = new Map([[-2147472692, 'infinity'], [-2147472691, '-infinity']]);
const DATE_ARRAY_INF = new Map([[-622191234, 'infinity'], [-625821272, '-infinity']]);
/** 1582-10-15: before it, Debezium's array path uses the Julian calendar (and drops BC). */
const GREGORIAN_DAY = -141427;
const TS_INF = new Map([['9223372036825200000', 'infinity'], ['-9223372036832400000', '-infinity']]);
const US_PER_DAY = 86_400_000_000n;

function date(v: unknown, inArray: boolean): string {
  const days = Number(integer(v));
  const special = (inArray ? DATE_ARRAY_INF : DATE_INF).get(days);
  if (special) return special;
  if (days < DATE_MIN || days > DATE_MAX) throw new Refused(`date ${days} (days since 1970) is outside PostgreSQL's range: Debezium overflowed`);
  if (inArray && days < GREGORIAN_DAY) throw new Refused('Debezium converts date[] elements before 1582-10-15 with the Julian calendar and drops BC');
  return formatDate(days);
}

/** time.precision.mode=adaptive_time_microseconds: timestamp(0..3) in milliseconds, else microseconds. */
function timestampConverter(col: ColumnInfo, inArray: boolean): Convert {
  const p = /^timestamp\((\d)\)/.exec(col.type);
  const unit = p && Number(p[1]) <= 3 ? 1000n : 1n;
  return (v) => {
    const t = integer(v);
    const us = BigInt(t) * unit;
    // Both precisions send ±infinity as the same microsecond constants (milliseconds / 1000).
    const special = TS_INF.get(us.toString());
    if (special) return special;
    if (us < BigInt(DATE_MIN) * US_PER_DAY) throw new Refused(`timestamp ${t} is outside PostgreSQL's range: Debezium overflowed (values after 294247 AD do not fit its 64-bit microseconds)`);
    if (inArray && us < BigInt(GREGORIAN_DAY) * US_PER_DAY) throw new Refused('Debezium converts timestamp[] elements before 1582-10-15 with the Julian calendar and drops BC');
    return formatTimestamp(us);
  };
}

function timestamptz(v: unknown, inArray: boolean): string {
  const s = string(v);
  if (s === 'infinity' || s === '-infinity') return s;
  const out = isoToPgTimestamptz(s);
  if (out === null) throw new Refused(`unrecognised timestamptz ${preview(s)}`);
  if (inArray && out.days < GREGORIAN_DAY) throw new Refused('Debezium converts timestamptz[] elements before 1582-10-15 with the Julian calendar and drops BC');
  if (out.days < DATE_MIN || out.days > DATE_MAX) throw new Refused(`timestamptz ${s} is outside PostgreSQL's range: Debezium overflowed`);
  return out.text;
}

/** bit(1) arrives as a boolean; bit(n) as base64 of a little-endian BitSet (bit 0 = last character). */
function bitConverter(col: ColumnInfo): Convert {
  const m = /^bit\((\d+)\)/.exec(col.type);
  const n = m ? Number(m[1]) : 1;
  return (v) => {
    if (typeof v === 'boolean') {
      if (n !== 1) throw new Refused(`a boolean for a bit(${n}) value`);
      return v ? '1' : '0';
    }
    const bytes = Buffer.from(string(v), 'base64');
    let out = '';
    for (let i = n - 1; i >= 0; i--) out += (bytes[i >> 3] ?? 0) & (1 << (i & 7)) ? '1' : '0';
    for (let i = n; i < bytes.length * 8; i++) if (bytes[i >> 3] & (1 << (i & 7))) throw new Refused(`more bits than bit(${n}) holds`);
    return out;
  };
}

/** Debezium's Point struct {x, y, wkb, srid}. */
function point(v: unknown): string {
  if (typeof v !== 'object' || v === null || !('x' in v) || !('y' in v)) throw new Refused(`expected a Point struct, got ${preview(v)}`);
  return `(${formatFloat(float(v.x), false)},${formatFloat(float(v.y), false)})`;
}

/** hstore.handling.mode=json → hstore's output: keys by length then bytes, `"k"=>"v"`, NULL bare. */
function hstore(json: string): string {
  let map: unknown;
  try {
    map = JSON.parse(json);
  } catch {
    throw new Refused(`expected an hstore as a JSON object, got ${preview(json)}`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Refused(`expected an hstore as a JSON object, got ${preview(json)}`);
  const entries = Object.entries(map as Record<string, unknown>).map(([k, val]) => ({ k, key: Buffer.from(k), val }));
  entries.sort((a, b) => a.key.length - b.key.length || Buffer.compare(a.key, b.key));
  const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  return entries.map(({ k, val }) => `${quote(k)}=>${val === null ? 'NULL' : quote(string(val))}`).join(', ');
}

/** array_out's quoting: empty, NULL-like, or holding a delimiter, brace, quote, backslash or space. */
function quoteElement(s: string, delimiter: string): string {
  if (s !== '' && !/[{}"\\ \t\n\r\v\f]/.test(s) && !s.includes(delimiter) && s.toUpperCase() !== 'NULL') return s;
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

function setOwn(row: SourceRow, name: string, value: string | null): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, writable: true, enumerable: true, configurable: true });
  else row[name] = value;
}

function preview(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (_k, x) => (isLosslessNumber(x) ? x.value : typeof x === 'bigint' ? x.toString() : x));
  if (text === undefined) return String(v);
  return text.length > 120 ? `${text.slice(0, 120)}… (${text.length} characters)` : text;
}

// ---------------------------------------------------------------------------------------
// PostgreSQL's text output, as the backfill session prints it

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** Proleptic Gregorian date of a day count since 1970-01-01 (astronomical years: 0 is 1 BC). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** `YYYY-MM-DD` and whether it is BC (PostgreSQL appends ` BC` after the whole value). */
function ymd(days: number): { text: string; bc: boolean } {
  const [y, m, d] = civilFromDays(days);
  return { text: `${pad(y > 0 ? y : 1 - y, 4)}-${pad(m, 2)}-${pad(d, 2)}`, bc: y <= 0 };
}

function formatDate(days: number): string {
  const { text, bc } = ymd(days);
  return bc ? `${text} BC` : text;
}

/** `HH:MM:SS[.ffffff]`, trailing fraction zeros dropped; 24:00:00 stays 24:00:00. */
function formatTime(us: bigint): string {
  const frac = Number(us % 1_000_000n);
  const secs = Number(us / 1_000_000n);
  const f = frac ? `.${pad(frac, 6).replace(/0+$/, '')}` : '';
  return `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}${f}`;
}

function splitMicros(us: bigint): { days: number; tod: bigint } {
  let days = us / US_PER_DAY;
  if (us < 0n && days * US_PER_DAY !== us) days -= 1n;
  return { days: Number(days), tod: us - days * US_PER_DAY };
}

function formatTimestamp(us: bigint, zone = ''): string {
  const { days, tod } = splitMicros(us);
  const { text, bc } = ymd(days);
  return `${text} ${formatTime(tod)}${zone}${bc ? ' BC' : ''}`;
}

/** Debezium's ZonedTimestamp (`2024-06-01T09:00:00.500000Z`, `-0043-…`, `+294276-…`) → `… +00`. */
function isoToPgTimestamptz(s: string): { days: number; text: string } | null {
  const m = /^([+-]?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return null;
  const frac = (m[7] ?? '').padEnd(9, '0');
  if (!frac.endsWith('000')) return null; // nanoseconds PostgreSQL cannot have
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  const us = BigInt(days) * US_PER_DAY + BigInt(((Number(m[4]) * 60 + Number(m[5])) * 60 + Number(m[6]))) * 1_000_000n + BigInt(frac.slice(0, 6));
  return { days, text: formatTimestamp(us, '+00') };
}

/**
 * Timestamps with an offset inside text Debezium passes through (tstzrange, tstzmultirange)
 * were printed in Debezium's session time zone: rewritten in UTC as the backfill prints them.
 */
function tstzToUtc(text: string): string {
  return text.replace(/(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?( BC)?/g, (all, y, mo, d, h, mi, s, f, sign, oh, om, os, bc) => {
    const offset = (Number(oh) * 60 + Number(om ?? 0)) * 60 + Number(os ?? 0);
    if (offset === 0) return all;
    const year = bc ? 1 - Number(y) : Number(y);
    const local = BigInt(daysFromCivil(year, Number(mo), Number(d))) * US_PER_DAY + BigInt((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1_000_000n + BigInt((f ?? '').padEnd(6, '0'));
    return formatTimestamp(local - BigInt(sign === '+' ? offset : -offset) * 1_000_000n, '+00');
  });
}

/**
 * Debezium's ISO 8601 interval (`P-1Y-2M3DT-4H-5M-6.789S`, each part signed) → IntervalStyle
 * postgres: `-1 years -2 mons +3 days -04:05:06.789` (EncodeInterval, INTSTYLE_POSTGRES).
 */
function formatInterval(iso: string): string {
  const m = /^P(-?\d+)Y(-?\d+)M(-?\d+)DT(-?\d+)H(-?\d+)M(-?)(\d+)(?:\.(\d+))?S$/.exec(iso);
  if (!m || /[1-9]/.test((m[8] ?? '').slice(6))) {
    throw new Refused(`unrecognised ISO 8601 interval ${preview(iso)}`);
  }
  const months = Number(m[1]) * 12 + Number(m[2]);
  const days = Number(m[3]);
  const secondsUs = BigInt(m[7]) * 1_000_000n + BigInt((m[8] ?? '').slice(0, 6).padEnd(6, '0'));
  const time = BigInt(m[4]) * 3_600_000_000n + BigInt(m[5]) * 60_000_000n + (m[6] ? -secondsUs : secondsUs);
  let out = '';
  let isZero = true;
  let isBefore = false;
  const part = (value: number, unit: string) => {
    if (value === 0) return;
    out += `${isZero ? '' : ' '}${isBefore && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`;
    isBefore = value < 0;
    isZero = false;
  };
  part(Math.trunc(months / 12), 'year');
  part(months % 12, 'mon');
  part(days, 'day');
  if (isZero || time !== 0n) {
    const minus = time < 0n;
    const abs = minus ? -time : time;
    const hours = abs / 3_600_000_000n;
    out += `${isZero ? '' : ' '}${minus ? '-' : isBefore ? '+' : ''}${pad(hours, 2)}${formatTime(abs - hours * 3_600_000_000n).slice(2)}`;
  }
  return out;
}

/** money as lc_monetary C (and en_US) prints it: `$1,234.56`, `-$1.50`. */
function formatMoney(decimal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(decimal);
  if (!m || (m[3] ?? '').replace(/0+$/, '').length > 2) throw new Refused(`unexpected money value ${preview(decimal)}`);
  const whole = m[2].replace(/^0+(?=\d)/, '').replace(/\B(?=(\d{3})+$)/g, ',');
  return `${m[1]}$${whole}.${(m[3] ?? '').padEnd(2, '0').slice(0, 2)}`;
}

/**
 * float4out/float8out with extra_float_digits > 0 (Ryu): the shortest digits strictly inside
 * the value's rounding interval (PostgreSQL does not accept a decimal exactly halfway to the
 * neighbour, where JavaScript's shortest form does), nearest to the value, ties to an even
 * digit; fixed notation for decimal exponents -4 … 14 (float4: … 5), else `d.ddde±XX`.
 */
function formatFloat(v: number, float4: boolean): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const { digits, exp } = shortestDigits(Math.abs(v), float4);
  const sign = v < 0 ? '-' : '';
  if (exp < -4 || exp >= (float4 ? 6 : 15)) {
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${pad(Math.abs(exp), 2)}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits.padEnd(exp + 1, '0')}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** An exact rational n / d (d > 0). */
type Fraction = [bigint, bigint];

function scaled(n: bigint, base: bigint, power: number): Fraction {
  return power >= 0 ? [n * base ** BigInt(power), 1n] : [n, base ** BigInt(-power)];
}

function compare(a: Fraction, b: Fraction): number {
  const l = a[0] * b[1];
  const r = b[0] * a[1];
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Significant digits (no trailing zeros) and decimal exponent of the first, for a positive finite value. */
function shortestDigits(v: number, float4: boolean): { digits: string; exp: number } {
  // v = m × 2^e exactly, and the interval of decimals that read back as v (exclusive).
  const view = new DataView(new ArrayBuffer(8));
  let m: bigint;
  let e: number;
  let fractionZero: boolean;
  let biased: number;
  if (float4) {
    view.setFloat32(0, v);
    const bits = view.getUint32(0);
    biased = (bits >>> 23) & 0xff;
    const frac = bits & 0x7fffff;
    m = BigInt(biased ? frac | 0x800000 : frac);
    e = biased ? biased - 150 : -149;
    fractionZero = frac === 0;
  } else {
    view.setFloat64(0, v);
    const bits = view.getBigUint64(0);
    biased = Number((bits >> 52n) & 0x7ffn);
    const frac = bits & 0xfffffffffffffn;
    m = biased ? frac | 0x10000000000000n : frac;
    e = biased ? biased - 1075 : -1074;
    fractionZero = frac === 0n;
  }
  const value = scaled(m * 4n, 2n, e - 2);
  const high = scaled(m * 4n + 2n, 2n, e - 2);
  // Just above a power of two the gap below is half the gap above.
  const low = scaled(fractionZero && biased > 1 ? m * 4n - 1n : m * 4n - 2n, 2n, e - 2);
  for (let p = 1; p <= 17; p++) {
    const [mant, ex] = v.toExponential(p - 1).split('e');
    const nearest = BigInt(mant.replace('.', ''));
    const power = Number(ex) - (p - 1);
    let best: { c: bigint; distance: Fraction } | null = null;
    for (const c of [nearest - 1n, nearest, nearest + 1n]) {
      const candidate = scaled(c, 10n, power);
      if (c <= 0n || compare(candidate, low) <= 0 || compare(candidate, high) >= 0) continue;
      const diff: Fraction = [candidate[0] * value[1] - value[0] * candidate[1], candidate[1] * value[1]];
      const distance: Fraction = [diff[0] < 0n ? -diff[0] : diff[0], diff[1]];
      const order = best ? compare(distance, best.distance) : -1;
      if (order < 0 || (order === 0 && c % 2n === 0n)) best = { c, distance };
    }
    if (best) {
      const text = best.c.toString();
      return { digits: text.replace(/0+$/, '') || '0', exp: power + text.length - 1 };
    }
  }
  throw new Error(`no shortest form for ${v}`);
}

/** include.unknown.datatypes with binary.handling.mode=hex: the hex of the value's UTF-8 text. */
function utf8FromHex(s: string): string {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new Refused(`expected the hex of the value's text (an unknown type to Debezium), got ${preview(s)}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(s, 'hex'));
  } catch {
    throw new Refused(`the hex ${preview(s)} is not UTF-8 text`);
  }
}
