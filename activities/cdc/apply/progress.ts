// The SyncProgress a sync run reports: its figures, the alerts an operator must look at, and
// the verdict (halted, caught up, replaying). Built from the run's state, the lag tracker and
// the source watch's last readings; the dead-letter count is filled in by the caller.
import type { SyncProgress } from '../../../contracts/sync';
import { positionText } from '../../../contracts/offsets';
import type { SourceHealth } from './health';
import type { RunState } from './state';
import type { LagTracker } from '../lag';

const SLOT_INACTIVE_ALERT_S = 30;
const SLOT_STALLED_ALERT_S = 120;
/** A new run keeps the last run's caught-up state this long while its first heartbeat travels. */
const CARRY_CAUGHT_UP_MS = 60_000;

export interface ProgressSources {
  captureName: string;
  migrationId: string;
  sync: { heartbeatSeconds: number; batchEvents: number };
  /** The last run's figures. */
  carried: { caughtUp: boolean; lagSeconds: number };
  lag: LagTracker;
  run: RunState;
  health: SourceHealth;
}

export function syncProgress(src: ProgressSources, state?: SyncProgress['state']): SyncProgress {
  const { lag, run } = src;
  const now = Date.now();
  const lagSeconds = lagBound(src, now);
  const alerts = runAlerts(src, now);
  const caughtUp = isCaughtUp(src, now, lagSeconds);
  const halted = run.halted;
  return {
    state: state ?? (halted ? 'halted' : caughtUp ? 'caught-up' : 'replaying'),
    eventsApplied: run.eventsApplied,
    eventsPerSecond: lag.rate(now),
    lagSeconds,
    lagEvents: run.backlog.events,
    heartbeatSeconds: lag.heartbeatSeconds(),
    deadLetters: 0,
    slot: src.health.slot,
    alerts,
    columnsAdded: run.columnsAdded,
    halted: halted ? { position: { topic: halted.position.topic, partition: halted.position.partition, offset: halted.position.offset }, reason: halted.reason } : null,
    updatedAt: new Date(now).toISOString(),
  };
}

/**
 * Until this run's first heartbeat is back its own figures know nothing of what is still on
 * its way: the last run's lag, growing, is the honest bound.
 */
function lagBound({ lag, run, carried }: ProgressSources, now: number): number {
  const measured = lag.lagSeconds(now, run.backlog.partitions);
  return lag.heartbeatCameBack() ? measured : Math.max(measured, carried.lagSeconds + (now - run.startedAt) / 1000);
}

function runAlerts({ captureName, migrationId, run, health }: ProgressSources, now: number): string[] {
  const { slot, inactiveSince, connectorProblem } = health;
  const halted = run.halted;
  const alerts: string[] = [];
  if (slot && !slot.exists) alerts.push(`replication slot ${captureName} is gone: changes made since are lost to Ferry; restart the migration`);
  if (slot?.exists && inactiveSince !== null && now - inactiveSince > SLOT_INACTIVE_ALERT_S * 1000) {
    alerts.push(`replication slot ${captureName} inactive for ${Math.round((now - inactiveSince) / 1000)} s: is Kafka Connect running? (GET /connectors/${captureName}/status)`);
  }
  if (slot && slot.stalledSeconds > SLOT_STALLED_ALERT_S) alerts.push(`replication slot ${captureName}: confirmed LSN not advancing for ${Math.round(slot.stalledSeconds)} s while the source writes WAL`);
  if (slot?.walStatus === 'unreserved' || slot?.walStatus === 'lost') alerts.push(`replication slot ${captureName}: wal_status ${slot.walStatus}, WAL it needs is (about to be) removed`);
  if (connectorProblem) alerts.push(connectorProblem);
  if (halted) alerts.push(`halted on a poison event at ${positionText(halted.position)}: ${halted.reason}; it is in the dead-letter store; ferry skip --id ${migrationId} goes past it`);
  return alerts;
}

/**
 * Caught up: lag within a few heartbeats and a backlog of no more than a few seconds of
 * applying, whatever the heartbeat says. Until this run's first heartbeat is back, the
 * previous run's verdict stands (briefly).
 */
function isCaughtUp({ sync, carried, lag, run }: ProgressSources, now: number, lagSeconds: number): boolean {
  const bound = Math.max(10, 3 * sync.heartbeatSeconds);
  const smallBacklog = run.backlog.events <= Math.max(sync.batchEvents, lag.rate(now) * bound);
  return smallBacklog && lagSeconds <= bound && (lag.heartbeatCameBack() || (carried.caughtUp && now - run.startedAt < CARRY_CAUGHT_UP_MS));
}
