// Row changes into a MongoDB target: one unordered bulkWrite per batch — replaceOne upserts of
// full documents (mapped as the backfill maps them, so verification compares like with like),
// updateOne $set of the available fields for partial rows (no upsert: a missing document stays
// missing), deleteOne by _id. Unordered, the server applies every operation it can and reports
// each refused one by its index, so a bad row costs nothing extra to isolate.
import { BSON, MongoBulkWriteError, type AnyBulkWriteOperation, type Document } from 'mongodb';
import type { Spec } from '../../contracts/spec';
import type { ColumnInfo, TablePlan } from '../../contracts/tables';
import { pgPool } from '../connections';
import { rethrowClassified } from '../errors';
import { buildDocuments, mapperFor, documentId } from './mapping/document';
import { MongoTarget } from './target';
import type { SourceRow, ChangeFailure, RowChange } from '../rows';
import { coalesce } from '../coalesce';
import { type ChangeSink } from '../engine';
import { isDataError, keyText } from '../write-isolating';

type Upsert = Extract<RowChange, { kind: 'upsert' }>;

/** The largest document MongoDB stores. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

interface Operation {
  change: RowChange;
  op: AnyBulkWriteOperation<Document>;
}

export class MongoSink implements ChangeSink {
  private readonly target: MongoTarget;

  constructor(private readonly spec: Spec) {
    this.target = new MongoTarget(spec);
  }

  async apply(plan: TablePlan, changes: RowChange[]): Promise<ChangeFailure[]> {
    const failures: ChangeFailure[] = [];
    const refuse = (change: RowChange, error: unknown) => {
      if (!isDataError(error)) throw error;
      failures.push({ change, reason: reason(plan, change, error) });
    };
    const operations: Operation[] = [];
    const full: Upsert[] = [];
    for (const change of coalesce(changes)) {
      try {
        if (change.kind === 'delete') operations.push({ change, op: { deleteOne: { filter: { _id: documentId(plan, change.key) as never } } } });
        else if (change.unavailable.length === 0) full.push(change);
        else {
          const op = partialUpdate(plan, change);
          if (op) operations.push({ change, op });
        }
      } catch (err) {
        refuse(change, err);
      }
    }
    for (const { change, doc } of await this.documents(plan, full, refuse)) {
      operations.push({ change, op: { replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } } });
    }
    try {
      failures.push(...(await this.write(plan, operations)));
    } catch (err) {
      rethrowClassified(err, `applying changes to ${plan.display} on the target`);
    }
    return failures;
  }

  /**
   * Full documents, mapped one row at a time so a value the mapping refuses fails only its row.
   * Tables with embedded tables are built as the backfill builds them, related rows read from
   * the source (one query per embedded table per batch; row by row only if that batch fails).
   */
  private async documents(plan: TablePlan, upserts: Upsert[], refuse: (c: RowChange, err: unknown) => void): Promise<Array<{ change: Upsert; doc: Document }>> {
    const map = mapperFor(plan);
    const mapped: Array<{ change: Upsert; doc: Document }> = [];
    for (const change of upserts) {
      try {
        mapped.push({ change, doc: map(change.row) });
      } catch (err) {
        refuse(change, err);
      }
    }
    if (plan.embeds.length === 0 || mapped.length === 0) return mapped;
    const source = pgPool(this.spec.source.url);
    try {
      const docs = await buildDocuments(plan, source, mapped.map((m) => m.change.row));
      return mapped.map((m, i) => ({ change: m.change, doc: docs[i] }));
    } catch (err) {
      if (!isDataError(err)) throw err;
    }
    const built: Array<{ change: Upsert; doc: Document }> = [];
    for (const { change } of mapped) {
      try {
        built.push({ change, doc: (await buildDocuments(plan, source, [change.row]))[0] });
      } catch (err) {
        refuse(change, err);
      }
    }
    return built;
  }

  /**
   * One unordered bulkWrite; the operations the server refuses for their document come back as
   * failures, any other error is thrown. Documents above 16 MiB are set aside first: the driver
   * refuses them for the whole batch before sending anything (and past 17 MiB fails to even
   * serialise them).
   */
  private async write(plan: TablePlan, operations: Operation[]): Promise<ChangeFailure[]> {
    const tooLarge = (o: Operation) => mayBeLarge(o.change) && operationBytes(o.op) >= MAX_DOCUMENT_BYTES;
    const failures = operations.filter(tooLarge).map(({ change, op }) => ({
      change,
      reason: `${plan.display} key ${keyText(plan, change.key)}: the document is ${operationBytes(op)} bytes, above MongoDB's ${MAX_DOCUMENT_BYTES}-byte limit`,
    }));
    const writable = failures.length ? operations.filter((o) => !failures.some((f) => f.change === o.change)) : operations;
    if (writable.length === 0) return failures;
    const coll = await this.target.collection(plan);
    try {
      await coll.bulkWrite(writable.map((o) => o.op), { ordered: false });
      return failures;
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) throw err;
      const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      // Another kind of write error (a duplicate _id from two upserts racing, a timeout) may
      // pass on retry: the whole batch is retried, which is harmless (every operation is
      // idempotent). Thrown as a plain error: errors.ts would call the whole batch a data
      // error if it also held a refused document.
      const others = errors.filter((e) => !isDataError({ code: e.code, message: e.errmsg }));
      if (others.length) {
        throw new Error(`${plan.display}: ${others.length} of ${writable.length} writes failed, retrying the batch: ${others[0].errmsg} (code ${others[0].code})`);
      }
      if (errors.length === 0) throw err;
      return [
        ...failures,
        ...errors.map((e) => {
          const change = writable[e.index].change;
          return { change, reason: `${plan.display} key ${keyText(plan, change.key)}: MongoDB refuses the document: ${e.errmsg} (code ${e.code})` };
        }),
      ];
    }
  }

  async truncate(plan: TablePlan): Promise<void> {
    const coll = await this.target.collection(plan);
    await coll.deleteMany({});
  }

  /**
   * Documents written before the column existed lack its field: they get the value existing
   * source rows hold (`existingValues`, text form, mapped like any value), null when none, the
   * same as a backfill would have written.
   */
  async addColumns(plan: TablePlan, added: ColumnInfo[], existingValues?: Record<string, string | null>): Promise<void> {
    const withField = added.filter((c) => c.field !== null);
    if (withField.length === 0) return;
    // Map a row that holds only the added columns' values: the mapping of the new plan decides
    // their BSON types and lossy policies, exactly as for change events.
    const row: SourceRow = Object.fromEntries(plan.columns.map((c) => [c.name, null]));
    for (const c of withField) row[c.name] = existingValues?.[c.name] ?? null;
    let doc: Document;
    try {
      doc = mapperFor(plan)(row);
    } catch (err) {
      rethrowClassified(err, `adding ${withField.map((c) => c.name).join(', ')} to ${plan.display} on the target`);
    }
    const coll = await this.target.collection(plan);
    for (const c of withField) {
      const field = c.field!;
      await coll.updateMany({ [field]: { $exists: false } }, { $set: { [field]: doc[field] } });
    }
  }
}

/**
 * updateOne $set of the fields the row has: the row is mapped with its unavailable columns as
 * NULL (the mapping needs every column), then their fields are dropped, so the document keeps
 * what it holds for them. Null when nothing is left to set.
 */
function partialUpdate(plan: TablePlan, change: Upsert): AnyBulkWriteOperation<Document> | null {
  const row: SourceRow = { ...change.row };
  for (const c of change.unavailable) row[c] = null;
  const doc = mapperFor(plan)(row);
  const _id = doc._id;
  delete doc._id;
  for (const c of plan.columns) if (c.field !== null && change.unavailable.includes(c.name)) delete doc[c.field];
  if (Object.keys(doc).length === 0) return null;
  return { updateOne: { filter: { _id }, update: { $set: doc } } };
}

/**
 * Whether a change's document could reach 16 MiB, from its text alone: BSON takes at most a few
 * times the text's length (UTF-8 up to 3 bytes a character, small numbers in JSON arrays about
 * 4), so only rows with over 2 million characters are measured exactly.
 */
function mayBeLarge(change: RowChange): boolean {
  if (change.kind === 'delete') return false;
  let chars = 0;
  for (const k in change.row) chars += change.row[k]?.length ?? 0;
  return chars * 8 >= MAX_DOCUMENT_BYTES;
}

function operationBytes(op: AnyBulkWriteOperation<Document>): number {
  if ('replaceOne' in op) return BSON.calculateObjectSize(op.replaceOne.replacement);
  if ('updateOne' in op) return BSON.calculateObjectSize(op.updateOne.update as Document);
  return 0;
}

function reason(plan: TablePlan, change: RowChange, error: unknown): string {
  return `${plan.display} key ${keyText(plan, change.key)}: ${(error as Error)?.message ?? String(error)}`;
}
