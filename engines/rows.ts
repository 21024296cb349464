// Rows as every engine hands them on: PostgreSQL text form (what the backfill reads and what
// change events decode to, so one mapping serves both), the changes a sink applies, the ones
// it refuses, and what the dead-letter store keeps.

/** A source row: column name → PostgreSQL text output (null = SQL NULL). */
export type SourceRow = Record<string, string | null>;

/** Where a message sits in Kafka; offsets are strings (Kafka offsets are 64-bit). */
export interface EventPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** One row's change, ready for a target; after coalescing, at most one per key per batch. */
export type RowChange =
  | { kind: 'upsert'; key: string[]; row: SourceRow; unavailable: string[]; position: EventPosition; sourceTsMs: number }
  | { kind: 'delete'; key: string[]; position: EventPosition; sourceTsMs: number };

/** A change the target refused (a value it cannot hold, a constraint): dead-lettered, not retried. */
export interface ChangeFailure {
  change: RowChange;
  reason: string;
}

/** What the dead-letter store keeps for one event that could not be decoded, mapped or written. */
export interface DeadLetter {
  migrationId: string;
  topic: string;
  partition: number;
  offset: string;
  /** The Kafka message key as text (the row key as Debezium sent it), null for none. */
  key: string | null;
  /** The source table, when the event could be read that far. */
  table: string | null;
  reason: string;
  /** The raw message value as text (may be large: it is the row), null for a tombstone. */
  value: string | null;
}
