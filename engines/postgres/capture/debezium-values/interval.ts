// interval columns: interval.handling.mode=string sends ISO 8601, the backfill session prints
// IntervalStyle=postgres.
import { formatTime, pad } from './calendar';
import { Refused, preview } from './refused';

/**
 * Debezium's ISO 8601 interval (`P-1Y-2M3DT-4H-5M-6.789S`, each part signed) → IntervalStyle
 * postgres: `-1 years -2 mons +3 days -04:05:06.789` (EncodeInterval, INTSTYLE_POSTGRES).
 */
export function formatInterval(iso: string): string {
  const m = /^P(-?\d+)Y(-?\d+)M(-?\d+)DT(-?\d+)H(-?\d+)M(-?)(\d+)(?:\.(\d+))?S$/.exec(iso);
  if (!m || /[1-9]/.test((m[8] ?? '').slice(6))) {
    throw new Refused(`unrecognised ISO 8601 interval ${preview(iso)}`);
  }
  const months = Number(m[1]) * 12 + Number(m[2]);
  const days = Number(m[3]);
  const secondsUs = BigInt(m[7]) * 1_000_000n + BigInt((m[8] ?? '').slice(0, 6).padEnd(6, '0'));
  const time = BigInt(m[4]) * 3_600_000_000n + BigInt(m[5]) * 60_000_000n + (m[6] ? -secondsUs : secondsUs);
  let out = '';
  let isZero = true;
  let isBefore = false;
  const part = (value: number, unit: string) => {
    if (value === 0) return;
    out += `${isZero ? '' : ' '}${isBefore && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`;
    isBefore = value < 0;
    isZero = false;
  };
  part(Math.trunc(months / 12), 'year');
  part(months % 12, 'mon');
  part(days, 'day');
  if (isZero || time !== 0n) {
    const minus = time < 0n;
    const abs = minus ? -time : time;
    const hours = abs / 3_600_000_000n;
    out += `${isZero ? '' : ' '}${minus ? '-' : isBefore ? '+' : ''}${pad(hours, 2)}${formatTime(abs - hours * 3_600_000_000n).slice(2)}`;
  }
  return out;
}
