// The dead-letter store: every event the sync could not decode, map or write, kept on the
// target side (table _ferry.dead_letters, or collection _ferry_dead_letters) with its raw value,
// so a person can see what was skipped and replay it. Entries are keyed by their Kafka position
// (migration, topic, partition, offset): a batch retried after its dead letters were stored adds
// nothing, so the count stays exact.
import type { Collection } from 'mongodb';
import type { Pool } from 'pg';
import type { Spec } from '../contracts/spec';
import { mongoClient, pgPool } from './connections';
import { withCreated } from './created';
import { targetKind } from './engine';
import type { DeadLetter } from '../activities/cdc/types';

export interface DeadLetterStore {
  /** Stores entries; one whose position is stored already is left as it is. */
  add(entries: DeadLetter[]): Promise<void>;
  count(migrationId: string): Promise<number>;
  /** The first `limit` entries, oldest first (then by position); `at` is when it was stored (ISO 8601). */
  list(migrationId: string, limit: number): Promise<Array<DeadLetter & { at: string }>>;
}

export function deadLetterStore(spec: Spec): DeadLetterStore {
  return targetKind(spec) === 'mongodb' ? new MongoDeadLetters(spec) : new PostgresDeadLetters(pgPool(spec.target.url, 'target.url'));
}

/** Parameters per INSERT stay far below what one message can carry, whatever the values' size. */
const INSERT_BYTES = 16 * 1024 * 1024;

/** PostgreSQL text cannot hold NUL: a value that is not JSON (a poison message) may. */
function storable(text: string | null): string | null {
  return text !== null && text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

class PostgresDeadLetters implements DeadLetterStore {
  constructor(private readonly pool: Pool) {}

  /** Runs fn with the table in place (created again if a target reset dropped it). */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    return withCreated(this.pool, '_ferry.dead_letters', () => this.create(), fn);
  }

  private async create(): Promise<void> {
    const ddl = [
      `CREATE SCHEMA IF NOT EXISTS _ferry`,
      `CREATE TABLE IF NOT EXISTS _ferry.dead_letters (
         migration_id text NOT NULL, topic text NOT NULL, "partition" int NOT NULL, "offset" bigint NOT NULL,
         key text, table_name text, reason text NOT NULL, value text, at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (migration_id, topic, "partition", "offset"))`,
    ];
    for (const sql of ddl) {
      try {
        await this.pool.query(sql);
      } catch (err) {
        // Several consumers may race to create the same objects: losing the race is fine.
        if (!['23505', '42P07', '42P06'].includes((err as { code?: string }).code ?? '')) throw err;
      }
    }
  }

  async add(entries: DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    let batch: DeadLetter[] = [];
    let bytes = 0;
    for (const e of entries) {
      const size = (e.value?.length ?? 0) + e.reason.length + (e.key?.length ?? 0);
      if (batch.length && bytes + size > INSERT_BYTES) {
        await this.insert(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(e);
      bytes += size;
    }
    await this.insert(batch);
  }

  /** One statement (ON CONFLICT DO NOTHING), so running it again after a reset is safe. */
  private async insert(entries: DeadLetter[]): Promise<void> {
    await this.run(() => this.pool.query(
      `INSERT INTO _ferry.dead_letters (migration_id, topic, "partition", "offset", key, table_name, reason, value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])
       ON CONFLICT DO NOTHING`,
      [
        entries.map((e) => e.migrationId),
        entries.map((e) => e.topic),
        entries.map((e) => e.partition),
        entries.map((e) => e.offset),
        entries.map((e) => storable(e.key)),
        entries.map((e) => e.table),
        entries.map((e) => storable(e.reason)),
        entries.map((e) => storable(e.value)),
      ],
    ));
  }

  async count(migrationId: string): Promise<number> {
    const res = await this.run(() => this.pool.query(`SELECT count(*)::text AS n FROM _ferry.dead_letters WHERE migration_id = $1`, [migrationId]));
    return Number(res.rows[0].n);
  }

  async list(migrationId: string, limit: number): Promise<Array<DeadLetter & { at: string }>> {
    const res = await this.run(() => this.pool.query(
      `SELECT migration_id, topic, "partition", "offset"::text AS "offset", key, table_name, reason, value,
              to_json(at)#>>'{}' AS at
         FROM _ferry.dead_letters WHERE migration_id = $1 ORDER BY at, topic, "partition", "offset" LIMIT $2`,
      [migrationId, limit],
    ));
    return res.rows.map((r) => ({
      migrationId: r.migration_id,
      topic: r.topic,
      partition: Number(r.partition),
      offset: r.offset,
      key: r.key,
      table: r.table_name,
      reason: r.reason,
      value: r.value,
      at: new Date(r.at).toISOString(),
    }));
  }
}

/** A document stays well below MongoDB's 16 MiB with room for the rest of the entry. */
const MONGO_VALUE_BYTES = 8 * 1024 * 1024;

interface StoredLetter {
  _id: { m: string; t: string; p: number; o: string };
  key: string | null;
  table: string | null;
  reason: string;
  value: string | null;
  at: Date;
  /** The offset zero-padded, so text order is numeric order. */
  order: string;
}

class MongoDeadLetters implements DeadLetterStore {
  /** Once per store (one activity call), not per process: see MongoStore in verify/store.ts. */
  private ready?: Promise<void>;

  constructor(private readonly spec: Spec) {}

  private async coll(): Promise<Collection<StoredLetter>> {
    const client = await mongoClient(this.spec.target.url);
    const coll = client.db(this.spec.target.database).collection<StoredLetter>('_ferry_dead_letters');
    this.ready ??= coll
      .createIndex({ '_id.m': 1, at: 1 })
      .then(() => undefined)
      .catch((err) => {
        this.ready = undefined;
        throw err;
      });
    await this.ready;
    return coll;
  }

  async add(entries: DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const coll = await this.coll();
    const at = new Date();
    // One entry per position, the first stored kept: $setOnInsert makes a re-add a no-op. The
    // _id's fields are always built in this order (MongoDB compares subdocuments field by field).
    // A few entries per write: each may be megabytes.
    for (let i = 0; i < entries.length; i += 8) {
      await coll.bulkWrite(
        entries.slice(i, i + 8).map((e) => {
          const { value, note } = fitValue(e.value);
          return {
            updateOne: {
              filter: { _id: { m: e.migrationId, t: e.topic, p: e.partition, o: e.offset } },
              update: { $setOnInsert: { key: e.key, table: e.table, reason: e.reason + note, value, at, order: e.offset.padStart(20, '0') } },
              upsert: true,
            },
          };
        }),
        { ordered: false },
      );
    }
  }

  async count(migrationId: string): Promise<number> {
    return (await this.coll()).countDocuments({ '_id.m': migrationId });
  }

  async list(migrationId: string, limit: number): Promise<Array<DeadLetter & { at: string }>> {
    const coll = await this.coll();
    const docs = await coll.find({ '_id.m': migrationId }).sort({ at: 1, '_id.t': 1, '_id.p': 1, order: 1 }).limit(limit).toArray();
    return docs.map((d) => ({
      migrationId: d._id.m,
      topic: d._id.t,
      partition: d._id.p,
      offset: d._id.o,
      key: d.key,
      table: d.table,
      reason: d.reason,
      value: d.value,
      at: d.at.toISOString(),
    }));
  }
}

/** The value cut to what a document can hold, with a note for the reason when it was cut. */
function fitValue(value: string | null): { value: string | null; note: string } {
  if (value === null || value.length * 3 <= MONGO_VALUE_BYTES) return { value, note: '' };
  const bytes = Buffer.byteLength(value);
  if (bytes <= MONGO_VALUE_BYTES) return { value, note: '' };
  // Cutting mid-character leaves one replacement character at the end; the text stays valid.
  const cut = Buffer.from(value).subarray(0, MONGO_VALUE_BYTES).toString('utf8');
  return { value: cut, note: ` (value cut from ${bytes} to its first ${MONGO_VALUE_BYTES} bytes to fit a MongoDB document)` };
}
