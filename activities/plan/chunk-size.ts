// Rows per chunk, from the planner's estimates: chunks of about 32 MB keep one chunk's retry
// (and, into PostgreSQL, its one transaction) cheap whatever the row width; a table also gets
// at least two chunks per copy slot so parallel copies finish together instead of waiting on
// one giant. More chunks than that only add scheduling: each costs a round of activity
// dispatch, a chunk lock and a COPY start.
// Boundaries themselves come from counting keys in the index (engines/postgres/source.ts), so sparse
// keys still make chunks of this many rows, never empty or giant ones.
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';

const TARGET_CHUNK_BYTES = 32 * 1024 * 1024;
const MIN_ROWS = 1_000;
const MAX_ROWS = 250_000;
const UNKNOWN_SIZE_ROWS = 50_000;

export function sizeChunks(plan: TablePlan, spec: Spec): number {
  if (spec.backfill.chunkRows) return spec.backfill.chunkRows;
  // reltuples is -1/0 on a table never analyzed: no estimate, use a middle size.
  if (plan.estimatedRows <= 0) return UNKNOWN_SIZE_ROWS;
  const rowBytes = Math.max(1, plan.estimatedBytes / plan.estimatedRows);
  const bySize = Math.floor(TARGET_CHUNK_BYTES / rowBytes);
  const bySpread = Math.ceil(plan.estimatedRows / (2 * spec.backfill.parallelism));
  return Math.max(MIN_ROWS, Math.min(MAX_ROWS, bySize, bySpread));
}
