// A column added on the source (ALTER TABLE … ADD COLUMN) shows up as an unknown field in
// change events. Ferry re-reads the table's plan, checks that the only difference is added
// columns, gives the target the same columns, and carries on with the new plan. Anything else
// (a type change, a dropped or renamed column) is a change the mapping cannot follow: the sync
// stops and says which table and column.
import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { inspectSource } from '../plan/prepare';
import { existingValues } from '../../engines/postgres/source';
import type { ChangeSink } from '../../engines/engine';

const unfollowable = (message: string) => ApplicationFailure.nonRetryable(message, 'UnfollowableChange');

/** `migrationId`: what the target gets for the new columns (a type, its schema) is recorded in its ledger under it. */
export async function followAddedColumns(spec: Spec, pool: Pool, sink: ChangeSink, old: TablePlan, unknownFields: string[], migrationId?: string): Promise<{ plan: TablePlan; added: string[] }> {
  const { plans } = await inspectSource(spec);
  const plan = plans.find((p) => p.table.schema === old.table.schema && p.table.name === old.table.name);
  if (!plan) throw unfollowable(`${old.display}: the table can no longer be read on the source, after change events showing ${unknownFields.join(', ')}`);
  for (const c of old.columns) {
    const now = plan.columns.find((n) => n.name === c.name);
    if (!now) throw unfollowable(`${old.display}: column ${c.name} is gone on the source (dropped or renamed): the sync cannot follow; recreate the target table's column to match and restart the migration of this table`);
    if (now.type !== c.type) throw unfollowable(`${old.display}: column ${c.name} changed type on the source (${c.type} → ${now.type}): the sync cannot follow; change the target column the same way and restart the migration of this table`);
  }
  const added = plan.columns.filter((c) => !old.columns.some((o) => o.name === c.name));
  const stillUnknown = unknownFields.filter((f) => !plan.columns.some((c) => c.name === f));
  if (stillUnknown.length) throw unfollowable(`${old.display}: change events carry ${stillUnknown.join(', ')}, which the source table does not have: the sync cannot map them`);
  if (plan.key.join() !== old.key.join()) throw unfollowable(`${old.display}: the key changed on the source (${old.key.join(', ')} → ${plan.key.join(', ')}): the sync cannot follow`);
  // Keep what the spec and the backfill decided for the old columns (policies, names, chunking).
  const merged: TablePlan = { ...old, columns: [...old.columns, ...added] };
  await sink.addColumns(merged, added, await existingValues(pool, merged, added), migrationId);
  return { plan: merged, added: added.map((c) => `${old.display}.${c.name}`) };
}
