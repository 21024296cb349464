// Day and microsecond arithmetic on the proleptic Gregorian calendar PostgreSQL uses, and its
// DateStyle=ISO text for dates, times and timestamps (with ` BC` after the whole value).

export const US_PER_DAY = 86_400_000_000n;

export function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** Proleptic Gregorian date of a day count since 1970-01-01 (astronomical years: 0 is 1 BC). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** `YYYY-MM-DD` and whether it is BC (PostgreSQL appends ` BC` after the whole value). */
function ymd(days: number): { text: string; bc: boolean } {
  const [y, m, d] = civilFromDays(days);
  return { text: `${pad(y > 0 ? y : 1 - y, 4)}-${pad(m, 2)}-${pad(d, 2)}`, bc: y <= 0 };
}

export function formatDate(days: number): string {
  const { text, bc } = ymd(days);
  return bc ? `${text} BC` : text;
}

/** `HH:MM:SS[.ffffff]`, trailing fraction zeros dropped; 24:00:00 stays 24:00:00. */
export function formatTime(us: bigint): string {
  const frac = Number(us % 1_000_000n);
  const secs = Number(us / 1_000_000n);
  const f = frac ? `.${pad(frac, 6).replace(/0+$/, '')}` : '';
  return `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}${f}`;
}

function splitMicros(us: bigint): { days: number; tod: bigint } {
  let days = us / US_PER_DAY;
  if (us < 0n && days * US_PER_DAY !== us) days -= 1n;
  return { days: Number(days), tod: us - days * US_PER_DAY };
}

/** Microseconds since 1970-01-01 00:00 → `YYYY-MM-DD HH:MM:SS[.ffffff]`, `zone` (e.g. `+00`) before any ` BC`. */
export function formatTimestamp(us: bigint, zone = ''): string {
  const { days, tod } = splitMicros(us);
  const { text, bc } = ymd(days);
  return `${text} ${formatTime(tod)}${zone}${bc ? ' BC' : ''}`;
}
