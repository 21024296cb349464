// Source rows → MongoDB documents, as the target holds them: the row mapping of mapping.ts
// plus any embedded tables. Backfill, repair and verification all build documents here, so
// what verification hashes on the source side is exactly what the copy wrote.
import type { Pool } from 'pg';
import type { Document } from 'mongodb';
import type { TablePlan } from '../workflows/definitions';
import type { SourceRow } from './source/postgres';
import { documentMapper } from './mapping';
import { planShape } from './target/shape';

const mappers = new Map<string, (row: SourceRow) => Document>();

/** The compiled row mapper of a table, built once per table shape per process. */
export function mapperFor(plan: TablePlan): (row: SourceRow) => Document {
  const key = planShape(plan);
  let map = mappers.get(key);
  if (!map) mappers.set(key, (map = documentMapper(plan)));
  return map;
}

/** The documents for these rows, in the same order, embedded tables included. */
export async function buildDocuments(plan: TablePlan, _source: Pool, rows: SourceRow[]): Promise<Document[]> {
  const map = mapperFor(plan);
  return rows.map(map);
}
