// Kafka positions as Ferry reads, compares and shows them: shared by the sync workflow, the
// apply activity, the migration's skip Update and the CLI, so all of them agree.

/** A Kafka position: offsets are strings (64-bit). */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** `topic/partition@offset`: how status shows a position and `ferry skip --position` takes it. */
export function positionText(p: Position): string {
  return `${p.topic}/${p.partition}@${p.offset}`;
}

export function samePosition(a: Position | null | undefined, b: Position | null | undefined): boolean {
  return !!a && !!b && a.topic === b.topic && a.partition === b.partition && a.offset === b.offset;
}

/**
 * Per partition the furthest of the offsets given. Every offset Ferry keeps was committed
 * after its events were written, so the furthest is where resuming loses nothing.
 */
export function furthestOffsets<T extends Position>(...lists: T[][]): T[] {
  const out = new Map<string, T>();
  for (const o of lists.flat()) {
    const key = `${o.topic}/${o.partition}`;
    const had = out.get(key);
    if (!had || BigInt(o.offset) > BigInt(had.offset)) out.set(key, o);
  }
  return [...out.values()];
}
