// `npm run demo`: seed the shop into the source, migrate it into MongoDB through a real
// Temporal workflow (workers in this process), and print what landed where.
import { Pool } from 'pg';
import { MongoClient } from 'mongodb';
import { join } from 'node:path';
import { seedShop } from './seed';
import { checkSpec } from '../cli/spec-check';
import { connectClient, uiLink, CliError } from '../cli/client';
import { followToEnd } from '../cli/start';
import { table } from '../cli/format';
import { createWorker, workerConnection } from '../../workers/run';
import { startWorkflow } from '../../contracts/workflow-types';
import { taskQueues } from '../../contracts/queues';
import { resolveUrl } from '../../engines/connections';
import { repoRoot } from '../repo-root';

async function main(): Promise<number> {
  const t0 = Date.now();
  const specFile = join(repoRoot, 'examples', 'demo.yaml');

  const source = new Pool({ connectionString: resolveUrl('${FERRY_SOURCE_URL}', 'FERRY_SOURCE_URL') });
  console.log('seeding the demo shop into the source…');
  await seedShop(source);
  await source.end();

  const { spec } = await checkSpec(specFile);
  // A clean target, so the counts compare this run only.
  const mongo = await MongoClient.connect(resolveUrl(spec.target.url, 'target.url'));
  await mongo.db(spec.target.database).dropDatabase();
  await mongo.close();

  const connection = await workerConnection();
  const workers = await Promise.all([createWorker('control', connection), createWorker('copy', connection)]);
  const client = await connectClient();
  const workflowId = `ferry-demo-${Date.now()}`;
  await startWorkflow(client, 'migration', { workflowId, taskQueue: taskQueues.control, args: [{ spec }] });
  console.log(`started ${workflowId}\nTemporal UI: ${uiLink(workflowId)}`);

  const followed = followToEnd(client, workflowId);
  await Promise.all(workers.map((w) => w.runUntil(followed)));
  const { code, status } = await followed;
  await connection.close();

  const v = status?.verification;
  console.log('\n=== demo summary ===');
  if (v) {
    console.log(table(['table', 'source rows', 'mongodb docs', 'equal'], v.tables.map((t) => [t.table, t.sourceRows, t.targetRows, t.missing + t.extra + t.different === 0 && t.sourceRows === t.targetRows ? 'yes' : 'NO'])));
  }
  console.log(`time: ${((Date.now() - t0) / 1000).toFixed(1)} s (seed + migration)`);
  console.log(`workflow: ${workflowId}\nTemporal UI: ${uiLink(workflowId)}`);
  const ok = code === 0 && v?.clean === true;
  console.log(ok ? 'RESULT: every row verified equal (per-chunk checksums) on every table' : 'RESULT: FAILED — rows differ or the migration did not complete');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo: ${err instanceof CliError ? err.message : (err as Error).stack}`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  },
);
