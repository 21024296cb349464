// `ferry cleanup` after a migration that died past its switch (real PostgreSQL and Kafka
// Connect): the reverse sync's capture on a PostgreSQL target — connector, slot, publication —
// is removed like the forward one, so no slot is left holding the target's WAL for ever.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { testSpec } from '../helpers/temporal';
import { ferry } from '../helpers/cli';
import { inspectSource } from '../../activities/plan/prepare';
import { prepareReverseCapture, releaseReverseCapture } from '../../activities/rollback/reverse-capture';
import { reverseCaptureName } from '../../activities/cdc/capture';
import { closeAll } from '../../engines/connections';
import type { Spec } from '../../contracts/spec';

function spec(): Spec {
  return testSpec({
    name: 'cleanup-reverse',
    mode: 'online',
    source: { url: '${FERRY_T_CREV_SRC}' },
    target: { url: '${FERRY_T_CREV_TGT}' },
    tables: ['public.orders'],
    sync: { connect: '${FERRY_CONNECT_URL}', kafka: '${FERRY_KAFKA_BROKERS}', retentionHours: 24, partitions: 1 },
  });
}

describe('ferry cleanup removes the reverse capture on a PostgreSQL target (real PostgreSQL and Kafka Connect)', function () {
  this.timeout(300_000);
  const id = uniqueName('crev');
  const databases: string[] = [];
  let target: Pool;

  before(async () => {
    loadStackEnv();
    const src = await createDatabase('ferry_t_crev');
    const tgt = await createDatabase('ferry_t_crev_tgt');
    databases.push(src, tgt);
    process.env.FERRY_T_CREV_SRC = src;
    process.env.FERRY_T_CREV_TGT = tgt;
    for (const url of [src, tgt]) {
      const p = new Pool({ connectionString: url });
      await p.query('CREATE TABLE public.orders (id int PRIMARY KEY, note text)');
      await p.end();
    }
    target = new Pool({ connectionString: tgt });
  });
  after(async () => {
    await releaseReverseCapture({ spec: spec(), migrationId: id }).catch(() => undefined);
    await target?.end();
    await closeAll();
    for (const db of databases) await dropDatabase(db).catch(() => undefined);
  });

  it('removes connector, slot and publication on the target; a second run finds nothing', async () => {
    const { plans, problems } = await inspectSource(spec());
    assert.deepEqual(problems, []);
    const made = await prepareReverseCapture({ spec: spec(), plans, migrationId: id });
    assert.equal(made.kind, 'debezium');
    const name = reverseCaptureName(id);
    const slots = async () => (await target.query('SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [name])).rows[0].n as number;
    assert.equal(await slots(), 1, 'the reverse slot is on the target');

    const dir = mkdtempSync(join(tmpdir(), 'ferry-crev-'));
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, [
      'name: cleanup-reverse',
      'mode: online',
      'source: { url: "${FERRY_T_CREV_SRC}" }',
      'target: { url: "${FERRY_T_CREV_TGT}" }',
      'tables: [public.orders]',
      'sync: { connect: "${FERRY_CONNECT_URL}", kafka: "${FERRY_KAFKA_BROKERS}", retentionHours: 24, partitions: 1 }',
    ].join('\n'));
    const env = { ...process.env, FERRY_LOG_LEVEL: 'ERROR' };
    const run = ferry(['cleanup', '--id', id, '--spec', file], env);
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(run.out, /reverse \(on the target\): .*replication slot/);
    assert.equal(await slots(), 0, 'no reverse slot left');
    assert.equal((await fetch(`${process.env.FERRY_CONNECT_URL}/connectors/${name}`)).status, 404, 'no reverse connector left');
    const pubs = await target.query('SELECT count(*)::int AS n FROM pg_publication WHERE pubname = $1', [name]);
    assert.equal(pubs.rows[0].n, 0, 'no reverse publication left');
    const again = ferry(['cleanup', '--id', id, '--spec', file], env);
    assert.equal(again.code, 0, again.out + again.err);
    assert.doesNotMatch(again.out, /reverse \(on the target\)/);
  });
});
