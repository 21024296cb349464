// A collection Ferry keeps beside the data (the mismatch and dead-letter stores), with its
// indexes ensured once per store. A store lives for one activity call: a database dropped
// under a running worker (a target reset) silently loses the indexes (MongoDB recreates the
// collection on the next write, without them), so a per-process memo would go stale.
import type { Collection, Document } from 'mongodb';
import type { Spec } from '../../contracts/spec';
import { mongoClient } from '../connections';
import { ensureFerryCollection } from './created-ledger';

export class FerryCollection<T extends Document> {
  private ready?: Promise<void>;

  constructor(
    private readonly spec: Spec,
    private readonly name: string,
    private readonly ensureIndexes: (coll: Collection<T>) => Promise<unknown>,
  ) {}

  async get(): Promise<Collection<T>> {
    const client = await mongoClient(this.spec.target.url);
    const db = client.db(this.spec.target.database);
    const coll = db.collection<T>(this.name);
    // Created explicitly (not by the first write), so the ledger knows Ferry made it.
    this.ready ??= ensureFerryCollection(db, this.name)
      .then(() => this.ensureIndexes(coll))
      .then(() => undefined)
      .catch((err) => {
        this.ready = undefined; // the next call tries again
        throw err;
      });
    await this.ready;
    return coll;
  }
}
