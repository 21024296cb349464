// The rehearsal's samples: every few seconds, until its migration ends, what the copy and the
// sync are doing right now — rows copied (asked of each table's backfill, whose own figures
// are live), and the sync's applied events, backlog and lag (asked of the sync) — so the
// report can draw incoming against applied events and lag over time. The samples ride in the
// heartbeat: a killed worker's successor goes on from them.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { MigrationStatus } from '../../contracts/migration';
import { statusQuery } from '../../contracts/messages';
import type { RehearsalSample } from '../../contracts/rehearsal';
import { withLiveProgress } from '../migration-state';

/** Beyond this many samples every other one is dropped and the interval doubles (bounds the heartbeat and the record)… */
const MAX_SAMPLES = 600;
/** …up to this interval, well inside the activity's heartbeat timeout (a minute). */
const MAX_EVERY_MS = 30_000;

/** Rates are taken over at least this long: the sync's counters move in steps (its apply reports every 3 s, so a window holds 5 steps: within 20 %). */
const RATE_WINDOW_MS = 15_000;

interface Counters {
  atMs: number;
  applied: number;
  arrived: number;
}

interface Cursor {
  samples: RehearsalSample[];
  everyMs: number;
  /** The counters of the recent samples (the rate window), oldest first. */
  recent: Counters[];
}

export async function sampleRehearsal(input: { migrationId: string; everySeconds: number }): Promise<RehearsalSample[]> {
  const ctx = Context.current();
  const client = ctx.client;
  const cursor: Cursor = (ctx.info.heartbeatDetails as Cursor | undefined) ?? { samples: [], everyMs: input.everySeconds * 1000, recent: [] };
  for (;;) {
    const handle = client.workflow.getHandle(input.migrationId);
    const running = await handle.describe().then((d) => d.status.name === 'RUNNING', (err) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)));
    if (!running) return cursor.samples;
    const status = await handle.query(statusQuery).catch(() => null);
    // Live: the migration hears of its tables and its sync only now and then.
    if (status) sample(cursor, await withLiveProgress(client, status));
    ctx.heartbeat(cursor);
    await ctx.sleep(cursor.everyMs);
  }
}

function sample(cursor: Cursor, status: MigrationStatus): void {
  const now = Date.now();
  const sync = status.sync;
  const applied = sync?.eventsApplied ?? 0;
  // Events that have reached the topics: applied plus those waiting (the backlog).
  const arrived = applied + (sync?.lagEvents ?? 0);
  // The newest sample at least a window old (else the oldest there is) is where the rates count from.
  const last = [...cursor.recent].reverse().find((c) => now - c.atMs >= RATE_WINDOW_MS) ?? cursor.recent[0] ?? null;
  const dt = last ? (now - last.atMs) / 1000 : 0;
  const perSecond = (n: number) => (dt > 0 ? Math.max(0, n / dt) : 0);
  cursor.samples.push({
    at: new Date(now).toISOString(),
    phase: status.phase,
    rowsCopied: status.rowsCopied,
    // A sync that restarted counts from its carried figures: a drop is a restart, not negative traffic.
    incomingPerSecond: sync && last ? perSecond(arrived - last.arrived) : 0,
    appliedPerSecond: sync && last ? perSecond(applied - last.applied) : 0,
    lagSeconds: sync ? sync.lagSeconds : null,
    lagEvents: sync ? sync.lagEvents : null,
  });
  cursor.recent = [...cursor.recent.filter((c) => now - c.atMs < 2 * RATE_WINDOW_MS), { atMs: now, applied, arrived }];
  if (cursor.samples.length > MAX_SAMPLES) {
    cursor.samples = cursor.samples.filter((_, i) => i % 2 === 0);
    cursor.everyMs = Math.min(MAX_EVERY_MS, cursor.everyMs * 2);
  }
}
