// Decimal128, encoded directly from the digits (BID layout: a coefficient below 2^113 and a
// biased exponent), so each value costs one parse of its own text.
import { Decimal128 } from 'mongodb';
import { Unmappable, preview } from './convert';

const TWO32 = 4294967296;
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
export interface DecimalParts {
  negative: boolean;
  /** Significant digits without leading or trailing zeros; '' for zero. */
  digits: string;
  exponent: number;
  /** Zeros after the last significant digit that the text wrote (they carry its scale). */
  trailingZeros: number;
}

/** Splits `-?digits[.digits][e[+-]digits]` (PostgreSQL numeric or JSON number text). */
export function splitDecimal(t: string): DecimalParts {
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
export function decimalFromParts(p: DecimalParts, text: string, truncate: boolean): Decimal128 {
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

export const numericExact = (t: string) => numeric(t, false);
export const numericTruncating = (t: string) => numeric(t, true);
