// Where Ferry finds Temporal, from the environment: shared by the workers and every CLI
// command. Its own file so a command that only asks Temporal (ferry status) need not load
// the worker SDK and the activities with workers/run.ts.
export const temporalAddress = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const temporalNamespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';
