// What an engine is to Ferry: one object per engine (engines/<name>/index.ts) holding every
// role it plays — where rows land (Target), where changes land (ChangeSink), how the two sides
// are compared (Verifier), the stores kept beside the data — plus the spec, plan and privilege
// rules that only it knows. Phases and activities get the engine of a spec from the registry
// (engines/index.ts) and call these roles; nothing outside an engine's folder tests its name.
// Adding an engine is adding a folder that exports an Engine and one line in the registry.
import type { Pool } from 'pg';
import type { ChunkCursor, ChunkRange } from '../contracts/backfill';
import type { ReverseFeed } from '../contracts/reverse';
import type { ShadowQuery, Spec, SpecProblem, TargetKind } from '../contracts/spec';
import type { ColumnInfo, TablePlan } from '../contracts/tables';
import type { DeadLetterStore } from './dead-letters';
import type { Mismatch, MismatchStore } from './mismatches';
import type { ChangeFailure, RowChange, SourceRow } from './rows';
import type { RehearsalStore } from './rehearsals';
import type { RoutingStore } from './routing';

export interface Engine {
  /** The name plans, status and reports use. */
  readonly name: TargetKind;
  /** True when a (resolved) URL names this engine, by its scheme. */
  handles(url: string): boolean;
  /** The URL form messages suggest, e.g. `postgres://`. */
  readonly urlForm: string;
  /** Ferry can read a migration's tables from it (today only PostgreSQL is a source). */
  readonly readsTables: boolean;
  /** Applications reach it over PostgreSQL's protocol, so PgBouncer can front it (a cutover can repoint PgBouncer at it). */
  readonly postgresWire: boolean;
  /**
   * How Ferry captures the application's writes here after the switch to apply them to the
   * source (the reverse sync, contracts/reverse.ts): Debezium, as on a source, or the engine's
   * change streams; null where it cannot (then a rollback after the switch is refused).
   */
  readonly reverseFeed: ReverseFeed | null;
  /** Why the reverse sync cannot carry this table's rows back exactly (the mapping's inverse loses something); empty when it can. */
  reverseProblems(plan: TablePlan): string[];
  /** What one source table becomes here, for plan warnings ("collection", "plain table"). */
  readonly landsAs: string;
  /** The spec's rules for a target of this engine that need no connection, one problem per path. */
  specProblems(spec: Spec): SpecProblem[];
  /** What a person should read before a table (or an embedded table) lands here: plan warnings. */
  tableWarnings(plan: TablePlan): string[];
  /** Why a planned table cannot land here as the spec has it (names that do not fit, …). */
  tableProblems(plan: TablePlan): string[];
  /** How `ferry plan` shows one table landing here. */
  planView(plan: TablePlan, mode: Spec['mode']): PlanView;
  /** Proves the target URL works; throws the driver's error when it does not. */
  ping(spec: Spec): Promise<void>;
  /** Rights the target lacks for this spec's tables, each with the statement that grants it. */
  privilegeProblems(spec: Spec, plans: TablePlan[], paths: Map<string, string>): Promise<SpecProblem[]>;
  target(spec: Spec): Target;
  sink(spec: Spec): ChangeSink;
  verifier(spec: Spec): Verifier;
  mismatches(spec: Spec): MismatchStore;
  deadLetters(spec: Spec): DeadLetterStore;
  /** The routing record kept on this target (applications read it to know where to write). */
  routing(spec: Spec): RoutingStore;
  /** The records of rehearsals run against this target (kept when a rehearsal cleans up). */
  rehearsals(spec: Spec): RehearsalStore;
  /**
   * Drops exactly what the target's ledger records Ferry created for this migration (tables,
   * sequences and types, then schemas; collections), never what existed before and never with
   * CASCADE: an object something else now needs is kept and named in `kept` with the reason.
   * Then the migration's ledger rows and its rows in Ferry's shared stores go, and once no
   * other migration is recorded, Ferry's own objects that hold nothing of another migration,
   * the ledger last. Idempotent: a second call drops and keeps nothing.
   */
  dropCreated(spec: Spec, migrationId: string): Promise<DroppedCreated>;
}

/** What dropCreated did: each object as `kind name`; each kept one with why. */
export interface DroppedCreated {
  dropped: string[];
  kept: string[];
}

/** One table in `ferry plan`: where it lands, two engine-specific columns per source column, and notes. */
export interface PlanView {
  lands: string;
  columnHeads: [string, string];
  columnCells(column: ColumnInfo): [string, string];
  /** Lines under the column table (e.g. when each constraint and index is built). */
  notes: string[];
  /** Extra fields of the table in `ferry plan --json`. */
  json: Record<string, unknown>;
}

/**
 * What a batch deletes on the target before its COPY: 'batch' its own range (after, last],
 * or (after, hi) when it is the chunk's last; 'rest' (after, hi), the caller copying the rest
 * of the range itself; 'none' nothing (the caller's attempt already cleared the range).
 */
export type Replay = 'batch' | 'rest' | 'none';

export interface BatchCopied {
  rows: number;
  /** Key of the last row copied (text form), null when the range held no more rows. */
  last: string[] | null;
}

/**
 * What a chunk copy asks of the activity running it: where an earlier attempt's last durable
 * write left off, a place to record each durable write (heartbeated, so a retry on any worker
 * resumes after it), and a pace to keep between units of work (pause, throttle, cancellation).
 */
export interface ChunkCopyControl {
  /** The cursor an earlier attempt heartbeated after its last durable write, if any. */
  resumeFrom: ChunkCursor | undefined;
  /** Rows per write for engines that copy a chunk as a series of batches. */
  batchRows: number;
  /** Records a durable write: a retry continues after `cursor`. */
  committed(cursor: ChunkCursor): void;
  /**
   * Awaited as rows go by (`rows` since the last call): waits out a pause, keeps the throttle,
   * and throws when the attempt is cancelled or its chunk lock is lost. With `holding` (rows in
   * flight in an open transaction), a pause longer than a short hold throws ChunkYielded
   * instead of waiting, so no transaction stays open through an operator's pause. An engine
   * that commits calls it once more right before committing.
   */
  pace(rows: number, holding?: boolean): Promise<void>;
}

/** Thrown by pace() when a paused chunk gives up its open transaction; the activity copies it again once resumed. */
export class ChunkYielded extends Error {
  constructor() {
    super('paused while a chunk transaction was open: rolled back, to be copied again once resumed');
    this.name = 'ChunkYielded';
  }
}

export interface ChunkCopied {
  /** Rows the chunk holds on the target (all attempts together). */
  rows: number;
}

export interface Target {
  readonly kind: TargetKind;
  /**
   * Creates what is missing (schemas, types, the table with its columns, defaults,
   * constraints and key; or the collection), or checks that an existing one can hold the
   * source's rows; never touches data. An incompatibility throws a ConfigurationError
   * that names the table, the column and what to change. With `migrationId`, what it creates
   * is recorded in the target's ledger under that migration (Engine.dropCreated drops it).
   */
  prepareTable(plan: TablePlan, migrationId?: string): Promise<void>;
  /**
   * Copies, in key order, at most `limit` source rows of `range` with key > `after` (or
   * >= range.lo when after is null), idempotently: replaying a batch changes nothing.
   * `replay` (PostgreSQL targets, see postgres/copy.ts): 'batch' (default) clears the batch's own
   * range first; the copy activity clears the rest of the chunk once per attempt ('rest' on
   * its first batch, 'none' on the later ones).
   */
  copyBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number, replay?: Replay): Promise<BatchCopied>;
  /**
   * Copies every source row of `range`, exactly once in effect whatever earlier attempts did
   * (they may have stopped anywhere, committed or not): the unit the backfill schedules. The
   * caller holds the chunk's lock (engines/postgres/chunk-lock.ts) for the whole call.
   */
  copyChunk(plan: TablePlan, source: Pool, range: ChunkRange, control: ChunkCopyControl): Promise<ChunkCopied>;
  /** Idempotent upsert of these source rows, by key (repair, change events). */
  writeRows(plan: TablePlan, rows: SourceRow[]): Promise<void>;
  /** Deletes the rows/documents with these keys (text form); absent keys are no-ops. */
  deleteKeys(plan: TablePlan, keys: string[][]): Promise<void>;
  /**
   * After every table is loaded: secondary indexes, then foreign keys (PostgreSQL). Safe to
   * run again after it was killed part way. `progress` hears the name of each step as it starts.
   */
  finishTable(plan: TablePlan, progress?: (step: string) => void): Promise<void>;
  /**
   * What a table's own load leaves to build, run as soon as its rows are in (while other
   * tables still copy): its key, when it was loaded without it, and the indexes built after the
   * load. Needs no other table; safe to run again (finishTable runs it too).
   */
  finishLoad(plan: TablePlan, progress?: (step: string) => void): Promise<void>;
  /**
   * What online mode defers until the sync has stopped (a cutover step calls it): UNIQUE and
   * EXCLUDE constraints, unique indexes and foreign keys (PostgreSQL). Safe to run again.
   */
  buildDeferredConstraints(plan: TablePlan, progress?: (step: string) => void, opts?: { validateForeignKeys?: boolean }): Promise<void>;
  /** Validates foreign keys added NOT VALID (buildDeferredConstraints with validateForeignKeys: false), after the switch. */
  validateForeignKeys(plan: TablePlan, progress?: (step: string) => void): Promise<void>;
  /**
   * Right before the target takes the application's writes (a cutover step, the source fenced
   * and drained): every sequence the table draws from moves past every value the source has
   * handed out. Nothing to do where the target hands out no values.
   */
  advanceSequences(plan: TablePlan): Promise<void>;
  countRows(plan: TablePlan): Promise<number>;
}

// Where coalesced row changes land. A sink writes set-based (a few statements per batch, never
// one per row), idempotently (a retried batch leaves the same target), and tells apart the two
// ways a write fails: a row the target refuses (a data error, returned as a ChangeFailure to
// dead-letter) and everything else (thrown, so the caller retries the batch and commits nothing).
export interface ChangeSink {
  /**
   * Applies one table's changes, at most one per key (coalesce first). Upserts without
   * unavailable columns write the whole row; upserts with some update only the available
   * columns of a row that exists (a missing row stays missing); deletes remove by key.
   * Returns the changes the target refused for their data; throws on anything a retry may fix.
   */
  apply(plan: TablePlan, changes: RowChange[]): Promise<ChangeFailure[]>;
  /** Empties the table or collection (a TRUNCATE on the source). */
  truncate(plan: TablePlan): Promise<void>;
  /**
   * Gives the target columns added on the source. `plan` is the new plan (with `added`).
   * `existingValues` is, per added column name, the text form of the value rows that existed
   * before the ALTER hold on the source (pg_attribute.attmissingval; null when none, i.e. NULL
   * or a default that rewrote the table): target rows and documents get the same. When it is
   * not given, a PostgreSQL target evaluates the column default itself and MongoDB documents
   * get null. With `migrationId`, a schema or type it creates for them is recorded in the
   * target's ledger under that migration (Engine.dropCreated drops it).
   */
  addColumns(plan: TablePlan, added: ColumnInfo[], existingValues?: Record<string, string | null>, migrationId?: string): Promise<void>;
}

/** What one chunk comparison found, before the activity turns it into a ChunkVerdict. */
export interface ChunkComparison {
  sourceRows: number;
  targetRows: number;
  sourceHash: string;
  targetHash: string;
  mismatches: Mismatch[];
  /**
   * Extra target documents whose _id cannot be read as a key of the source's key types:
   * counted and sampled (key: ["_id <canonical value>"]), not stored, since repair could
   * not address them by key.
   */
  unreadable?: Mismatch[];
  extrasChecked: boolean;
}

/** How the source and this target are compared: by chunk, by key, and (where ranges cannot tell) by a sweep. */
export interface Verifier {
  /** Counts and order-independent hashes of one key range on both sides, drilled down to keys when they differ. */
  compareChunk(plan: TablePlan, range: ChunkRange): Promise<ChunkComparison>;
  /**
   * Target rows outside every source key that the chunk comparisons could not look for by
   * range, recorded in `store` under SWEEP_CHUNK; an engine whose chunks find them returns none.
   */
  sweepExtras(plan: TablePlan, verifyId: string, store: MismatchStore): Promise<{ extra: number; sample: string[][] }>;
  /**
   * Digests of these keys' rows on both sides, by key JSON (absent: no row). `rows` are the
   * source rows of the keys when the caller has read them already.
   */
  keyDigests(plan: TablePlan, keys: string[][], rows?: SourceRow[], timing?: KeyReadTiming): Promise<{ source: Map<string, unknown>; target: Map<string, unknown> }>;
  /**
   * Runs an operator's shadow query (spec shadow.queries[].target) on the target, `key` (text
   * form, a key of `plan`) filling its parameters as this engine's mapping converts key columns.
   */
  runQuery(plan: TablePlan, query: ShadowQuery['target'], key: string[]): Promise<TargetQueryRows>;
  /**
   * The source's and the target's result rows of one query as canonical row texts (one per
   * row, equal texts for equal rows as this engine maps values), for an order-free comparison.
   */
  canonicalRows(plan: TablePlan, source: SourceQueryRows, target: TargetQueryRows): { source: string[]; target: string[] };
}

/** Filled by keyDigests when asked: milliseconds each side's reads took. */
export interface KeyReadTiming {
  sourceMs: number;
  targetMs: number;
}

/** A source query's result: column names and rows of PostgreSQL text values, in column order. */
export interface SourceQueryRows {
  fields: string[];
  rows: Array<Array<string | null>>;
}

/** A target query's result as the engine read it (column names where the engine has them). */
export interface TargetQueryRows {
  fields: string[] | null;
  rows: unknown[];
}
