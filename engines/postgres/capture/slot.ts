// The replication slot's health as the source sees it. A slot that stops confirming pins WAL
// on the source until its disk fills, so the sync reads this every few seconds and alerts.
// "Stalled" needs two samples: the caller passes back the sample this returned last time.
import type { Pool } from 'pg';
import type { SlotHealth } from '../../../contracts/capture';

/** What one reading remembers for the next: LSNs, when, and since when the slot has been stalled. */
export interface SlotSample {
  confirmedLsn: string | null;
  currentLsn: string | null;
  atMs: number;
  stalledSinceMs: number | null;
}

interface SlotRow {
  active: boolean | string;
  wal_status: string | null;
  confirmed: string | null;
  current: string | null;
  retained: string | null;
}

const truthy = (v: boolean | string) => v === true || v === 't';

export async function readSlotHealth(pool: Pool, slot: string, previous?: SlotSample, nowMs = Date.now()): Promise<{ health: SlotHealth; sample: SlotSample }> {
  // pg_current_wal_lsn() fails on a standby; the source is a primary here.
  const { rows } = await pool.query<SlotRow>(
    `SELECT active, wal_status, confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const r = rows[0];
  if (!r) {
    return {
      health: { slot, exists: false, active: false, confirmedLsn: null, retainedBytes: 0, walStatus: null, stalledSeconds: 0 },
      sample: { confirmedLsn: null, currentLsn: null, atMs: nowMs, stalledSinceMs: null },
    };
  }
  const stalledSinceMs = stalledSince(previous, r.confirmed, r.current);
  return {
    health: {
      slot,
      exists: true,
      active: truthy(r.active),
      confirmedLsn: r.confirmed,
      retainedBytes: Number(r.retained ?? 0),
      walStatus: r.wal_status,
      stalledSeconds: stalledSinceMs === null ? 0 : Math.max(0, (nowMs - stalledSinceMs) / 1000),
    },
    sample: { confirmedLsn: r.confirmed, currentLsn: r.current, atMs: nowMs, stalledSinceMs },
  };
}

/**
 * The stall starts at the previous sample when the source's WAL moved since it but the
 * confirmed LSN did not; it lasts until the confirmed LSN moves. An idle source (neither
 * moved) neither starts nor ends a stall.
 */
export function stalledSince(previous: SlotSample | undefined, confirmed: string | null, current: string | null): number | null {
  if (!previous) return null;
  if (confirmed !== previous.confirmedLsn) return null;
  if (previous.stalledSinceMs !== null) return previous.stalledSinceMs;
  return current !== previous.currentLsn ? previous.atMs : null;
}
