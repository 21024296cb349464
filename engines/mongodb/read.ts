// The backfill's keyset reads for a MongoDB target: the same statement as
// postgres/source.ts readBatch (rows with key > after, or >= the chunk's lo, and < its hi, in
// key order), with the rows coming back as arrays (pg `rowMode: 'array'`) in the order of the
// plan's columns, so no row object is built per row only to be mapped and dropped.
import type { Pool, PoolClient } from 'pg';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { batchQuery } from '../postgres/source';
import type { RowValues } from './mapping/document';

/** Where each key column sits in a row read as an array. */
export function keyPositions(plan: TablePlan): number[] {
  return plan.key.map((k) => {
    const at = plan.columns.findIndex((c) => c.name === k);
    if (at < 0) throw new Error(`${plan.display}: key column ${k} is not among the table's columns`);
    return at;
  });
}

/** The key (text form, key order) of a row read as an array. */
export function keyOfValues(positions: number[], values: RowValues): string[] {
  return positions.map((at) => values[at] as string);
}

/** One keyset batch of a chunk, each row an array of its columns' text in plan order. */
export async function readBatchValues(
  db: Pool | PoolClient,
  plan: TablePlan,
  chunk: ChunkRange,
  after: string[] | null,
  limit: number,
): Promise<RowValues[]> {
  const res = await db.query<RowValues>({ ...batchQuery(plan, chunk, after, limit), rowMode: 'array' });
  return res.rows;
}
