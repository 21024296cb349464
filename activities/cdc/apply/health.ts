// What the sync polls on the source side as it reports: a heartbeat row written to the source
// every sync.heartbeatSeconds (its trip through the pipeline times the lag), and every
// SLOT_CHECK_MS the replication slot's health and the connector's status. It keeps the last
// readings for the progress report; the alerts they raise are worded in apply-progress.ts.
import type { Pool } from 'pg';
import type { SlotHealth } from '../../../contracts/capture';
import type { Spec } from '../../../contracts/spec';
import { connectorHealth } from '../connect';
import type { LagTracker } from '../lag';
import { writeHeartbeat } from '../../../engines/postgres/capture/marker';
import { readSlotHealth, type SlotSample } from '../../../engines/postgres/capture/slot';

const SLOT_CHECK_MS = 10_000;

/** The last readings, as the progress report sees them. */
export interface SourceHealth {
  readonly slot: SlotHealth | null;
  /** Since when the slot has been seen inactive (null: active, or not read yet). */
  readonly inactiveSince: number | null;
  readonly connectorProblem: string | null;
}

export class SourceWatch implements SourceHealth {
  slot: SlotHealth | null = null;
  inactiveSince: number | null = null;
  connectorProblem: string | null = null;
  private slotSample: SlotSample | undefined;
  private lastSlotCheck = 0;
  private lastHeartbeatWrite = 0;

  constructor(
    private readonly spec: Spec,
    private readonly source: Pool,
    private readonly lag: LagTracker,
    private readonly migrationId: string,
    /** The capture's name: its slot's and its connector's. */
    private readonly captureName: string,
  ) {}

  /** Whatever is due at `now`: the heartbeat row first, then slot and connector. */
  async poll(now: number): Promise<void> {
    await this.writeHeartbeatIfDue(now);
    await this.checkSlotIfDue(now);
  }

  private async writeHeartbeatIfDue(now: number): Promise<void> {
    if (now - this.lastHeartbeatWrite < this.spec.sync!.heartbeatSeconds * 1000) return;
    this.lastHeartbeatWrite = now;
    const hb = await writeHeartbeat(this.source, this.migrationId);
    this.lag.wrote(hb.seq, now);
  }

  private async checkSlotIfDue(now: number): Promise<void> {
    if (now - this.lastSlotCheck < SLOT_CHECK_MS) return;
    this.lastSlotCheck = now;
    const read = await readSlotHealth(this.source, this.captureName, this.slotSample);
    const health = read.health;
    this.slot = health;
    this.slotSample = read.sample;
    this.inactiveSince = health.active ? null : (this.inactiveSince ?? now);
    this.connectorProblem = await connectorHealth(this.spec, this.captureName).catch((err: Error) => `Kafka Connect cannot be asked about connector ${this.captureName}: ${err.message}`);
  }
}
