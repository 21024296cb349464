// `ferry skip`: goes past the poison event a halted sync waits at (sync.onPoison: halt). Its
// own verb, apart from resume: a pause and resume while halted must never skip an event
// unasked. It is an Update, so the migration refuses it with the reason when nothing is
// halted, or when the sync waits at another event than the one named.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { skipPoisonUpdate } from '../../contracts/messages';
import { CliError, connectClient, runningMigration } from './client';

export async function skipCommand(opts: { id: string; position?: string }): Promise<number> {
  const client = await connectClient();
  try {
    const handle = await runningMigration(client, opts.id, 'skip');
    try {
      const r = await handle.executeUpdate(skipPoisonUpdate, { args: [opts.position ? { position: opts.position } : {}] });
      console.log(`skipped ${r.skipped} on ${opts.id}: the event stays in the dead-letter store; the sync goes on after it`);
      return 0;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`skip refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      throw err;
    }
  } finally {
    await client.connection.close();
  }
}
