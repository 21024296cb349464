// An online migration's long life on the real stack: it continues-as-new during the sync
// (state carried, the sync child running on), a halted poison event is skipped only by its
// own verb, offsets travel in the sync's workflow state, a Temporal cancel ends it the way an
// abort does, and a terminated migration's sync releases change capture itself.
import { strict as assert } from 'node:assert';
import { Pool } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import type { Client } from '@temporalio/client';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { startWorkers, waitForStatus, type Harness } from '../helpers/temporal';
import { cleanUpMigration, onlineSpec, syncedPast } from '../helpers/sync';
import { assertPostgresEqual } from '../helpers/compare';
import { ferryAsync } from '../helpers/cli';
import { closeAll } from '../../engines/connections';
import { readStatus } from '../../scripts/cli/client';
import { startWorkflow } from '../../contracts/workflow-types';
import { pauseSignal, resumeSignal, throttleSignal } from '../../contracts/messages';
import type { MigrationInput } from '../../contracts/migration';
import { taskQueues } from '../../contracts/queues';
import type { SyncInput } from '../../contracts/sync';

const slotCount = async (pool: Pool, name: string) => (await pool.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [name])).rows[0].n as number;
const connectorExists = async (name: string) => (await fetch(`${process.env.FERRY_CONNECT_URL}/connectors/${encodeURIComponent(name)}`)).status === 200;

async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The input of the latest run of a workflow (after continue-as-new: what it carried). */
async function latestInput<T>(client: Client, workflowId: string): Promise<T> {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  const payload = h.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return JSON.parse(Buffer.from(payload.data!).toString('utf8')) as T;
}

describe('online migration lifecycle: continue-as-new, skip, cancel, terminate (real Debezium, Kafka, Temporal)', function () {
  this.timeout(15 * 60_000);
  let harness: Harness;
  const databases: string[] = [];
  const migrations: string[] = [];
  let pool: Pool;
  let sourceUrl: string;
  let targetUrl: string;

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_life');
    targetUrl = await createDatabase('ferry_t_life_tgt');
    databases.push(sourceUrl, targetUrl);
    process.env.FERRY_LIFE_SRC = sourceUrl;
    process.env.FERRY_LIFE_TGT = targetUrl;
    pool = new Pool({ connectionString: sourceUrl });
    await pool.query(`CREATE TABLE public.items (id int PRIMARY KEY, qty int NOT NULL)`);
    await pool.query(`INSERT INTO public.items SELECT g, g FROM generate_series(1, 500) g`);
    await pool.query(`CREATE TABLE public.notes (id int PRIMARY KEY, body text)`);
    await pool.query(`INSERT INTO public.notes SELECT g, 'n' || g FROM generate_series(1, 100) g`);
    harness = await startWorkers(['control', 'copy', 'cdc']);
  });

  after(async () => {
    for (const id of migrations) await cleanUpMigration(harness.client, id).catch(() => undefined);
    await pool?.end();
    await harness?.stop();
    await closeAll();
    for (const db of databases) await dropDatabase(db).catch(() => undefined);
  });

  it('continues-as-new in the sync phase with its state; skip is its own verb; a Temporal cancel ends it like an abort', async () => {
    const spec = onlineSpec('life', '${FERRY_LIFE_SRC}', { url: '${FERRY_LIFE_TGT}' }, ['public.items'], { sync: { runSeconds: 10, runsPerWorkflow: 2, onPoison: 'halt' } });
    const id = uniqueName('life');
    migrations.push(id);
    // A small threshold: the sync phase hands over to a new run almost at once, then again below.
    const input: MigrationInput = { spec, continueAsNewAfterEvents: 60 };
    const handle = await startWorkflow(harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [input] });
    const ready = await waitForStatus(harness.client, id, (s) => (s.phase === 'sync' && (s.runs ?? 1) >= 2) || s.phase === 'failed', 'sync phase in a second run', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');
    assert.equal(ready.verification?.clean, true);
    assert.ok(ready.capture?.name, 'the capture was carried');
    const carried = await latestInput<MigrationInput>(harness.client, id);
    assert.equal(carried.carried?.plans.length, 1, 'plans carried through continue-as-new');
    assert.doesNotMatch(JSON.stringify(carried), /postgres(ql)?:\/\/[^$]/, 'no resolved URL in the carried state');

    // The sync still follows after the hand-over.
    await pool.query(`UPDATE public.items SET qty = -1 WHERE id <= 10`);
    const since = Date.now();
    await waitForStatus(harness.client, id, (s) => syncedPast(s, since), 'caught up after continue-as-new', 3 * 60_000);
    await assertPostgresEqual(sourceUrl, targetUrl, ['public.items']);

    // A poison event halts the sync (onPoison: halt). A pause and resume must not skip it.
    const producer = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: `${ready.capture!.name}.public.items`, messages: [{ key: '{"id":999999}', value: '{"op": "u", "after": ' }] });
    await producer.disconnect();
    await pool.query(`INSERT INTO public.items VALUES (100001, 1)`);
    const halted = await waitForStatus(harness.client, id, (s) => s.sync?.state === 'halted' && !!s.sync.halted, 'halted on the poison event', 3 * 60_000);
    const at = `${halted.sync!.halted!.position.topic}/${halted.sync!.halted!.position.partition}@${halted.sync!.halted!.position.offset}`;
    // Back to back, several times: the migration forwards each to the sync child, which must
    // hear them in the order sent (it ends resumed) and still wait at the poison event.
    for (let i = 0; i < 5; i++) {
      await handle.signal(pauseSignal);
      await handle.signal(resumeSignal);
    }
    await new Promise((r) => setTimeout(r, 12_000));
    const still = (await readStatus(harness.client, id)).status!;
    assert.equal(still.sync?.state, 'halted', 'pause + resume did not go past the poison event');
    const target = new Pool({ connectionString: targetUrl });
    assert.equal((await target.query('SELECT count(*)::int AS n FROM public.items WHERE id = 100001')).rows[0].n, 0, 'nothing after the poison event was applied');

    // Skip naming another event is refused; skip without a position goes past the one it waits at.
    const wrong = await ferryAsync(['skip', '--id', id, '--position', 'some.topic/0@1']);
    assert.equal(wrong.code, 1, wrong.out + wrong.err);
    assert.match(wrong.err, /skip refused: the sync is halted at .*, not some\.topic\/0@1/);
    const ok = await ferryAsync(['skip', '--id', id]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, new RegExp(`skipped ${at.replace(/[.@/]/g, '\\$&')}`));
    await until('the row after the poison event applied', async () => (await target.query('SELECT count(*)::int AS n FROM public.items WHERE id = 100001')).rows[0].n === 1);
    const again = await ferryAsync(['skip', '--id', id]);
    assert.equal(again.code, 1);
    assert.match(again.err, /nothing to skip/);
    await target.end();

    // History grows with every message: the migration hands over again and keeps what it knew.
    for (let i = 0; i < 25; i++) await handle.signal(throttleSignal, 1000 + i);
    await handle.signal('throttle', 'not a number');
    const third = await waitForStatus(harness.client, id, (s) => (s.runs ?? 1) >= 3 && s.throttle === 1024, 'a third run', 2 * 60_000);
    assert.equal(third.refused?.length, 1, 'the refusal was carried');
    assert.equal(third.verification?.clean, true, 'the verification was carried');
    // The sync carries its committed offsets through its own continue-as-new.
    await until('the sync continued-as-new with offsets', async () => ((await latestInput<SyncInput>(harness.client, `${id}/sync`)).carried?.offsets?.length ?? 0) > 0);

    // The Temporal UI's Request Cancellation: ends like an abort, capture released, who says so.
    await handle.cancel();
    const err = await handle.result().then(() => null, (e) => e as Error);
    assert.ok(err, 'the cancelled migration did not complete');
    const end = await readStatus(harness.client, id);
    assert.equal(end.status?.phase, 'aborted', JSON.stringify(end));
    assert.match(end.status!.error!, /^cancelled by /);
    assert.equal(await slotCount(pool, ready.capture!.name), 0, 'the replication slot was released');
    assert.equal(await connectorExists(ready.capture!.name), false, 'the connector was removed');
    const sync = await harness.client.workflow.getHandle(`${id}/sync`).describe();
    assert.notEqual(sync.status.name, 'RUNNING', 'the sync stopped');
  });

  it('a terminated migration leaves no replication slot: its sync notices and releases capture', async () => {
    const spec = onlineSpec('life-term', '${FERRY_LIFE_SRC}', { url: '${FERRY_LIFE_TGT}' }, ['public.notes'], { sync: { runSeconds: 10 } });
    const id = uniqueName('life-term');
    migrations.push(id);
    const handle = await startWorkflow(harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [{ spec }] });
    const ready = await waitForStatus(harness.client, id, (s) => s.phase === 'sync' || s.phase === 'failed', 'sync phase', 5 * 60_000);
    assert.equal(ready.phase, 'sync', ready.error ?? '');
    await handle.terminate('test: an operator terminated it');
    await until('the slot released by the orphaned sync', async () => (await slotCount(pool, ready.capture!.name)) === 0, 3 * 60_000);
    assert.equal(await connectorExists(ready.capture!.name), false, 'the connector was removed');
    await until('the sync ended', async () => (await harness.client.workflow.getHandle(`${id}/sync`).describe()).status.name !== 'RUNNING', 60_000);
  });
});
