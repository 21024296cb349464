// The dead-letter store on a MongoDB target: collection _ferry_dead_letters (see engines/dead-letters.ts).
import type { Collection } from 'mongodb';
import type { Spec } from '../../contracts/spec';
import { FerryCollection } from './ferry-collection';
import type { DeadLetterStore } from '../dead-letters';
import type { DeadLetter } from '../rows';

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

export class MongoDeadLetters implements DeadLetterStore {
  private readonly store: FerryCollection<StoredLetter>;

  constructor(spec: Spec) {
    this.store = new FerryCollection<StoredLetter>(spec, '_ferry_dead_letters', (coll) => coll.createIndex({ '_id.m': 1, at: 1 }));
  }

  private coll(): Promise<Collection<StoredLetter>> {
    return this.store.get();
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
