// Debezium's stand-in for an unchanged TOASTed value (unavailable.value.placeholder in
// debezium-config.ts), in every disguise the column's type gives it. Such a column is left out
// of the row so the target keeps its own value.
import { createHash } from 'node:crypto';
import { isLosslessNumber } from 'lossless-json';
import { UNAVAILABLE_PLACEHOLDER } from '../debezium-config';

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
export function isUnavailable(v: unknown): boolean {
  if (typeof v === 'string') return v === UNAVAILABLE_PLACEHOLDER || v === UNAVAILABLE_HEX || v === UNAVAILABLE_HSTORE;
  if (!Array.isArray(v)) return false;
  if (v.length === 1) return v[0] === UNAVAILABLE_PLACEHOLDER || v[0] === UNAVAILABLE_HEX || v[0] === UNAVAILABLE_UUID;
  return v.length === UNAVAILABLE_CODES.length && v.every((e, i) => (isLosslessNumber(e) ? Number(e.value) : e) === UNAVAILABLE_CODES[i]);
}
