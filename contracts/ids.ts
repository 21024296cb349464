// Workflow ids of a migration's children, derived from the migration id.
import type { QualifiedTable } from './tables';

export function syncWorkflowId(migrationId: string): string {
  return `${migrationId}/sync`;
}

/** The reverse sync (target → source), run from the cutover's reverse-capture step through cut-over. */
export function reverseSyncWorkflowId(migrationId: string): string {
  return `${migrationId}/reverse-sync`;
}

export function backfillWorkflowId(migrationId: string, table: QualifiedTable): string {
  return `${migrationId}/backfill/${table.schema}.${table.name}`;
}

/** The migration a rehearsal runs (its capture, ledger entries and stores are named from this id). */
export function rehearsalMigrationId(rehearsalId: string): string {
  return `${rehearsalId}/migration`;
}
