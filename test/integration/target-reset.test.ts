// The stores Ferry keeps on the target (mismatches, dead letters) after the target database
// is dropped and recreated under the same process: their tables are created again (a memo
// of "created once per pool" must not outlive the tables), and MongoDB's indexes too.
import { strict as assert } from 'node:assert';
import { MongoClient } from 'mongodb';
import { createDatabase, dropDatabase, loadStackEnv, recreateDatabase, uniqueName } from '../helpers/stack';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll } from '../../engines/connections';
import { mismatchStore, deadLetterStore } from '../../engines';
import type { DeadLetter } from '../../engines/rows';

const letter = (offset: string): DeadLetter => ({
  migrationId: 'm1',
  topic: 't',
  partition: 0,
  offset,
  key: '{"id":1}',
  table: 'public.t',
  reason: 'poison',
  value: 'not json',
});

describe('target stores after a target reset (real PostgreSQL, MongoDB wire server)', function () {
  let targetUrl: string;
  let mongo: MongoClient;
  const pgSpec = (): Spec => validateSpec({ name: 'reset', source: { url: '${FERRY_SOURCE_URL}' }, target: { url: '${FERRY_TEST_RESET_URL}' }, tables: ['public.t'] }, process.env);

  before(async () => {
    loadStackEnv();
    targetUrl = await createDatabase('ferry_t_reset');
    process.env.FERRY_TEST_RESET_URL = targetUrl;
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
  });

  after(async () => {
    await closeAll();
    await mongo?.close();
    if (targetUrl) await dropDatabase(targetUrl);
  });

  it('PostgreSQL: the dead-letter store creates its table again after the database is recreated', async () => {
    const store = deadLetterStore(pgSpec());
    await store.add([letter('1')]);
    assert.equal(await store.count('m1'), 1);
    await recreateDatabase(targetUrl);
    // The same process, the same pool: reads and writes find the table gone and create it.
    assert.equal(await deadLetterStore(pgSpec()).count('m1'), 0);
    await recreateDatabase(targetUrl);
    await deadLetterStore(pgSpec()).add([letter('2'), letter('3')]);
    const listed = await deadLetterStore(pgSpec()).list('m1', 10);
    assert.deepEqual(listed.map((l) => l.offset), ['2', '3']);
  });

  it('PostgreSQL: the mismatch store creates its table again after the database is recreated', async () => {
    await mismatchStore(pgSpec()).recordChunk('v1', 'public.t', 0, [{ kind: 'missing', key: ['1'] }]);
    await recreateDatabase(targetUrl);
    await mismatchStore(pgSpec()).recordChunk('v2', 'public.t', 0, [{ kind: 'extra', key: ['2'] }]);
    assert.deepEqual(await mismatchStore(pgSpec()).countByKind('v2', 'public.t'), { missing: 0, extra: 1, different: 0 });
    await recreateDatabase(targetUrl);
    assert.deepEqual((await mismatchStore(pgSpec()).page('v2', 'public.t', null, 10)).entries, []);
  });

  it('MongoDB: both stores build their indexes again after the database is dropped', async () => {
    const database = uniqueName('targets');
    const spec = validateSpec({ name: 'reset', source: { url: '${FERRY_SOURCE_URL}' }, target: { url: '${FERRY_MONGO_URL}', database }, tables: ['public.t'] }, process.env);
    const indexes = async (coll: string) => (await mongo.db(database).collection(coll).indexes()).map((i) => i.name).sort();
    await deadLetterStore(spec).add([letter('1')]);
    await mismatchStore(spec).recordChunk('v1', 'public.t', 0, [{ kind: 'missing', key: ['1'] }]);
    const before = { letters: await indexes('_ferry_dead_letters'), mismatches: await indexes('_ferry_mismatches') };
    assert.ok(before.letters.length > 1 && before.mismatches.length > 2, JSON.stringify(before));
    await mongo.db(database).dropDatabase();
    await deadLetterStore(spec).add([letter('2')]);
    await mismatchStore(spec).recordChunk('v2', 'public.t', 0, [{ kind: 'missing', key: ['2'] }]);
    assert.deepEqual({ letters: await indexes('_ferry_dead_letters'), mismatches: await indexes('_ferry_mismatches') }, before);
  });
});
