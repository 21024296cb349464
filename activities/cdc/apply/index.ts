// The sync activity (task queue ferry-cdc): consumes a migration's change topics in its own
// consumer group and applies them to the target, for `runForMs`, then returns so its workflow
// can continue-as-new. Offsets are committed only after the target write (and any dead
// letters) succeeded, and heartbeated, so a crash replays at most the batch in hand — which is
// harmless, because every write is an idempotent upsert or delete by key. Every few seconds it
// writes a heartbeat row to the source, measures lag, checks the replication slot and the
// connector, and reports to its workflow by signal.
import { Context } from '@temporalio/activity';
import type { Spec } from '../../../contracts/spec';
import type { CaptureInfo, TopicOffset } from '../../../contracts/capture';
import type { SyncProgress } from '../../../contracts/sync';
import type { TablePlan } from '../../../contracts/tables';
import { positionText } from '../../../contracts/offsets';
import { pgPool } from '../../../engines/connections';
import { LagTracker } from '../lag';
import { openSink, deadLetterStore } from '../../../engines';
import { kafkaFor } from '../topics';
import { currentPlans, plansByTopic, syncApplier } from './wired-applier';
import { batchHandler } from './batch';
import { startConsuming, syncConsumer } from './consumer';
import { SourceWatch } from './health';
import { runUntilStop } from './loop';
import { openPositions, type ApplyCursor } from './positions';
import { syncProgress } from './progress';
import { Reporter } from './report';
import { RunState, type Halt } from './state';
import type { EventPosition } from '../../../engines/rows';
import { DrillDeadLetters, DrillSink } from '../../../engines/drill';

export type { ApplyCursor } from './positions';

export interface ApplyInput {
  spec: Spec;
  plans: TablePlan[];
  capture: CaptureInfo;
  migrationId: string;
  runForMs: number;
  /** A rehearsal's rollback drill: everything read and committed, nothing written (engines/drill.ts). */
  drill?: boolean;
  /** Dead-lettered positions to go past (the operator resumed after a halt). */
  skip: EventPosition[];
  /** Committed offsets the sync workflow carries from its last run (outlive the group's). */
  resumeFrom?: TopicOffset[];
  /** Figures carried from earlier runs, so totals keep counting. */
  totals: { eventsApplied: number; columnsAdded: string[]; caughtUp: boolean; lagSeconds: number };
}

export interface ApplyResult {
  progress: SyncProgress;
  /** The plans as they are now (a table may have gained columns). */
  plans: TablePlan[];
  halted: Halt | null;
  /** Every partition's committed offset as the run ended: the workflow carries them. */
  offsets: TopicOffset[];
}

// The parts, each readable alone: apply-state.ts (the run's figures and what stops it),
// apply-positions.ts (committed offsets, resume seeks, the heartbeat cursor), apply-applier.ts
// (the ChangeApplier wired to the source), apply-consumer.ts and apply-batch.ts (the Kafka
// consumer and its per-batch handler), apply-health.ts, apply-progress.ts and apply-report.ts
// (the periodic report), apply-loop.ts (heartbeats, cancellation, when to stop).
export async function applyChanges(input: ApplyInput): Promise<ApplyResult> {
  const ctx = Context.current();
  const { spec, capture, migrationId } = input;
  const source = pgPool(spec.source.url);
  // A rehearsal's drill writes nowhere: its reverse sync must never reach the production source.
  const sink = input.drill ? new DrillSink() : openSink(spec);
  const deadLetters = input.drill ? new DrillDeadLetters() : deadLetterStore(spec);
  const lag = new LagTracker();
  const run = new RunState(Date.now(), input.totals);
  const topics = [...capture.topics.map((t) => t.topic), capture.markerTopic];
  const plans = plansByTopic(capture, input.plans);
  const applier = syncApplier({ spec, migrationId, source, sink, deadLetters, skip: input.skip, plans, markerTopic: capture.markerTopic, lag, run });

  const kafka = kafkaFor(spec);
  const admin = kafka.admin();
  const positions = await openPositions(admin, capture, topics, ctx.info.heartbeatDetails as ApplyCursor | undefined, input.resumeFrom ?? []);
  ctx.log.info(`sync: resuming ${capture.name} at ${positions.all().map(positionText).join(', ')} (${Date.now() - run.startedAt} ms)`);

  const consumer = syncConsumer(kafka, capture.name, run);
  const watch = new SourceWatch(spec, source, lag, migrationId, capture.name);
  const progress = (state?: SyncProgress['state']) => syncProgress({ captureName: capture.name, migrationId, sync: spec.sync!, carried: input.totals, lag, run, health: watch }, state);
  const reporter = new Reporter({ ctx, admin, topics, markerTopic: capture.markerTopic, positions, watch, lag, run, deadLetters, migrationId, progress });
  try {
    await startConsuming(consumer, topics, positions, batchHandler({ applier, consumer, positions, lag, run }));
    ctx.log.info(`sync: consumer ${capture.name} running (${Date.now() - run.startedAt} ms)`);
    await runUntilStop(ctx, run, positions, reporter, input.runForMs);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  run.throwIfFailed();
  const final = progress(run.halted ? 'halted' : undefined);
  final.deadLetters = await deadLetters.count(migrationId);
  return {
    progress: final,
    plans: currentPlans(input.plans, plans),
    halted: run.halted,
    offsets: positions.all(),
  };
}
