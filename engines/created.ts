// The tables Ferry keeps beside the data (the mismatch and dead-letter stores) are created
// once per pool and from then on assumed to exist. That memory can outlive the tables: a
// target database dropped and recreated under a running worker (a reset before a second
// run) leaves the pool connecting to a database without them. So a statement that finds its
// table or schema gone forgets the memo, creates them again, and runs once more.
import type { Pool } from 'pg';

/** undefined_table, undefined_schema: what a statement meets when the tables were dropped. */
const GONE = new Set(['42P01', '3F000']);

const created = new WeakMap<Pool, Map<string, Promise<void>>>();

function memoFor(pool: Pool): Map<string, Promise<void>> {
  let byName = created.get(pool);
  if (!byName) created.set(pool, (byName = new Map()));
  return byName;
}

/** Runs `create` once per pool and name; a failed attempt is forgotten, so the next call tries again. */
function ensure(pool: Pool, name: string, create: () => Promise<void>): Promise<void> {
  const byName = memoFor(pool);
  let p = byName.get(name);
  if (!p) {
    const attempt = create().catch((err) => {
      if (byName.get(name) === attempt) byName.delete(name);
      throw err;
    });
    byName.set(name, (p = attempt));
  }
  return p;
}

export function isGone(err: unknown): boolean {
  return GONE.has((err as { code?: string })?.code ?? '');
}

/**
 * Runs `use` once `create` has run for (pool, name). If `use` finds the objects gone, they
 * are created again and `use` runs a second time (so `use` must be safe to repeat after a
 * failure: one statement, or one transaction).
 */
export async function withCreated<T>(pool: Pool, name: string, create: () => Promise<void>, use: () => Promise<T>): Promise<T> {
  const memo = ensure(pool, name, create);
  await memo;
  try {
    return await use();
  } catch (err) {
    if (!isGone(err)) throw err;
    // Only this memo: a concurrent caller may already have put a fresh one in its place.
    const byName = memoFor(pool);
    if (byName.get(name) === memo) byName.delete(name);
    await ensure(pool, name, create);
    return use();
  }
}
