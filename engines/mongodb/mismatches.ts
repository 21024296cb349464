// The mismatch store on a MongoDB target: collection _ferry_mismatches (see engines/mismatches.ts).
import type { Collection, Document } from 'mongodb';
import type { Spec } from '../../contracts/spec';
import type { MismatchKind } from '../../contracts/verify';
import { FerryCollection } from './ferry-collection';
import { WRITE_BATCH, cursorOf, emptyCounts, type Mismatch, type MismatchStore, type StoredMismatch } from '../mismatches';

interface StoredDoc {
  _id: { v: string; t: string; k: string[] };
  chunk: number;
  kind: MismatchKind;
  /** The key as JSON text: a plain string to sort and page by. */
  s: string;
  at: Date;
  repairedAt: Date | null;
}

export class MongoStore implements MismatchStore {
  private readonly store: FerryCollection<StoredDoc>;

  constructor(spec: Spec) {
    this.store = new FerryCollection<StoredDoc>(spec, '_ferry_mismatches', (coll) => coll.createIndexes([{ key: { '_id.v': 1, '_id.t': 1, s: 1 } }, { key: { '_id.v': 1, '_id.t': 1, chunk: 1 } }]));
  }

  private coll(): Promise<Collection<StoredDoc>> {
    return this.store.get();
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
