// How a converter says a value cannot be carried exactly: it throws Refused with the reason,
// and decode.ts turns that into a PoisonMessage naming table, column and type. preview() keeps
// the offending value short enough for an alert and the dead-letter reason.
import { isLosslessNumber } from 'lossless-json';

/** A column value Debezium could not carry exactly: the event is refused with this reason. */
export class Refused extends Error {}

/** One column's converter: a Debezium JSON value → PostgreSQL's text form (or throws Refused). */
export type Convert = (v: unknown) => string;

export function preview(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (_k, x) => (isLosslessNumber(x) ? x.value : typeof x === 'bigint' ? x.toString() : x));
  if (text === undefined) return String(v);
  return text.length > 120 ? `${text.slice(0, 120)}… (${text.length} characters)` : text;
}
