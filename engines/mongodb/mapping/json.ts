// JSON: parsed with lossless-json so every number is read from its own text.
import { Double, Int32, Long } from 'mongodb';
import { parse as parseLosslessJson, type ParseOptions } from 'lossless-json';
import { Unmappable, type Convert } from './convert';
import { decimalFromParts, splitDecimal } from './decimal128';

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

export function jsonConverter(truncate: boolean): Convert {
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
