// The sync's plain-JSON shapes: its input, live figures and what it reports to the migration.
import type { CaptureInfo, SlotHealth, TopicOffset } from './capture';
import type { Spec } from './spec';
import type { TablePlan } from './tables';

/** forward: source → target; reverse: the target's writes back to the source, after the switch. */
export type SyncDirection = 'forward' | 'reverse';

/** The sync's live figures: the apply activity reports them to the sync workflow every few seconds. */
export interface SyncProgress {
  state: 'replaying' | 'caught-up' | 'halted' | 'stopped';
  eventsApplied: number;
  eventsPerSecond: number;
  /** Source commit → applied, seconds: the older of the oldest unapplied heartbeat and lagging partitions. */
  lagSeconds: number;
  /** Kafka consumer lag: events on the topics not yet applied. */
  lagEvents: number;
  /** The last heartbeat's trip from the source to applied, seconds. */
  heartbeatSeconds: number | null;
  deadLetters: number;
  slot: SlotHealth | null;
  /** Things an operator must look at (slot inactive or stalled, halted on a poison event). */
  alerts: string[];
  /** Columns added on the source and followed, as `table.column`. */
  columnsAdded: string[];
  /** Workflows holding the sync stopped (a `ferry repair` writing while no change may land under it). */
  heldBy?: string[];
  /** With sync.onPoison = halt: the dead-lettered event the sync waits at (`ferry skip` goes past it). */
  halted?: { position: TopicOffset; reason: string } | null;
  updatedAt: string;
}

/** What the sync child tells the migration: on every state or alert change, and once a minute. */
export interface SyncReport {
  progress: SyncProgress;
  /** The tables' plans when one changed (a column added on the source), else null. */
  plans: TablePlan[] | null;
  /** The sync's last word: its consumer has stopped and it is returning. */
  final?: boolean;
  /** The reverse sync (target → source, after the switch) reports too; absent: the forward sync. */
  direction?: SyncDirection;
  /** With final: why the sync failed (it tells the migration itself: the migration may have continued-as-new since it started the sync). */
  error?: string;
}

/** Input of the sync child; `carried` is set when it continues-as-new. */
export interface SyncInput {
  spec: Spec;
  plans: TablePlan[];
  capture: CaptureInfo;
  parentId: string;
  paused: boolean;
  /** reverse: spec and capture are reversed (reverse.ts): the target's changes applied to the source. */
  direction?: SyncDirection;
  /** A rehearsal's rollback drill: every change is read, ordered and committed, and written nowhere (engines/drill.ts). */
  drill?: boolean;
  carried?: {
    progress: SyncProgress;
    skip: TopicOffset[];
    /**
     * Where every partition was committed when the last apply run ended. The consumer group
     * keeps them too, but group offsets expire (offsets.retention.minutes) during a long pause
     * or halt: the workflow's own copy is what the next run resumes from then.
     */
    offsets?: TopicOffset[];
    /** Workflows holding the sync stopped (see holdSignal). */
    holds?: string[];
  };
}

/** Goes past the poison event the sync halted at (sync.onPoison = halt); it stays in the dead-letter store. */
export interface SkipRequest {
  /** The halted event as `topic/partition@offset`, as `ferry status` shows it; refused if the sync waits elsewhere. */
  position?: string;
}
