// In-process workers against the real Temporal dev server of the local stack.
import type { Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv } from './stack';
import { closeAll } from '../../engines/connections';
import type { Client } from '@temporalio/client';
import { createWorker, workerConnection } from '../../workers/run';
import { connectClient, readStatus } from '../../scripts/cli/client';
import { startWorkflow } from '../../contracts/workflow-types';
import type { MigrationStatus } from '../../contracts/migration';
import { taskQueues, type QueueName } from '../../contracts/queues';
import type { Spec } from '../../contracts/spec';
import { validateSpec } from '../../activities/plan/spec';

export interface Harness {
  client: Client;
  stop(): Promise<void>;
}

export async function startWorkers(queues: QueueName[] = ['control', 'copy']): Promise<Harness> {
  const connection = await workerConnection();
  const workers: Worker[] = await Promise.all(queues.map((q) => createWorker(q, connection)));
  const running = workers.map((w) => w.run());
  const client = await connectClient();
  return {
    client,
    async stop() {
      workers.forEach((w) => w.shutdown());
      await Promise.allSettled(running);
      await connection.close();
      await client.connection.close();
    },
  };
}

export function testSpec(raw: Record<string, unknown>): Spec {
  return validateSpec(raw, process.env);
}

export async function startMigration(client: Client, spec: Spec, workflowId: string) {
  return startWorkflow(client, 'migration', { workflowId, taskQueue: taskQueues.control, args: [{ spec }] });
}

/** Polls the status query until pred holds (workflow time is real time here). */
export async function waitForStatus(client: Client, workflowId: string, pred: (s: MigrationStatus) => boolean, what: string, timeoutMs = 120_000): Promise<MigrationStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: MigrationStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = (await readStatus(client, workflowId)).status ?? undefined;
      if (last && pred(last)) return last;
    } catch {
      // no worker answering right now (e.g. between a kill and a restart)
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}`);
}

/** History with every payload decoded to text, so assertions can search what it really holds. */
export async function decodedHistory(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  // Payload bytes reach a replacer already turned into base64 strings (protobuf toJSON)
  // or { type: 'Buffer', data: [...] } (Buffer toJSON): decode both.
  return JSON.stringify(history, (k, v) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data).toString('utf8');
    if (k === 'data' && typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
    return v;
  });
}

/**
 * The hooks an offline workflow suite needs: a source database filled by `seed` and an empty
 * target database, their URLs exported under the names in `env` (specs reference them, the
 * in-process workers resolve them), and workers on the control and copy queues; after, the
 * workers stopped and both databases dropped.
 */
export function offlineSuite(opts: { databases: [source: string, target: string]; env: [source: string, target: string]; seed(pool: Pool): Promise<unknown> }): {
  harness: Harness;
  sourceUrl: string;
  targetUrl: string;
} {
  const suite = { harness: undefined as unknown as Harness, sourceUrl: '', targetUrl: '' };
  before(async () => {
    loadStackEnv();
    suite.sourceUrl = await createDatabase(opts.databases[0]);
    suite.targetUrl = await createDatabase(opts.databases[1]);
    const pool = new Pool({ connectionString: suite.sourceUrl });
    try {
      await opts.seed(pool);
    } finally {
      await pool.end();
    }
    process.env[opts.env[0]] = suite.sourceUrl;
    process.env[opts.env[1]] = suite.targetUrl;
    suite.harness = await startWorkers();
  });
  after(async () => {
    await suite.harness?.stop();
    await closeAll();
    if (suite.sourceUrl) await dropDatabase(suite.sourceUrl);
    if (suite.targetUrl) await dropDatabase(suite.targetUrl);
  });
  return suite;
}
