// Where a target keeps the records of the rehearsals run against it, beside Ferry's other
// stores: the report of any rehearsal, and the trend across those of one spec, are read from
// here. Deliberately outside Ferry's ledger of created objects: a rehearsal's cleanup removes
// everything it made, but its record is what the team keeps.
import type { RehearsalRecord } from '../contracts/rehearsal';

export interface RehearsalStore {
  /** Idempotent: saving one rehearsal twice leaves one record (the newer). */
  save(record: RehearsalRecord): Promise<void>;
  get(rehearsalId: string): Promise<RehearsalRecord | null>;
  /** The spec's rehearsals, oldest first. */
  list(specName: string): Promise<RehearsalRecord[]>;
}
