// Readers for the JSON shapes Debezium writes a value in (string, boolean, exact integer,
// float, hex): each checks the shape and refuses anything else, so a connector setting that
// drifted from debezium-config.ts shows up as a named refusal, not as a wrong value.
import { isLosslessNumber } from 'lossless-json';
import { Refused, preview } from './refused';

export function string(v: unknown): string {
  if (typeof v !== 'string') throw new Refused(`expected a string, got ${preview(v)}`);
  return v;
}

export function bool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Refused(`expected a boolean, got ${preview(v)}`);
  return v;
}

/** A JSON integer's exact digits (a LosslessNumber from debezium.ts; plain numbers are accepted when safe). */
export function integer(v: unknown): string {
  let t: string | null = null;
  if (isLosslessNumber(v)) t = v.value;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) t = String(v);
  else if (typeof v === 'bigint') t = v.toString();
  if (t === null || !/^-?\d+$/.test(t)) throw new Refused(`expected an integer, got ${preview(v)}`);
  return t;
}

/** JSON numbers, or the strings Jackson writes for NaN and ±Infinity. */
export function float(v: unknown): number {
  if (isLosslessNumber(v)) return Number(v.value);
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new Refused(`expected a floating-point number, got ${preview(v)}`);
}

/** binary.handling.mode=hex: bytea's bytes as hex, lower-cased as PostgreSQL prints them. */
export function hex(v: unknown): string {
  const s = string(v);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new Refused(`expected hex bytes (binary.handling.mode=hex), got ${preview(v)}`);
  return s.toLowerCase();
}

/** include.unknown.datatypes with binary.handling.mode=hex: the hex of the value's UTF-8 text. */
export function utf8FromHex(s: string): string {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new Refused(`expected the hex of the value's text (an unknown type to Debezium), got ${preview(s)}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(s, 'hex'));
  } catch {
    throw new Refused(`the hex ${preview(s)} is not UTF-8 text`);
  }
}
