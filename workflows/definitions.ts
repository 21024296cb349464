// Everything the CLI, the tests and the workflows share: message definitions, search
// attribute keys, task queues and the plain-JSON shapes that travel through Temporal.
// No row data appears in any of these types: only names, key ranges, counts and hashes.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Spec, TargetKind } from '../contracts/spec';

export const taskQueues = {
  control: 'ferry-control',
  copy: 'ferry-copy',
  cdc: 'ferry-cdc',
} as const;
export type QueueName = keyof typeof taskQueues;

export type Phase = 'prepare' | 'backfill' | 'indexes' | 'catch-up' | 'verify' | 'sync' | 'completed' | 'failed' | 'aborted';

/**
 * Workflow input: the spec as written, `${VAR}` references unresolved. The workflow validates
 * it itself (a spec pasted into the Temporal UI has no defaults filled in).
 */
export interface MigrationInput {
  spec: Spec;
  /** Set when the migration continues-as-new during the sync: everything it knew. */
  carried?: MigrationCarried;
  /** History events after which the sync phase continues-as-new (default 10,000; tests set it small). */
  continueAsNewAfterEvents?: number;
}

/** The migration's state through continue-as-new (sync phase): plain JSON, no row data. */
export interface MigrationCarried {
  status: MigrationStatus;
  plans: TablePlan[];
  /** Null for an offline migration. */
  capture: CaptureInfo | null;
  /** The phase the new run resumes in (absent: sync, as the first runs that carried state wrote it). */
  phase?: 'backfill' | 'sync';
  /** Backfill children started so far (workflow ids): the new run waits for them instead of starting them again. */
  backfillStarted?: string[];
  /** Runs so far, counting this one (for status and tests). */
  runs: number;
}

/** Input of a table's backfill child; the chunk fields are set when it continues-as-new. */
export interface BackfillInput {
  spec: Spec;
  plan: TablePlan;
  parentId: string;
  paused: boolean;
  /** The copy rate the operator set with `throttle` (rows/s for the whole migration, 0 = unlimited). */
  throttle?: number;
  carried?: ChunkQueueState<BackfillProgress>;
}

/** A table's chunk queue as it continues-as-new: planned-but-not-started ranges and where planning resumes. */
export interface ChunkQueueState<P> {
  pending: ChunkRange[];
  /** Key where the next page of chunk planning starts; null with planned=true when done. */
  planFrom: string[] | null;
  planned: boolean;
  /** Rows counted by the pages planned so far. */
  plannedRows: number;
  nextIndex: number;
  progress: P;
}

export interface QualifiedTable {
  schema: string;
  name: string;
}

export interface ColumnInfo {
  name: string;
  /** format_type() text, e.g. `character varying(20)`, usable in casts and DDL. */
  type: string;
  typeOid: number;
  /** The type values are read as: a domain's base type, else typeOid. */
  baseOid: number;
  /** For arrays (of the base type), the element type; 0 otherwise. */
  elementOid: number;
  /** 'b' base, 'e' enum, 'd' domain, 'c' composite, 'r' range, 'm' multirange. */
  typeCategory: string;
  nullable: boolean;
  /** Generated columns are computed by the target engine, never copied. */
  generated: boolean;
  /** The enum or domain the column uses (itself or as array element), with the DDL that recreates it. */
  userType: { schema: string; name: string; ddl: string } | null;
  /** The generation expression of a generated column, else null. */
  generationExpr: string | null;
  /** The column default as SQL (pg_get_expr), else null. Recreated on a PostgreSQL target. */
  defaultExpr: string | null;
  /**
   * The column's explicit collation as a qualified, quoted name (`"pg_catalog"."en-x-icu"`),
   * or null when it uses its type's default. Key comparisons on both sides use it, so
   * chunk ranges mean the same rows on the source and on a PostgreSQL target.
   */
  collation: string | null;
  /** What to do with a value the target cannot hold exactly (see LossyPolicy). */
  lossy: LossyPolicy;
  /** MongoDB field name for this column (renamed by the spec), or null when the spec drops it. */
  field: string | null;
}

/**
 * A value the target cannot hold exactly: `fail` stops the copy naming table, column and key;
 * `string` stores the whole column as PostgreSQL's text output; `truncate` drops what does
 * not fit (timestamps: digits below the millisecond; numeric: rounds to 34 significant digits).
 * Values that cannot be truncated (±infinity) fail under `truncate` too.
 */
export type LossyPolicy = 'fail' | 'string' | 'truncate';

/** A related table embedded into each document of its table (MongoDB targets). */
export interface EmbedPlan {
  /** `many`: child rows as an array (1:N); `one`: the referenced row as a subdocument (N:1). */
  kind: 'many' | 'one';
  /** The field that holds the embedded value. */
  as: string;
  /** The embedded table, introspected like any other (its own columns, key, policies). */
  plan: TablePlan;
  /** Column pairs: [column of the embedded table, column of this table] joined by equality. */
  on: Array<[string, string]>;
}

/** DDL a PostgreSQL target replays: constraints with the table, indexes and FKs after the load. */
export interface TableDdl {
  /** `CONSTRAINT name CHECK (...)` and `CONSTRAINT name UNIQUE (...)` clauses (not the primary key). */
  constraints: string[];
  /** Non-constraint indexes, as CREATE INDEX statements (pg_get_indexdef), created after the load. */
  indexes: Array<{ name: string; sql: string }>;
  /** Foreign keys: added NOT VALID after the load, then validated. */
  foreignKeys: Array<{ name: string; definition: string; references: QualifiedTable }>;
}

export interface TablePlan {
  table: QualifiedTable;
  /** Readable name, as in the spec and reports. */
  display: string;
  columns: ColumnInfo[];
  /** Key column names, in key order: the primary key, or the unique key the spec names. */
  key: string[];
  /** Where the key comes from, for reports: `primary key` or `unique index NAME`. */
  keySource: string;
  estimatedRows: number;
  estimatedBytes: number;
  /** Rows per chunk, sized from the estimates unless the spec fixes it. */
  chunkRows: number;
  /** Leaf partitions of a partitioned table (copied through the parent), else 0. */
  partitions: number;
  ddl: TableDdl;
  /** Tables embedded into this one's documents (MongoDB only); empty otherwise. */
  embeds: EmbedPlan[];
  /** Lossy-but-allowed conversions and other things a person should read before starting. */
  warnings: string[];
}

export interface MigrationPlan {
  targetKind: TargetKind;
  tables: TablePlan[];
  /** Change capture set up by prepare (mode online), else null. */
  capture: CaptureInfo | null;
}

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

/** A key range in PostgreSQL text form: lo inclusive, hi exclusive; null = unbounded. */
export interface ChunkRange {
  index: number;
  lo: string[] | null;
  hi: string[] | null;
}

/** One page of chunk boundaries; `next` is where the following page starts (null: the table is covered). */
export interface ChunkPage {
  /** Ranges in key order, without indexes (the workflow numbers them). */
  ranges: Array<{ lo: string[] | null; hi: string[] | null }>;
  /** Rows the ranges held when counted. */
  rows: number;
  next: string[] | null;
}

export interface ChunkTask {
  spec: Spec;
  plan: TablePlan;
  chunk: ChunkRange;
  /** Rows per second this chunk may copy (0 = unlimited). */
  maxRowsPerSecond: number;
}

export interface ChunkResult {
  index: number;
  rows: number;
  /** True when this attempt continued from a heartbeat cursor left by a failed attempt. */
  resumed: boolean;
}

/** Heartbeat details of a chunk copy: plain JSON so any worker can resume from it. */
export interface ChunkCursor {
  /** Last key written (text form); the next read starts strictly after it. */
  after: string[];
  rows: number;
}

export type TableState = 'pending' | 'planning' | 'copying' | 'done' | 'failed';

export interface TableProgress {
  table: string;
  /** The table's backfill child workflow, whose `backfillProgress` query is live. */
  workflowId: string | null;
  state: TableState;
  estimatedRows: number;
  rowsCopied: number;
  chunksDone: number;
  chunksTotal: number;
  chunksResumed: number;
  copyStartedAt: string | null;
  /** Why the table's backfill failed, as it reported it. */
  error?: string;
}

/** Row counts of one table on both sides (`verify: counts`). */
export interface TableCount {
  table: string;
  sourceRows: number;
  targetRows: number;
  match: boolean;
}

export type MismatchKind = 'missing' | 'extra' | 'different';

/** One chunk compared: counts and order-independent hashes of the rows as mapped, both sides. */
export interface ChunkVerdict {
  index: number;
  sourceRows: number;
  targetRows: number;
  /** 64-bit order-independent digests (hex) of the rows as the target should hold them / holds them. */
  sourceHash: string;
  targetHash: string;
  missing: number;
  extra: number;
  different: number;
  /** A few keys of each kind (text form) for the report; the full list is in the mismatch store. */
  sample: Array<{ kind: MismatchKind; key: string[] }>;
  /**
   * False when target rows outside the source's keys could not be looked for by range (a
   * MongoDB _id orders text differently from a collation): the table-level sweep finds them.
   */
  extrasChecked: boolean;
}

export interface TableVerdict {
  table: string;
  chunks: number;
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  /** Indexes of the chunks that did not match (at most 100). */
  mismatchedChunks: number[];
  /** Online only: keys whose source row kept changing through the re-checks (hot rows), not proven different. */
  inFlight?: number;
  sample: Array<{ kind: MismatchKind; key: string[] }>;
}

export interface VerificationResult {
  /** `checksum`: per-chunk hashes and counts, drilled down to keys; `counts`: row counts only. */
  method: 'checksum' | 'counts';
  /** Names this run's entries in the mismatch store (what `ferry repair` re-copies). */
  verifyId: string;
  clean: boolean;
  checkedAt: string;
  tables: TableVerdict[];
}

export interface RepairResult {
  table: string;
  keys: number;
  /** Rows re-copied from the source (missing or different on the target). */
  written: number;
  /** Target rows deleted because the source no longer has their key (extra). */
  deleted: number;
  /** Keys still different after the repair (re-checked one by one); 0 when repaired. */
  stillDifferent: number;
}

export interface MigrationStatus {
  migrationId: string;
  name: string;
  phase: Phase;
  paused: boolean;
  targetKind: TargetKind | null;
  startedAt: string;
  finishedAt: string | null;
  rowsCopied: number;
  rowsEstimated: number;
  tables: TableProgress[];
  /** The operator's copy limit, rows per second for the whole migration (0 = unlimited). */
  throttle: number;
  /** CDC lag; null until the sync phase runs. */
  lag: { seconds: number; events: number } | null;
  /** The sync child's figures as last reported (ferry status asks the child for fresh ones). */
  sync: SyncProgress | null;
  /** The sync child workflow, once started. */
  syncWorkflowId: string | null;
  /** Change capture (mode online): connector/slot name and the start marker. */
  capture: { name: string; marker: StartMarker } | null;
  verification: VerificationResult | null;
  error: string | null;
  /** Operator messages refused for a bad payload, newest last (at most 10): the value they meant to change stayed. */
  refused?: Array<{ message: string; reason: string; at: string }>;
  /** What releasing change capture could not remove, each with the command that removes it (`ferry cleanup --id` retries it all). */
  captureLeft?: Array<{ what: string; reason: string; command: string }>;
  /** Runs of the migration workflow (it continues-as-new during a long sync). */
  runs?: number;
}

/** What a backfill child tells its parent, at most every few seconds and when done. */
export interface BackfillProgress {
  table: string;
  state: TableState;
  /** Rows counted by chunk planning once it has covered the table (exact then), else the estimate. */
  rowsTotal: number;
  rowsCopied: number;
  chunksDone: number;
  chunksTotal: number;
  chunksResumed: number;
  /** When copying began (workflow time, ISO), for rate and ETA; null before. */
  copyStartedAt: string | null;
  /** False until chunk planning has covered the whole table (chunksTotal is then exact). */
  planned: boolean;
  /** With state failed: why (the migration may have continued-as-new since it started this table). */
  error?: string;
}

/** What a running chunk copy asks its table workflow between batches. */
export interface ChunkControl {
  /** This copy's share of the throttle, rows per second (0 = unlimited). */
  rowsPerSecond: number;
  paused: boolean;
}

export const statusQuery = defineQuery<MigrationStatus>('status');
/** Sets the copy rate, rows per second for the whole migration; 0 removes the limit. */
export const throttleSignal = defineSignal<[rowsPerSecond: number]>('throttle');
/** A table's verification so far, asked of its verify child. */
export const verifyProgressQuery = defineQuery<TableVerdict>('verifyProgress');
export const chunkControlQuery = defineQuery<ChunkControl>('chunkControl');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const abortSignal = defineSignal<[reason?: string]>('abort');
export const backfillProgressSignal = defineSignal<[BackfillProgress]>('backfillProgress');
/** A table's live progress, asked of its backfill child (queries cost no history). */
export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');

// Search attributes the Temporal UI lists and filters on (registered by `ferry stack up`).
export const searchAttributes = {
  phase: defineSearchAttributeKey('FerryPhase', SearchAttributeType.KEYWORD),
  spec: defineSearchAttributeKey('FerrySpec', SearchAttributeType.KEYWORD),
  rowsCopied: defineSearchAttributeKey('FerryRowsCopied', SearchAttributeType.INT),
  rowsTotal: defineSearchAttributeKey('FerryRowsTotal', SearchAttributeType.INT),
  progress: defineSearchAttributeKey('FerryProgress', SearchAttributeType.DOUBLE),
  verify: defineSearchAttributeKey('FerryVerify', SearchAttributeType.KEYWORD),
  lagSeconds: defineSearchAttributeKey('FerryLagSeconds', SearchAttributeType.DOUBLE),
};

/** The sync child's live figures (queries cost no history). */
export const syncProgressQuery = defineQuery<SyncProgress>('syncProgress');
/** The apply activity → its sync workflow, every few seconds. */
export const syncProgressSignal = defineSignal<[SyncProgress]>('syncProgress');

/** What the sync child tells the migration: on every state or alert change, and once a minute. */
export interface SyncReport {
  progress: SyncProgress;
  /** The tables' plans when one changed (a column added on the source), else null. */
  plans: TablePlan[] | null;
  /** The sync's last word: its consumer has stopped and it is returning. */
  final?: boolean;
  /** With final: why the sync failed (it tells the migration itself: the migration may have continued-as-new since it started the sync). */
  error?: string;
}
export const syncReportSignal = defineSignal<[SyncReport]>('syncReport');

/** Input of the sync child; `carried` is set when it continues-as-new. */
export interface SyncInput {
  spec: Spec;
  plans: TablePlan[];
  capture: CaptureInfo;
  parentId: string;
  paused: boolean;
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

/**
 * Holds the sync stopped between batches while a repair writes source rows into the target
 * (or lets it go). A repair's snapshot of a row written while the sync applied a newer change
 * to it would overwrite that change for good; with the sync held, the changes since its
 * committed offsets are replayed after the repair, in order, and converge on the source.
 */
export const holdSignal = defineSignal<[{ holder: string; hold: boolean }]>('hold');

/** Goes past the poison event the sync halted at (sync.onPoison = halt); it stays in the dead-letter store. */
export interface SkipRequest {
  /** The halted event as `topic/partition@offset`, as `ferry status` shows it; refused if the sync waits elsewhere. */
  position?: string;
}
export const skipPoisonUpdate = defineUpdate<{ skipped: string }, [SkipRequest]>('skip');
/** The migration → its sync child: skip exactly this event (it must be the one the sync waits at). */
export const skipPoisonSignal = defineSignal<[TopicOffset]>('skipPoison');

export function syncWorkflowId(migrationId: string): string {
  return `${migrationId}/sync`;
}

export function backfillWorkflowId(migrationId: string, table: QualifiedTable): string {
  return `${migrationId}/backfill/${table.schema}.${table.name}`;
}
