// A Temporal client for CLI commands, and the one way every command reads a migration's
// status whether it runs, completed or failed.
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { MigrationInput, MigrationStatus } from '../../contracts/migration';
import type { Spec } from '../../contracts/spec';
import { statusQuery } from '../../contracts/messages';
import { withLiveProgress } from '../../activities/migration-state';
import { searchAttributes } from '../../contracts/search-attributes';
import { workflowTypes } from '../../contracts/workflow-types';
import { temporalAddress, temporalNamespace } from '../../workers/temporal-env';
import { CliError } from './errors';

export { CliError };

export async function connectClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress(), connectTimeout: '5 seconds' });
  return new Client({ connection, namespace: temporalNamespace() });
}

export function uiLink(workflowId: string): string {
  const base = process.env.FERRY_UI_URL ?? 'http://127.0.0.1:8233';
  return `${base}/namespaces/${encodeURIComponent(temporalNamespace())}/workflows/${encodeURIComponent(workflowId)}`;
}

/** An activity that failed at least once and is waiting for its next attempt (or running it). */
export interface RetryingActivity {
  workflowId: string;
  activity: string;
  attempt: number;
  lastFailure: string;
}

export interface StatusRead {
  status: MigrationStatus | null;
  /** Activities of the migration and its children that are retrying: why a run is not moving. */
  retrying: RetryingActivity[];
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  execution: string;
  failure: string | null;
  /** Why the status could not be read, when it could not (e.g. no worker answers queries). */
  note?: string;
}

const QUERY_TIMEOUT_MS = 10_000;

export async function readStatus(client: Client, workflowId: string): Promise<StatusRead> {
  const handle = client.workflow.getHandle(workflowId);
  let desc: WorkflowExecutionDescription;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no migration with id ${workflowId} (check the id printed by \`ferry start\`)`, 2);
    throw err;
  }
  const execution = desc.status.name;
  if (execution === 'RUNNING') {
    const retrying = await retryingActivities(client, desc);
    try {
      // Queries are answered by a worker: without one, say so instead of hanging.
      const status = await Promise.race([
        handle.query(statusQuery),
        new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no answer within ${QUERY_TIMEOUT_MS / 1000} s`)), QUERY_TIMEOUT_MS).unref()),
      ]);
      return { status: await withLiveProgress(client, status), retrying, execution, failure: null };
    } catch (err) {
      const note = `phase ${String(desc.typedSearchAttributes.get(searchAttributes.phase) ?? 'unknown')} (from search attributes); the status query failed: ${(err as Error).message} — is a \`ferry worker --queue control\` running?`;
      return { status: null, retrying, execution, failure: null, note };
    }
  }
  try {
    return { status: (await handle.result()) as MigrationStatus, retrying: [], execution, failure: null };
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as MigrationStatus | undefined) : undefined;
    return { status: details ?? null, retrying: [], execution, failure: cause?.message ?? (err as Error).message };
  }
}

/** The spec a migration was started with, from its first history event (references unresolved). */
export async function migrationSpec(client: Client, workflowId: string): Promise<Spec> {
  return (await startInput<MigrationInput>(client, workflowId, 'migration', '`ferry start`')).spec;
}

/** The input a workflow of this type was started with (its first history event); exit 2 for an unknown id or another type. */
export async function startInput<T>(client: Client, workflowId: string, type: keyof typeof workflowTypes, printedBy: string): Promise<T> {
  const what = type === 'migration' ? 'migration' : type;
  const handle = client.workflow.getHandle(workflowId);
  const history = await handle.fetchHistory().catch((err) => {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no ${what} with id ${workflowId} (check the id printed by ${printedBy})`, 2);
    throw err;
  });
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (started?.workflowType?.name !== workflowTypes[type]) throw new CliError(`${workflowId} is not a ${what} (it is a ${started?.workflowType?.name ?? 'unknown'} workflow)`, 2);
  return client.options.loadedDataConverter.payloadConverter.fromPayload(started.input!.payloads![0]) as T;
}

/** Pending activities with attempt > 1 in the migration (already described) and its running children. */
async function retryingActivities(client: Client, parent: WorkflowExecutionDescription): Promise<RetryingActivity[]> {
  const retrying = (desc: WorkflowExecutionDescription): RetryingActivity[] =>
    (desc.raw.pendingActivities ?? [])
      .filter((a) => (a.attempt ?? 1) > 1)
      .map((a) => ({ workflowId: desc.workflowId, activity: a.activityType?.name ?? '?', attempt: a.attempt ?? 0, lastFailure: a.lastFailure?.message ?? '' }));
  // Best effort: a child that closes meanwhile must not fail the status read.
  const children = await Promise.all(
    (parent.raw.pendingChildren ?? []).map((c) => client.workflow.getHandle(c.workflowId ?? '').describe().catch(() => null)),
  );
  return [parent, ...children].flatMap((d) => (d ? retrying(d) : []));
}

/** The handle of a running migration, for a verb that changes it: exit 2 for an unknown id, 1 for one that has ended (nothing to `what`). */
export async function runningMigration(client: Client, id: string, what: string): Promise<WorkflowHandle> {
  const handle = client.workflow.getHandle(id);
  const desc = await handle.describe().catch((err) => {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no migration with id ${id}`, 2);
    throw err;
  });
  if (desc.status.name !== 'RUNNING') throw new CliError(`migration ${id} is ${desc.status.name.toLowerCase()}: nothing to ${what}`);
  return handle;
}
