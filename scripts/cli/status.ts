// `ferry status`: the migration's own view of itself (its status query), as text or JSON.
import { connectClient, readStatus } from './client';
import { renderRetrying, renderStatus } from './format';

export async function statusCommand(opts: { id: string; json?: boolean }): Promise<number> {
  const client = await connectClient();
  const read = await readStatus(client, opts.id);
  if (opts.json) {
    console.log(JSON.stringify({ ...(read.status ?? { migrationId: opts.id, phase: null }), execution: read.execution, failure: read.failure, retrying: read.retrying, note: read.note ?? null }, null, 2));
  } else {
    console.log(read.status ? renderStatus(read.status) : `migration ${opts.id}: ${read.execution}${read.note ? ` — ${read.note}` : ''}`);
    if (read.failure) console.log(`failure: ${read.failure}`);
    if (read.retrying.length) console.log(renderRetrying(read.retrying));
  }
  return 0;
}
