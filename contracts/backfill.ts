// The backfill's plain-JSON shapes: chunk ranges, tasks, cursors and per-table progress.
import type { Spec } from './spec';
import type { TablePlan } from './tables';

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
  /** The activity attempt that finished it (1: no retry); absent from workers before rehearsals. */
  attempt?: number;
}

/**
 * How long a table's chunks took, as a histogram (a table may have a hundred thousand chunks:
 * their durations are not kept one by one through continue-as-new). Bucket i holds the chunks
 * that took at most CHUNK_BUCKET_BASE × √2^i seconds (the last holds everything longer).
 */
export interface ChunkTimes {
  count: number;
  buckets: number[];
  maxSeconds: number;
}

const CHUNK_BUCKET_BASE = 0.01;
const CHUNK_BUCKETS = 48;

export function emptyChunkTimes(): ChunkTimes {
  return { count: 0, buckets: new Array<number>(CHUNK_BUCKETS).fill(0), maxSeconds: 0 };
}

export function addChunkTime(t: ChunkTimes, seconds: number): void {
  const i = seconds <= CHUNK_BUCKET_BASE ? 0 : Math.min(CHUNK_BUCKETS - 1, Math.ceil(2 * Math.log2(seconds / CHUNK_BUCKET_BASE)));
  t.buckets[i] += 1;
  t.count += 1;
  t.maxSeconds = Math.max(t.maxSeconds, seconds);
}

/** The q-quantile's bucket bound (at most the longest chunk), seconds; 0 with no chunks. */
export function chunkTimeQuantile(t: ChunkTimes, q: number): number {
  if (!t.count) return 0;
  const rank = Math.max(1, Math.ceil(q * t.count));
  let seen = 0;
  for (let i = 0; i < t.buckets.length; i++) {
    seen += t.buckets[i];
    if (seen >= rank) return Math.min(t.maxSeconds, CHUNK_BUCKET_BASE * Math.SQRT2 ** i);
  }
  return t.maxSeconds;
}

/** Heartbeat details of a chunk copy: plain JSON so any worker can resume from it. */
export interface ChunkCursor {
  /** Last key written (text form); the next read starts strictly after it. */
  after: string[];
  rows: number;
}

/** indexing: the rows are in; the table's own key and indexes are being built (finishLoad). */
export type TableState = 'pending' | 'planning' | 'copying' | 'indexing' | 'done' | 'failed';

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
  /** When its last chunk was copied (rehearsal figures; absent from runs before them). */
  copyFinishedAt?: string | null;
  chunkTimes?: ChunkTimes;
  /** Chunk attempts beyond the first. */
  retries?: number;
  /** Why the table's backfill failed, as it reported it. */
  error?: string;
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
  /** When the last chunk was copied; how long chunks took; attempts beyond the first (absent from runs before rehearsals). */
  copyFinishedAt?: string | null;
  chunkTimes?: ChunkTimes;
  retries?: number;
  /** With state failed: why (the migration may have continued-as-new since it started this table). */
  error?: string;
}

/** What a running chunk copy asks its table workflow between batches. */
export interface ChunkControl {
  /** This copy's share of the throttle, rows per second (0 = unlimited). */
  rowsPerSecond: number;
  paused: boolean;
}
