// The shapes the CDC pieces hand each other: a decoded Debezium event, a row change ready to
// apply, where it came from in Kafka, and what the dead-letter store keeps. Row values here are
// in PostgreSQL text form (SourceRow), exactly what the backfill reads, so the same mapping
// applies to both.
import type { SourceRow } from '../../engines/rows';

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

/** A Debezium row converted to PostgreSQL text form, against the table's plan. */
export interface DecodedRow {
  /** Planned columns present in the event, in text form (null = SQL NULL). Unavailable ones are absent. */
  row: SourceRow;
  /** Columns whose value Debezium did not send (an unchanged TOASTed value): the target keeps its own. */
  unavailable: string[];
  /** Fields in the event that the plan does not know (a column added on the source). */
  unknown: string[];
  /** Planned, non-generated columns the event lacks (a column dropped on the source). */
  missing: string[];
}

/** Thrown by decoding for a message that is not a usable Debezium event: it is dead-lettered. */
export class PoisonMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessage';
  }
}
