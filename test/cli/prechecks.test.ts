// `ferry start` and `ferry plan` check the privileges a run needs before starting anything,
// with a real restricted role: a table it may not read (also as an embedded table), a column
// it may not read, no replication right, no CREATE on the target. One line per problem with
// its path, exit 2, and no workflow started.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { ferry } from '../helpers/cli';
import { connectClient } from '../../scripts/cli/client';

describe('ferry start / plan refuse a role without the privileges the run needs (real PostgreSQL)', function () {
  this.timeout(120_000);
  const role = uniqueName('ferry_restricted');
  let sourceUrl: string;
  let targetUrl: string;
  let dir: string;
  const env = () => ({ ...process.env, FERRY_LOG_LEVEL: 'ERROR' });

  /** The stack's URL for a database, logged in as the restricted role. */
  function asRole(url: string): string {
    const u = new URL(url);
    u.username = role;
    u.password = 'restricted-pw';
    return u.toString();
  }

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_prechk_src');
    targetUrl = await createDatabase('ferry_t_prechk_tgt');
    const root = new Pool({ connectionString: sourceUrl, max: 1 });
    await root.query(`CREATE ROLE ${role} LOGIN PASSWORD 'restricted-pw'`);
    await root.query(`
      CREATE TABLE public.orders (id int PRIMARY KEY, note text);
      CREATE TABLE public.items (id int PRIMARY KEY, order_id int, v text);
      CREATE TABLE public.secret (id int PRIMARY KEY, v text);
      CREATE TABLE public.partial (id int PRIMARY KEY, hidden text);
      GRANT SELECT ON public.orders TO ${role};
      GRANT SELECT (id) ON public.partial TO ${role};`);
    await root.end();
    process.env.FERRY_T_PRECHK_SOURCE = asRole(sourceUrl);
    process.env.FERRY_T_PRECHK_TARGET = asRole(targetUrl);
    dir = mkdtempSync(join(tmpdir(), 'ferry-prechecks-'));
  });

  after(async () => {
    await dropDatabase(sourceUrl);
    await dropDatabase(targetUrl);
    const root = new Pool({ connectionString: process.env.FERRY_SOURCE_URL, max: 1 });
    await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  });

  it('ferry start (online, MongoDB): SELECT, replication, publication, ownership; exit 2, nothing started', async () => {
    const spec = join(dir, 'online.yaml');
    writeFileSync(spec, [
      'name: prechecks-online',
      'mode: online',
      'source: { url: "${FERRY_T_PRECHK_SOURCE}" }',
      `target: { url: "\${FERRY_MONGO_URL}", database: ${uniqueName('prechk')} }`,
      'tables: [public.orders, public.secret]',
      'sync: { connect: "${FERRY_CONNECT_URL}", kafka: "${FERRY_KAFKA_BROKERS}" }',
    ].join('\n'));
    const id = uniqueName('prechecks-start');
    const run = ferry(['start', '--spec', spec, '--id', id], env());
    assert.equal(run.code, 2, run.err + run.out);
    const lines = run.err.split('\n');
    const has = (re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `expected a line matching ${re}:\n${run.err}`);
    assert.match(run.err, /problems?, nothing was started/);
    has(new RegExp(`^  tables\\[1\\]: user ${role} may not read "public"\\."secret" on the source \\(no SELECT\\): run GRANT SELECT ON "public"\\."secret" TO "${role}";$`));
    has(new RegExp(`^  source\\.url: user ${role} may not open a replication connection .*ALTER ROLE "${role}" REPLICATION;`));
    has(new RegExp(`^  source\\.url: user ${role} cannot create the publication and the schema _ferry \\(no CREATE on database ferry_t_prechk_src_\\w+\\)`));
    has(new RegExp(`^  tables\\[0\\]: user ${role} does not own "public"\\."orders" \\(owner ferry\\), and only the owner can add it to a publication`));
    assert.ok(!run.err.includes('restricted-pw'), 'no password in messages');
    assert.doesNotMatch(run.out, /started migration/);

    const client = await connectClient();
    try {
      await assert.rejects(client.workflow.getHandle(id).describe(), WorkflowNotFoundError);
    } finally {
      await client.connection.close();
    }
  });

  it('ferry plan (offline, MongoDB): an embedded table it may not read, under the embed path; exit 2', () => {
    const spec = join(dir, 'embed.yaml');
    writeFileSync(spec, [
      'name: prechecks-embed',
      'source: { url: "${FERRY_T_PRECHK_SOURCE}" }',
      `target: { url: "\${FERRY_MONGO_URL}", database: ${uniqueName('prechk')} }`,
      'tables:',
      '  - table: public.orders',
      '    embed: [{ table: public.items, as: items, on: { order_id: id } }]',
    ].join('\n'));
    const run = ferry(['plan', '--spec', spec], env());
    assert.equal(run.code, 2, run.err + run.out);
    assert.match(run.err, new RegExp(`^  tables\\[0\\]\\.embed\\[0\\]\\.table: user ${role} may not read "public"\\."items" on the source \\(no SELECT\\): run GRANT SELECT ON "public"\\."items" TO "${role}";$`, 'm'));
    assert.match(run.err, /1 problem, nothing was started/);
  });

  it('ferry plan (offline, PostgreSQL target): a column it may not read, no CREATE on the target; exit 2', () => {
    const spec = join(dir, 'offline.yaml');
    writeFileSync(spec, [
      'name: prechecks-offline',
      'source: { url: "${FERRY_T_PRECHK_SOURCE}" }',
      'target: { url: "${FERRY_T_PRECHK_TARGET}" }',
      'tables: [public.orders, public.partial]',
    ].join('\n'));
    const run = ferry(['plan', '--spec', spec], env());
    assert.equal(run.code, 2, run.err + run.out);
    assert.match(run.err, new RegExp(`^  tables\\[1\\]: user ${role} may not read column hidden of "public"\\."partial" on the source \\(no SELECT\\): run GRANT SELECT ON "public"\\."partial" TO "${role}"; \\(or GRANT SELECT \\("hidden"\\)`, 'm'));
    assert.match(run.err, new RegExp(`^  target\\.url: user ${role} cannot create Ferry's stores \\(schema _ferry, for the tables it loads, verification\\) on the target \\(no CREATE on database ferry_t_prechk_tgt_\\w+\\): run GRANT CREATE ON DATABASE "ferry_t_prechk_tgt_\\w+" TO "${role}";$`, 'm'));
    assert.match(run.err, new RegExp(`^  target\\.url: user ${role} needs CREATE on schema "public" of the target to create and write its tables: run GRANT CREATE ON SCHEMA "public" TO "${role}";$`, 'm'));
    assert.doesNotMatch(run.err, /tables\[0\]/, 'public.orders is readable');
    assert.doesNotMatch(run.out, /plan for/);
  });
});
