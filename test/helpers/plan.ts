// Hand-made table plans for tests that exercise mapping and targets without introspection.
import type { ColumnInfo, TablePlan } from '../../workflows/definitions';

export function column(name: string, type: string, oid: number, elementOid = 0): ColumnInfo {
  return { name, type, typeOid: oid, baseOid: oid, elementOid, typeCategory: 'b', nullable: true, generated: false, generationExpr: null, userType: null };
}

export function tablePlan(name: string, columns: ColumnInfo[], key: string[]): TablePlan {
  return { table: { schema: 'public', name }, display: `public.${name}`, columns, key, estimatedRows: 0, estimatedBytes: 0 };
}
