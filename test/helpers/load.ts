// A steady write load on a source table, as an application makes it: inserts, updates and
// deletes at a fixed pace, with the table's expected rows kept in memory so a test can
// prove afterwards that nobody else (Ferry's reverse sync included) wrote to the source.
import type { Pool } from 'pg';

export interface WriteLoad {
  /** Stops the writer and waits for its last statement. */
  stop(): Promise<void>;
  /** Writes made so far. */
  readonly writes: number;
  /** The rows the table must hold now, by this writer's own account: [id, note, n] in key order. */
  expectedRows(): Array<[number, string, number]>;
}

/** `table` (id int PRIMARY KEY, note text, n int) holding ids 1..initial as (id, 'account ' || id, 0): writes every `everyMs`. */
export function startWriteLoad(pool: Pool, table: string, initial: number, everyMs = 25): WriteLoad {
  // Every row as this writer left it: the test compares whole rows, so a write by anyone else shows.
  const rows = new Map<number, { note: string; n: number }>(Array.from({ length: initial }, (_, i) => [i + 1, { note: `account ${i + 1}`, n: 0 }]));
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
          rows.set(id, { note: `new ${id}`, n: 0 });
        } else if (kind === 3 && rows.size > 10) {
          const id = [...rows.keys()][(i * 7919) % rows.size];
          await pool.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
          rows.delete(id);
        } else {
          const id = [...rows.keys()][(i * 104729) % rows.size];
          const note = `updated ${i}`;
          await pool.query(`UPDATE ${table} SET n = n + 1, note = $2 WHERE id = $1`, [id, note]);
          const row = rows.get(id)!;
          rows.set(id, { note, n: row.n + 1 });
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
    expectedRows: () => [...rows.entries()].sort(([a], [b]) => a - b).map(([id, r]) => [id, r.note, r.n]),
  };
}
