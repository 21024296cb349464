// `ferry cutover`, `ferry finalize` and `ferry route`: the operator's side of the cutover. Each
// is an Update, so the migration refuses it with its reason (cutover: the failing gates) and
// nothing changes; `--check` only asks the gates.
import {
  WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage,
  type Client, type WorkflowHandle, type WorkflowUpdateHandle,
} from '@temporalio/client';
import { cutoverUpdate, finalizeUpdate, gatesQuery, routeUpdate, statusQuery } from '../../contracts/messages';
import type { CutoverAnswer, CutoverStep } from '../../contracts/cutover';
import { CliError, connectClient } from './client';
import { gateCheck, parseReadsPercent, renderAnswer, stepProgress } from './cutover-format';
import { routingLine } from './format';

const QUERY_TIMEOUT_MS = 10_000;

const POLL_MS = 1_500;

export interface CutoverOptions {
  id: string;
  check?: boolean;
  wait?: boolean;
  json?: boolean;
  reason?: string;
}

export async function cutoverCommand(opts: CutoverOptions): Promise<number> {
  if (opts.check && (opts.wait || opts.reason !== undefined)) {
    throw new CliError('--check only shows the gates and changes nothing: leave out --wait and --reason, or leave out --check to approve the cutover', 2);
  }
  return withRunning(opts.id, opts.check ? 'no gates to check' : 'nothing to cut over', async (client, handle) => {
    if (opts.check) {
      const gates = await within(handle.query(gatesQuery), 'the gates query');
      const check = gateCheck(gates);
      console.log(opts.json ? JSON.stringify({ pass: check.pass, gates }, null, 2) : check.text);
      return check.code;
    }
    // The steps of an earlier attempt, as they stand before this one: not shown again as progress.
    const before = opts.wait ? await within(handle.query(statusQuery), 'the status query').catch(() => null) : null;
    const updateId = `cutover-${new Date().toISOString()}`;
    let update: WorkflowUpdateHandle<CutoverAnswer>;
    try {
      update = await handle.startUpdate(cutoverUpdate, {
        args: [opts.reason !== undefined ? { reason: opts.reason } : {}],
        updateId,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
    } catch (err) {
      throw refused('cutover', err);
    }
    // A rejected Update comes back from startUpdate with its outcome already known (the
    // validator's failure), not as a thrown error: its result settles at once, an accepted
    // one's only when the attempt ends. Give it a moment to tell which.
    const early = await Promise.race([update.result().then(() => null, (err: unknown) => err), new Promise<'pending'>((r) => setTimeout(() => r('pending'), 300))]);
    if (early !== 'pending' && early !== null) throw refused('cutover', early);
    if (!opts.wait) {
      if (opts.json) console.log(JSON.stringify({ accepted: true, migrationId: opts.id, updateId }, null, 2));
      else {
        console.log(`cutover of ${opts.id} accepted (update ${updateId}): the steps run now`);
        console.log(`follow the steps and the outcome with: ferry status --id ${opts.id}`);
      }
      return 0;
    }
    if (!opts.json) console.log(`cutover of ${opts.id} accepted (update ${updateId}); waiting for it to end:`);
    const seen = new Map<string, CutoverStep['state']>();
    stepProgress(seen, before?.cutover?.steps ?? []);
    const answer = await followCutover(client, handle, update, seen, !opts.json);
    if (opts.json) {
      console.log(JSON.stringify(answer, null, 2));
      if (!answer.cutOver) console.error(`ferry: cutover failed and was undone: ${answer.error ?? 'no reason given'}`);
      return answer.cutOver ? 0 : 1;
    }
    const end = renderAnswer(answer, opts.id);
    console.log(`\n${end.text}`);
    return end.code;
  });
}

/** Waits for the cutover Update's answer, printing each step as it starts and ends (from the status query). */
async function followCutover(client: Client, handle: WorkflowHandle, update: WorkflowUpdateHandle<CutoverAnswer>, seen: Map<string, CutoverStep['state']>, print: boolean): Promise<CutoverAnswer> {
  let settled = false;
  const answer = resultOf(client, handle.workflowId, update).finally(() => {
    settled = true;
  });
  answer.catch(() => undefined);
  const show = (steps: readonly CutoverStep[]) => {
    if (print) for (const line of stepProgress(seen, steps)) console.log(line);
  };
  while (!settled) {
    // Best effort: a query that fails or is slow only delays the progress lines, never the answer.
    const status = await within(handle.query(statusQuery), 'the status query').catch(() => null);
    if (status?.cutover && !settled) show(status.cutover.steps);
    await Promise.race([answer.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  const result = await answer;
  show(result.steps);
  return result;
}

/**
 * The Update's outcome. The server answers a poll within its own deadline; a cutover that takes
 * longer is polled again under the same update id rather than reported as failed.
 */
async function resultOf(client: Client, workflowId: string, update: WorkflowUpdateHandle<CutoverAnswer>): Promise<CutoverAnswer> {
  for (let h = update; ; h = client.workflow.getHandle(workflowId).getUpdateHandle<CutoverAnswer>(update.updateId, { workflowRunId: update.workflowRunId })) {
    try {
      return await h.result();
    } catch (err) {
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`cutover failed: ${causeOf(err)} (see ferry status --id ${workflowId})`);
      throw new CliError(`lost track of the cutover (${(err as Error).message}); it may still be running: ferry status --id ${workflowId}`);
    }
  }
}

export async function finalizeCommand(opts: { id: string }): Promise<number> {
  return withRunning(opts.id, 'nothing to finalize', async (_client, handle) => {
    let r: { phase: string };
    try {
      r = await handle.executeUpdate(finalizeUpdate);
    } catch (err) {
      throw refused('finalize', err);
    }
    console.log(`finalized ${opts.id}: phase ${r.phase}`);
    console.log(`what capture left behind, if anything, shows in: ferry status --id ${opts.id}`);
    return 0;
  });
}

export async function routeCommand(opts: { id: string; reads?: string }): Promise<number> {
  const readsPercent = parseReadsPercent(opts.reads);
  return withRunning(opts.id, 'no routing to change', async (_client, handle) => {
    let r;
    try {
      r = await handle.executeUpdate(routeUpdate, { args: [{ readsPercent }] });
    } catch (err) {
      throw refused('route', err);
    }
    console.log(`${opts.id}: ${routingLine(r)}`);
    return 0;
  });
}

/** Runs `body` against a running migration; a missing one is bad input, a closed one a failure. */
async function withRunning(id: string, closedMeans: string, body: (client: Client, handle: WorkflowHandle) => Promise<number>): Promise<number> {
  const client = await connectClient();
  try {
    const handle = client.workflow.getHandle(id);
    const desc = await handle.describe().catch((err) => {
      if (err instanceof WorkflowNotFoundError) throw new CliError(`no migration with id ${id} (check the id printed by \`ferry start\`)`, 2);
      throw err;
    });
    if (desc.status.name !== 'RUNNING') throw new CliError(`migration ${id} is ${desc.status.name.toLowerCase()}; ${closedMeans}`);
    return await body(client, handle);
  } finally {
    await client.connection.close();
  }
}

/** An Update the migration's validator or handler refused: its message is the reason. */
function refused(what: string, err: unknown): unknown {
  if (err instanceof WorkflowUpdateFailedError) return new CliError(`${what} refused: ${causeOf(err)}`);
  // The server still holds an Update no worker has taken yet: it may be accepted later.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new CliError(`${what}: no answer from the migration in time (${err.message}) — is a \`ferry worker --queue control\` running? The request may still be taken up when one is; check ferry status before sending it again`);
  }
  return err;
}

function causeOf(err: WorkflowUpdateFailedError): string {
  return (err.cause as Error | undefined)?.message ?? err.message;
}

/** Queries are answered by a worker: without one, say so instead of hanging. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_r, reject) =>
      setTimeout(() => reject(new CliError(`${what} had no answer within ${QUERY_TIMEOUT_MS / 1000} s — is a \`ferry worker --queue control\` running?`)), QUERY_TIMEOUT_MS).unref()),
  ]);
}
