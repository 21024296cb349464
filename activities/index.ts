// Every activity a worker registers. Workflows import this module as types only.
export { prepareMigration, planTables } from './plan';
export { finishTable, buildDeferredConstraints } from './finish';
export { planChunks, copyChunk } from './copy';
export { countTable } from './counts';
export { verifyChunk, sweepExtras, repairTable, readMismatches } from './verify';
export { recheckMismatches } from './verify/recheck';
export { prepareCapture, releaseCapture } from './cdc/capture';
export { applyChanges } from './cdc/apply';
export { migrationExecutionStatus, cancellationRequester, awaitWorkflowsClosed } from './migration-state';
export { awaitSyncHeld } from './cdc/hold';
