// PostgreSQL's geometric types. point is a struct Debezium knows; the others are unknown to it
// and arrive as the hex of the text Java's PG* classes print, whose numbers are reprinted as
// float8out would.
import { formatFloat } from './floats';
import { float, string, utf8FromHex } from './json';
import { Refused, preview } from './refused';

/** Debezium's Point struct {x, y, wkb, srid}. */
export function point(v: unknown): string {
  if (typeof v !== 'object' || v === null || !('x' in v) || !('y' in v)) throw new Refused(`expected a Point struct, got ${preview(v)}`);
  return `(${formatFloat(float(v.x), false)},${formatFloat(float(v.y), false)})`;
}

/** line, lseg, box, path, polygon, circle: Java prints 1.0 and 1.0E300 where PostgreSQL prints 1 and 1e+300. */
export function geometricText(v: unknown): string {
  return utf8FromHex(string(v)).replace(/-?(?:Infinity|NaN|\d+(?:\.\d+)?(?:E-?\d+)?)/g, (n) => formatFloat(Number(n), false));
}
