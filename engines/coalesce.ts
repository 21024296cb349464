// One table's row changes, read in source order from one Kafka partition, folded to at most
// one change per key. The result gives the target the same end state as applying every change
// in order, but it can be written as a few set-based statements in any order (one change per
// key means no two writes in a batch touch the same row).
import type { RowChange } from './rows';

type Upsert = Extract<RowChange, { kind: 'upsert' }>;

/**
 * Last change per key wins, with one exception: an upsert that lacks some columns (Debezium
 * leaves out an unchanged TOASTed value) takes them from an earlier upsert of the same key in
 * the batch, which had them, so they become available. Keys keep the order of their first
 * appearance; the folded change carries the last change's position and commit time.
 */
export function coalesce(changes: RowChange[]): RowChange[] {
  const byKey = new Map<string, RowChange>();
  for (const change of changes) {
    const id = JSON.stringify(change.key);
    const earlier = byKey.get(id);
    // Map.set on an existing key keeps its place: the output order is first appearance.
    byKey.set(id, earlier ? fold(earlier, change) : change);
  }
  return [...byKey.values()];
}

/** The single change equivalent to `earlier` then `later` on the same key. */
function fold(earlier: RowChange, later: RowChange): RowChange {
  if (later.kind === 'delete' || later.unavailable.length === 0) return later;
  if (earlier.kind === 'delete') {
    // A partial update cannot bring back a deleted row (applied in order, it would update
    // nothing), so the pair ends as the delete. In a well-formed stream an insert always sits
    // between the two; this is for the stream that lost one (a dead-lettered insert).
    return { kind: 'delete', key: later.key, position: later.position, sourceTsMs: later.sourceTsMs };
  }
  return fillFrom(earlier, later);
}

/** `later` with its unavailable columns filled from `earlier` where `earlier` had them. */
function fillFrom(earlier: Upsert, later: Upsert): Upsert {
  const row = { ...later.row };
  const unavailable: string[] = [];
  for (const column of later.unavailable) {
    if (earlier.unavailable.includes(column)) unavailable.push(column);
    else row[column] = earlier.row[column] ?? null;
  }
  return { ...later, row, unavailable };
}
