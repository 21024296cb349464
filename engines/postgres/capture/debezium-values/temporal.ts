// Dates and timestamps. Debezium writes ±infinity as fixed numbers (from pgjdbc's
// PGStatement constants and an overflowing conversion); they lie outside PostgreSQL's range
// (4714-11-24 BC … 294276 AD), except timestamp's +infinity, which is also the instant
// 294247-01-10 04:00:25.2 — a value no one stores.
import type { ColumnInfo } from '../../../../contracts/tables';
import { US_PER_DAY, daysFromCivil, formatDate, formatTimestamp } from './calendar';
import { integer, string } from './json';
import { Refused, preview, type Convert } from './refused';

const DATE_MIN = -2440588; // 4714-11-24 BC
const DATE_MAX = 2145042905; // 5874897-12-31
const DATE_INF = new Map([[-2147472692, 'infinity'], [-2147472691, '-infinity']]);
const DATE_ARRAY_INF = new Map([[-622191234, 'infinity'], [-625821272, '-infinity']]);
/** 1582-10-15: before it, Debezium's array path uses the Julian calendar (and drops BC). */
const GREGORIAN_DAY = -141427;
const TS_INF = new Map([['9223372036825200000', 'infinity'], ['-9223372036832400000', '-infinity']]);

export function date(v: unknown, inArray: boolean): string {
  const days = Number(integer(v));
  const special = (inArray ? DATE_ARRAY_INF : DATE_INF).get(days);
  if (special) return special;
  if (days < DATE_MIN || days > DATE_MAX) throw new Refused(`date ${days} (days since 1970) is outside PostgreSQL's range: Debezium overflowed`);
  if (inArray && days < GREGORIAN_DAY) throw new Refused('Debezium converts date[] elements before 1582-10-15 with the Julian calendar and drops BC');
  return formatDate(days);
}

/** time.precision.mode=adaptive_time_microseconds: timestamp(0..3) in milliseconds, else microseconds. */
export function timestampConverter(col: ColumnInfo, inArray: boolean): Convert {
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

export function timestamptz(v: unknown, inArray: boolean): string {
  const s = string(v);
  if (s === 'infinity' || s === '-infinity') return s;
  const out = isoToPgTimestamptz(s);
  if (out === null) throw new Refused(`unrecognised timestamptz ${preview(s)}`);
  if (inArray && out.days < GREGORIAN_DAY) throw new Refused('Debezium converts timestamptz[] elements before 1582-10-15 with the Julian calendar and drops BC');
  if (out.days < DATE_MIN || out.days > DATE_MAX) throw new Refused(`timestamptz ${s} is outside PostgreSQL's range: Debezium overflowed`);
  return out.text;
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
export function tstzToUtc(text: string): string {
  return text.replace(/(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?( BC)?/g, (all, y, mo, d, h, mi, s, f, sign, oh, om, os, bc) => {
    const offset = (Number(oh) * 60 + Number(om ?? 0)) * 60 + Number(os ?? 0);
    if (offset === 0) return all;
    const year = bc ? 1 - Number(y) : Number(y);
    const local = BigInt(daysFromCivil(year, Number(mo), Number(d))) * US_PER_DAY + BigInt((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1_000_000n + BigInt((f ?? '').padEnd(6, '0'));
    return formatTimestamp(local - BigInt(sign === '+' ? offset : -offset) * 1_000_000n, '+00');
  });
}
