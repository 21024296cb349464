// The reverse sync's feed on a MongoDB target: one change stream per collection, each started
// from a resume token taken before the target could take any write. A marker document (an _id
// no row can have) is written into each collection and read back from its stream: its event's
// token is where the reverse sync starts, and seeing it proves the stream delivers. The same
// kind of marker, written after the rollback's fence, is how the drain knows the reverse sync
// has applied everything before it (the apply records each marker it passes on the source).
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import type { StreamStart } from '../../contracts/reverse';
import { mongoClient } from '../connections';
import { openChangeStream, type ChangeEvent } from './change-stream';
import { MongoTarget } from './target';

/** The _id field of Ferry's marker documents: `{ _id: { _ferry_marker: TOKEN } }`. */
export const MARKER_FIELD = '_ferry_marker';
const MARKER_TIMEOUT_MS = 60_000;

export async function targetDb(spec: Spec): Promise<Db> {
  return (await mongoClient(spec.target.url)).db(spec.target.database);
}

/** The marker token of an event's document, or null when it is an application document. */
export function markerOf(event: ChangeEvent): string | null {
  const id = event.documentKey?._id as Record<string, unknown> | undefined;
  return id && typeof id === 'object' && typeof id[MARKER_FIELD] === 'string' && Object.keys(id).length === 1 ? (id[MARKER_FIELD] as string) : null;
}

/** Inserts and removes a marker document in each collection (both events reach its stream). */
export async function writeMarkers(spec: Spec, plans: TablePlan[], token: string): Promise<void> {
  const db = await targetDb(spec);
  for (const plan of plans) {
    const coll = db.collection(MongoTarget.collectionName(plan));
    const _id = { [MARKER_FIELD]: token };
    await coll.insertOne({ _id: _id as never, writtenAt: new Date() });
    await coll.deleteOne({ _id: _id as never });
  }
}

/** Opens every collection's stream, writes the start markers, and returns the token of each one's marker event. */
export async function beginStreams(spec: Spec, plans: TablePlan[], alive: () => void): Promise<StreamStart[]> {
  const db = await targetDb(spec);
  const token = `start-${randomUUID()}`;
  const readers = plans.map((plan) => ({ plan, collection: MongoTarget.collectionName(plan), reader: openChangeStream(db.collection(MongoTarget.collectionName(plan))) }));
  try {
    // The streams must be open before the markers go in, or the marker events precede them.
    for (const r of readers) await r.reader.read(1, 0);
    await writeMarkers(spec, plans, token);
    const starts: StreamStart[] = [];
    for (const r of readers) {
      const deadline = Date.now() + MARKER_TIMEOUT_MS;
      let found: StreamStart | null = null;
      while (!found) {
        if (Date.now() > deadline) {
          throw ApplicationFailure.nonRetryable(
            `the change stream of collection ${r.collection} did not deliver Ferry's marker within ${MARKER_TIMEOUT_MS / 1000} s: MongoDB serves change streams only on a replica set or sharded cluster (mongo-java-server: with its oplog enabled)`,
            'ConfigurationError',
          );
        }
        alive();
        const batch = await r.reader.read(100, 1_000);
        for (const e of batch.events) {
          // The insert of our marker: the stream starts right after it (its delete is skipped as a marker).
          if (markerOf(e) === token && e.operationType === 'insert') found = { table: r.plan.display, collection: r.collection, token: e.resumeToken };
        }
      }
      starts.push(found);
    }
    return starts;
  } finally {
    for (const r of readers) await r.reader.close().catch(() => undefined);
  }
}
