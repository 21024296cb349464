// engines/mongodb/change-stream.ts on the stack's MongoDB wire server (mongo-java-server with its
// oplog on): inserts, updates, replaces and deletes in a fresh database come out in order with
// their keys and current documents, reads are bounded by count, and a stream closed and reopened
// from a saved token (round-tripped through JSON, as a heartbeat would) sees only later events.
import { strict as assert } from 'node:assert';
import { Long, MongoClient, type Collection, type Document } from 'mongodb';
import { loadStackEnv, uniqueName } from '../helpers/stack';
import { openChangeStream, readChanges, type ChangeEvent, type ChangeReader, type ResumeToken } from '../../engines/mongodb/change-stream';

/** Reads until `count` events came (or 15 s passed): writes done before reading may span polls. */
async function readN(reader: ChangeReader, count: number): Promise<{ events: ChangeEvent[]; resumeToken: ResumeToken | null }> {
  const events: ChangeEvent[] = [];
  let resumeToken: ResumeToken | null = null;
  const until = Date.now() + 15_000;
  while (events.length < count && Date.now() < until) {
    const batch = await reader.read(count - events.length, 2_000);
    events.push(...batch.events);
    resumeToken = batch.resumeToken;
  }
  return { events, resumeToken };
}

const summary = (events: ChangeEvent[]) => events.map((e) => [e.operationType, e.documentKey?._id]);

describe('MongoDB change streams (real mongo-java-server with oplog)', function () {
  this.timeout(60_000);
  let client: MongoClient;
  const database = uniqueName('chgstream');
  let items: Collection<Document>;
  let saved: ResumeToken | null = null;

  before(async () => {
    loadStackEnv();
    client = await MongoClient.connect(process.env.FERRY_MONGO_URL!, { serverSelectionTimeoutMS: 5_000 });
    items = client.db(database).collection('items');
    await items.insertOne({ _id: 0, note: 'before any stream' } as Document);
  });

  after(async () => {
    await client?.db(database).dropDatabase().catch(() => undefined);
    await client?.close();
  });

  it('reads inserts, updates, replaces and deletes in order, with keys and current documents', async () => {
    const reader = openChangeStream(items, { pollMs: 50 });
    try {
      const idle = await reader.read(10, 300);
      assert.deepEqual(idle.events, [], 'no write since the stream opened');

      const composite = { order_id: Long.fromNumber(7), line_no: 2 };
      const compositeRead = { order_id: 7, line_no: 2 }; // the driver hands Int64 back as a number
      await items.insertOne({ _id: 1, name: 'one', qty: 1 } as Document);
      await items.insertMany([{ _id: 2, name: 'two' }, { _id: 3, name: 'three' }, { _id: composite, qty: 5 }] as Document[]);
      await items.updateOne({ _id: 1 } as Document, { $set: { qty: 10 } });
      await items.updateOne({ _id: composite } as Document, { $inc: { qty: 1 } });
      await items.replaceOne({ _id: 2 } as Document, { name: 'TWO', replaced: true });
      await items.deleteOne({ _id: 3 } as Document);

      const first = await reader.read(2, 5_000);
      assert.equal(first.events.length, 2, 'a read stops at maxEvents');
      const rest = await readN(reader, 6);
      const events = [...first.events, ...rest.events];
      // mongo-java-server reports replaceOne as 'update'; real MongoDB as 'replace'.
      assert.deepEqual(summary(events).map(([op, id]) => [op === 'replace' ? 'update' : op, id]), [
        ['insert', 1],
        ['insert', 2],
        ['insert', 3],
        ['insert', compositeRead],
        ['update', 1],
        ['update', compositeRead],
        ['update', 2],
        ['delete', 3],
      ]);
      assert.deepEqual(events[0].fullDocument, { _id: 1, name: 'one', qty: 1 });
      assert.deepEqual(events[4].fullDocument, { _id: 1, name: 'one', qty: 10 }, 'updateLookup: the whole document');
      assert.deepEqual(events[5].fullDocument, { _id: compositeRead, qty: 6 }, 'composite _id (as Ferry writes them) looked up');
      assert.deepEqual(events[6].fullDocument, { _id: 2, name: 'TWO', replaced: true });
      assert.equal(events[7].fullDocument, null);
      assert.ok(!events.some((e) => e.documentKey?._id === 0), 'the write before the stream opened is not in it');

      saved = JSON.parse(JSON.stringify(rest.resumeToken)) as ResumeToken;
      assert.deepEqual(saved, events[7].resumeToken, 'the batch ends at its last event');
    } finally {
      await reader.close();
    }
  });

  it('a stream reopened from a saved token sees only the changes after it', async () => {
    assert.ok(saved, 'the previous test saved a token');
    // Written while no stream is open: only the token carries the position.
    await items.insertOne({ _id: 4, name: 'four' } as Document);
    await items.updateOne({ _id: 1 } as Document, { $set: { qty: 11 } });
    await items.deleteOne({ _id: 2 } as Document);

    const reader = openChangeStream(items, { resumeAfter: saved, pollMs: 50 });
    let after: ResumeToken | null;
    try {
      const { events, resumeToken } = await readN(reader, 3);
      assert.deepEqual(summary(events), [['insert', 4], ['update', 1], ['delete', 2]]);
      assert.deepEqual(events[1].fullDocument, { _id: 1, name: 'one', qty: 11 });
      const more = await reader.read(10, 500);
      assert.deepEqual(more.events, [], 'nothing else happened');
      assert.deepEqual(more.resumeToken, resumeToken, 'an empty read keeps the position');
      after = resumeToken;
    } finally {
      await reader.close();
    }

    // One-shot read from the newest token: nothing yet, and the same token back.
    const none = await readChanges(items, { resumeAfter: after, maxEvents: 10, maxWaitMs: 300 });
    assert.deepEqual(none, { events: [], resumeToken: after });
    await items.insertOne({ _id: 5, name: 'five' } as Document);
    const one = await readChanges(items, { resumeAfter: after, maxEvents: 10, maxWaitMs: 5_000 });
    assert.deepEqual(summary(one.events), [['insert', 5]]);
    assert.notDeepEqual(one.resumeToken, after);
  });

  it('an update whose document is deleted before it is read has no document, and the delete is keyed', async () => {
    const reader = openChangeStream(items, { pollMs: 50 });
    try {
      await reader.read(1, 100); // the stream is open from here on
      await items.updateOne({ _id: 4 } as Document, { $set: { name: 'FOUR' } });
      await items.deleteOne({ _id: 4 } as Document);
      const { events } = await readN(reader, 2);
      assert.deepEqual(events.map((e) => e.operationType), ['update', 'delete']);
      assert.equal(events[0].fullDocument, null, 'the lookup found nothing');
      // Real MongoDB keys the update; mongo-java-server cannot (see the module header).
      if (events[0].documentKey) assert.deepEqual(events[0].documentKey, { _id: 4 });
      assert.deepEqual(events[1].documentKey, { _id: 4 });
    } finally {
      await reader.close();
    }
  });
});
