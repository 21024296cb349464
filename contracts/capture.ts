// Change capture as prepare set it up and the sync reads it: Kafka positions, the start marker, slot health.
import type { QualifiedTable } from './tables';

/** A Kafka position: offsets are strings (64-bit). */
export interface TopicOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** The start marker: a row written to the source and seen on its topic before any chunk was read. */
export interface StartMarker {
  token: string;
  /** When the row was written (source clock) and when Ferry saw its event on Kafka. */
  writtenAt: string;
  seenAt: string;
  /** The marker event's own position, and the source LSN Debezium reported for it. */
  position: TopicOffset;
  lsn: string | null;
}

/** What prepare set up for change capture; every name Ferry owns is `name`. */
export interface CaptureInfo {
  /** Connector, replication slot, publication, topic prefix and consumer group name. */
  name: string;
  /** One change topic per table. */
  topics: Array<{ table: QualifiedTable; topic: string }>;
  /** The topic of Ferry's marker table (start marker and heartbeats). */
  markerTopic: string;
  marker: StartMarker;
  /** Where the sync replays from: every partition of every topic, as it was once the marker was seen. */
  startOffsets: TopicOffset[];
  /** Retention (hours) the topics were created or checked with. */
  retentionHours: number;
}

/** Health of the source's replication slot, read by the sync. */
export interface SlotHealth {
  slot: string;
  exists: boolean;
  active: boolean;
  /** confirmed_flush_lsn, and WAL the slot holds back on the source (bytes). */
  confirmedLsn: string | null;
  retainedBytes: number;
  /** pg_replication_slots.wal_status (reserved, extended, unreserved, lost). */
  walStatus: string | null;
  /** Seconds since confirmed_flush_lsn last moved while the source's WAL did. */
  stalledSeconds: number;
}
