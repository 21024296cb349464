// `ferry rollback --id ID [--wait] [--drill] [--drop-target] [--to sync|rolled-back] [--reason TEXT]`:
// the rollback Update, which the migration refuses with the reason when the phase does not
// allow it (after the switch without a reverse sync). Before the switch it stops the sync,
// releases capture and, with --drop-target, removes exactly what Ferry created on the target;
// during a cutover it undoes the attempt and the migration syncs on (--to rolled-back ends it
// instead); after the switch it drains the reverse sync and points the application back at
// the source (phase rolling-back). --wait follows it to its end; --drill (after the switch)
// does the same and prints each step's time and what the reverse sync carried.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { rollbackUpdate, statusQuery } from '../../contracts/messages';
import type { MigrationStatus, RollbackRequest } from '../../contracts/migration';
import { CliError, connectClient, runningMigration } from './client';
import { formatRollbackSteps } from './rollback-format';

export interface RollbackOptions {
  id: string;
  wait?: boolean;
  drill?: boolean;
  dropTarget?: boolean;
  to?: string;
  reason?: string;
}

export async function rollbackCommand(opts: RollbackOptions): Promise<number> {
  if (opts.to !== undefined && opts.to !== 'sync' && opts.to !== 'rolled-back') throw new CliError(`--to must be sync or rolled-back, not ${JSON.stringify(opts.to)}`, 2);
  const request: RollbackRequest = { ...(opts.dropTarget ? { dropTarget: true } : {}), ...(opts.to ? { to: opts.to as RollbackRequest['to'] } : {}), ...(opts.reason ? { reason: opts.reason } : {}) };
  const client = await connectClient();
  try {
    const handle = await runningMigration(client, opts.id, 'roll back');
    if (opts.drill) {
      // A drill is the way back after the switch, timed: refused before it (that way back is another).
      const phase = (await handle.query(statusQuery)).phase;
      if (phase !== 'cut-over') throw new CliError(`--drill times the rollback after the switch; ${opts.id} is in phase ${phase} (cut over first, e.g. in a rehearsal)`, 2);
    }
    let answer: { phase: string; accepted: string };
    try {
      answer = await handle.executeUpdate(rollbackUpdate, { args: [request] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`rollback refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      throw err;
    }
    console.log(`rollback of ${opts.id} accepted: ${answer.accepted}`);
    if (!opts.wait && !opts.drill) {
      console.log(`follow it with: ferry status --id ${opts.id}`);
      return 0;
    }
    if (answer.phase === 'rolling-back') return await followAfterSwitch(handle, opts);
    if (answer.phase === 'rolled-back') {
      const result = (await handle.result().catch((err: Error) => {
        throw new CliError(`the migration did not end rolled back: ${err.message}`);
      })) as MigrationStatus;
      const r = result.rollback;
      for (const d of r?.dropped ?? []) console.log(`  dropped ${d}`);
      for (const k of r?.kept ?? []) console.log(`  kept ${k}`);
      if (result.error) console.error(`ferry: ${result.error}`);
      console.log(`${opts.id} is ${result.phase}${r?.finishedAt ? ` (${Math.round((Date.parse(r.finishedAt) - Date.parse(r.requestedAt)) / 100) / 10} s after the request)` : ''}`);
      return result.phase === 'rolled-back' && !result.error ? 0 : 1;
    }
    // During a cutover: wait until the attempt is undone and the migration syncs again.
    for (;;) {
      const s = await handle.query(statusQuery);
      if (s.phase === 'sync' && s.rollback?.finishedAt) {
        console.log(`${opts.id} syncs again: ${s.cutover?.error ?? 'the cutover attempt was undone'}`);
        return 0;
      }
      if (!['cutover', 'sync'].includes(s.phase)) throw new CliError(`the migration is ${s.phase}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    await client.connection.close();
  }
}

/** After the switch: until the workflow completes rolled-back, or the migration is cut over again with the reason. */
async function followAfterSwitch(handle: Awaited<ReturnType<typeof runningMigration>>, opts: RollbackOptions): Promise<number> {
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') {
      const result = (await handle.result().catch((err: Error) => {
        throw new CliError(`the migration did not end rolled back: ${err.message}`);
      })) as MigrationStatus;
      console.log(formatRollbackSteps(result, opts.drill === true));
      if (result.error) console.error(`ferry: ${result.error}`);
      return result.phase === 'rolled-back' ? 0 : 1;
    }
    const s = await handle.query(statusQuery);
    if (s.phase === 'cut-over' && s.rollback?.error) {
      console.log(formatRollbackSteps(s, opts.drill === true));
      console.error(`ferry: ${s.rollback.error}`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
