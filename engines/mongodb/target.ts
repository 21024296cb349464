// MongoDB target: one collection per table (named after the table), one document per row,
// written with ordered:false bulk inserts, then replaces keyed by _id for documents already
// there, so a retried batch is a no-op.
import { MongoBulkWriteError, type Collection, type Document } from 'mongodb';
import type { Pool } from 'pg';
import type { Spec } from '../../contracts/spec';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { keyOf, readBatch } from '../postgres/source';
import { type SourceRow } from '../rows';
import { mongoClient, pgPool } from '../connections';
import { documentId, buildDocuments } from './mapping/document';
import { mongoFieldProblems } from './mapping/field-names';
import { ApplicationFailure } from '@temporalio/common';
import type { BatchCopied, ChunkCopied, ChunkCopyControl, Target } from '../engine';
import { copyInBatches } from '../batch-copy';

const DUPLICATE_KEY = 11000;

export class MongoTarget implements Target {
  readonly kind = 'mongodb' as const;

  constructor(private readonly spec: Spec) {}

  static collectionName(plan: TablePlan): string {
    return plan.table.name;
  }

  async collection(plan: TablePlan): Promise<Collection<Document>> {
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

  async copyBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number): Promise<BatchCopied> {
    const rows = await readBatch(source, plan, range, after, limit);
    if (rows.length === 0) return { rows: 0, last: null };
    await this.insertDocuments(plan, await buildDocuments(plan, source, rows));
    return { rows: rows.length, last: keyOf(plan, rows[rows.length - 1]) };
  }

  copyChunk(plan: TablePlan, source: Pool, range: ChunkRange, control: ChunkCopyControl): Promise<ChunkCopied> {
    return copyInBatches((after, limit) => this.copyBatch(plan, source, range, after, limit), control);
  }

  async writeRows(plan: TablePlan, rows: SourceRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Embedded tables are read from the source like the backfill does.
    const docs = await buildDocuments(plan, pgPool(this.spec.source.url), rows);
    const coll = await this.collection(plan);
    await coll.bulkWrite(docs.map((d) => ({ replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true } })), { ordered: false });
  }

  async deleteKeys(plan: TablePlan, keys: string[][]): Promise<void> {
    if (keys.length === 0) return;
    const coll = await this.collection(plan);
    const ids = keys.map((k) => documentId(plan, k));
    await coll.deleteMany({ _id: { $in: ids as never[] } });
  }

  async finishLoad(): Promise<void> {
    // The _id index exists from the collection's creation.
  }

  async finishTable(): Promise<void> {
    // Documents carry their key in _id, which MongoDB indexes itself; nothing else to build.
  }

  async buildDeferredConstraints(): Promise<void> {
    // Ferry builds no unique index or reference on a collection: nothing was deferred.
  }

  /**
   * Inserts first (the common case in a backfill, and far cheaper than upserts); documents
   * whose _id already exists — a retried batch, a resumed chunk — are then replaced by key,
   * so the result is the same whatever ran before.
   */
  private async insertDocuments(plan: TablePlan, docs: Document[]): Promise<void> {
    const coll = await this.collection(plan);
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
