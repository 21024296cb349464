// The backfill's writes: unordered `insert` commands sized to the server, then replaces keyed
// by _id for the documents already there (a retried batch, a resumed chunk), so the result is
// the same whatever ran before. One insert command per batch (split only past the server's
// limits) instead of insertMany: the driver's bulk API serializes each document into its own
// buffer and keeps per-operation bookkeeping. Measured on 400,000 pgbench rows (node CPU of
// the writes alone): insertMany 1.6-2.0 s, one insert command per batch 0.9-1.2 s, to which
// sizing the documents here (calculateObjectSize) adds about 0.15-0.3 s.
import { BSON, ReadPreference, WriteConcern, type Collection, type Db, type Document } from 'mongodb';

const DUPLICATE_KEY = 11000;

/** What a server accepts in one write command (hello's maxBsonObjectSize and maxWriteBatchSize). */
export interface WriteLimits {
  maxBsonObjectSize: number;
  maxWriteBatchSize: number;
}

/** MongoDB's limits since 2.6, for a server that does not say. */
const DEFAULT_LIMITS: WriteLimits = { maxBsonObjectSize: 16 * 1024 * 1024, maxWriteBatchSize: 100_000 };

/** The server's limits, asked once per database handle (hello, or isMaster on servers that predate it). */
const limitsOf = new WeakMap<Db, Promise<WriteLimits>>();

export function writeLimits(db: Db): Promise<WriteLimits> {
  let limits = limitsOf.get(db);
  if (!limits) {
    limits = (async () => {
      const h = await db.command({ hello: 1 }).catch(() => db.command({ isMaster: 1 }));
      return {
        maxBsonObjectSize: Number(h.maxBsonObjectSize) || DEFAULT_LIMITS.maxBsonObjectSize,
        maxWriteBatchSize: Number(h.maxWriteBatchSize) || DEFAULT_LIMITS.maxWriteBatchSize,
      };
    })();
    // A server that cannot be asked now is asked again by the next batch.
    limits.catch(() => limitsOf.delete(db));
    limitsOf.set(db, limits);
  }
  return limits;
}

/** Room a command keeps besides its documents (its other fields); the server allows a command 16 KiB past maxBsonObjectSize. */
const COMMAND_SLACK = 16 * 1024;
/** Each document in the command's `documents` array also costs its element header: a type byte and its index as a key. */
const ELEMENT_HEADER = 8;

/**
 * Splits documents into runs that each fit one insert command: at most maxWriteBatchSize
 * documents, their BSON within maxBsonObjectSize (less some slack for the command's other
 * fields). Returns [start, end) pairs; null when one document alone exceeds the server's
 * maximum document size (the caller lets the driver refuse it as it always has).
 */
export function insertRuns(sizes: number[], limits: WriteLimits): Array<[number, number]> | null {
  const budget = limits.maxBsonObjectSize - COMMAND_SLACK;
  const runs: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] >= limits.maxBsonObjectSize) return null;
    const cost = sizes[i] + ELEMENT_HEADER;
    if (i > start && (bytes + cost > budget || i - start >= limits.maxWriteBatchSize)) {
      runs.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += cost;
  }
  if (sizes.length > start) runs.push([start, sizes.length]);
  return runs;
}

interface WriteErrorLike {
  index: number;
  code?: number;
  errmsg?: string;
}

/** Documents the server refused for other reasons than an existing _id: `code` and `writeErrors` as the driver's errors carry them. */
export class InsertRefused extends Error {
  readonly code: number | undefined;
  constructor(readonly writeErrors: WriteErrorLike[]) {
    super(`${writeErrors[0].errmsg ?? 'document refused'}${writeErrors.length > 1 ? ` (and ${writeErrors.length - 1} more refused documents)` : ''}`);
    this.name = 'InsertRefused';
    this.code = writeErrors[0].code;
  }
}

/**
 * Inserts documents unordered; those whose _id already exists are then replaced by key, so
 * the batch ends up written exactly as given whatever was there. Throws InsertRefused when
 * the server refuses a document for anything else, and the driver's errors otherwise.
 */
export async function insertOrReplace(db: Db, coll: Collection<Document>, docs: Document[]): Promise<void> {
  if (docs.length === 0) return;
  const sizes = new Array<number>(docs.length);
  for (let i = 0; i < docs.length; i++) sizes[i] = BSON.calculateObjectSize(docs[i], { ignoreUndefined: false });
  const runs = insertRuns(sizes, await writeLimits(db));
  // A document too large for the server: insertMany refuses it before sending anything.
  if (runs === null) {
    await coll.insertMany(docs, { ordered: false });
    return;
  }
  const duplicates: number[] = [];
  for (const [start, end] of runs) {
    const command: Document = { insert: coll.collectionName, documents: start === 0 && end === docs.length ? docs : docs.slice(start, end), ordered: false };
    // The write concern insertMany would have sent (the URL's or the client's), so a batch is
    // exactly as durable as before when its cursor is committed; always to the primary.
    if (coll.writeConcern) WriteConcern.apply(command, coll.writeConcern);
    const res = await db.command(command, { readPreference: ReadPreference.primary });
    const errors: WriteErrorLike[] = Array.isArray(res.writeErrors) ? res.writeErrors : [];
    const others = errors.filter((e) => e.code !== DUPLICATE_KEY);
    if (others.length) throw new InsertRefused(others.map((e) => ({ ...e, index: start + e.index })));
    for (const e of errors) duplicates.push(start + e.index);
    if (res.writeConcernError) throw new Error(`write concern not satisfied: ${res.writeConcernError.errmsg ?? JSON.stringify(res.writeConcernError)}`);
  }
  if (duplicates.length) {
    await coll.bulkWrite(
      duplicates.map((i) => ({ replaceOne: { filter: { _id: docs[i]._id }, replacement: docs[i], upsert: true } })),
      { ordered: false },
    );
  }
}
