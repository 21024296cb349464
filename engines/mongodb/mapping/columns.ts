// Columns: the converter a column gets from its type and lossy policy (arrays element by
// element with postgres-array), and what its type says about the values it can produce.
import { parse as parseArray } from 'postgres-array';
import type { ColumnInfo, LossyPolicy } from '../../../contracts/tables';
import type { Convert } from './convert';
import { OID } from './oids';
import { scalarConverter } from './scalars';

/** box[] separates its elements with ';', not ',': such arrays are kept whole as text. */
const delimitedOtherwise = (col: ColumnInfo) => col.elementOid === OID.box;

export function columnConverter(col: ColumnInfo): Convert {
  const policy: LossyPolicy = col.lossy ?? 'fail';
  if (policy === 'string') return null;
  const truncate = policy === 'truncate';
  if (col.elementOid) {
    if (delimitedOtherwise(col)) return null;
    const element = scalarConverter(col.elementOid, truncate);
    return element ? (t) => parseArray(t, element) : (t) => parseArray(t);
  }
  return scalarConverter(col.baseOid || col.typeOid, truncate);
}

/** Can this column's converter produce an array (which MongoDB refuses as an _id)? */
export function mayBeArray(col: ColumnInfo): boolean {
  if ((col.lossy ?? 'fail') === 'string') return false;
  const oid = col.baseOid || col.typeOid;
  return (col.elementOid !== 0 && !delimitedOtherwise(col)) || oid === OID.json || oid === OID.jsonb;
}

/** Types whose values `lossy: truncate` may change. */
export function truncationMayChange(col: ColumnInfo): boolean {
  const oid = col.elementOid || col.baseOid || col.typeOid;
  return [OID.numeric, OID.timestamp, OID.timestamptz, OID.json, OID.jsonb].includes(oid as never);
}

export function fieldOf(col: ColumnInfo): string | null {
  return col.field === undefined ? col.name : col.field;
}
