// float4/float8 text exactly as PostgreSQL prints it with extra_float_digits=3, which is not
// JavaScript's String(number): the digit choice and the switch to exponent form differ.

/**
 * float4out/float8out with extra_float_digits > 0 (Ryu): the shortest digits strictly inside
 * the value's rounding interval (PostgreSQL does not accept a decimal exactly halfway to the
 * neighbour, where JavaScript's shortest form does), nearest to the value, ties to an even
 * digit; fixed notation for decimal exponents -4 … 14 (float4: … 5), else `d.ddde±XX`.
 */
export function formatFloat(v: number, float4: boolean): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const { digits, exp } = shortestDigits(Math.abs(v), float4);
  const sign = v < 0 ? '-' : '';
  if (exp < -4 || exp >= (float4 ? 6 : 15)) {
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits.padEnd(exp + 1, '0')}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** An exact rational n / d (d > 0). */
type Fraction = [bigint, bigint];

function scaled(n: bigint, base: bigint, power: number): Fraction {
  return power >= 0 ? [n * base ** BigInt(power), 1n] : [n, base ** BigInt(-power)];
}

function compare(a: Fraction, b: Fraction): number {
  const l = a[0] * b[1];
  const r = b[0] * a[1];
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Significant digits (no trailing zeros) and decimal exponent of the first, for a positive finite value. */
function shortestDigits(v: number, float4: boolean): { digits: string; exp: number } {
  // v = m × 2^e exactly, and the interval of decimals that read back as v (exclusive).
  const view = new DataView(new ArrayBuffer(8));
  let m: bigint;
  let e: number;
  let fractionZero: boolean;
  let biased: number;
  if (float4) {
    view.setFloat32(0, v);
    const bits = view.getUint32(0);
    biased = (bits >>> 23) & 0xff;
    const frac = bits & 0x7fffff;
    m = BigInt(biased ? frac | 0x800000 : frac);
    e = biased ? biased - 150 : -149;
    fractionZero = frac === 0;
  } else {
    view.setFloat64(0, v);
    const bits = view.getBigUint64(0);
    biased = Number((bits >> 52n) & 0x7ffn);
    const frac = bits & 0xfffffffffffffn;
    m = biased ? frac | 0x10000000000000n : frac;
    e = biased ? biased - 1075 : -1074;
    fractionZero = frac === 0n;
  }
  const value = scaled(m * 4n, 2n, e - 2);
  const high = scaled(m * 4n + 2n, 2n, e - 2);
  // Just above a power of two the gap below is half the gap above.
  const low = scaled(fractionZero && biased > 1 ? m * 4n - 1n : m * 4n - 2n, 2n, e - 2);
  for (let p = 1; p <= 17; p++) {
    const [mant, ex] = v.toExponential(p - 1).split('e');
    const nearest = BigInt(mant.replace('.', ''));
    const power = Number(ex) - (p - 1);
    let best: { c: bigint; distance: Fraction } | null = null;
    for (const c of [nearest - 1n, nearest, nearest + 1n]) {
      const candidate = scaled(c, 10n, power);
      if (c <= 0n || compare(candidate, low) <= 0 || compare(candidate, high) >= 0) continue;
      const diff: Fraction = [candidate[0] * value[1] - value[0] * candidate[1], candidate[1] * value[1]];
      const distance: Fraction = [diff[0] < 0n ? -diff[0] : diff[0], diff[1]];
      const order = best ? compare(distance, best.distance) : -1;
      if (order < 0 || (order === 0 && c % 2n === 0n)) best = { c, distance };
    }
    if (best) {
      const text = best.c.toString();
      return { digits: text.replace(/0+$/, '') || '0', exp: power + text.length - 1 };
    }
  }
  throw new Error(`no shortest form for ${v}`);
}
