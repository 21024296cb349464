// Every workflow the control worker registers (its workflowsPath).
export { migration } from './migration';
export { backfillTable } from './backfill';
export { verifyTable, verifyMigration, repairMigration } from './verify';
export { syncChanges } from './sync';
export { syncStreams } from './stream-sync';
export { rehearsal } from './rehearsal';
