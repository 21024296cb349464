// Checksums that verification compares across engines. A MongoDB document digests the same
// whatever its field order or number representation (Int32 5, Int64 5, Double 5.0 and
// Decimal128 "5.00" are one value), so a target that reordered fields or widened a number
// still verifies clean; any other change (value, type class, binary subtype, a missing
// field) changes the digest. Chunk hashes are sums of row digests mod 2^64: order-free.
// PostgreSQL → PostgreSQL rows are digested in SQL (rowDigestSql) on both sides.
import { createHash } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { quoteIdent } from './postgres/identifiers';

const MOD = 1n << 64n;
/** Documents digested between two yields to the event loop. */
const BATCH = 500;

/**
 * `[-]digits e exp` with no leading or trailing zeros in digits ("0" for zero), from any
 * decimal text: "5", "5.00", "500", "5E+2", "1e+21", "-0.0" → "5e0", "5e0", "5e2", "5e2", "1e21", "0".
 * NaN and the infinities keep distinct names.
 */
export function canonicalDecimal(text: string): string {
  const t = text.trim();
  if (/^[+-]?nan$/i.test(t)) return 'NaN';
  if (/^[+]?inf(inity)?$/i.test(t)) return 'Inf';
  if (/^-inf(inity)?$/i.test(t)) return '-Inf';
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(t);
  if (!m) throw new Error(`not a decimal number: ${text}`);
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = (int + frac).replace(/^0+/, '');
  if (digits === '') return '0';
  let e = Number(exp) - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  e += digits.length - trimmed.length;
  digits = trimmed;
  return `${sign === '-' ? '-' : ''}${digits}e${e}`;
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Inf';
  if (n === -Infinity) return '-Inf';
  // Shortest round-trip text: one text per double; -0 prints as "0".
  return canonicalDecimal(String(n));
}

/** Appends the canonical, self-delimiting text of a BSON value (as read or as mapped). */
function canon(v: unknown, out: string[]): void {
  if (v === null || v === undefined) {
    out.push('n');
    return;
  }
  switch (typeof v) {
    case 'string':
      out.push('s', String(v.length), ':', v);
      return;
    case 'number':
      out.push('d', numberText(v), ';');
      return;
    case 'bigint':
      out.push('d', canonicalDecimal(v.toString()), ';');
      return;
    case 'boolean':
      out.push(v ? 'T' : 'F');
      return;
    case 'object':
      break;
    default:
      throw new Error(`cannot digest a value of type ${typeof v}`);
  }
  if (Array.isArray(v)) {
    out.push('[');
    for (const item of v) canon(item, out);
    out.push(']');
    return;
  }
  if (v instanceof Date) {
    out.push('D', String(v.getTime()), ';');
    return;
  }
  if (v instanceof Uint8Array) {
    out.push('b0:', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), ';');
    return;
  }
  const o = v as Record<string, unknown> & { _bsontype?: string };
  switch (o._bsontype) {
    case 'Int32':
    case 'Double':
      out.push('d', numberText((o as unknown as { value: number }).value), ';');
      return;
    case 'Long':
    case 'Decimal128':
      out.push('d', canonicalDecimal(String(o)), ';');
      return;
    case 'Binary': {
      const b = o as unknown as { sub_type: number; buffer: Uint8Array; position: number };
      out.push('b', String(b.sub_type), ':', Buffer.from(b.buffer.buffer, b.buffer.byteOffset, b.position).toString('base64'), ';');
      return;
    }
    case 'ObjectId':
    case 'ObjectID':
      out.push('o', (o as unknown as { toHexString(): string }).toHexString());
      return;
    case 'Timestamp':
      out.push('t', String(o), ';');
      return;
    case 'BSONRegExp': {
      const r = o as unknown as { pattern: string; options: string };
      out.push('r', String(r.pattern.length), ':', r.pattern, r.options, ';');
      return;
    }
    case 'BSONSymbol':
      out.push('y', String(o.value).length.toString(), ':', String(o.value));
      return;
    case 'MinKey':
    case 'MaxKey':
      out.push(o._bsontype);
      return;
    case 'Code': {
      const c = o as unknown as { code: string; scope: unknown };
      out.push('c', String(c.code.length), ':', c.code);
      canon(c.scope ?? null, out);
      return;
    }
    case 'DBRef': {
      const r = o as unknown as { collection: string; oid: unknown; db?: string };
      out.push('R', String(r.collection.length), ':', r.collection, String(r.db ?? '').length.toString(), ':', r.db ?? '');
      canon(r.oid, out);
      return;
    }
    case undefined:
      break;
    default:
      throw new Error(`cannot digest BSON ${o._bsontype}`);
  }
  if (v instanceof RegExp) {
    out.push('r', String(v.source.length), ':', v.source, v.flags, ';');
    return;
  }
  // A (sub)document: fields sorted, so their order does not matter.
  const keys = Object.keys(o).sort();
  out.push('{');
  for (const k of keys) {
    // An undefined field is written as null (the driver's default, ignoreUndefined false).
    out.push(String(k.length), ':', k);
    canon(o[k], out);
  }
  out.push('}');
}

/** The canonical text of a value: equal texts ⇔ equal values in the sense above. */
export function canonicalText(v: unknown): string {
  const out: string[] = [];
  canon(v, out);
  return out.join('');
}

/** 64-bit digest (the first 8 bytes of md5) of a document's canonical text. */
export function documentDigest(doc: unknown): bigint {
  return createHash('md5').update(canonicalText(doc)).digest().readBigUInt64BE(0);
}

/** Digests of many documents, in order, yielding to the event loop every few hundred. */
export async function documentDigests(docs: unknown[]): Promise<bigint[]> {
  const out: bigint[] = new Array(docs.length);
  for (let i = 0; i < docs.length; i++) {
    if (i > 0 && i % BATCH === 0) await yieldToLoop();
    out[i] = documentDigest(docs[i]);
  }
  return out;
}

/** An order-independent accumulator: the sum of 64-bit digests mod 2^64. */
export class ChunkHash {
  private sum = 0n;
  rows = 0;

  add(digest: bigint): void {
    this.sum = (this.sum + digest) % MOD;
    this.rows++;
  }

  /** Adds a sum computed elsewhere (e.g. by SQL as a numeric that may be negative or ≥ 2^64). */
  addSum(sum: bigint | string, rows: number): void {
    this.sum = (((this.sum + BigInt(sum)) % MOD) + MOD) % MOD;
    this.rows += rows;
  }

  hex(): string {
    return hex64(this.sum);
  }
}

export function hex64(v: bigint): string {
  return (((v % MOD) + MOD) % MOD).toString(16).padStart(16, '0');
}

/**
 * SQL for a row's 64-bit digest as a signed bigint: the first 16 hex digits of
 * md5(ROW(c1, c2, ...)::text). The columns are listed in the order given (the same list on
 * both sides), so the row text is the same wherever the values are the same and the
 * sessions print values the same way (pgPool fixes TimeZone, DateStyle, extra_float_digits).
 */
export function rowDigestSql(columns: string[], alias = ''): string {
  return `('x' || ${rowMd5Sql(columns, alias, 16)})::bit(64)::bigint`;
}

/** The row's md5 as hex, cut to `length` digits (drill-down compares these per key). */
export function rowMd5Sql(columns: string[], alias = '', length = 32): string {
  const row = `ROW(${columns.map((c) => alias + quoteIdent(c)).join(', ')})::text`;
  return length >= 32 ? `md5(${row})` : `left(md5(${row}), ${length})`;
}

/** SQL aggregate of rowDigestSql as numeric text (feed it to ChunkHash.addSum). */
export function chunkSumSql(columns: string[], alias = ''): string {
  return `coalesce(sum(${rowDigestSql(columns, alias)}::numeric), 0)::text`;
}
