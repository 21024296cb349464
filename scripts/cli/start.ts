// `ferry start`: check the spec, start the migration workflow, optionally follow it.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { SingleBar, Presets } from 'cli-progress';
import { startWorkflow } from '../../contracts/workflow-types';
import type { MigrationStatus } from '../../contracts/migration';
import { taskQueues } from '../../contracts/queues';
import { searchAttributes } from '../../contracts/search-attributes';
import { checkSpec } from './spec-check';
import type { Spec } from '../../contracts/spec';
import { CliError, connectClient, readStatus, uiLink } from './client';
import { formatDuration, rateAndEta, renderStatus } from './format';

export interface StartOptions {
  spec: string;
  id?: string;
  wait?: boolean;
  json?: boolean;
}

export async function startCommand(opts: StartOptions): Promise<number> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  // Known before the checks: they judge the capture names this id gives.
  const idFor = (s: Spec) => opts.id ?? `ferry-${s.name}-${stamp}`;
  // Connected while the spec is checked (the checks wait on the databases): the start is not
  // delayed by a second round of handshakes. A spec that fails its checks closes it unused.
  const connecting = connectClient();
  connecting.catch(() => undefined);
  let checked: Awaited<ReturnType<typeof checkSpec>>;
  try {
    checked = await checkSpec(opts.spec, { migrationId: idFor });
  } catch (err) {
    await connecting.then((c) => c.connection.close()).catch(() => undefined);
    throw err;
  }
  const { spec, plans } = checked;
  const workflowId = idFor(spec);
  for (const w of plans.flatMap((p) => [...p.warnings, ...p.embeds.flatMap((e) => e.plan.warnings)])) console.error(`warning: ${w}`);
  const client = await connecting;
  try {
    await startWorkflow(client, 'migration', {
      workflowId,
      taskQueue: taskQueues.control,
      // An id names one migration run: its status and history stay readable under it.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [{ spec }],
      typedSearchAttributes: [
        { key: searchAttributes.phase, value: 'prepare' },
        { key: searchAttributes.spec, value: spec.name },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(`a migration with id ${workflowId} already exists (running or finished): follow it with \`ferry status --id ${workflowId}\` or choose another --id`, 2);
    }
    throw err;
  }
  console.log(`started migration ${workflowId}`);
  console.log(`Temporal UI: ${uiLink(workflowId)}`);
  if (!opts.wait) return 0;
  return (await followToEnd(client, workflowId)).code;
}

/** Shows a progress bar until the migration closes; exit code 0 only if it completed. */
export async function followToEnd(client: Client, workflowId: string): Promise<{ code: number; status: MigrationStatus | null }> {
  const bar = new SingleBar({ format: '{phase} |{bar}| {value}/{total} rows  {percentage}%  {rate} rows/s  ETA {eta}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 }, Presets.shades_classic);
  let started = false;
  const reported = new Set<string>();
  // Woken as soon as the migration closes, not at the next poll: `--wait` returns at once.
  const closed = client.workflow.getHandle(workflowId).result().then(
    () => undefined,
    () => undefined,
  );
  for (;;) {
    const read = await readStatus(client, workflowId);
    for (const r of read.retrying) {
      // Say once per attempt why the run is not moving, above the bar.
      const key = `${r.workflowId}/${r.activity}/${r.attempt}`;
      if (r.attempt >= 2 && !reported.has(key)) {
        reported.add(key);
        console.error(`retrying ${r.activity} in ${r.workflowId} (attempt ${r.attempt}): ${r.lastFailure}`);
      }
    }
    const s = read.status;
    if (read.note && !reported.has(read.note)) {
      reported.add(read.note);
      console.error(read.note);
    }
    if (s) {
      const { rowsPerSecond, secondsLeft } = rateAndEta(s);
      const payload = { phase: s.phase, rate: Math.round(rowsPerSecond), eta: secondsLeft === null ? '--' : formatDuration(secondsLeft) };
      if (!started) bar.start(Math.max(1, s.rowsEstimated), 0, payload);
      started = true;
      bar.setTotal(Math.max(1, s.rowsEstimated, s.rowsCopied));
      bar.update(s.rowsCopied, payload);
    }
    if (read.execution !== 'RUNNING') {
      if (started) bar.stop();
      if (s) console.log(`\n${renderStatus(s)}`);
      if (read.execution === 'COMPLETED') return { code: 0, status: s };
      console.error(`migration ${workflowId} ${read.execution.toLowerCase()}: ${read.failure ?? 'see the Temporal UI'}`);
      return { code: 1, status: s };
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 1_000)))]);
    clearTimeout(timer);
  }
}
