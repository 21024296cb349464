// One event's row, column by column: absent, NULL, unavailable (unchanged TOAST), refused by
// type, or converted. Converters are chosen once per plan and kept while the plan lives.
import type { ColumnInfo, TablePlan } from '../../../../contracts/tables';
import type { SourceRow } from '../../../rows';
import { PoisonMessage } from '../../../errors';
import { columnConverter } from './converters';
import { DROPPED_ARRAYS, refusal } from './limits';
import { Refused, preview, type Convert } from './refused';
import { isUnavailable } from './unavailable';

/**
 * One event's row (`after`, or `before` of a delete) in PostgreSQL text form against the plan.
 * `only` restricts the conversion to some columns (a delete needs its key, and with REPLICA
 * IDENTITY DEFAULT its `before` carries nothing else).
 */
/** A Debezium row converted to PostgreSQL text form, against the table's plan. */
export interface DecodedRow {
  /** Planned columns present in the event, in text form (null = SQL NULL). Unavailable ones are absent. */
  row: SourceRow;
  /** Columns whose value Debezium did not send (an unchanged TOASTed value): the target keeps its own. */
  unavailable: string[];
  /** Fields in the event that the plan does not know (a column added on the source). */
  unknown: string[];
  /** Planned, non-generated columns the event lacks (a column dropped on the source). */
  missing: string[];
}

export function rowFromDebezium(plan: TablePlan, values: Record<string, unknown>, only?: readonly string[]): DecodedRow {
  const columns = compiled(plan);
  const result: DecodedRow = { row: {}, unavailable: [], unknown: [], missing: [] };
  for (const c of columns) {
    if (c.col.generated || (only && !only.includes(c.col.name))) continue;
    if (!Object.prototype.hasOwnProperty.call(values, c.col.name)) {
      // A type Debezium never sends is not a dropped column: say what it is.
      if (c.refused && c.col.elementOid && DROPPED_ARRAYS.has(c.col.elementOid)) throw poison(plan, c.col, c.refused);
      result.missing.push(c.col.name);
      continue;
    }
    const v = values[c.col.name];
    if (v === null || v === undefined) setOwn(result.row, c.col.name, null);
    else if (isUnavailable(v)) result.unavailable.push(c.col.name);
    else {
      if (c.refused) throw poison(plan, c.col, c.refused);
      try {
        setOwn(result.row, c.col.name, c.convert(v));
      } catch (err) {
        throw poison(plan, c.col, err instanceof Refused ? err.message : `unexpected value ${preview(v)} (${(err as Error).message})`);
      }
    }
  }
  const known = new Set(plan.columns.map((c) => c.name));
  for (const name of Object.keys(values)) if (!known.has(name)) result.unknown.push(name);
  return result;
}

function poison(plan: TablePlan, col: ColumnInfo, reason: string): PoisonMessage {
  return new PoisonMessage(`${plan.display}.${col.name} (${col.type}): ${reason}`);
}

/** A column named `__proto__` must become an own property, not the row's prototype. */
function setOwn(row: SourceRow, name: string, value: string | null): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, writable: true, enumerable: true, configurable: true });
  else row[name] = value;
}

interface Compiled {
  col: ColumnInfo;
  convert: Convert;
  refused: string | null;
}

const cache = new WeakMap<TablePlan, Compiled[]>();

function compiled(plan: TablePlan): Compiled[] {
  let c = cache.get(plan);
  if (!c) cache.set(plan, (c = plan.columns.map((col) => ({ col, convert: columnConverter(col), refused: refusal(col) }))));
  return c;
}
