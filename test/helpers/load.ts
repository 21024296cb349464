// A steady write load on a source table, as an application makes it: inserts, updates and
// deletes at a fixed pace, with the table's expected key set kept in memory so a test can
// prove afterwards that nobody else (Ferry's reverse sync included) wrote to the source.
import type { Pool } from 'pg';

export interface WriteLoad {
  /** Stops the writer and waits for its last statement. */
  stop(): Promise<void>;
  /** Writes made so far. */
  readonly writes: number;
  /** The keys the table must hold now, by this writer's own account. */
  expectedKeys(): number[];
}

/** `table` (id int PRIMARY KEY, note text, n int) holding ids 1..initial: writes every `everyMs`. */
export function startWriteLoad(pool: Pool, table: string, initial: number, everyMs = 25): WriteLoad {
  const keys = new Set<number>(Array.from({ length: initial }, (_, i) => i + 1));
  let next = initial + 1;
  let writes = 0;
  let stopped = false;
  let i = 0;
  const run = (async () => {
    while (!stopped) {
      const kind = i++ % 4;
      try {
        if (kind === 0) {
          const id = next++;
          await pool.query(`INSERT INTO ${table} (id, note, n) VALUES ($1, $2, 0)`, [id, `new ${id}`]);
          keys.add(id);
        } else if (kind === 3 && keys.size > 10) {
          const id = [...keys][(i * 7919) % keys.size];
          await pool.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
          keys.delete(id);
        } else {
          const id = [...keys][(i * 104729) % keys.size];
          await pool.query(`UPDATE ${table} SET n = n + 1, note = $2 WHERE id = $1`, [id, `updated ${i}`]);
        }
        writes++;
      } catch {
        // A write refused (the test's database being dropped at the end): the load just goes on or stops.
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await run;
    },
    get writes() {
      return writes;
    },
    expectedKeys: () => [...keys].sort((a, b) => a - b),
  };
}
