// The routing record on a MongoDB target: collection `_ferry_routing`, one document per
// migration (`_id` the migration id), so an application that talks only to MongoDB can read it.
import type { RoutingState } from '../../contracts/cutover';
import type { Spec } from '../../contracts/spec';
import { mongoClient } from '../connections';
import type { RoutingStore } from '../routing';
import { ensureFerryCollection } from './created-ledger';

export const ROUTING_COLLECTION = '_ferry_routing';

interface RoutingDoc {
  _id: string;
  writes: RoutingState['writes'];
  reads: RoutingState['reads'];
  readShare: number;
  phase: string;
  changedAt: Date;
}

export class MongoRoutingStore implements RoutingStore {
  private ready?: Promise<void>;

  constructor(private readonly spec: Spec) {}

  private async collection() {
    const client = await mongoClient(this.spec.target.url);
    const db = client.db(this.spec.target.database);
    // Created explicitly (not by the first write), so the ledger knows Ferry made it.
    this.ready ??= ensureFerryCollection(db, ROUTING_COLLECTION).catch((err) => {
      this.ready = undefined;
      throw err;
    });
    await this.ready;
    return db.collection<RoutingDoc>(ROUTING_COLLECTION);
  }

  /** Never backwards: a late retry of an older state (a route Update's) leaves a newer one alone. */
  async write(s: RoutingState): Promise<void> {
    const coll = await this.collection();
    const changedAt = new Date(s.changedAt);
    try {
      await coll.replaceOne({ _id: s.migration, changedAt: { $lte: changedAt } }, { writes: s.writes, reads: s.reads, readShare: s.readShare, phase: s.phase, changedAt }, { upsert: true });
    } catch (err) {
      // The record exists with a newer changedAt: the filter missed, and the upsert's insert collided with it.
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }

  async read(migrationId: string): Promise<RoutingState | null> {
    const d = await (await this.collection()).findOne({ _id: migrationId });
    return d ? { writes: d.writes, reads: d.reads, readShare: d.readShare, migration: migrationId, phase: d.phase, changedAt: d.changedAt.toISOString() } : null;
  }
}
