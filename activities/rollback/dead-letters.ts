// How many events of a migration the dead-letter store of `spec`'s target holds, read fresh: the
// rollback's drain has just ended, and a report of the reverse sync may be seconds old.
import type { Spec } from '../../contracts/spec';
import { deadLetterStore } from '../../engines';

export async function countDeadLetters(input: { spec: Spec; migrationId: string }): Promise<number> {
  return deadLetterStore(input.spec).count(input.migrationId);
}
