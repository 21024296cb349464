// The ChangeApplier as the sync activity wires it to the source: a column that appears in
// events is followed (and counted in the run's columnsAdded), the source is asked which columns
// a table has now and what older rows hold in added ones, and heartbeat markers time the lag.
import type { Pool } from 'pg';
import type { Spec } from '../../../contracts/spec';
import type { CaptureInfo } from '../../../contracts/capture';
import type { TablePlan } from '../../../contracts/tables';
import { columnNames, existingValues } from '../../../engines/postgres/source';
import { ChangeApplier, positionId } from '../applier';
import type { DeadLetterStore } from '../../../engines/dead-letters';
import type { LagTracker } from '../lag';
import { followAddedColumns } from '../schema-change';
import type { ChangeSink } from '../../../engines/engine';
import type { RunState } from './state';
import type { EventPosition } from '../../../engines/rows';

export interface ApplierWiring {
  spec: Spec;
  migrationId: string;
  source: Pool;
  sink: ChangeSink;
  deadLetters: DeadLetterStore;
  /** Dead-lettered positions to go past. */
  skip: EventPosition[];
  /** Plans by topic; the applier replaces a plan in place when its table gains a column. */
  plans: Map<string, TablePlan>;
  markerTopic: string;
  lag: LagTracker;
  run: RunState;
}

export function syncApplier(w: ApplierWiring): ChangeApplier {
  const { spec, migrationId, source, sink, lag, run } = w;
  return new ChangeApplier(
    {
      spec,
      migrationId,
      sink,
      deadLetters: w.deadLetters,
      skip: new Set(w.skip.map(positionId)),
      replan: async (plan, unknown) => {
        const r = await followAddedColumns(spec, source, sink, plan, unknown, migrationId);
        run.columnsAdded.push(...r.added);
        return r.plan;
      },
      sourceColumns: (plan) => columnNames(source, plan),
      valuesBeforeAdd: (plan, columns) => existingValues(source, plan, plan.columns.filter((c) => columns.includes(c.name))),
      onMarker: (event) => {
        const row = event.after;
        if (!row || row.migration !== migrationId || row.kind !== 'heartbeat') return;
        lag.seen(String(row.seq), Date.parse(String(row.written_at)), Date.now());
      },
    },
    w.plans,
    w.markerTopic,
  );
}

/** Each captured topic's plan, by topic. */
export function plansByTopic(capture: CaptureInfo, plans: TablePlan[]): Map<string, TablePlan> {
  return new Map<string, TablePlan>(capture.topics.map((t) => [t.topic, plans.find((p) => p.table.schema === t.table.schema && p.table.name === t.table.name)!]));
}

/** The input's plans, each replaced by its table's plan as the run left it (it may have gained columns). */
export function currentPlans(input: TablePlan[], byTopic: Map<string, TablePlan>): TablePlan[] {
  return input.map((p) => [...byTopic.values()].find((n) => n.table.schema === p.table.schema && n.table.name === p.table.name) ?? p);
}
