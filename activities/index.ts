// Every activity a worker registers. Workflows import this module as types only.
export { prepareMigration } from './plan';
export { planChunks, copyChunk } from './copy';
export { countTable } from './verify';
