// The dead-letter store: every event the sync could not decode, map or write, kept on the
// target side (table _ferry.dead_letters, or collection _ferry_dead_letters) with its raw value,
// so a person can see what was skipped and replay it. Entries are keyed by their Kafka position
// (migration, topic, partition, offset): a batch retried after its dead letters were stored adds
// nothing, so the count stays exact.
// This file holds the interface; each engine's store is in engines/<name>/dead-letters.ts.
import type { DeadLetter } from './rows';

export interface DeadLetterStore {
  /** Stores entries; one whose position is stored already is left as it is. */
  add(entries: DeadLetter[]): Promise<void>;
  count(migrationId: string): Promise<number>;
  /** The first `limit` entries, oldest first (then by position); `at` is when it was stored (ISO 8601). */
  list(migrationId: string, limit: number): Promise<Array<DeadLetter & { at: string }>>;
}
