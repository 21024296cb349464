// The rehearsal records on a MongoDB target: collection `_ferry_rehearsals`, one document per
// rehearsal (`_id` its id), the record under `record`. Created by the first save, not recorded
// in Ferry's ledger (engines/rehearsals.ts).
import type { RehearsalRecord } from '../../contracts/rehearsal';
import type { Spec } from '../../contracts/spec';
import { mongoClient } from '../connections';
import type { RehearsalStore } from '../rehearsals';

export const REHEARSALS_COLLECTION = '_ferry_rehearsals';

interface RehearsalDoc {
  _id: string;
  spec: string;
  startedAt: Date;
  verdict: string;
  /** The record as JSON text: its keys and values stay exactly as written (no BSON conversion). */
  record: string;
}

export class MongoRehearsalStore implements RehearsalStore {
  constructor(private readonly spec: Spec) {}

  private async collection() {
    const client = await mongoClient(this.spec.target.url);
    return client.db(this.spec.target.database).collection<RehearsalDoc>(REHEARSALS_COLLECTION);
  }

  async save(record: RehearsalRecord): Promise<void> {
    const doc = { spec: record.specName, startedAt: new Date(record.startedAt), verdict: record.verdict, record: JSON.stringify(record) };
    await (await this.collection()).replaceOne({ _id: record.rehearsalId }, doc, { upsert: true });
  }

  async get(rehearsalId: string): Promise<RehearsalRecord | null> {
    const d = await (await this.collection()).findOne({ _id: rehearsalId });
    return d ? (JSON.parse(d.record) as RehearsalRecord) : null;
  }

  async list(specName: string): Promise<RehearsalRecord[]> {
    const docs = await (await this.collection()).find({ spec: specName }).sort({ startedAt: 1, _id: 1 }).toArray();
    return docs.map((d) => JSON.parse(d.record) as RehearsalRecord);
  }
}
