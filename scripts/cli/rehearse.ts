// `ferry rehearse --spec FILE`: checks the spec as `ferry start` does, starts a rehearsal
// workflow (the same one the Temporal UI's form and a Schedule start), and with --wait (or
// --report DIR) follows it, prints the go/no-go and writes the report. Exit 0: go; 1: no-go
// or the rehearsal failed; 2: bad input (nothing started).
// With --schedule "CRON" (or "@every 30m") it creates a Temporal Schedule that starts the same
// rehearsal periodically; --list shows Ferry's rehearsal schedules, --delete ID removes one.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowExecutionAlreadyStartedError, type Client, type ScheduleSpec } from '@temporalio/client';
import { rehearsalMigrationId } from '../../contracts/ids';
import { taskQueues } from '../../contracts/queues';
import type { RehearsalInput, RehearsalRecord } from '../../contracts/rehearsal';
import { searchAttributes } from '../../contracts/search-attributes';
import type { Spec } from '../../contracts/spec';
import { startWorkflow, workflowTypes } from '../../contracts/workflow-types';
import { parseScale } from '../../rehearsal/scale';
import { CliError, connectClient, readStatus, uiLink } from './client';
import { renderVerdict } from './rehearsal-format';
import { writeReports } from './report';
import { checkSpec } from './spec-check';

export interface RehearseOptions {
  spec?: string;
  id?: string;
  report?: string;
  scale?: string;
  keep?: boolean;
  wait?: boolean;
  shadowSeconds?: string;
  schedule?: string;
  list?: boolean;
  delete?: string;
}

export async function rehearseCommand(opts: RehearseOptions): Promise<number> {
  if (opts.list) return withClient(listSchedules);
  if (opts.delete) return withClient((c) => deleteSchedule(c, opts.delete!));
  if (!opts.spec) throw new CliError('give the spec to rehearse: ferry rehearse --spec FILE (or --list, --delete ID)', 2);
  if (opts.scale !== undefined) {
    try {
      parseScale(opts.scale);
    } catch (err) {
      throw new CliError(`${(err as Error).message}; nothing was started`, 2);
    }
  }
  const shadowSeconds = opts.shadowSeconds === undefined ? undefined : Number(opts.shadowSeconds);
  if (shadowSeconds !== undefined && !(Number.isInteger(shadowSeconds) && shadowSeconds >= 0)) throw new CliError(`--shadow-seconds takes a whole number of seconds ≥ 0, not ${JSON.stringify(opts.shadowSeconds)}; nothing was started`, 2);
  const schedule = opts.schedule === undefined ? null : scheduleSpec(opts.schedule);
  if (schedule && (opts.wait || opts.report)) throw new CliError('--schedule creates a schedule and returns: its runs are followed with ferry rehearse --list and reported with ferry report --id RUN_ID (drop --wait and --report)', 2);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const idFor = (s: Spec) => opts.id ?? (schedule ? `ferry-rehearsal-${s.name}` : `ferry-rehearsal-${s.name}-${stamp}`);
  const { spec } = await checkSpec(opts.spec, { migrationId: (s) => rehearsalMigrationId(idFor(s)) });
  if (spec.mode !== 'online' || !spec.sync) throw new CliError(`${opts.spec}: a rehearsal runs the migration online (catch-up, sync, the cutover dry run, the rollback drill): set mode: online and give the sync section; nothing was started`, 2);
  const input: RehearsalInput = { spec, ...(opts.scale !== undefined ? { scale: opts.scale } : {}), ...(opts.keep ? { keep: true } : {}), ...(shadowSeconds !== undefined ? { shadowSeconds } : {}) };
  const id = idFor(spec);
  const client = await connectClient();
  try {
    if (schedule) return await createSchedule(client, id, schedule, input, opts.schedule!);
    try {
      await startWorkflow(client, 'rehearsal', {
        workflowId: id,
        taskQueue: taskQueues.control,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [input],
        typedSearchAttributes: [{ key: searchAttributes.spec, value: spec.name }],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`a rehearsal with id ${id} already exists: choose another --id`, 2);
      throw err;
    }
    console.log(`started rehearsal ${id} (its migration: ${rehearsalMigrationId(id)})`);
    console.log(`Temporal UI: ${uiLink(id)}`);
    if (!opts.wait && !opts.report) return 0;
    const record = await follow(client, id);
    for (const line of renderVerdict(record)) console.log(line);
    if (opts.report) for (const file of await writeReports(record, opts.report, spec)) console.log(`report: ${file}`);
    return record.verdict === 'go' ? 0 : 1;
  } finally {
    await client.connection.close().catch(() => undefined);
  }
}

/** Prints each phase of the rehearsal's migration as it enters it; returns the rehearsal's record. */
async function follow(client: Client, id: string): Promise<RehearsalRecord> {
  const handle = client.workflow.getHandle<(i: RehearsalInput) => Promise<RehearsalRecord>>(id);
  const result = handle.result();
  result.catch(() => undefined);
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);
  let last = '';
  while (!done) {
    const read = await readStatus(client, rehearsalMigrationId(id)).catch(() => null);
    const phase = read?.status?.phase;
    if (phase && phase !== last) {
      last = phase;
      console.log(`${new Date().toISOString()} ${phase}`);
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  }
  try {
    return await result;
  } catch (err) {
    throw new CliError(`rehearsal ${id} did not record its figures: ${(err as Error).cause ? ((err as Error).cause as Error).message : (err as Error).message}`, 1);
  }
}

/** A cron expression, or `@every 30s` / `@every 2h` (an interval). */
function scheduleSpec(text: string): ScheduleSpec {
  const every = /^@every\s+(\d+(?:s|m|h|d))$/.exec(text.trim());
  if (every) return { intervals: [{ every: every[1] as `${number}s` }] };
  const fields = text.trim().split(/\s+/);
  if (text.trim().startsWith('@') || fields.length < 5 || fields.length > 7) {
    throw new CliError(`--schedule takes a cron expression ("0 2 * * 1": 02:00 every Monday) or an interval ("@every 6h", "@every 30m", "@every 45s"), not ${JSON.stringify(text)}; nothing was created`, 2);
  }
  return { cronExpressions: [text.trim()] };
}

async function createSchedule(client: Client, scheduleId: string, spec: ScheduleSpec, input: RehearsalInput, text: string): Promise<number> {
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action: { type: 'startWorkflow', workflowType: workflowTypes.rehearsal, taskQueue: taskQueues.control, workflowId: scheduleId, args: [input] },
      // Two rehearsals of one spec at once would share its target: the next waits its turn by being skipped.
      policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
      memo: { ferry: 'rehearsal', spec: input.spec.name },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) throw new CliError(`a schedule with id ${scheduleId} already exists: ferry rehearse --delete ${scheduleId} first, or choose another --id`, 2);
    throw err;
  }
  console.log(`created schedule ${scheduleId}: a rehearsal of ${input.spec.name} ${text.startsWith('@every') ? text.replace('@', '') : `on "${text}"`}; each run's id starts with ${scheduleId}-`);
  console.log(`list: ferry rehearse --list · reports: ferry report --id RUN_ID · remove: ferry rehearse --delete ${scheduleId}`);
  return 0;
}

async function listSchedules(client: Client): Promise<number> {
  let n = 0;
  for await (const s of client.schedule.list()) {
    if (s.action?.type !== 'startWorkflow' || s.action.workflowType !== workflowTypes.rehearsal) continue;
    n++;
    const recent = s.info.recentActions.at(-1);
    const next = s.info.nextActionTimes[0];
    console.log(`${s.scheduleId}  ${s.state.paused ? 'paused' : 'active'}  next ${next ? next.toISOString() : '-'}  last run ${recent ? `${recent.action.workflow.workflowId} at ${recent.takenAt.toISOString()}` : '-'}`);
  }
  if (!n) console.log('no rehearsal schedules (create one: ferry rehearse --schedule "CRON" --spec FILE)');
  return 0;
}

async function deleteSchedule(client: Client, id: string): Promise<number> {
  try {
    await client.schedule.getHandle(id).delete();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CliError(`no schedule ${id} (ferry rehearse --list shows them)`, 2);
    throw err;
  }
  console.log(`deleted schedule ${id} (rehearsals it started keep their records)`);
  return 0;
}

async function withClient(run: (c: Client) => Promise<number>): Promise<number> {
  const client = await connectClient();
  try {
    return await run(client);
  } finally {
    await client.connection.close().catch(() => undefined);
  }
}
