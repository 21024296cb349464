// `ferry start` with a wrong spec: one message per problem with its path, exit code 2, and
// nothing started in Temporal.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createDatabase, dropDatabase, loadStackEnv, uniqueName } from '../helpers/stack';
import { ferry } from '../helpers/cli';
import { connectClient } from '../../scripts/cli/client';

const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));

function specFile(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

describe('ferry start with a wrong spec (CLI, real PostgreSQL)', function () {
  this.timeout(60_000);
  let sourceUrl: string;

  before(async () => {
    loadStackEnv();
    sourceUrl = await createDatabase('ferry_t_cli');
    const pool = new Pool({ connectionString: sourceUrl });
    await pool.query('CREATE TABLE public.customers (id int PRIMARY KEY); CREATE TABLE public.orders (id int PRIMARY KEY)');
    await pool.end();
    process.env.FERRY_CLI_SOURCE_URL = sourceUrl;
  });
  after(async () => dropDatabase(sourceUrl));

  const good = (over: string) =>
    `name: cli-test\nsource: { url: "\${FERRY_CLI_SOURCE_URL}" }\ntarget: { url: "\${FERRY_MONGO_URL}", database: cli }\n${over}`;

  async function assertNotStarted(id: string) {
    const client = await connectClient();
    try {
      await assert.rejects(client.workflow.getHandle(id).describe(), WorkflowNotFoundError);
    } finally {
      await client.connection.close();
    }
  }

  it('unknown table: names the index and the table, exit 2, nothing started', async () => {
    const id = uniqueName('cli');
    const r = ferry(['start', '--spec', specFile('t.yaml', good('tables: [public.customers, public.orderz]\n')), '--id', id]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^ {2}tables\[1\]: no such table public\.orderz \(did you mean public\.orders\?\)$/m);
    await assertNotStarted(id);
  });

  it('bad URL: says which URL and what is expected, exit 2', async () => {
    const r = ferry(['start', '--spec', specFile('u.yaml', 'name: cli-test\nsource: { url: "mysql://root@localhost/shop" }\ntarget: { url: "${FERRY_MONGO_URL}", database: cli }\ntables: [public.customers]\n')]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^ {2}source\.url: scheme mysql: is not supported here: expected a postgres:\/\/ URL$/m);
  });

  it('missing variable: names it and says to export it, exit 2', async () => {
    const env = { ...process.env };
    delete env.FERRY_CLI_SOURCE_URL;
    const r = ferry(['start', '--spec', specFile('v.yaml', good('tables: [public.customers]\n'))], env);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^ {2}source\.url: environment variable FERRY_CLI_SOURCE_URL is not set: export it/m);
  });

  it('unknown key: names the key and its path, exit 2', async () => {
    const r = ferry(['start', '--spec', specFile('k.yaml', good('tables: [public.customers]\nbackfill: { chunkrows: 10 }\n'))]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^ {2}backfill: unknown key "chunkrows": check the spelling/m);
  });

  it('several problems at once: one line each', async () => {
    const r = ferry(['start', '--spec', specFile('m.json', JSON.stringify({ name: 'cli-test', source: { url: '${FERRY_CLI_SOURCE_URL}' }, target: { url: 'ftp://x' }, tables: ['public.customers'], extra: true }))]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /2 problems, nothing was started/);
  });

  it('an unreadable spec file is bad input too', async () => {
    const r = ferry(['start', '--spec', join(dir, 'does-not-exist.yaml')]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /cannot read spec .*does-not-exist\.yaml: ENOENT/);
  });
});
