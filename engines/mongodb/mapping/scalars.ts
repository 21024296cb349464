// Scalar values by type OID: which converter a type gets, and the small ones (int64, bytea,
// uuid) that need no file of their own. Numerics, dates/timestamps and JSON have theirs.
import { Binary, Double, Int32, Long, UUID } from 'mongodb';
import type { Convert } from './convert';
import { OID } from './oids';
import { dateExact, dateTruncating, timestampExact, timestampTruncating } from './timestamps';
import { numericExact, numericTruncating } from './decimal128';
import { jsonConverter } from './json';

const TWO32 = 4294967296;

export function scalarConverter(oid: number, truncate: boolean): Convert {
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
