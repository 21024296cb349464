// The workflow types the control worker registers, by name, for code that starts them from
// outside the workflows (the CLI, the demo, benches, tests): importing the workflow
// functions only to name them would load workflow code, and its SDK, into a client.
// Each name is the function's exported name in workflows/index.ts: the worker registers
// every export under its own name (test/unit/workflow-types.test.ts holds both lists equal).
import type { Client, WorkflowHandleWithStartDetails, WorkflowStartOptions } from '@temporalio/client';
import type { WorkflowResultType } from '@temporalio/common';
import type { Spec } from './spec';
import type { MigrationInput, MigrationStatus } from './migration';
import type { RehearsalInput, RehearsalRecord } from './rehearsal';
import type { RepairResult, VerificationResult } from './verify';

export const workflowTypes = {
  migration: 'migration',
  backfillTable: 'backfillTable',
  verifyTable: 'verifyTable',
  verifyMigration: 'verifyMigration',
  repairMigration: 'repairMigration',
  syncChanges: 'syncChanges',
  syncStreams: 'syncStreams',
  rehearsal: 'rehearsal',
} as const;

export type WorkflowTypeName = keyof typeof workflowTypes;

export interface VerifyMigrationInput {
  spec: Spec;
  /** The running sync of an online migration: differing keys are re-checked once it has passed them. */
  syncWorkflowId?: string;
}

export interface RepairMigrationInput {
  spec: Spec;
  /** The verification whose differing keys are re-copied. */
  verifyId: string;
  /** The running sync, held while the repair writes. */
  syncWorkflowId?: string;
}

/**
 * The signatures of the workflows started from outside (the children are started by the
 * workflows themselves, by function). Properties, not methods, so argument types are
 * checked strictly; the test checks them against the real functions.
 */
export interface StartableWorkflows {
  migration: (input: MigrationInput) => Promise<MigrationStatus>;
  verifyMigration: (input: VerifyMigrationInput) => Promise<VerificationResult>;
  repairMigration: (input: RepairMigrationInput) => Promise<RepairResult[]>;
  rehearsal: (input: RehearsalInput) => Promise<RehearsalRecord>;
}

/** client.workflow.start by name, with args and result typed by the workflow's signature. */
export function startWorkflow<K extends keyof StartableWorkflows>(
  client: Client,
  type: K,
  options: WorkflowStartOptions<StartableWorkflows[K]>,
): Promise<WorkflowHandleWithStartDetails<StartableWorkflows[K]>> {
  return client.workflow.start<StartableWorkflows[K]>(workflowTypes[type], options);
}

/** client.workflow.execute by name: starts the workflow and waits for its typed result. */
export function executeWorkflow<K extends keyof StartableWorkflows>(
  client: Client,
  type: K,
  options: WorkflowStartOptions<StartableWorkflows[K]>,
): Promise<WorkflowResultType<StartableWorkflows[K]>> {
  return client.workflow.execute<StartableWorkflows[K]>(workflowTypes[type], options);
}
