// `ferry shadow`: the migration's shadow reads — rounds, keys compared, proven differences,
// latencies per side and each operator query — as its status carries them (keys and timings
// only: row contents never enter the workflow).
import { CliError, connectClient, readStatus } from './client';
import { renderShadow } from './cutover-format';

export async function shadowCommand(opts: { id: string; json?: boolean }): Promise<number> {
  const client = await connectClient();
  try {
    const read = await readStatus(client, opts.id);
    if (!read.status) throw new CliError(`cannot read the status of ${opts.id} (${read.execution.toLowerCase()})${read.note ? `: ${read.note}` : read.failure ? `: ${read.failure}` : ''}`);
    const shadow = read.status.shadow ?? null;
    if (opts.json) {
      console.log(JSON.stringify(shadow, null, 2));
      return 0;
    }
    if (!shadow) {
      console.log(`${opts.id} has no shadow reads yet (phase ${read.status.phase}): they run while an online migration syncs, unless the spec sets shadow.enabled: false`);
      return 0;
    }
    console.log(renderShadow(shadow, opts.id));
    return 0;
  } finally {
    await client.connection.close();
  }
}
