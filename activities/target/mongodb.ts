// MongoDB target: one collection per table (named after the table), one document per row,
// written with ordered:false bulk upserts keyed by _id so a retried batch is a no-op.
import { MongoBulkWriteError, type Collection, type Document } from 'mongodb';
import type { Spec } from '../spec';
import type { TablePlan } from '../../workflows/definitions';
import type { SourceRow } from '../source/postgres';
import { mongoClient } from '../connections';
import { documentMapper, mongoFieldProblems } from '../mapping';
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from './target';
import { planShape } from './shape';

const DUPLICATE_KEY = 11000;

export class MongoTarget implements Target {
  readonly kind = 'mongodb' as const;
  private readonly mappers = new Map<string, ReturnType<typeof documentMapper>>();

  constructor(private readonly spec: Spec) {}

  static collectionName(plan: TablePlan): string {
    return plan.table.name;
  }

  private async collection(plan: TablePlan): Promise<Collection<Document>> {
    const client = await mongoClient(this.spec.target.url);
    return client.db(this.spec.target.database).collection(MongoTarget.collectionName(plan));
  }

  async prepareTable(plan: TablePlan): Promise<void> {
    const problems = mongoFieldProblems(plan);
    if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), 'SpecError');
    const client = await mongoClient(this.spec.target.url);
    const db = client.db(this.spec.target.database);
    const name = MongoTarget.collectionName(plan);
    const existing = await db.listCollections({ name }, { nameOnly: true }).toArray();
    if (existing.length === 0) await db.createCollection(name);
  }

  /**
   * Inserts first (the common case in a backfill, and far cheaper than upserts); rows whose
   * _id already exists — a retried batch, a resumed chunk — are then replaced by key, so
   * the result is the same whatever ran before.
   */
  async writeBatch(plan: TablePlan, rows: SourceRow[]): Promise<void> {
    if (rows.length === 0) return;
    const key = planShape(plan);
    let map = this.mappers.get(key);
    if (!map) this.mappers.set(key, (map = documentMapper(plan)));
    const coll = await this.collection(plan);
    const docs = rows.map(map);
    try {
      await coll.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      const others = errors.filter((e) => e.code !== DUPLICATE_KEY);
      if (others.length) throw err;
      await coll.bulkWrite(
        errors.map((e) => ({ replaceOne: { filter: { _id: docs[e.index]._id }, replacement: docs[e.index], upsert: true } })),
        { ordered: false },
      );
    }
  }

  async countRows(plan: TablePlan): Promise<number> {
    return (await this.collection(plan)).countDocuments({});
  }
}
