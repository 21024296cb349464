// The parts of a table's definition a PostgreSQL target replays beyond its columns.
import type { Pool } from 'pg';
import type { TableDdl } from '../../workflows/definitions';

export async function readTableDdl(_pool: Pool, _oid: string): Promise<TableDdl> {
  return { constraints: [], indexes: [], foreignKeys: [] };
}
