// One interface per role: a target is where source rows land. Adding an engine is adding a
// file beside this one and a case in openTarget, not editing the phases.
import type { Pool } from 'pg';
import type { Spec, TargetKind } from '../contracts/spec';
import { engineOf } from '../activities/spec';
import type { ChunkRange } from '../contracts/backfill';
import type { TablePlan } from '../contracts/tables';
import type { SourceRow } from './postgres/source';
import { MongoTarget } from './mongodb/target';
import { PostgresTarget } from './postgres/target';
import type { Replay } from './postgres/copy';
import { resolveUrl } from './connections';

export interface BatchCopied {
  rows: number;
  /** Key of the last row copied (text form), null when the range held no more rows. */
  last: string[] | null;
}

export interface Target {
  readonly kind: TargetKind;
  /**
   * Creates what is missing (schemas, types, the table with its columns, defaults,
   * constraints and key; or the collection), or checks that an existing one can hold the
   * source's rows; never touches data. An incompatibility throws a ConfigurationError
   * that names the table, the column and what to change.
   */
  prepareTable(plan: TablePlan): Promise<void>;
  /**
   * Copies, in key order, at most `limit` source rows of `range` with key > `after` (or
   * >= range.lo when after is null), idempotently: replaying a batch changes nothing.
   * `replay` (PostgreSQL targets, see pg-copy.ts): 'batch' (default) clears the batch's own
   * range first; the copy activity clears the rest of the chunk once per attempt ('rest' on
   * its first batch, 'none' on the later ones).
   */
  copyBatch(plan: TablePlan, source: Pool, range: ChunkRange, after: string[] | null, limit: number, replay?: Replay): Promise<BatchCopied>;
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
   * What online mode defers until the sync has stopped (a cutover step calls it): UNIQUE and
   * EXCLUDE constraints, unique indexes and foreign keys (PostgreSQL). Safe to run again.
   */
  buildDeferredConstraints(plan: TablePlan, progress?: (step: string) => void): Promise<void>;
  countRows(plan: TablePlan): Promise<number>;
}

export function targetKind(spec: Spec): TargetKind {
  const kind = engineOf(resolveUrl(spec.target.url, 'target.url'));
  if (!kind) throw new Error('target.url names no supported engine');
  return kind;
}

export function openTarget(spec: Spec): Target {
  return targetKind(spec) === 'mongodb' ? new MongoTarget(spec) : new PostgresTarget(spec);
}
