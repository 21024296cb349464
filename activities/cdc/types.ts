// A Debezium message as the apply pipeline reads it off Kafka: the change event with its
// envelope unwrapped, or a tombstone. What it becomes (rows in PostgreSQL text form, row
// changes, dead letters) is in engines/rows.ts, shared with the sinks and stores.

/** A Debezium change event, envelope unwrapped (`payload` when the converter adds schemas). */
export interface ChangeEvent {
  /** c create, u update, d delete, r snapshot read, t truncate. */
  op: 'c' | 'u' | 'd' | 'r' | 't';
  /** source.schema / source.table: which source table the event is about. */
  schema: string;
  table: string;
  /** Column values as Debezium wrote them (JSON): not yet PostgreSQL text form. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** source.ts_ms: when the change was committed on the source (ms since the epoch). */
  sourceTsMs: number;
  /** source.lsn as a decimal string, when present. */
  lsn: string | null;
}

/** A message is a change event or a tombstone (null value, sent after a delete for log compaction). */
export type DecodedMessage = { kind: 'change'; event: ChangeEvent } | { kind: 'tombstone' };

