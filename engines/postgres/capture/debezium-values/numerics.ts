// numeric and money: exact decimal strings (decimal.handling.mode=string), reprinted as
// numeric_out and cash_out print them.
import { string } from './json';
import { Refused, preview } from './refused';

/** decimal.handling.mode=string, plus the names Debezium gives numeric's special values. */
export function numeric(v: unknown): string {
  const s = string(v);
  if (/^-?\d+(\.\d+)?$/.test(s)) return s;
  if (s === 'NAN' || s === 'NaN') return 'NaN';
  if (s === 'POSITIVE_INFINITY' || s === 'Infinity') return 'Infinity';
  if (s === 'NEGATIVE_INFINITY' || s === '-Infinity') return '-Infinity';
  const m = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(s);
  if (m) return plainDecimal(m[1], m[2], m[3] ?? '', Number(m[4]));
  throw new Refused(`expected a decimal string, got ${preview(v)}`);
}

/** `1.50E+3` → `1500`, `1.5E-3` → `0.0015`: BigDecimal's scientific form as numeric prints it. */
function plainDecimal(sign: string, int: string, frac: string, exp: number): string {
  const digits = int + frac;
  const point = int.length + exp;
  let whole: string;
  let fraction: string;
  if (point <= 0) { whole = '0'; fraction = '0'.repeat(-point) + digits; }
  else if (point >= digits.length) { whole = digits + '0'.repeat(point - digits.length); fraction = ''; }
  else { whole = digits.slice(0, point); fraction = digits.slice(point); }
  whole = whole.replace(/^0+(?=\d)/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** money as lc_monetary C (and en_US) prints it: `$1,234.56`, `-$1.50`. */
export function formatMoney(decimal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(decimal);
  if (!m || (m[3] ?? '').replace(/0+$/, '').length > 2) throw new Refused(`unexpected money value ${preview(decimal)}`);
  const whole = m[2].replace(/^0+(?=\d)/, '').replace(/\B(?=(\d{3})+$)/g, ',');
  return `${m[1]}$${whole}.${(m[3] ?? '').padEnd(2, '0').slice(0, 2)}`;
}
