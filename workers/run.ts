// Builds the worker for one task queue. Every worker registers every activity (the queue
// decides which it is given); the control queue also runs the workflows.
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkflowBundleOption } from '@temporalio/worker';
import * as activities from '../activities';
import { closeAll } from '../engines/connections';
import { QueueName, taskQueues } from '../contracts/queues';
import { temporalAddress, temporalNamespace } from './temporal-env';
import { workflowBundle } from './workflow-bundle';

let bundle: Promise<WorkflowBundleOption> | undefined;
let runtimeInstalled = false;

/** Worker log level from FERRY_LOG_LEVEL (default INFO); must run before the first connection. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.FERRY_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  try {
    // The same level for the SDK's native core, which logs on its own otherwise.
    const coreLevel = level === 'TRACE' || level === 'DEBUG' || level === 'INFO' ? level : level === 'WARN' ? 'WARN' : 'ERROR';
    Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: { core: coreLevel, other: 'ERROR' } } } });
  } catch {
    // already installed by the embedding program (tests, demo): keep theirs
  }
}

/** The workflow code once per process, however many workers it runs. */
function workflowCode(): Promise<WorkflowBundleOption> {
  bundle ??= workflowBundle();
  return bundle;
}

/** The worker-side connection; installs the runtime (log level) first. */
export async function workerConnection(): Promise<NativeConnection> {
  installRuntime();
  return NativeConnection.connect({ address: temporalAddress() });
}

export async function createWorker(queue: QueueName, connection?: NativeConnection): Promise<Worker> {
  connection ??= await workerConnection();
  const isControl = queue === 'control';
  return Worker.create({
    connection,
    namespace: temporalNamespace(),
    taskQueue: taskQueues[queue],
    activities,
    ...(isControl ? { workflowBundle: await workflowCode() } : {}),
    maxConcurrentActivityTaskExecutions: queue === 'copy' ? Number(process.env.FERRY_COPY_CONCURRENCY ?? 8) : 20,
    // Lets a SIGTERM'd worker finish the batch in hand; heartbeats keep the rest resumable.
    shutdownGraceTime: '10 seconds',
    // The SDK holds heartbeats back for up to 0.8 × the activity's heartbeat timeout (48 s of
    // a copy's 60 s): send them at least every 10 s, so only a long stall looks like a death.
    maxHeartbeatThrottleInterval: '10 seconds',
  });
}

/** Runs the workers for the given queues until the process is told to stop. */
export async function runWorkers(queues: QueueName[]): Promise<void> {
  const connection = await workerConnection();
  const workers = await Promise.all(queues.map((q) => createWorker(q, connection)));
  console.log(`ferry worker: polling ${queues.map((q) => taskQueues[q]).join(', ')} on ${temporalAddress()}`);
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await closeAll(); // database pools and Mongo monitors would keep the process alive
}
