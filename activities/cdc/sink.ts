// Where coalesced row changes land: one interface, one file per target engine (like
// target/target.ts). A sink writes set-based (a few statements per batch, never one per row),
// idempotently (a retried batch leaves the same target), and tells apart the two ways a write
// fails: a row the target refuses (a data error, returned as a ChangeFailure to dead-letter)
// and everything else (thrown, so the caller retries the batch and commits nothing).
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import { rethrowClassified } from '../../engines/errors';
import { targetKind } from '../../engines/engine';
import type { ChangeFailure, RowChange } from './types';
import { PostgresSink } from '../../engines/postgres/sink';
import { MongoSink } from '../../engines/mongodb/sink';

export interface ChangeSink {
  /**
   * Applies one table's changes, at most one per key (coalesce first). Upserts without
   * unavailable columns write the whole row; upserts with some update only the available
   * columns of a row that exists (a missing row stays missing); deletes remove by key.
   * Returns the changes the target refused for their data; throws on anything a retry may fix.
   */
  apply(plan: TablePlan, changes: RowChange[]): Promise<ChangeFailure[]>;
  /** Empties the table or collection (a TRUNCATE on the source). */
  truncate(plan: TablePlan): Promise<void>;
  /**
   * Gives the target columns added on the source. `plan` is the new plan (with `added`).
   * `existingValues` is, per added column name, the text form of the value rows that existed
   * before the ALTER hold on the source (pg_attribute.attmissingval; null when none, i.e. NULL
   * or a default that rewrote the table): target rows and documents get the same. When it is
   * not given, a PostgreSQL target evaluates the column default itself and MongoDB documents
   * get null.
   */
  addColumns(plan: TablePlan, added: ColumnInfo[], existingValues?: Record<string, string | null>): Promise<void>;
}

const sinks = new Map<string, ChangeSink>();

/** The sink for the spec's target, one per target per process (it caches compiled statements). */
export function openSink(spec: Spec): ChangeSink {
  const id = JSON.stringify([spec.source.url, spec.target]);
  let sink = sinks.get(id);
  if (!sink) {
    sink = targetKind(spec) === 'mongodb' ? new MongoSink(spec) : new PostgresSink(spec);
    sinks.set(id, sink);
  }
  return sink;
}

/**
 * A row the target refuses on every attempt: PostgreSQL SQLSTATE classes 22 and 23, a
 * document MongoDB refuses, a MappingError. Decided by errors.ts, so the sync and the backfill
 * agree on what a data error is.
 */
export function isDataError(err: unknown): boolean {
  try {
    rethrowClassified(err, '');
  } catch (classified) {
    return classified instanceof ApplicationFailure && classified.type === 'DataError';
  }
}

export interface Refused<T> {
  item: T;
  error: unknown;
}

/**
 * Writes `items` in one call; when that fails with an error `refuses` says belongs to some
 * row, halves the batch until the rows at fault stand alone, so every other row is written
 * with a few statements more (about 2·log2(n) per bad row). Rows that failed are tried once
 * more after all the others: one may have failed only because of another row in the batch (a
 * unique value that moved from one row to the other). Any other error is thrown as it is.
 */
export async function writeIsolating<T>(items: T[], write: (items: T[]) => Promise<void>, refuses: (err: unknown) => boolean): Promise<Refused<T>[]> {
  const refused = await bisect(items, write, refuses);
  if (refused.length === 0 || refused.length === items.length) return refused;
  const still: Refused<T>[] = [];
  for (const r of refused) still.push(...(await bisect([r.item], write, refuses)));
  return still;
}

async function bisect<T>(items: T[], write: (items: T[]) => Promise<void>, refuses: (err: unknown) => boolean): Promise<Refused<T>[]> {
  if (items.length === 0) return [];
  try {
    await write(items);
    return [];
  } catch (error) {
    if (!refuses(error)) throw error;
    if (items.length === 1) return [{ item: items[0], error }];
    const half = Math.ceil(items.length / 2);
    return [...(await bisect(items.slice(0, half), write, refuses)), ...(await bisect(items.slice(half), write, refuses))];
  }
}

/** `id=5, name='x…'` for reasons: the key as a person finds the row, values cut short. */
export function keyText(plan: TablePlan, key: string[]): string {
  return plan.key.map((k, i) => `${k}=${preview(key[i])}`).join(', ');
}

function preview(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}
