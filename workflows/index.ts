// The worker's workflowsPath: every workflow Ferry runs.
export { migration } from './migration';
export { backfillTable } from './backfill';
