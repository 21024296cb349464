// How sinks write a batch of which a few rows may be refused: the failing rows are isolated
// and returned (to be dead-lettered) while every other row is written; what counts as a
// refused row is decided by errors.ts, so the sync and the backfill agree on a data error.
import { ApplicationFailure } from '@temporalio/common';
import type { TablePlan } from '../contracts/tables';
import { rethrowClassified } from './errors';

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
