// `ferry signal`: operator messages to a running migration.
import { abortSignal, pauseSignal, resumeSignal, throttleSignal } from '../../contracts/messages';
import { WorkflowNotFoundError } from '@temporalio/client';
import { CliError, connectClient } from './client';
import { signalVerbs, type SignalVerb } from './signal-verbs';

export async function signalCommand(opts: { id: string; verb: string; value?: string; reason?: string }): Promise<number> {
  if (!signalVerbs.includes(opts.verb as SignalVerb)) {
    throw new CliError(`unknown signal ${JSON.stringify(opts.verb)}: use one of ${signalVerbs.join(', ')}`, 2);
  }
  const rate = Number(opts.value);
  if (opts.verb === 'throttle' && (opts.value === undefined || !Number.isInteger(rate) || rate < 0)) {
    throw new CliError('throttle needs a rate: ferry signal --id ID throttle ROWS_PER_SEC (0 removes the limit)', 2);
  }
  const client = await connectClient();
  const handle = client.workflow.getHandle(opts.id);
  const desc = await handle.describe().catch((err) => {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no migration with id ${opts.id}`, 2);
    throw err;
  });
  if (desc.status.name !== 'RUNNING') throw new CliError(`migration ${opts.id} is ${desc.status.name.toLowerCase()}; signals reach running migrations only`);
  const verb = opts.verb as SignalVerb;
  if (verb === 'pause') await handle.signal(pauseSignal);
  else if (verb === 'resume') await handle.signal(resumeSignal);
  else if (verb === 'throttle') await handle.signal(throttleSignal, rate);
  else await handle.signal(abortSignal, opts.reason ?? 'aborted by the operator (ferry signal abort)');
  console.log(`sent ${verb}${verb === 'throttle' ? ` ${rate === 0 ? '0 (unlimited)' : `${rate} rows/s`}` : ''} to ${opts.id}`);
  return 0;
}
