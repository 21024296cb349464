// `ferry verify` and `ferry repair`: a fresh row-by-row comparison of a migration's tables,
// and a re-copy of exactly the keys it found different. Both run as workflows (resumable,
// visible in the Temporal UI) under ids derived from the migration's.
import { writeFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { executeWorkflow, workflowTypes } from '../../contracts/workflow-types';
import { taskQueues } from '../../contracts/queues';
import type { VerificationResult } from '../../contracts/verify';
import { readMismatches } from '../../activities/verify';
import { validateSpec } from '../../activities/plan/spec';
import { type Spec } from '../../contracts/spec';
import { closeAll } from '../../engines/connections';
import { CliError, connectClient, migrationSpec, readStatus, uiLink } from './client';
import { renderRepair, renderVerification } from './format';

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');

/** The migration's spec, checked against this shell's environment (the CLI reads the store). */
async function specOf(client: Client, id: string): Promise<Spec> {
  const spec = await migrationSpec(client, id);
  try {
    return validateSpec(spec, process.env);
  } catch (err) {
    throw new CliError(`the spec of ${id} does not resolve here: ${(err as Error).message}`, 2);
  }
}

/** The running sync of an online migration, if any: verify re-checks against it, repair holds it. */
async function runningSync(client: Client, id: string): Promise<string | undefined> {
  const read = await readStatus(client, id).catch(() => null);
  const syncId = read?.execution === 'RUNNING' ? read.status?.syncWorkflowId : null;
  if (!syncId) return undefined;
  const d = await client.workflow.getHandle(syncId).describe().catch(() => null);
  return d?.status.name === 'RUNNING' ? syncId : undefined;
}

export async function verifyCommand(opts: { id: string; json?: boolean; report?: string; limit: string }): Promise<number> {
  const client = await connectClient();
  const spec = await specOf(client, opts.id);
  const verifyId = `${opts.id}/verify/${stamp()}`;
  const syncWorkflowId = await runningSync(client, opts.id);
  console.error(`verifying ${opts.id} as ${verifyId}${syncWorkflowId ? ' (the sync is running: differing keys are re-checked once it has passed them)' : ''}\nTemporal UI: ${uiLink(verifyId)}`);
  const result: VerificationResult = await executeWorkflow(client, 'verifyMigration', {
    workflowId: verifyId,
    taskQueue: taskQueues.control,
    args: [{ spec, syncWorkflowId }],
  });
  const report = { verification: result, mismatches: result.clean ? [] : await mismatches(spec, verifyId, Number(opts.limit)) };
  if (opts.report) writeFileSync(opts.report, JSON.stringify(report, null, 2));
  if (opts.json) console.log(JSON.stringify(report, null, 2));
  else console.log(renderVerification(result));
  if (!result.clean) console.error(`\nto re-copy the differing keys: ferry repair --id ${opts.id} --verify-id ${verifyId}`);
  return result.clean ? 0 : 1;
}

async function mismatches(spec: Spec, verifyId: string, limit: number) {
  try {
    return await readMismatches({ spec, verifyId, limit });
  } finally {
    await closeAll();
  }
}

export async function repairCommand(opts: { id: string; verifyId?: string }): Promise<number> {
  const client = await connectClient();
  const spec = await specOf(client, opts.id);
  const verifyId = opts.verifyId ?? (await latestVerification(client, opts.id));
  const repairId = `${opts.id}/repair/${stamp()}`;
  const syncWorkflowId = await runningSync(client, opts.id);
  console.error(`repairing the keys of ${verifyId} as ${repairId}${syncWorkflowId ? ' (the sync is held while the repair writes, then replays what came meanwhile)' : ''}\nTemporal UI: ${uiLink(repairId)}`);
  const results = await executeWorkflow(client, 'repairMigration', { workflowId: repairId, taskQueue: taskQueues.control, args: [{ spec, verifyId, syncWorkflowId }] });
  console.log(renderRepair(results));
  const left = results.reduce((n, r) => n + r.stillDifferent, 0);
  console.log(left ? `${left} key(s) still differ: the source may be changing under the repair; run ferry verify --id ${opts.id} again` : 'every listed key now matches the source');
  return left ? 1 : 0;
}

/** The newest completed `ferry verify` of this migration, else the migration's own verification. */
async function latestVerification(client: Client, id: string): Promise<string> {
  let latest: { id: string; at: number } | undefined;
  for await (const wf of client.workflow.list({ query: `WorkflowType = '${workflowTypes.verifyMigration}' AND ExecutionStatus = 'Completed'` })) {
    if (wf.workflowId.startsWith(`${id}/verify/`) && (!latest || wf.startTime.getTime() > latest.at)) latest = { id: wf.workflowId, at: wf.startTime.getTime() };
  }
  if (latest) return latest.id;
  const own = (await readStatus(client, id)).status?.verification;
  if (own?.method === 'checksum') return own.verifyId;
  throw new CliError(`${id} has no checksum verification to repair from: run ferry verify --id ${id} first`, 2);
}
