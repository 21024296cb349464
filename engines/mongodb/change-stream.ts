// Collection-level change streams on a MongoDB target, read in bounded batches so a Temporal
// activity can read, apply, heartbeat the resume token and read again (groundwork for a reverse
// sync from MongoDB back to PostgreSQL). The token is returned as plain JSON (EJSON), so it
// survives heartbeat details and workflow state unchanged.
//
// What the local stack's server (mongo-java-server 1.47.0, oplog enabled by FerryMongoServer)
// does, measured with driver 7.9 (test/integration/mongo-change-stream.test.ts holds the parts we
// rely on), against real MongoDB:
// - watch() works on it although it is a standalone server (isMaster has no setName). Real mongod
//   refuses $changeStream unless it is a replica set or sharded cluster. Without the oplog
//   (FERRY_MONGO_OPLOG=off) the first read fails with "Unknown error: null".
// - insert and delete: right (documentKey {_id}; insert carries the document). Upserts that insert
//   come out as insert.
// - update: documentKey is wrong there: it holds the update spec ({$set: …}), not {_id}. With
//   fullDocument 'updateLookup' the document as it is now comes back, _id included. If the
//   document is gone by the time the event is read, you get the $set/$unset delta instead (real
//   MongoDB gives null), and then nothing in the event names the document. An update that
//   changes nothing gives no event, as in MongoDB.
// - replace: there is no 'replace' event. replaceOne comes out as 'update'; its documentKey is
//   the replacement document plus _id.
// - findOneAndUpdate / findOneAndReplace / findOneAndDelete (findAndModify) give no event at all.
// - No ns, no updateDescription, no pre-images (fullDocumentBeforeChange is ignored), and
//   fullDocument 'whenAvailable'/'required' act like the default (the delta). clusterTime is there.
// - resumeAfter and startAfter with a token: right (exclusive). startAtOperationTime:
//   inclusive, as in MongoDB. A $match stage after $changeStream is applied.
// - There is no postBatchResumeToken. A stream opened without a token that has seen no event
//   has no token (null), where real MongoDB has one after the first batch. Callers must keep the
//   token they passed in; read() does that.
// - getMore never waits (no awaitData): empty polls come back at once, so read() sleeps between
//   them and does not spin.
// - Dropping any collection of the same database shows in every collection stream of that
//   database as {operationType: 'drop'}, with no ns and no invalidate afterwards. Real MongoDB
//   reports only the watched collection's drop, followed by 'invalidate'. So a 'drop' here does
//   not say which collection went; read() hands such events on unchanged.
// - updateLookup on a collection whose name contains '.' fails the getMore ("Collection [db.a]
//   not found"), because the server splits the namespace at the first dot. Ferry names
//   collections after tables, so avoid dotted table names with change streams on this server.
// - db.watch() only sees the database's drop events; client.watch() fails (no aggregate on admin).
// - The oplog (local.oplog.rs, which listDatabases shows as 'local') is never trimmed. It copies
//   every write and every poll scans it whole.
// read() smooths the first two update quirks: documentKey comes from fullDocument._id when the
// server's documentKey has no _id; fullDocument without _id on an update is taken as "lookup
// failed" and becomes null; and when neither names the document, documentKey is null. That last
// case occurs when the document was deleted afterwards, and its delete event follows, keyed.
import { BSON, type ChangeStream, type Collection, type Document } from 'mongodb';

const { EJSON } = BSON;

/** A resume token as plain JSON (EJSON canonical form of the server's _id of an event). */
export type ResumeToken = Record<string, unknown>;

export interface ChangeEvent {
  /** 'insert' | 'update' | 'replace' | 'delete', or another server event (drop, invalidate…) passed on as is. */
  operationType: string;
  /** { _id } of the changed document; null for non-document events and for the unkeyed update case above. */
  documentKey: { _id: unknown } | null;
  /** The document after the change (insert; update/replace via updateLookup), else null. */
  fullDocument: Document | null;
  /** Resuming after this token starts with the next event. */
  resumeToken: ResumeToken;
}

export interface ChangeBatch {
  events: ChangeEvent[];
  /** Where the next read resumes; null only if no token was given and no event was ever seen. */
  resumeToken: ResumeToken | null;
}

export interface ChangeReader {
  /**
   * Up to maxEvents events. Stops at maxEvents, when maxWaitMs has passed, or when a poll comes
   * back empty after at least one event: once caught up, handing the batch on beats waiting out
   * the time limit.
   */
  read(maxEvents: number, maxWaitMs: number): Promise<ChangeBatch>;
  close(): Promise<void>;
}

export interface ChangeStreamOptions {
  /** Continue after this token (from a previous ChangeBatch); absent: from now on. */
  resumeAfter?: ResumeToken | null;
  /** Pause between empty polls (mongo-java-server does not wait in getMore). Default 100 ms. */
  pollMs?: number;
}

const toJson = (token: unknown): ResumeToken => EJSON.serialize(token, { relaxed: false }) as ResumeToken;

function normalize(raw: Document): ChangeEvent {
  const op = String(raw.operationType);
  const isDocumentEvent = op === 'insert' || op === 'update' || op === 'replace' || op === 'delete';
  let fullDocument: Document | null = raw.fullDocument ?? null;
  // An update's fullDocument without _id is mongo-java-server's delta after a failed lookup.
  if ((op === 'update' || op === 'replace') && fullDocument && !('_id' in fullDocument)) fullDocument = null;
  const key = raw.documentKey && '_id' in raw.documentKey ? raw.documentKey._id : fullDocument?._id;
  return {
    operationType: op,
    documentKey: isDocumentEvent && key !== undefined ? { _id: key } : null,
    fullDocument: op === 'delete' ? null : fullDocument,
    resumeToken: toJson(raw._id),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Opens a change stream on one collection; nothing is read until read() is called. */
export function openChangeStream(collection: Collection<Document>, options: ChangeStreamOptions = {}): ChangeReader {
  const pollMs = options.pollMs ?? 100;
  const given = options.resumeAfter ? (EJSON.deserialize(options.resumeAfter, { relaxed: false }) as Document) : undefined;
  // maxAwaitTimeMS: a real server waits this long for events in getMore, so polls do not spin.
  const stream: ChangeStream = collection.watch([], {
    fullDocument: 'updateLookup',
    maxAwaitTimeMS: pollMs,
    ...(given ? { resumeAfter: given } : {}),
  });
  let last: ResumeToken | null = options.resumeAfter ?? null;
  return {
    async read(maxEvents, maxWaitMs) {
      const deadline = Date.now() + maxWaitMs;
      const events: ChangeEvent[] = [];
      while (events.length < maxEvents) {
        const raw = await stream.tryNext();
        if (raw) {
          const event = normalize(raw);
          events.push(event);
          last = event.resumeToken;
          continue;
        }
        if (events.length > 0 || Date.now() >= deadline) break;
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      }
      // The driver's token can be ahead of the last event (postBatchResumeToken on real MongoDB),
      // but it is null on mongo-java-server until an event was seen: keep ours then.
      if (stream.resumeToken) last = toJson(stream.resumeToken);
      return { events, resumeToken: last };
    },
    close: () => stream.close(),
  };
}

/** One bounded read: open, read, close. For activities that do one batch per attempt. */
export async function readChanges(
  collection: Collection<Document>,
  options: ChangeStreamOptions & { maxEvents: number; maxWaitMs: number },
): Promise<ChangeBatch> {
  const reader = openChangeStream(collection, options);
  try {
    return await reader.read(options.maxEvents, options.maxWaitMs);
  } finally {
    await reader.close();
  }
}
