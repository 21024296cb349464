// Dates and timestamps: PostgreSQL's ISO output parsed by hand (years beyond 9999, BC,
// offsets with seconds, 1-6 fractional digits), computed as milliseconds since the epoch.
import { Unmappable } from './convert';

const MS_PER_DAY = 86_400_000;
/** The range of a JavaScript Date, which is how the driver writes a BSON date. */
const MAX_DATE_MS = 8.64e15;

/** Days from 1970-01-01 to a proleptic Gregorian date (astronomical year numbering). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function digits2(t: string, i: number): number {
  return (t.charCodeAt(i) - 48) * 10 + (t.charCodeAt(i + 1) - 48);
}

/**
 * `YYYY-MM-DD[ HH:MM:SS[.f{1,6}][±HH[:MM[:SS]]]][ BC]` → epoch milliseconds. With `truncate`
 * digits below the millisecond are dropped, which always moves toward the earlier instant
 * (the fraction is a positive addend, BC or not); without it they are refused.
 */
function parseTimestamp(t: string, withTime: boolean, truncate: boolean): Date {
  const c0 = t.charCodeAt(0);
  if (c0 === 105 /* i */ || c0 === 45 /* - */) {
    throw new Unmappable(`${t} has no MongoDB date equivalent`, false);
  }
  const len = t.length;
  let i = 0;
  let year = 0;
  for (let c = c0; i < len && c !== 45; c = t.charCodeAt(++i)) year = year * 10 + (c - 48);
  const month = digits2(t, i + 1);
  const day = digits2(t, i + 4);
  i += 6;
  let ms = 0;
  if (withTime) {
    ms = ((digits2(t, i + 1) * 60 + digits2(t, i + 4)) * 60 + digits2(t, i + 7)) * 1000;
    i += 9;
    if (t.charCodeAt(i) === 46 /* . */) {
      let n = 0;
      let frac = 0;
      let c = t.charCodeAt(++i);
      for (; c >= 48 && c <= 57; c = t.charCodeAt(++i), n++) {
        if (n < 3) frac = frac * 10 + (c - 48);
        else if (c !== 48 && !truncate) {
          throw new Unmappable(`${t} has digits below the millisecond, which a MongoDB date cannot hold`, true);
        }
      }
      for (; n < 3; n++) frac *= 10;
      ms += frac;
    }
    const s = t.charCodeAt(i);
    if (s === 43 /* + */ || s === 45 /* - */) {
      let offset = digits2(t, i + 1) * 3600;
      i += 3;
      if (t.charCodeAt(i) === 58 /* : */) { offset += digits2(t, i + 1) * 60; i += 3; }
      if (t.charCodeAt(i) === 58) { offset += digits2(t, i + 1); i += 3; }
      ms -= (s === 43 ? offset : -offset) * 1000;
    }
  }
  if (t.charCodeAt(i) === 32 /* space: ' BC' */) year = 1 - year;
  const total = daysFromCivil(year, month, day) * MS_PER_DAY + ms;
  if (!(total >= -MAX_DATE_MS && total <= MAX_DATE_MS)) {
    if (Number.isNaN(total)) throw new Error(`unrecognised date/time text ${JSON.stringify(t)}`);
    throw new Unmappable(`${t} is outside the range of a MongoDB date as the driver writes it (years -271821 to 275760)`, false);
  }
  return new Date(total);
}

export const timestampExact = (t: string) => parseTimestamp(t, true, false);
export const timestampTruncating = (t: string) => parseTimestamp(t, true, true);
export const dateExact = (t: string) => parseTimestamp(t, false, false);
export const dateTruncating = dateExact;
