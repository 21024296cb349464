// Ferry's own tables that no ledger records (markers, fences, the routing record on a source,
// rehearsal records) are made by `CREATE … IF NOT EXISTS`. Two sessions racing through it can
// still collide on the catalog (a unique violation, a duplicate schema or table): the other one
// won. The DDL is then run once more, since a collision on the schema stopped it before its table.
import type { Pool, PoolClient } from 'pg';

const CREATE_RACE = ['23505', '42P06', '42P07'];

export async function createIfMissing(db: Pool | PoolClient, ddl: string): Promise<void> {
  try {
    await db.query(ddl);
  } catch (err) {
    if (!CREATE_RACE.includes((err as { code?: string }).code ?? '')) throw err;
    await db.query(ddl);
  }
}
