// Every activity a worker registers. Workflows import this module as types only.
export { prepareMigration, planTables } from './plan/prepare';
export { finishLoad, finishTable, buildDeferredConstraints, validateForeignKeys } from './copy/finish';
export { planChunks, copyChunk } from './copy/copy-chunk';
export { countTable } from './verify/counts';
export { verifyChunk, sweepExtras, repairTable, readMismatches } from './verify';
export { recheckMismatches } from './verify/recheck';
export { prepareCapture, releaseCapture } from './cdc/capture';
export { applyChanges } from './cdc/apply';
export { migrationExecutionStatus, cancellationRequester, awaitWorkflowsClosed } from './migration-state';
export { awaitSyncHeld } from './cdc/hold';
export { watchGates } from './cutover/gates';
export { fenceSource, unfenceSource } from './cutover/fence';
export { drainToMarker } from './cutover/drain';
export { advanceTargetSequences } from './cutover/prepare-target';
export { prepareSwitch, commitSwitch, runAfterFlipHook } from './cutover/switch';
export { writeRouting } from './cutover/routing';
export { shadowRound } from './shadow/round';
export { compareChangedKeys } from './shadow/changed-keys';
