// Where the routing record lives on one side: applications that are not behind PgBouncer read
// it to know where to write and read, without asking Temporal. Every engine keeps one.
import type { RoutingState } from '../contracts/cutover';

export interface RoutingStore {
  /** Writes the migration's record (idempotent: the same state twice leaves one record). */
  write(state: RoutingState): Promise<void>;
  read(migrationId: string): Promise<RoutingState | null>;
}
