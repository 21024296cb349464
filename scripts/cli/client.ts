// A Temporal client for CLI commands, and the one way every command reads a migration's
// status whether it runs, completed or failed.
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { MigrationStatus } from '../../workflows/definitions';
import { statusQuery } from '../../workflows/definitions';
import { temporalAddress, temporalNamespace } from '../../workers/run';

export async function connectClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress(), connectTimeout: '5 seconds' });
  return new Client({ connection, namespace: temporalNamespace() });
}

export function uiLink(workflowId: string): string {
  const base = process.env.FERRY_UI_URL ?? 'http://127.0.0.1:8233';
  return `${base}/namespaces/${encodeURIComponent(temporalNamespace())}/workflows/${encodeURIComponent(workflowId)}`;
}

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface StatusRead {
  status: MigrationStatus | null;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  execution: string;
  failure: string | null;
}

export async function readStatus(client: Client, workflowId: string): Promise<StatusRead> {
  const handle = client.workflow.getHandle(workflowId);
  let execution: string;
  try {
    execution = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no migration with id ${workflowId} (check the id printed by \`ferry start\`)`);
    throw err;
  }
  if (execution === 'RUNNING') return { status: await handle.query(statusQuery), execution, failure: null };
  try {
    return { status: (await handle.result()) as MigrationStatus, execution, failure: null };
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as MigrationStatus | undefined) : undefined;
    return { status: details ?? null, execution, failure: cause?.message ?? (err as Error).message };
  }
}
