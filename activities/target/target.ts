// One interface per role: a target is where mapped rows land. Adding an engine is adding a
// file beside this one and a case in openTarget, not editing the phases.
import type { Spec, TargetKind } from '../spec';
import { engineOf } from '../spec';
import type { TablePlan } from '../../workflows/definitions';
import type { SourceRow } from '../source/postgres';
import { MongoTarget } from './mongodb';
import { PostgresTarget } from './postgres';
import { resolveUrl } from '../connections';

export interface Target {
  readonly kind: TargetKind;
  /** Creates the collection/table if missing; leaves existing data alone. */
  prepareTable(plan: TablePlan): Promise<void>;
  /** Idempotent write of one batch (upsert by primary key): replaying it changes nothing. */
  writeBatch(plan: TablePlan, rows: SourceRow[]): Promise<void>;
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
