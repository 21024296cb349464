// Capture names per migration id, and taking capture down when things go wrong, against the
// real stack: a name another migration owns is refused before anything changes; a release
// with Kafka Connect unreachable returns a report of what it left (instead of retrying for
// ever); `ferry cleanup --id` then removes connector, slot and the rest, and a second run
// finds nothing left.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { testSpec } from '../helpers/temporal';
import { ferry } from '../helpers/cli';
import { inspectSource } from '../../activities/plan/prepare';
import { closeAll } from '../../engines/connections';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { captureName, legacyCaptureName, prepareCapture, releaseCapture } from '../../activities/cdc/capture';
import { connectClient } from '../../scripts/cli/client';
import { startWorkflow } from '../../contracts/workflow-types';
import { taskQueues } from '../../contracts/queues';

const connectUrl = (path: string) => `${process.env.FERRY_CONNECT_URL}${path}`;

function spec(connect = '${FERRY_CONNECT_URL}'): Spec {
  return testSpec({
    name: 'cleanup-test',
    mode: 'online',
    source: { url: '${FERRY_T_CLEANUP_URL}' },
    target: { url: '${FERRY_MONGO_URL}', database: 'cleanup_test' },
    tables: ['public.orders'],
    sync: { connect, kafka: '${FERRY_KAFKA_BROKERS}', retentionHours: 24, partitions: 1 },
  });
}

describe('capture names per migration id, release and ferry cleanup (real PostgreSQL and Kafka Connect)', function () {
  this.timeout(300_000);
  const base = uniqueName('ferry-cleanup');
  // Read alike once sanitized: before, both mapped to one slot, publication and connector.
  const migrationId = `${base}-v2`;
  const twinId = `${base}_v2`;
  const name = captureName(migrationId);
  let dbUrl: string;
  let pool: Pool;
  let plans: TablePlan[];
  const env = () => ({ ...process.env, FERRY_LOG_LEVEL: 'ERROR' });
  let specFile: string;

  const left = async () =>
    (
      await pool.query(
        `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)::int AS slots, (SELECT count(*) FROM pg_publication WHERE pubname = $1)::int AS pubs,
                (SELECT count(*) FROM pg_namespace WHERE nspname = '_ferry')::int AS schemas`,
        [name],
      )
    ).rows[0];

  before(async () => {
    loadStackEnv();
    dbUrl = await createDatabase('ferry_t_cleanup');
    process.env.FERRY_T_CLEANUP_URL = dbUrl;
    pool = new Pool({ connectionString: dbUrl });
    await pool.query('CREATE TABLE public.orders (id int PRIMARY KEY, note text)');
    const inspected = await inspectSource(spec());
    assert.deepEqual(inspected.problems, []);
    plans = inspected.plans;
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cleanup-'));
    specFile = join(dir, 'spec.yaml');
    writeFileSync(specFile, [
      'name: cleanup-test',
      'mode: online',
      'source: { url: "${FERRY_T_CLEANUP_URL}" }',
      'target: { url: "${FERRY_MONGO_URL}", database: cleanup_test }',
      'tables: [public.orders]',
      'sync: { connect: "${FERRY_CONNECT_URL}", kafka: "${FERRY_KAFKA_BROKERS}", retentionHours: 24, partitions: 1 }',
    ].join('\n'));
  });

  after(async () => {
    await releaseCapture({ spec: spec(), captureName: name, migrationId }).catch(() => undefined);
    const kafka = new Kafka({ clientId: 'ferry-test', brokers: process.env.FERRY_KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${name}.`) || t === `__debezium-heartbeat.${name}`);
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
    await closeAll();
    await dropDatabase(dbUrl);
  });

  it('gives ids that differ only in - and _ different names, each a valid slot name', () => {
    assert.notEqual(captureName(migrationId), captureName(twinId));
    for (const id of [migrationId, twinId, 'orders-v2', 'orders_v2', `x${'-'.repeat(90)}`]) assert.match(captureName(id), /^[a-z0-9_]{1,63}$/, id);
    assert.notEqual(captureName('orders-v2'), captureName('orders_v2'));
    assert.equal(captureName(migrationId), name, 'stable');
  });

  it('sets up capture, and refuses another migration id whose name is this one, changing nothing', async () => {
    const first = await prepareCapture({ spec: spec(), plans, migrationId });
    assert.equal(first.name, name);
    // An id that is itself a valid name maps to itself: chosen to equal the first one's name, it collides.
    const squatter = name;
    assert.equal(captureName(squatter), name);
    let message = '';
    await prepareCapture({ spec: spec(), plans, migrationId: squatter }).then(
      () => assert.fail('expected a refusal'),
      (err: { message: string; type?: string; nonRetryable?: boolean }) => {
        assert.equal(err.type, 'ConfigurationError');
        assert.equal(err.nonRetryable, true);
        message = err.message;
      },
    );
    assert.match(message, new RegExp(`capture name ${name} belongs to migration ${migrationId}.*use another migration id`));
    const config = (await (await fetch(connectUrl(`/connectors/${name}/config`))).json()) as Record<string, string>;
    assert.equal(config['ferry.migration.id'], migrationId, 'the connector still belongs to the first migration');
    const marker = await pool.query(`SELECT count(*)::int AS n FROM _ferry.cdc_marker WHERE migration = $1`, [squatter]);
    assert.equal(marker.rows[0].n, 0, 'no start marker written for the refused id');

    // The same id again (a retried activity) converges.
    const again = await prepareCapture({ spec: spec(), plans, migrationId });
    assert.equal(again.name, name);
  });

  it('returns a report of what is left, with commands, when Kafka Connect is unreachable', async () => {
    process.env.FERRY_T_CLOSED_CONNECT = 'http://127.0.0.1:1';
    const report = await releaseCapture({ spec: spec('${FERRY_T_CLOSED_CONNECT}'), captureName: name, migrationId });
    const connector = report.left.find((l) => l.what === `connector ${name}`);
    assert.ok(connector, JSON.stringify(report));
    assert.match(connector.reason, /Kafka Connect \(sync\.connect from \$\{FERRY_T_CLOSED_CONNECT\}\) is unreachable/);
    assert.equal(connector.command, `curl -X DELETE "\${FERRY_T_CLOSED_CONNECT}/connectors/${name}"`);
    // The real connector still runs and holds the slot: left, with the statement to drop it.
    const slot = report.left.find((l) => l.what === `replication slot ${name}`);
    assert.ok(slot, JSON.stringify(report));
    assert.match(slot.reason, /its connector could not be deleted/);
    assert.equal(slot.command, `psql "\${FERRY_T_CLEANUP_URL}" -c 'SELECT pg_drop_replication_slot('\\''${name}'\\'')'`);
    assert.ok(report.removed.includes(`publication ${name}`), JSON.stringify(report));
    assert.equal((await fetch(connectUrl(`/connectors/${name}`))).status, 200, 'nothing happened to the real connector');
  });

  it('ferry cleanup exits 1 naming what it could not remove and how, while Connect is unreachable', () => {
    const closed = specFile.replace(/\.yaml$/, '-closed.yaml');
    writeFileSync(closed, readFileSync(specFile, 'utf8').replace('${FERRY_CONNECT_URL}', '${FERRY_T_CLOSED_CONNECT}'));
    const run = ferry(['cleanup', '--id', migrationId, '--spec', closed], env());
    assert.equal(run.code, 1, run.err + run.out);
    assert.match(run.out, new RegExp(`^NOT removed: connector ${name}: Kafka Connect \\(sync\\.connect from \\$\\{FERRY_T_CLOSED_CONNECT\\}\\) is unreachable.*\\n  remove it by hand: curl -X DELETE "\\$\\{FERRY_T_CLOSED_CONNECT\\}/connectors/${name}"$`, 'm'));
    // The slot: still held by the connector's task, or already let go (its publication was dropped by the release above).
    assert.match(run.out, new RegExp(`^(NOT removed: replication slot ${name}: in use by walsender pid \\d+: its connector could not be deleted, delete that first|removed replication slot ${name})$`, 'm'));
    assert.match(run.err, /things? of migration .* could not be removed \(see above\)/);
  });

  it('ferry cleanup --id removes connector, slot and the rest; a second run finds nothing left', async () => {
    const run = ferry(['cleanup', '--id', migrationId, '--spec', specFile], env());
    assert.equal(run.code, 0, run.err + run.out);
    assert.match(run.out, new RegExp(`^removed connector ${name}$`, 'm'));
    assert.match(run.out, new RegExp(`^removed connector ${name}'s stored offsets$`, 'm'));
    assert.match(run.out, new RegExp(`^(removed|already gone:) replication slot ${name}$`, 'm'));
    assert.doesNotMatch(run.out, /NOT removed/);
    assert.match(run.out, new RegExp(`^already gone: publication ${name}$`, 'm'));
    assert.match(run.out, /^removed table _ferry\.cdc_marker$/m);
    assert.equal((await fetch(connectUrl(`/connectors/${name}`))).status, 404);
    assert.deepEqual(await left(), { slots: 0, pubs: 0, schemas: 0 });

    const second = ferry(['cleanup', '--id', migrationId, '--spec', specFile], env());
    assert.equal(second.code, 0, second.err + second.out);
    assert.match(second.out, new RegExp(`nothing left of migration ${migrationId} \\(capture name ${name}\\)`));
    assert.doesNotMatch(second.out, /^removed/m);
  });

  it('finds a slot named by the rule before per-id hashing (a migration started by older code)', async () => {
    const oldId = `${base}-legacy`;
    const legacy = legacyCaptureName(oldId);
    assert.notEqual(legacy, captureName(oldId), 'the rules differ for this id');
    await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [legacy]);
    const run = ferry(['cleanup', '--id', oldId, '--spec', specFile], env());
    assert.equal(run.code, 0, run.err + run.out);
    assert.match(run.out, new RegExp(`^removed replication slot ${legacy}$`, 'm'));
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [legacy])).rows[0].n, 0);
  });

  it('reads the spec from the workflow when Temporal has it, and refuses a migration still running', async () => {
    // No worker polls this namespace here: the workflow only exists, which is all cleanup reads.
    const client = await connectClient();
    const id = `${base}-from-history`;
    try {
      const handle = await startWorkflow(client, 'migration', { workflowId: id, taskQueue: taskQueues.control, args: [{ spec: spec() }] });
      const running = ferry(['cleanup', '--id', id], env());
      assert.equal(running.code, 2, running.err + running.out);
      assert.match(running.err, new RegExp(`migration ${id} is still running: .*abort it first \\(ferry signal --id ${id} abort\\)`));
      await handle.terminate('test: the workflow is gone, its capture is cleaned up by hand');
      const run = ferry(['cleanup', '--id', id], env());
      assert.equal(run.code, 0, run.err + run.out);
      assert.match(run.out, new RegExp(`already gone: replication slot ${captureName(id)}`), 'the source came from the workflow input');
      assert.match(run.out, /nothing left of migration/);
    } finally {
      await client.workflow.getHandle(id).terminate().catch(() => undefined);
      await client.connection.close();
    }
  });

  it('refuses without a spec when Temporal has no such workflow (exit 2)', () => {
    const run = ferry(['cleanup', '--id', `${migrationId}-nowhere`], env());
    assert.equal(run.code, 2, run.err + run.out);
    assert.match(run.err, /no workflow .*-nowhere in namespace .*: give the migration's spec with --spec FILE/);
  });
});
