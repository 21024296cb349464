// `ferry signal`: operator messages to a running migration.
import { abortSignal, pauseSignal, resumeSignal } from '../../workflows/definitions';
import { WorkflowNotFoundError } from '@temporalio/client';
import { CliError, connectClient } from './client';

export const signalVerbs = ['pause', 'resume', 'abort'] as const;
export type SignalVerb = (typeof signalVerbs)[number];

export async function signalCommand(opts: { id: string; verb: string; reason?: string }): Promise<number> {
  if (!signalVerbs.includes(opts.verb as SignalVerb)) {
    throw new CliError(`unknown signal ${JSON.stringify(opts.verb)}: use one of ${signalVerbs.join(', ')}`, 2);
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
  else await handle.signal(abortSignal, opts.reason ?? 'aborted by the operator (ferry signal abort)');
  console.log(`sent ${verb} to ${opts.id}`);
  return 0;
}
