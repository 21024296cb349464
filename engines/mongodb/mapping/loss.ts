// What a person should read before a MongoDB migration starts: the columns whose values may
// not fit a BSON type exactly, and what their policy will do about it.
import type { ColumnInfo, TablePlan } from '../../../contracts/tables';
import { OID } from './oids';

function scalarOid(c: ColumnInfo): number {
  return c.elementOid || c.baseOid || c.typeOid;
}

/** `numeric(p, s)` holds at most p significant digits; Decimal128 holds 34. */
function numericMayOverflow(c: ColumnInfo): boolean {
  const m = /numeric\((\d+)/.exec(c.type);
  return !m || Number(m[1]) > 34;
}

/** Precision below the millisecond: `timestamp(3)` fits a Date, `timestamp` (6 digits) may not. */
function timestampMayLoseDigits(c: ColumnInfo): boolean {
  const m = /\((\d)\)/.exec(c.type);
  return !m || Number(m[1]) > 3;
}

export function lossWarnings(plan: TablePlan): string[] {
  const out: string[] = [];
  for (const c of plan.columns) {
    if (c.field === null) continue;
    const where = `${plan.display}.${c.name} (${c.type})`;
    const oid = scalarOid(c);
    if (c.lossy === 'string') {
      out.push(`${where}: stored as text (lossy: string), exactly as PostgreSQL prints it`);
    } else if ((oid === OID.timestamp || oid === OID.timestamptz) && timestampMayLoseDigits(c)) {
      out.push(
        c.lossy === 'truncate'
          ? `${where}: MongoDB dates hold milliseconds: digits below are dropped (lossy: truncate); ±infinity stops the copy. Set lossy: string to keep them as text, or fail to refuse such rows`
          : `${where}: a value with digits below the millisecond stops the copy (lossy: fail); set lossy: truncate or string to accept it`,
      );
    } else if (oid === OID.numeric && numericMayOverflow(c)) {
      out.push(
        c.lossy === 'truncate'
          ? `${where}: values beyond Decimal128's 34 significant digits are rounded (lossy: truncate)`
          : `${where}: a value beyond Decimal128's 34 significant digits stops the copy (lossy: fail); set lossy: string or truncate to accept it`,
      );
    } else if ((oid === OID.json || oid === OID.jsonb) && (c.nullable || c.elementOid)) {
      // Both are BSON null, field present: after the copy nothing says which one a row had.
      out.push(
        c.elementOid
          ? `${where}: a NULL element and a JSON null element both become null in MongoDB and cannot be told apart afterwards; set lossy: string to store the array as PostgreSQL's text, which keeps them apart`
          : `${where}: SQL NULL and JSON null both become null (field present) in MongoDB and cannot be told apart afterwards; set lossy: string to keep the JSON as text (SQL NULL stays null, JSON null becomes "null"), or make the column NOT NULL`,
      );
    }
  }
  return out;
}
