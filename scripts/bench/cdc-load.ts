// A steady write load on a PostgreSQL source, for the CDC tests and `npm run bench:cdc`.
//
// createLoadTables makes N tables shaped (id bigint PK, account int, amount numeric(12,2),
// note text, updated_at timestamptz) and fills them. startLoad then writes at a fixed rate
// (token bucket): inserts of new ids, updates and deletes of random live ids. Statements go in
// small transactions (a few statements sent as one simple query, which PostgreSQL runs as one
// implicit transaction: one round trip each), from several connections at once so that 5,000+
// events/s are reachable from one Node process. Each connection owns its own ids (no two
// connections ever touch the same row), so every statement changes exactly one row; a
// statement that does not is counted in `misses`. Every write sets updated_at =
// clock_timestamp(): the target's newest updated_at tells how far a sync has come.
// Nothing here prints row data.
import type { Pool } from 'pg';

export interface LoadMix {
  insert: number;
  update: number;
  delete: number;
}

export interface LoadStats {
  inserts: number;
  updates: number;
  deletes: number;
  /** Committed events per second between startedAt and stoppedAt (or now while running). */
  achievedPerSecond: number;
  /** ISO times: when writing began (after reading the tables' ids), and null while it runs. */
  startedAt: string;
  stoppedAt: string | null;
  /** Committed transactions. */
  transactions: number;
  /** Statements that did not change exactly one row (should stay 0). */
  misses: number;
  /** Transactions that failed (rolled back, not counted above), and the last error message. */
  errors: number;
  lastError: string | null;
}

export interface LoadHandle {
  /** Stops issuing, waits for the transactions in flight, returns the final figures. */
  stop(): Promise<LoadStats>;
  stats(): LoadStats;
}

export interface LoadOptions {
  pool: Pool;
  /** Tables made by createLoadTables, as `schema.name`. */
  tables: string[];
  eventsPerSecond: number;
  /** Relative weights (default 40/40/20). Updates and deletes become inserts while a table has no live row. */
  mix?: LoadMix;
  /** First id for inserted rows (default: above every existing id); existing ids are never reused. */
  idStart?: number;
  /** Statements per transaction (default: 5 at ≥ 500 events/s, fewer below). */
  statementsPerTransaction?: number;
  /** Connections writing at once (default: enough for the rate, at most the pool's max). */
  connections?: number;
}

const DEFAULT_MIX: LoadMix = { insert: 40, update: 40, delete: 20 };

/** `schema.name` → `"schema"."name"` (plain identifiers as createLoadTables makes them). */
function quoteTable(t: string): string {
  if (t.includes('"')) return t;
  return t.split('.').map((p) => `"${p}"`).join('.');
}

/**
 * Creates (drops first) `tables` tables `<schema>.cdc_load_<i>` with `rows` rows each, ids 1..rows,
 * and an index on updated_at (how far a sync has come is read from it). Returns the
 * qualified names, as a spec lists them.
 */
export async function createLoadTables(pool: Pool, schema: string, tables: number, rows: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 1; i <= tables; i++) {
    const name = `${schema}.cdc_load_${i}`;
    const q = quoteTable(name);
    await pool.query(`DROP TABLE IF EXISTS ${q}`);
    await pool.query(`CREATE TABLE ${q} (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL, note text, updated_at timestamptz NOT NULL)`);
    if (rows > 0) {
      await pool.query(
        `INSERT INTO ${q} (id, account, amount, note, updated_at)
         SELECT g, (g * 7919) % 100000, round((((g * 104729) % 2000000) - 1000000) / 100.0, 2), md5(g::text), now()
         FROM generate_series(1, $1::bigint) g`,
        [rows],
      );
    }
    await pool.query(`CREATE INDEX ON ${q} (updated_at)`);
    await pool.query(`ANALYZE ${q}`);
    names.push(name);
  }
  return names;
}

/** Live ids of one table owned by one connection: O(1) random pick, add and remove. */
class IdSet {
  private ids: number[] = [];
  private pos = new Map<number, number>();
  get size(): number {
    return this.ids.length;
  }
  add(id: number): void {
    if (this.pos.has(id)) return;
    this.pos.set(id, this.ids.length);
    this.ids.push(id);
  }
  remove(id: number): void {
    const i = this.pos.get(id);
    if (i === undefined) return;
    const last = this.ids.pop()!;
    if (i < this.ids.length) {
      this.ids[i] = last;
      this.pos.set(last, i);
    }
    this.pos.delete(id);
  }
  random(): number {
    return this.ids[Math.floor(Math.random() * this.ids.length)];
  }
}

type Op = { kind: 'insert' | 'update' | 'delete'; table: number; id: number };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function randomNote(): string {
  // 16..48 hex characters: only [0-9a-f], safe to inline.
  const n = 16 + Math.floor(Math.random() * 33);
  let s = '';
  while (s.length < n) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

const randomAmount = () => (Math.floor(Math.random() * 2_000_000) - 1_000_000) / 100;
const randomAccount = () => Math.floor(Math.random() * 100_000);

function statement(op: Op, table: string): string {
  switch (op.kind) {
    case 'insert':
      return `INSERT INTO ${table} (id, account, amount, note, updated_at) VALUES (${op.id}, ${randomAccount()}, ${randomAmount().toFixed(2)}, '${randomNote()}', clock_timestamp())`;
    case 'update':
      return Math.random() < 0.5
        ? `UPDATE ${table} SET amount = ${randomAmount().toFixed(2)}, updated_at = clock_timestamp() WHERE id = ${op.id}`
        : `UPDATE ${table} SET account = ${randomAccount()}, note = '${randomNote()}', updated_at = clock_timestamp() WHERE id = ${op.id}`;
    case 'delete':
      return `DELETE FROM ${table} WHERE id = ${op.id}`;
  }
}

/**
 * Starts writing at `eventsPerSecond` (one event = one row inserted, updated or deleted) until
 * stop(). The first moments read the tables' ids (so updates and deletes hit real rows).
 */
export function startLoad(opts: LoadOptions): LoadHandle {
  const rate = opts.eventsPerSecond;
  if (!(rate > 0)) throw new Error(`eventsPerSecond must be > 0 (got ${rate})`);
  if (!opts.tables.length) throw new Error('startLoad: no tables');
  const mix = opts.mix ?? DEFAULT_MIX;
  const total = mix.insert + mix.update + mix.delete;
  if (!(total > 0) || mix.insert < 0 || mix.update < 0 || mix.delete < 0) throw new Error('startLoad: mix weights must be ≥ 0 and not all 0');
  const pInsert = mix.insert / total;
  const pUpdate = mix.update / total;
  const perTx = Math.max(1, Math.floor(opts.statementsPerTransaction ?? Math.min(5, Math.max(1, Math.round(rate / 100)))));
  const poolMax = (opts.pool as unknown as { options?: { max?: number } }).options?.max ?? 10;
  const conns = Math.max(1, Math.min(opts.connections ?? Math.ceil(rate / 400), poolMax));
  const tables = opts.tables.map(quoteTable);

  const startedMs = Date.now();
  const stats: LoadStats = {
    inserts: 0, updates: 0, deletes: 0, achievedPerSecond: 0, startedAt: new Date(startedMs).toISOString(), stoppedAt: null,
    transactions: 0, misses: 0, errors: 0, lastError: null,
  };
  /** When writing began (after the ids were read): the rate counts from here. */
  let writingSince: number | null = null;
  let stopping = false;
  let stoppedMs: number | null = null;
  let stopWake: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stopWake = r));

  // Token bucket: events allowed by now = rate × elapsed; at most `burst` may pile up while
  // the writers lag behind (so a stall is not followed by an unbounded burst).
  const burst = Math.max(perTx * conns, rate * 0.2);
  let bucketStart = 0;
  let issued = 0;
  const reserve = async (n: number): Promise<boolean> => {
    for (;;) {
      if (stopping) return false;
      const allowed = (rate * (performance.now() - bucketStart)) / 1000;
      if (issued < allowed - burst) issued = allowed - burst;
      if (issued + n <= allowed) {
        issued += n;
        return true;
      }
      const waitMs = ((issued + n - allowed) * 1000) / rate;
      await Promise.race([sleep(Math.max(1, Math.min(waitMs, 100))), stopped]);
    }
  };

  const run = async (): Promise<void> => {
    // Ids: existing rows are split among the connections by id, new ids come from one counter.
    const owned: IdSet[][] = Array.from({ length: conns }, () => tables.map(() => new IdSet()));
    let nextId = opts.idStart ?? 1;
    for (let t = 0; t < tables.length; t++) {
      const res = await opts.pool.query<{ id: string }>(`SELECT id::text AS id FROM ${tables[t]}`);
      for (const r of res.rows) {
        const id = Number(r.id);
        owned[id % conns][t].add(id);
        if (id >= nextId) nextId = id + 1;
      }
    }
    bucketStart = performance.now();
    writingSince = Date.now();

    const writer = async (w: number): Promise<void> => {
      const mine = owned[w];
      while (await reserve(perTx)) {
        const ops: Op[] = [];
        for (let i = 0; i < perTx; i++) {
          const t = Math.floor(Math.random() * tables.length);
          const r = Math.random();
          const kind = mine[t].size === 0 || r < pInsert ? 'insert' : r < pInsert + pUpdate ? 'update' : 'delete';
          const id = kind === 'insert' ? nextId++ : mine[t].random();
          ops.push({ kind, table: t, id });
          if (kind === 'insert') mine[t].add(id);
          else if (kind === 'delete') mine[t].remove(id);
        }
        const sql = ops.map((op) => statement(op, tables[op.table])).join(';\n');
        try {
          const res = (await opts.pool.query(sql)) as unknown;
          const results = (Array.isArray(res) ? res : [res]) as Array<{ rowCount: number | null }>;
          for (const r of results) if (r.rowCount !== 1) stats.misses++;
          for (const op of ops) stats[op.kind === 'insert' ? 'inserts' : op.kind === 'update' ? 'updates' : 'deletes']++;
          stats.transactions++;
        } catch (err) {
          // The transaction rolled back as a whole: undo its id bookkeeping, in reverse.
          for (const op of [...ops].reverse()) {
            if (op.kind === 'insert') mine[op.table].remove(op.id);
            else if (op.kind === 'delete') mine[op.table].add(op.id);
          }
          stats.errors++;
          stats.lastError = (err as Error).message;
          await Promise.race([sleep(200), stopped]);
        }
      }
    };
    await Promise.all(Array.from({ length: conns }, (_, w) => writer(w)));
  };

  const done = run().catch((err) => {
    stats.errors++;
    stats.lastError = (err as Error).message;
  });

  const snapshot = (): LoadStats => {
    const end = stoppedMs ?? Date.now();
    const events = stats.inserts + stats.updates + stats.deletes;
    const from = writingSince ?? startedMs;
    const seconds = Math.max(0.001, (end - from) / 1000);
    return { ...stats, startedAt: new Date(from).toISOString(), achievedPerSecond: events / seconds, stoppedAt: stoppedMs === null ? null : new Date(stoppedMs).toISOString() };
  };

  return {
    stats: snapshot,
    async stop() {
      if (!stopping) {
        stopping = true;
        stopWake();
      }
      await done;
      stoppedMs ??= Date.now();
      return snapshot();
    },
  };
}
