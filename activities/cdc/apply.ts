// The sync activity (task queue ferry-cdc): consumes a migration's change topics in its own
// consumer group and applies them to the target, for `runForMs`, then returns so its workflow
// can continue-as-new. Offsets are committed only after the target write (and any dead
// letters) succeeded, and heartbeated, so a crash replays at most the batch in hand — which is
// harmless, because every write is an idempotent upsert or delete by key. Every few seconds it
// writes a heartbeat row to the source, measures lag, checks the replication slot and the
// connector, and reports to its workflow by signal.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Spec } from '../../contracts/spec';
import type { CaptureInfo, SlotHealth, TopicOffset } from '../../contracts/capture';
import { syncProgressSignal } from '../../contracts/messages';
import type { SyncProgress } from '../../contracts/sync';
import type { TablePlan } from '../../contracts/tables';
import { pgPool } from '../../engines/connections';
import { quoteQualified } from '../../engines/postgres/identifiers';
import { rethrowClassified } from '../../engines/errors';
import { ChangeApplier, positionId } from './applier';
import { LagTracker } from './lag';
import { openSink } from '../../engines';
import { deadLetterStore } from '../../engines';
import { existingValues, followAddedColumns } from './schema-change';
import { MAX_EVENT_BYTES, kafkaFor } from './topics';
import { writeHeartbeat } from '../../engines/postgres/capture/marker';
import { readSlotHealth } from '../../engines/postgres/capture/slot';
import { connectorHealth } from './connect';
import { resumeOffsets } from './offsets';
import { positionText } from '../../contracts/offsets';
import type { EventPosition } from '../../engines/rows';

export interface ApplyInput {
  spec: Spec;
  plans: TablePlan[];
  capture: CaptureInfo;
  migrationId: string;
  runForMs: number;
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
  halted: { position: EventPosition; reason: string } | null;
  /** Every partition's committed offset as the run ended: the workflow carries them. */
  offsets: TopicOffset[];
}

/** Heartbeat details: where each partition is committed, so a new attempt resumes there. */
export interface ApplyCursor {
  offsets: TopicOffset[];
  eventsApplied: number;
}

const REPORT_MS = 3_000;
const SLOT_CHECK_MS = 10_000;
const SLOT_INACTIVE_ALERT_S = 30;
const SLOT_STALLED_ALERT_S = 120;
/** A new run keeps the last run's caught-up state this long while its first heartbeat travels. */
const CARRY_CAUGHT_UP_MS = 60_000;

export async function applyChanges(input: ApplyInput): Promise<ApplyResult> {
  const ctx = Context.current();
  const { spec, capture, migrationId } = input;
  const sync = spec.sync!;
  const source = pgPool(spec.source.url);
  const sink = openSink(spec);
  const deadLetters = deadLetterStore(spec);
  const lag = new LagTracker();
  const startedAt = Date.now();
  const topics = [...capture.topics.map((t) => t.topic), capture.markerTopic];
  const plans = new Map<string, TablePlan>(capture.topics.map((t) => [t.topic, input.plans.find((p) => p.table.schema === t.table.schema && p.table.name === t.table.name)!]));
  const columnsAdded = [...input.totals.columnsAdded];
  let eventsApplied = input.totals.eventsApplied;
  let halted: ApplyResult['halted'] = null;

  const applier = new ChangeApplier(
    {
      spec,
      migrationId,
      sink,
      deadLetters,
      skip: new Set(input.skip.map(positionId)),
      replan: async (plan, unknown) => {
        const r = await followAddedColumns(spec, source, sink, plan, unknown);
        columnsAdded.push(...r.added);
        return r.plan;
      },
      sourceColumns: async (plan) => {
        const r = await source.query(`SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, [quoteQualified(plan.table)]);
        return new Set(r.rows.map((x: { attname: string }) => x.attname));
      },
      valuesBeforeAdd: (plan, columns) => existingValues(source, plan, plan.columns.filter((c) => columns.includes(c.name))),
      onMarker: (event) => {
        const row = event.after;
        if (!row || row.migration !== migrationId || row.kind !== 'heartbeat') return;
        lag.seen(String(row.seq), Date.parse(String(row.written_at)), Date.now());
      },
    },
    plans,
    capture.markerTopic,
  );

  const kafka = kafkaFor(spec);
  const admin = kafka.admin();
  const committed = new Map<string, TopicOffset>();
  const saved = ctx.info.heartbeatDetails as ApplyCursor | undefined;
  let resume: Awaited<ReturnType<typeof resumeOffsets>>;
  try {
    await admin.connect();
    resume = await resumeOffsets(admin, capture, topics, saved?.offsets ?? [], input.resumeFrom ?? []);
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw err;
  }
  for (const o of resume.offsets) committed.set(`${o.topic}/${o.partition}`, o);
  /** Partitions this attempt has committed: their position no longer depends on a seek. */
  const committedHere = new Set<string>();
  ctx.log.info(`sync: resuming ${capture.name} at ${[...committed.values()].map(positionText).join(', ')} (${Date.now() - startedAt} ms)`);

  const consumer: Consumer = kafka.consumer({
    groupId: capture.name,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    maxBytesPerPartition: MAX_EVENT_BYTES,
    maxBytes: 2 * MAX_EVENT_BYTES,
    allowAutoTopicCreation: false,
    retry: { retries: 30, maxRetryTime: 10_000 },
  });
  let crashed: Error | null = null;
  consumer.on(consumer.events.CRASH, (e) => {
    // kafkajs restarts itself after retriable errors; a crash it will not restart from ends this attempt.
    if (!e.payload.restart) crashed = e.payload.error;
  });

  let slot: SlotHealth | null = null;
  let slotSample: Parameters<typeof readSlotHealth>[2];
  let inactiveSince: number | null = null;
  let connectorProblem: string | null = null;
  let lastSlotCheck = 0;
  let lastHeartbeatWrite = 0;
  let lagEvents = 0;
  let lagging: string[] = [];

  const progress = (state?: SyncProgress['state']): SyncProgress => {
    const now = Date.now();
    // Until this run's first heartbeat is back its own figures know nothing of what is still
    // on its way: the last run's lag, growing, is the honest bound.
    const measured = lag.lagSeconds(now, lagging);
    const lagSeconds = lag.heartbeatCameBack() ? measured : Math.max(measured, input.totals.lagSeconds + (now - startedAt) / 1000);
    const alerts: string[] = [];
    if (slot && !slot.exists) alerts.push(`replication slot ${capture.name} is gone: changes made since are lost to Ferry; restart the migration`);
    if (slot?.exists && inactiveSince !== null && now - inactiveSince > SLOT_INACTIVE_ALERT_S * 1000) {
      alerts.push(`replication slot ${capture.name} inactive for ${Math.round((now - inactiveSince) / 1000)} s: is Kafka Connect running? (GET /connectors/${capture.name}/status)`);
    }
    if (slot && slot.stalledSeconds > SLOT_STALLED_ALERT_S) alerts.push(`replication slot ${capture.name}: confirmed LSN not advancing for ${Math.round(slot.stalledSeconds)} s while the source writes WAL`);
    if (slot?.walStatus === 'unreserved' || slot?.walStatus === 'lost') alerts.push(`replication slot ${capture.name}: wal_status ${slot.walStatus}, WAL it needs is (about to be) removed`);
    if (connectorProblem) alerts.push(connectorProblem);
    if (halted) alerts.push(`halted on a poison event at ${positionText(halted.position)}: ${halted.reason}; it is in the dead-letter store; ferry skip --id ${migrationId} goes past it`);
    const bound = Math.max(10, 3 * sync.heartbeatSeconds);
    // Until this run's first heartbeat is back, the previous run's verdict stands (briefly).
    // A backlog larger than a few seconds of applying is not caught up, whatever the heartbeat says.
    const smallBacklog = lagEvents <= Math.max(sync.batchEvents, lag.rate(now) * bound);
    const caughtUp = smallBacklog && lagSeconds <= bound && (lag.heartbeatCameBack() || (input.totals.caughtUp && now - startedAt < CARRY_CAUGHT_UP_MS));
    return {
      state: state ?? (halted ? 'halted' : caughtUp ? 'caught-up' : 'replaying'),
      eventsApplied,
      eventsPerSecond: lag.rate(now),
      lagSeconds,
      lagEvents,
      heartbeatSeconds: lag.heartbeatSeconds(),
      deadLetters: 0,
      slot,
      alerts,
      columnsAdded,
      halted: halted ? { position: { topic: halted.position.topic, partition: halted.position.partition, offset: halted.position.offset }, reason: halted.reason } : null,
      updatedAt: new Date(now).toISOString(),
    };
  };

  const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
  const report = async () => {
    const now = Date.now();
    if (now - lastHeartbeatWrite >= sync.heartbeatSeconds * 1000) {
      lastHeartbeatWrite = now;
      const hb = await writeHeartbeat(source, migrationId);
      lag.wrote(hb.seq, now);
    }
    if (now - lastSlotCheck >= SLOT_CHECK_MS) {
      lastSlotCheck = now;
      const read = await readSlotHealth(source, capture.name, slotSample);
      const health = read.health;
      slot = health;
      slotSample = read.sample;
      inactiveSince = health.active ? null : (inactiveSince ?? now);
      connectorProblem = await connectorHealth(spec, capture.name).catch((err: Error) => `Kafka Connect cannot be asked about connector ${capture.name}: ${err.message}`);
    }
    let behind = 0;
    const nowLagging: string[] = [];
    for (const topic of topics) {
      const high = await admin.fetchTopicOffsets(topic);
      for (const p of high) {
        const at = committed.get(`${topic}/${p.partition}`);
        const n = Number(BigInt(p.high) - BigInt(at?.offset ?? p.low));
        if (n > 0 && topic !== capture.markerTopic) {
          behind += n;
          nowLagging.push(`${topic}/${p.partition}`);
        }
      }
    }
    lagEvents = behind;
    lagging = nowLagging;
    lag.lagging(nowLagging, Date.now());
    const p = progress();
    p.deadLetters = await deadLetters.count(migrationId);
    await ctx.client.workflow.getHandle(workflowId).signal(syncProgressSignal, p);
    return p;
  };

  const eachBatch = async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload) => {
    if (halted || fatal || !isRunning() || isStale() || !batch.messages.length) return;
    const outcome = await applier.applyBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages }).catch((err) => {
      if (err instanceof ApplicationFailure) throw err;
      return rethrowClassified(err, `applying changes from ${batch.topic}`);
    });
    if (outcome.commitOffset !== null) {
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: outcome.commitOffset }]);
      committed.set(`${batch.topic}/${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: outcome.commitOffset });
      committedHere.add(`${batch.topic}/${batch.partition}`);
      // The consumer's own position: without it the next fetch starts where this run began.
      if (BigInt(outcome.commitOffset) > 0n) resolveOffset((BigInt(outcome.commitOffset) - 1n).toString());
    }
    eventsApplied += outcome.applied;
    lag.appliedEvents(`${batch.topic}/${batch.partition}`, outcome.applied, outcome.newestSourceTsMs, Date.now());
    if (outcome.halted) halted = outcome.halted;
    await heartbeat();
  };

  let fatal: unknown = null;
  try {
    await consumer.connect();
    // A partition with no committed offset and no seek (lost in a rejoin) starts at the beginning:
    // replaying more is always safe, skipping never is.
    await consumer.subscribe({ topics, fromBeginning: true });
    // kafkajs keeps a seek only until the next rebalance or restart: seek again after every join
    // for partitions this attempt has not committed yet.
    const seekUncommitted = () => {
      for (const o of resume.seeks) if (!committedHere.has(`${o.topic}/${o.partition}`)) consumer.seek(o);
    };
    consumer.on(consumer.events.GROUP_JOIN, seekUncommitted);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.min(4, topics.length),
      eachBatch: (payload) =>
        eachBatch(payload).catch((err) => {
          // Non-retryable failures end the activity; everything else kafkajs retries (re-reading from the commit).
          if (err instanceof ApplicationFailure && err.nonRetryable) fatal = err;
          throw err;
        }),
    });
    // Applied before the first fetch of each partition once it is assigned to this member.
    seekUncommitted();
    ctx.log.info(`sync: consumer ${capture.name} running (${Date.now() - startedAt} ms)`);
    let last = 0;
    let reporting: Promise<unknown> | null = null;
    while (Date.now() - startedAt < input.runForMs && !halted && !fatal && !crashed) {
      // The Temporal heartbeat never waits on a report: a slow source or Connect must not
      // make this attempt look dead (a second consumer would start while this one writes).
      ctx.heartbeat({ offsets: [...committed.values()], eventsApplied } satisfies ApplyCursor);
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('sync cancelled');
      if (!reporting && Date.now() - last >= REPORT_MS) {
        last = Date.now();
        reporting = report()
          .catch((err) => {
            // A busy source or an ended workflow must not stop the apply loop; the next report retries.
            ctx.log.warn(`sync report failed: ${(err as Error).message}`);
          })
          .finally(() => (reporting = null));
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await reporting;
    // Cancelled as the run ended: say so, or the workflow would take it for a finished run.
    if (ctx.cancellationSignal.aborted) throw new CancelledFailure('sync cancelled');
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  if (fatal) throw fatal;
  if (crashed) throw crashed;
  const final = progress(halted ? 'halted' : undefined);
  final.deadLetters = await deadLetters.count(migrationId);
  return {
    progress: final,
    plans: input.plans.map((p) => [...plans.values()].find((n) => n.table.schema === p.table.schema && n.table.name === p.table.name) ?? p),
    halted,
    offsets: [...committed.values()],
  };
}
