// Everything the CLI, the tests and the workflows share: message definitions, search
// attribute keys, task queues and the plain-JSON shapes that travel through Temporal.
// No row data appears in any of these types: only names, key ranges, counts and hashes.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Spec, TargetKind } from '../activities/spec';

export const taskQueues = {
  control: 'ferry-control',
  copy: 'ferry-copy',
  cdc: 'ferry-cdc',
} as const;
export type QueueName = keyof typeof taskQueues;

export type Phase = 'prepare' | 'backfill' | 'verify' | 'completed' | 'failed' | 'aborted';

/** Workflow input: the spec as written, `${VAR}` references unresolved. */
export interface MigrationInput {
  spec: Spec;
}

/** Input of a table's backfill child; the chunk fields are set when it continues-as-new. */
export interface BackfillInput {
  spec: Spec;
  plan: TablePlan;
  parentId: string;
  paused: boolean;
  carried?: {
    chunks: ChunkRange[];
    next: number;
    progress: BackfillProgress;
  };
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
}

export interface TablePlan {
  table: QualifiedTable;
  /** Readable name, as in the spec and reports. */
  display: string;
  columns: ColumnInfo[];
  /** Primary-key column names, in key order. */
  key: string[];
  estimatedRows: number;
  estimatedBytes: number;
}

export interface MigrationPlan {
  targetKind: TargetKind;
  tables: TablePlan[];
}

/** A key range in PostgreSQL text form: lo inclusive, hi exclusive; null = unbounded. */
export interface ChunkRange {
  index: number;
  lo: string[] | null;
  hi: string[] | null;
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
}

export interface TableCount {
  table: string;
  sourceRows: number;
  targetRows: number;
  match: boolean;
}

export interface VerificationResult {
  /** `counts` compares row counts per table; the checksum verifier extends this. */
  method: 'counts';
  clean: boolean;
  checkedAt: string;
  tables: TableCount[];
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
  /** CDC lag; null until the sync phase exists and runs. */
  lag: { seconds: number; events: number } | null;
  verification: VerificationResult | null;
  error: string | null;
}

/** What a backfill child tells its parent, at most every few seconds and when done. */
export interface BackfillProgress {
  table: string;
  state: TableState;
  /** Rows counted when the chunks were planned (exact at that moment). */
  rowsTotal: number;
  rowsCopied: number;
  chunksDone: number;
  chunksTotal: number;
  chunksResumed: number;
}

export const statusQuery = defineQuery<MigrationStatus>('status');
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
};

export function backfillWorkflowId(migrationId: string, table: QualifiedTable): string {
  return `${migrationId}/backfill/${table.schema}.${table.name}`;
}
