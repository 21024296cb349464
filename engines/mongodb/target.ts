// MongoDB target: one collection per table (named after the table), one document per row,
// written with unordered insert commands, then replaces keyed by _id for documents already
// there, so a retried batch is a no-op (insert.ts).
import type { Collection, Db, Document } from 'mongodb';
import type { Pool } from 'pg';
import type { Spec } from '../../contracts/spec';
import type { ChunkRange } from '../../contracts/backfill';
import type { TablePlan } from '../../contracts/tables';
import { type SourceRow } from '../rows';
import { mongoClient, pgPool } from '../connections';
import { documentId, buildDocuments, buildDocumentsFromValues } from './mapping/document';
import { mongoFieldProblems } from './mapping/field-names';
import { ApplicationFailure } from '@temporalio/common';
import type { BatchCopied, ChunkCopied, ChunkCopyControl, Target } from '../engine';
import { keyOfValues, keyPositions, readBatchValues } from './read';
import { copyPipelined, type PreparedBatch } from './pipeline';
import { insertOrReplace } from './insert';
import { createRecorded } from './created-ledger';

/**
 * Batches of a chunk being written while the next one is read and mapped (see pipeline.ts):
 * the source read, the mapping and the target's insert overlap instead of taking turns. One
 * is enough with the chunks the backfill copies side by side (parallelism 4 keeps 4 inserts
 * and 4 reads going); 2 or 3 measured no faster on mongo-java-server here (a shared 2-core
 * machine, so within noise) and hold more memory.
 * It also bounds what a crash replays: the batches written but not yet committed.
 * FERRY_MONGO_WRITES_IN_FLIGHT overrides it, for measuring.
 */
const WRITES_IN_FLIGHT = Math.max(1, Math.floor(Number(process.env.FERRY_MONGO_WRITES_IN_FLIGHT)) || 1);

export class MongoTarget implements Target {
  readonly kind = 'mongodb' as const;

  constructor(private readonly spec: Spec) {}

  static collectionName(plan: TablePlan): string {
    return plan.table.name;
  }

  async collection(plan: TablePlan): Promise<Collection<Document>> {
    return (await this.database()).collection(MongoTarget.collectionName(plan));
  }

  private async database(): Promise<Db> {
    const client = await mongoClient(this.spec.target.url);
    return client.db(this.spec.target.database);
  }

  /** With `migrationId`, a collection this creates is recorded under it in `_ferry_created` (created-ledger.ts). */
  async prepareTable(plan: TablePlan, migrationId?: string): Promise<void> {
    const problems = mongoFieldProblems(plan);
    if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), 'SpecError');
    const client = await mongoClient(this.spec.target.url);
    const db = client.db(this.spec.target.database);
    await createRecorded(db, migrationId, 'collection', MongoTarget.collectionName(plan));
  }

  async copyBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number): Promise<BatchCopied> {
    const batch = await this.prepareBatch(plan, source, range, after, limit);
    if (batch === null) return { rows: 0, last: null };
    await insertOrReplace(await this.database(), await this.collection(plan), batch.work);
    return { rows: batch.rows, last: batch.last };
  }

  /**
   * Keyset batches, each read and mapped while the ones before it are written, the cursor
   * committed in key order once a batch and all before it are written (see pipeline.ts).
   */
  async copyChunk(plan: TablePlan, source: Pool, range: ChunkRange, control: ChunkCopyControl): Promise<ChunkCopied> {
    const db = await this.database();
    const coll = await this.collection(plan);
    return copyPipelined<Document[]>(
      {
        read: (after, limit) => this.prepareBatch(plan, source, range, after, limit),
        write: (docs) => insertOrReplace(db, coll, docs),
      },
      control,
      WRITES_IN_FLIGHT,
    );
  }

  /** Up to `limit` rows of `range` after `after`, read and mapped to their documents; null when none are left. */
  private async prepareBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number): Promise<PreparedBatch<Document[]> | null> {
    const rows = await readBatchValues(source, plan, range, after, limit);
    if (rows.length === 0) return null;
    const docs = await buildDocumentsFromValues(plan, source, rows);
    return { rows: rows.length, last: keyOfValues(keyPositions(plan), rows[rows.length - 1]), work: docs };
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

  async validateForeignKeys(): Promise<void> {
    // No references on a collection.
  }

  async advanceSequences(): Promise<void> {
    // A collection hands out no values (ObjectIds need no sequence): nothing to move.
  }

  async countRows(plan: TablePlan): Promise<number> {
    return (await this.collection(plan)).countDocuments({});
  }
}
