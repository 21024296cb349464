// bit(n) columns. (varbit and bit[] are refused in limits.ts: Debezium loses their length.)
import type { ColumnInfo } from '../../../../contracts/tables';
import { string } from './json';
import { Refused, type Convert } from './refused';

/** bit(1) arrives as a boolean; bit(n) as base64 of a little-endian BitSet (bit 0 = last character). */
export function bitConverter(col: ColumnInfo): Convert {
  const m = /^bit\((\d+)\)/.exec(col.type);
  const n = m ? Number(m[1]) : 1;
  return (v) => {
    if (typeof v === 'boolean') {
      if (n !== 1) throw new Refused(`a boolean for a bit(${n}) value`);
      return v ? '1' : '0';
    }
    const bytes = Buffer.from(string(v), 'base64');
    let out = '';
    for (let i = n - 1; i >= 0; i--) out += (bytes[i >> 3] ?? 0) & (1 << (i & 7)) ? '1' : '0';
    for (let i = n; i < bytes.length * 8; i++) if (bytes[i >> 3] & (1 << (i & 7))) throw new Refused(`more bits than bit(${n}) holds`);
    return out;
  };
}
