// What Debezium cannot carry exactly, by column type. refusal() names the types it never
// carries right (every event with such a value is refused); debeziumLimits() adds the losses
// no event shows, so prepare can warn or refuse before a sync starts.
import type { ColumnInfo, TablePlan } from '../../../../contracts/tables';
import { OID } from './oids';

/** Element types whose arrays Debezium leaves out of the event altogether. */
export const DROPPED_ARRAYS = new Set<number>([OID.name, OID.xml, OID.point, OID.money, OID.interval, OID.varbit]);

/** Types Debezium cannot carry exactly whatever the value: refused, with why. */
export function refusal(col: ColumnInfo): string | null {
  const elem = col.elementOid;
  const base = elem || col.baseOid;
  if (base === OID.timetz) return 'Debezium converts timetz to UTC and drops the original offset, which PostgreSQL keeps';
  if (elem === OID.time) return 'Debezium truncates time[] elements to milliseconds and turns 24:00:00 into 00:00:00';
  if (base === OID.varbit) return 'Debezium sends varbit as bytes without the bit length, so leading zero bits are lost';
  if (elem === OID.bit) return 'Debezium sends every bit[] value as NULL';
  if (elem && DROPPED_ARRAYS.has(elem)) return `Debezium does not send ${col.type} columns at all`;
  if (!elem && col.baseOid === OID.bit && col.typeCategory === 'd') return 'a domain over bit hides the bit length Debezium\'s bytes need';
  if (/^(\w+\.)?"?(geometry|geography)"?(\[\])?$/.test(col.type)) return 'Debezium sends PostGIS values as WKB structs, not PostgreSQL\'s text form';
  return null;
}

/** Columns whose values Debezium may deliver inexactly in ways no event shows; for prepare's report. */
export function debeziumLimits(plan: TablePlan): Array<{ column: string; type: string; refused: boolean; reason: string }> {
  const out: Array<{ column: string; type: string; refused: boolean; reason: string }> = [];
  for (const col of plan.columns) {
    if (col.generated) continue;
    const refused = refusal(col);
    const add = (r: boolean, reason: string) => out.push({ column: col.name, type: col.type, refused: r, reason });
    if (refused) add(true, refused);
    else if (col.elementOid) {
      const e = col.elementOid;
      if (e === OID.numeric) add(false, 'Debezium sends a numeric[] holding NaN or ±Infinity as NULL');
      if (e === OID.numeric || e === OID.inet || e === OID.float8) add(false, `Debezium sends an unchanged TOASTed ${col.type} in an update as NULL, not as unavailable`);
      if (e === OID.date || e === OID.timestamp || e === OID.timestamptz) add(false, 'Debezium sends BC elements of date/timestamp arrays as AD (those before 1582-10-15 are refused)');
      add(false, 'Debezium drops non-default array lower bounds ([2:3]={…} arrives as {…})');
    } else if (col.baseOid === OID.money) {
      add(false, 'money text is formatted as lc_monetary=C/en_US prints it ($1,234.56)');
    }
  }
  return out;
}
