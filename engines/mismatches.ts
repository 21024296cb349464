// The mismatch store: every key a verification found missing, extra or different, kept on
// the target side (table _ferry.mismatches, or collection _ferry_mismatches) so workflows
// carry only counts and samples, and `ferry repair` can page through the full list later.
// Keys are stored in PostgreSQL text form, so repair reads the source by key directly.
// Recording a chunk replaces that chunk's entries: a retried verification leaves one copy.
import type { Collection, Document } from 'mongodb';
import type { Pool } from 'pg';
import type { Spec } from '../contracts/spec';
import type { MismatchKind } from '../contracts/verify';
import { inTransaction, mongoClient, pgPool } from './connections';
import { withCreated } from './created';
import { targetKind } from './engine';

export interface Mismatch {
  kind: MismatchKind;
  key: string[];
}

export interface StoredMismatch extends Mismatch {
  table: string;
  chunk: number;
  repaired: boolean;
}

/** Chunk number under which the table-level extras sweep records what it finds. */
export const SWEEP_CHUNK = -1;

export interface MismatchStore {
  /** Replaces the entries of (verifyId, table, chunk) with these. */
  recordChunk(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void>;
  /** Adds (upserts) entries without clearing anything: the sweep records batch by batch. */
  add(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void>;
  /** Unrepaired entries with key after `after` (an opaque cursor, null to start), in key order. */
  page(verifyId: string, table: string, after: string | null, limit: number): Promise<{ entries: StoredMismatch[]; next: string | null }>;
  markRepaired(verifyId: string, table: string, keys: string[][]): Promise<void>;
  countByKind(verifyId: string, table: string): Promise<Record<MismatchKind, number>>;
  /** Entries of a run (one table or all), by table and key, for reports. */
  list(verifyId: string, table: string | undefined, limit: number): Promise<StoredMismatch[]>;
}

const WRITE_BATCH = 5_000;
const cursorOf = (key: string[]) => JSON.stringify(key);

export function mismatchStore(spec: Spec): MismatchStore {
  return targetKind(spec) === 'mongodb' ? new MongoStore(spec) : new PostgresStore(pgPool(spec.target.url, 'target.url'));
}

function emptyCounts(): Record<MismatchKind, number> {
  return { missing: 0, extra: 0, different: 0 };
}

class PostgresStore implements MismatchStore {
  constructor(private readonly pool: Pool) {}

  /** Runs fn with the table in place (created again if a target reset dropped it). */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    return withCreated(this.pool, '_ferry.mismatches', () => this.create(), fn);
  }

  private async create(): Promise<void> {
    const ddl = [
      `CREATE SCHEMA IF NOT EXISTS _ferry`,
      `CREATE TABLE IF NOT EXISTS _ferry.mismatches (
         verify_id text NOT NULL, table_name text NOT NULL, chunk int NOT NULL, kind text NOT NULL,
         key jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), repaired_at timestamptz,
         PRIMARY KEY (verify_id, table_name, key))`,
      `CREATE INDEX IF NOT EXISTS mismatches_chunk ON _ferry.mismatches (verify_id, table_name, chunk)`,
    ];
    for (const sql of ddl) {
      try {
        await this.pool.query(sql);
      } catch (err) {
        // Parallel chunks may race to create the same objects: losing the race is fine.
        if (!['23505', '42P07', '42P06'].includes((err as { code?: string }).code ?? '')) throw err;
      }
    }
  }

  async recordChunk(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    await this.run(() =>
      inTransaction(this.pool, async (client) => {
        await client.query('DELETE FROM _ferry.mismatches WHERE verify_id = $1 AND table_name = $2 AND chunk = $3', [verifyId, table, chunk]);
        for (let i = 0; i < entries.length; i += WRITE_BATCH) await this.insert(client, verifyId, table, chunk, entries.slice(i, i + WRITE_BATCH));
      }),
    );
  }

  async add(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    // One batch per run: a batch is one statement, so repeating it after a reset is safe.
    for (let i = 0; i < entries.length; i += WRITE_BATCH) await this.run(() => this.insert(this.pool, verifyId, table, chunk, entries.slice(i, i + WRITE_BATCH)));
  }

  private async insert(db: Pick<Pool, 'query'>, verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    if (entries.length === 0) return;
    await db.query(
      `INSERT INTO _ferry.mismatches (verify_id, table_name, chunk, kind, key)
       SELECT $1, $2, $3, u.kind, u.key FROM unnest($4::text[], $5::jsonb[]) AS u(kind, key)
       ON CONFLICT (verify_id, table_name, key) DO UPDATE
         SET chunk = EXCLUDED.chunk, kind = EXCLUDED.kind, recorded_at = now(), repaired_at = NULL`,
      [verifyId, table, chunk, entries.map((e) => e.kind), entries.map((e) => JSON.stringify(e.key))],
    );
  }

  async page(verifyId: string, table: string, after: string | null, limit: number) {
    const res = await this.run(() => this.pool.query(
      `SELECT chunk, kind, key::text AS key FROM _ferry.mismatches
        WHERE verify_id = $1 AND table_name = $2 AND repaired_at IS NULL AND ($3::jsonb IS NULL OR key > $3::jsonb)
        ORDER BY key LIMIT $4`,
      [verifyId, table, after, limit],
    ));
    const entries = res.rows.map((r) => ({ table, chunk: Number(r.chunk), kind: r.kind as MismatchKind, key: JSON.parse(r.key) as string[], repaired: false }));
    return { entries, next: entries.length ? cursorOf(entries[entries.length - 1].key) : null };
  }

  async markRepaired(verifyId: string, table: string, keys: string[][]): Promise<void> {
    if (keys.length === 0) return;
    await this.run(() =>
      this.pool.query(`UPDATE _ferry.mismatches SET repaired_at = now() WHERE verify_id = $1 AND table_name = $2 AND key = ANY($3::jsonb[])`, [
        verifyId,
        table,
        keys.map(cursorOf),
      ]),
    );
  }

  async countByKind(verifyId: string, table: string): Promise<Record<MismatchKind, number>> {
    const res = await this.run(() =>
      this.pool.query(`SELECT kind, count(*)::int AS n FROM _ferry.mismatches WHERE verify_id = $1 AND table_name = $2 GROUP BY kind`, [verifyId, table]),
    );
    const counts = emptyCounts();
    for (const r of res.rows) counts[r.kind as MismatchKind] = Number(r.n);
    return counts;
  }

  async list(verifyId: string, table: string | undefined, limit: number): Promise<StoredMismatch[]> {
    const res = await this.run(() => this.pool.query(
      `SELECT table_name, chunk, kind, key::text AS key, repaired_at IS NOT NULL AS repaired FROM _ferry.mismatches
        WHERE verify_id = $1 AND ($2::text IS NULL OR table_name = $2) ORDER BY table_name, key LIMIT $3`,
      [verifyId, table ?? null, limit],
    ));
    return res.rows.map((r) => ({ table: r.table_name, chunk: Number(r.chunk), kind: r.kind, key: JSON.parse(r.key), repaired: r.repaired === true || r.repaired === 't' }));
  }
}

interface StoredDoc {
  _id: { v: string; t: string; k: string[] };
  chunk: number;
  kind: MismatchKind;
  /** The key as JSON text: a plain string to sort and page by. */
  s: string;
  at: Date;
  repairedAt: Date | null;
}

class MongoStore implements MismatchStore {
  /**
   * Indexes are ensured once per store, and a store lives for one activity call: a database
   * dropped under a running worker (a target reset) silently loses them (MongoDB recreates
   * the collection on the next write, without them), so a per-process memo would go stale.
   */
  private ready?: Promise<void>;

  constructor(private readonly spec: Spec) {}

  private async coll(): Promise<Collection<StoredDoc>> {
    const client = await mongoClient(this.spec.target.url);
    const coll = client.db(this.spec.target.database).collection<StoredDoc>('_ferry_mismatches');
    this.ready ??= coll
      .createIndexes([{ key: { '_id.v': 1, '_id.t': 1, s: 1 } }, { key: { '_id.v': 1, '_id.t': 1, chunk: 1 } }])
      .then(() => undefined)
      .catch((err) => {
        this.ready = undefined;
        throw err;
      });
    await this.ready;
    return coll;
  }

  async recordChunk(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    const coll = await this.coll();
    await coll.deleteMany({ '_id.v': verifyId, '_id.t': table, chunk });
    await this.add(verifyId, table, chunk, entries);
  }

  async add(verifyId: string, table: string, chunk: number, entries: Mismatch[]): Promise<void> {
    if (entries.length === 0) return;
    const coll = await this.coll();
    const at = new Date();
    for (let i = 0; i < entries.length; i += WRITE_BATCH) {
      await coll.bulkWrite(
        entries.slice(i, i + WRITE_BATCH).map((e) => {
          const _id = { v: verifyId, t: table, k: e.key };
          return { replaceOne: { filter: { _id }, replacement: { _id, chunk, kind: e.kind, s: cursorOf(e.key), at, repairedAt: null }, upsert: true } };
        }),
        { ordered: false },
      );
    }
  }

  async page(verifyId: string, table: string, after: string | null, limit: number) {
    const coll = await this.coll();
    const filter: Document = { '_id.v': verifyId, '_id.t': table, repairedAt: null };
    if (after !== null) filter.s = { $gt: after };
    const docs = await coll.find(filter).sort({ s: 1 }).limit(limit).toArray();
    const entries = docs.map((d) => ({ table, chunk: d.chunk as number, kind: d.kind as MismatchKind, key: d._id.k as string[], repaired: false }));
    return { entries, next: docs.length ? (docs[docs.length - 1].s as string) : null };
  }

  async markRepaired(verifyId: string, table: string, keys: string[][]): Promise<void> {
    if (keys.length === 0) return;
    const coll = await this.coll();
    await coll.updateMany({ '_id.v': verifyId, '_id.t': table, s: { $in: keys.map(cursorOf) } }, { $set: { repairedAt: new Date() } });
  }

  async countByKind(verifyId: string, table: string): Promise<Record<MismatchKind, number>> {
    const coll = await this.coll();
    const counts = emptyCounts();
    for (const kind of Object.keys(counts) as MismatchKind[]) counts[kind] = await coll.countDocuments({ '_id.v': verifyId, '_id.t': table, kind });
    return counts;
  }

  async list(verifyId: string, table: string | undefined, limit: number): Promise<StoredMismatch[]> {
    const coll = await this.coll();
    const filter: Document = { '_id.v': verifyId };
    if (table !== undefined) filter['_id.t'] = table;
    const docs = await coll.find(filter).sort({ '_id.t': 1, s: 1 }).limit(limit).toArray();
    return docs.map((d) => ({ table: d._id.t, chunk: d.chunk, kind: d.kind, key: d._id.k, repaired: d.repairedAt != null }));
  }
}
