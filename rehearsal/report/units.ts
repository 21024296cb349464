// Figures as a person reads them in a report: durations in h/min/s, sizes in kB/MB/GB, counts
// with digit groups. Plain functions, one per kind of figure, so markdown and HTML agree.

const NA = 'n/a';

/** `42.3 s`, `0.25 s`, `12 min 5 s`, `1 h 12 min`, `2 d 3 h`; n/a for null. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return NA;
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  // Past a minute the tenths are noise next to the minutes: whole units, two of them at most.
  const whole = Math.round(seconds);
  const d = Math.floor(whole / 86_400);
  const h = Math.floor((whole % 86_400) / 3_600);
  const m = Math.floor((whole % 3_600) / 60);
  const s = whole % 60;
  if (d) return h ? `${d} d ${h} h` : `${d} d`;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  return s ? `${m} min ${s} s` : `${m} min`;
}

const byteUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Decimal units (1 GB = 10^9 bytes, as disks and cloud bills count): `1.2 GB`, `512 B`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return NA;
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < byteUnits.length - 1) {
    value /= 1000;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return unit === 0 ? `${sign}${Math.round(value)} B` : `${sign}${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ${byteUnits[unit]}`;
}

/** `12,345,678`; small non-integers keep a decimal or two (`3.5`, `0.25`). */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return NA;
  if (Number.isInteger(n) || Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return formatNumber(n);
}

/** A figure with at most two significant decimals, trailing zeros dropped: `2.4`, `0.05`, `6`. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return NA;
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return String(Number(n.toFixed(digits)));
}

/** `1,234 rows/s`, `850 kB/s`. */
export function formatRate(perSecond: number | null | undefined, unit: 'rows' | 'events' | 'bytes'): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return NA;
  return unit === 'bytes' ? `${formatBytes(perSecond)}/s` : `${formatCount(perSecond)} ${unit}/s`;
}

/** `2026-12-01 10:00:00 UTC`: one zone for every reader of a shared report. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return NA;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `12×`, `1.5×`, `0.25×`. */
export function formatFactor(factor: number): string {
  return `${formatNumber(factor)}×`;
}
