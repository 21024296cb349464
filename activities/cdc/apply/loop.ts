// The sync run's own loop while the consumer works in the background: every TICK_MS it
// heartbeats its cursor to Temporal, notices cancellation and starts a report when one is due;
// it stops when the run's time is up or the run halted, failed or crashed (RunState.running).
import { CancelledFailure } from '@temporalio/common';
import type { Context } from '@temporalio/activity';
import type { Positions } from './positions';
import type { Reporter } from './report';
import type { RunState } from './state';

const TICK_MS = 250;

export async function runUntilStop(ctx: Context, run: RunState, positions: Positions, reporter: Reporter, runForMs: number): Promise<void> {
  while (run.running(runForMs)) {
    // The Temporal heartbeat never waits on a report: a slow source or Connect must not
    // make this attempt look dead (a second consumer would start while this one writes).
    ctx.heartbeat(positions.cursor(run.eventsApplied));
    throwIfCancelled(ctx);
    reporter.tick();
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await reporter.settled();
  // Cancelled as the run ended: say so, or the workflow would take it for a finished run.
  throwIfCancelled(ctx);
}

function throwIfCancelled(ctx: Context): void {
  if (ctx.cancellationSignal.aborted) throw new CancelledFailure('sync cancelled');
}
