// Whether a migration workflow still runs: its sync child asks between apply runs. The sync
// outlives its parent's continue-as-new (it is abandoned on parent close), so when the
// migration is terminated nobody would stop it or release the replication slot; the sync
// itself is the owner left behind, and this is how it finds out. Also the status with its live
// figures, as `ferry status` and a rehearsal's samples read it.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { MigrationStatus } from '../contracts/migration';
import { backfillProgressQuery, syncProgressQuery } from '../contracts/messages';

/** The latest run's status by workflow id (a continued-as-new migration is RUNNING in its new run). */
export async function migrationExecutionStatus(input: { migrationId: string }): Promise<string> {
  try {
    const d = await Context.current().client.workflow.getHandle(input.migrationId).describe();
    return d.status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

/**
 * Who asked Temporal to cancel this run, and why: read from the newest end of its history
 * (the workflow itself is told only that it was cancelled). The Temporal UI's Request
 * Cancellation button and `temporal workflow cancel` both record their identity there.
 */
export async function cancellationRequester(input: { workflowId: string; runId: string }): Promise<string> {
  const ws = Context.current().client.workflowService;
  const namespace = Context.current().info.workflowNamespace;
  let nextPageToken: Uint8Array | undefined;
  for (let page = 0; page < 20; page++) {
    const r = await ws.getWorkflowExecutionHistoryReverse({ namespace, execution: { workflowId: input.workflowId, runId: input.runId }, maximumPageSize: 200, nextPageToken });
    for (const e of r.history?.events ?? []) {
      const a = e.workflowExecutionCancelRequestedEventAttributes;
      if (a) {
        const who = a.identity ? `by ${a.identity}` : 'by a Temporal client';
        return `${who}${a.cause ? ` (${a.cause})` : ''}`;
      }
    }
    if (!r.nextPageToken?.length) break;
    nextPageToken = r.nextPageToken;
  }
  return 'by a Temporal cancellation request';
}

/**
 * Waits until every listed workflow has closed (a cancelled backfill stops after the batch in
 * hand): an abort returns only once no copy writes any more.
 */
export async function awaitWorkflowsClosed(input: { workflowIds: string[] }): Promise<void> {
  const ctx = Context.current();
  for (const id of input.workflowIds) {
    for (;;) {
      const d = await ctx.client.workflow.getHandle(id).describe().catch((err) => {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      });
      if (!d || d.status.name !== 'RUNNING') break;
      ctx.heartbeat(id);
      await ctx.sleep(1_000);
    }
  }
}

/**
 * The parent hears of table progress only on state changes; live row and chunk counts are
 * asked of each running table's backfill workflow (a query: no history cost).
 */
export async function withLiveProgress(client: Client, status: MigrationStatus): Promise<MigrationStatus> {
  const live = status.tables.filter((t) => t.workflowId && (t.state === 'planning' || t.state === 'copying' || t.state === 'indexing' || t.state === 'pending'));
  const answers = await Promise.all(
    live.map((t) => client.workflow.getHandle(t.workflowId!).query(backfillProgressQuery).catch(() => undefined)),
  );
  const tables = status.tables.map((t) => {
    const p = answers[live.indexOf(t)];
    return p && p.table === t.table
      ? { ...t, state: p.state, rowsCopied: p.rowsCopied, chunksDone: p.chunksDone, chunksTotal: p.chunksTotal, chunksResumed: p.chunksResumed, estimatedRows: p.rowsTotal, copyStartedAt: p.copyStartedAt }
      : t;
  });
  // The sync's figures as of seconds ago, not as of its last report to the migration.
  const sync = status.syncWorkflowId && status.phase !== 'completed' ? await client.workflow.getHandle(status.syncWorkflowId).query(syncProgressQuery).catch(() => undefined) : undefined;
  return {
    ...status,
    ...(sync ? { sync, lag: { seconds: sync.lagSeconds, events: sync.lagEvents } } : {}),
    tables,
    rowsCopied: tables.reduce((n, t) => n + t.rowsCopied, 0),
    rowsEstimated: tables.reduce((n, t) => n + t.estimatedRows, 0),
  };
}
