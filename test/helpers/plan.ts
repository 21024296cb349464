// Hand-made table plans for tests that exercise mapping and targets without introspection.
import type { ColumnInfo, LossyPolicy, TablePlan } from '../../contracts/tables';

export function column(name: string, type: string, oid: number, elementOid = 0, options: Partial<ColumnInfo> & { lossy?: LossyPolicy } = {}): ColumnInfo {
  return {
    name, type, typeOid: oid, baseOid: oid, elementOid, typeCategory: 'b', nullable: true, generated: false, generationExpr: null, userType: null,
    defaultExpr: null, collation: null, lossy: 'fail', field: name,
    ...options,
  };
}

export function tablePlan(name: string, columns: ColumnInfo[], key: string[]): TablePlan {
  return {
    table: { schema: 'public', name }, display: `public.${name}`, columns, key, keySource: 'primary key', estimatedRows: 0, estimatedBytes: 0,
    chunkRows: 1000, partitions: 0, ddl: { constraints: [], indexes: [], foreignKeys: [] }, embeds: [], warnings: [],
  };
}
