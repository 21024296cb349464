// `ferry wait --id ID --caught-up [--max-lag S]`: blocks until the sync has replayed the
// backlog and its lag is under the bound — what a rehearsal script or a cutover runbook waits
// on. Exit 0 when caught up, 1 when the migration ended or the timeout passed first.
import { CliError, connectClient, readStatus } from './client';
import { renderSync } from './format';

const POLL_MS = 2_000;
const FRESH_MS = 30_000;

export async function waitCommand(opts: { id: string; caughtUp?: boolean; maxLag?: string; timeout?: string }): Promise<number> {
  if (!opts.caughtUp) throw new CliError('say what to wait for: --caught-up', 2);
  const maxLag = opts.maxLag === undefined ? null : Number(opts.maxLag);
  if (maxLag !== null && !(maxLag >= 0)) throw new CliError('--max-lag takes seconds (a number ≥ 0)', 2);
  const timeout = opts.timeout === undefined ? null : Number(opts.timeout);
  if (timeout !== null && !(timeout > 0)) throw new CliError('--timeout takes seconds (a number > 0)', 2);
  const client = await connectClient();
  const started = Date.now();
  let said = '';
  for (;;) {
    const read = await readStatus(client, opts.id);
    if (read.execution !== 'RUNNING') {
      console.error(`migration ${opts.id} is ${read.execution.toLowerCase()}${read.failure ? `: ${read.failure}` : ''}`);
      return 1;
    }
    const s = read.status;
    if (s && s.phase !== 'prepare' && s.phase !== 'backfill' && s.phase !== 'indexes' && !s.syncWorkflowId && !s.capture) {
      throw new CliError(`migration ${opts.id} has no sync phase (mode offline): nothing to catch up`, 2);
    }
    const sync = s?.sync;
    // Figures older than a few reports are not evidence (a paused or stuck sync stops reporting).
    const fresh = sync && Date.now() - Date.parse(sync.updatedAt) < FRESH_MS;
    const within = sync && fresh && (maxLag === null ? sync.state === 'caught-up' : (sync.state === 'caught-up' || sync.state === 'replaying') && sync.lagSeconds <= maxLag && sync.heartbeatSeconds !== null);
    if (sync && within) {
      console.log(`caught up: lag ${sync.lagSeconds.toFixed(1)} s, ${sync.lagEvents} events behind`);
      return 0;
    }
    const line = sync ? `waiting: ${s!.phase}, sync ${sync.state}, lag ${sync.lagSeconds.toFixed(1)} s, ${sync.lagEvents} events` : `waiting: phase ${s?.phase ?? 'unknown'} (the sync starts after the backfill)`;
    if (line !== said) console.log(line);
    said = line;
    if (timeout !== null && Date.now() - started > timeout * 1000) {
      console.error(`not caught up within ${timeout} s`);
      if (sync) console.error(renderSync(sync).join('\n'));
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
