// The reverse sync from a MongoDB target (task queue ferry-cdc): reads each collection's change
// stream from its resume token, maps documents back to rows through the inverse of the mapping
// (engines/mongodb/mapping/inverse.ts), and applies them to the source with the PostgreSQL sink
// the forward sync uses on a PostgreSQL target — set-based, idempotent, per key in stream order
// (coalesced per batch), rows the source refuses dead-lettered with the reason. The tokens are
// heartbeated after every write, so a retry on any worker resumes where the last write left
// off; replaying a few events again is harmless (upserts of the document as it is, deletes by key).
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { BSON } from 'mongodb';
import { syncProgressSignal } from '../../contracts/messages';
import { reversedSpec, type StreamStart } from '../../contracts/reverse';
import type { Spec } from '../../contracts/spec';
import type { SyncProgress } from '../../contracts/sync';
import type { TablePlan } from '../../contracts/tables';
import { coalesce } from '../../engines/coalesce';
import { pgPool } from '../../engines/connections';
import { deadLetterStore, openSink } from '../../engines';
import type { DeadLetter, RowChange } from '../../engines/rows';
import { openChangeStream, type ChangeEvent, type ChangeReader } from '../../engines/mongodb/change-stream';
import { keyOfId, rowMapperFor } from '../../engines/mongodb/mapping/inverse';
import { markerOf, targetDb } from '../../engines/mongodb/reverse-feed';
import { ensureMarkerTable, recordPassedMarker } from '../../engines/postgres/capture/marker';
import { DrillDeadLetters, DrillSink } from '../../engines/drill';

export interface StreamApplyInput {
  spec: Spec;
  plans: TablePlan[];
  streams: StreamStart[];
  migrationId: string;
  runForMs: number;
  totals: { eventsApplied: number };
  /** A rehearsal's rollback drill: read and pass the markers, write nothing to the source. */
  drill?: boolean;
}

export interface StreamApplyResult {
  streams: StreamStart[];
  progress: SyncProgress;
}

interface Cursor {
  streams: StreamStart[];
  eventsApplied: number;
}

const REPORT_EVERY_MS = 3_000;
const BATCH_WAIT_MS = 300;
/** Rounds a stream's batch may wait for another stream's change (a foreign key) before the activity fails and is retried. */
const WAIT_ROUNDS = 50;

export async function applyStreamChanges(input: StreamApplyInput): Promise<StreamApplyResult> {
  const ctx = Context.current();
  const { spec, migrationId } = input;
  const saved = ctx.info.heartbeatDetails as Cursor | undefined;
  const cursor: Cursor = saved?.streams ? saved : { streams: input.streams.map((s) => ({ ...s })), eventsApplied: input.totals.eventsApplied };
  const back = reversedSpec(spec);
  // A rehearsal's drill writes nowhere: its reverse sync must never reach the production source.
  const sink = input.drill ? new DrillSink() : openSink(back);
  const deadLetters = input.drill ? new DrillDeadLetters() : deadLetterStore(back);
  const source = pgPool(spec.source.url);
  await ensureMarkerTable(source);
  const db = await targetDb(spec);
  const plans = new Map(input.plans.map((p) => [p.display, p]));
  const readers = new Map<string, ChangeReader>();
  const parts: ApplyParts = { sink, deadLetters, migrationId, source, cursor };
  for (const s of cursor.streams) readers.set(s.collection, openChangeStream(db.collection(s.collection), { resumeAfter: s.token }));
  const started = Date.now();
  let lastReport = 0;
  let behindSince: number | null = null;
  let caughtUp = false;
  let deadLettered = await deadLetters.count(migrationId);
  /** Streams whose last batch waits for another table's change, with how many rounds in a row. */
  const waiting = new Map<string, number>();
  const progress = (state: SyncProgress['state']): SyncProgress => ({
    state,
    eventsApplied: cursor.eventsApplied,
    eventsPerSecond: 0,
    lagSeconds: behindSince === null ? 0 : (Date.now() - behindSince) / 1000,
    lagEvents: 0,
    heartbeatSeconds: null,
    deadLetters: deadLettered,
    slot: null,
    alerts: [],
    columnsAdded: [],
    updatedAt: new Date().toISOString(),
  });
  const report = async (force = false) => {
    if (!force && Date.now() - lastReport < REPORT_EVERY_MS) return;
    lastReport = Date.now();
    await ctx.client.workflow.getHandle(ctx.info.workflowExecution!.workflowId).signal(syncProgressSignal, progress(caughtUp ? 'caught-up' : 'replaying')).catch(() => undefined);
  };
  try {
    while (Date.now() - started < input.runForMs) {
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the reverse sync was stopped');
      let quiet = true;
      for (const s of cursor.streams) {
        const plan = plans.get(s.table);
        if (!plan) throw ApplicationFailure.nonRetryable(`the reverse sync follows ${s.collection} into ${s.table}, which is not among the migration's tables`, 'ConfigurationError');
        const batch = await readers.get(s.collection)!.read(spec.sync?.batchEvents ?? 5_000, BATCH_WAIT_MS);
        if (batch.events.length) quiet = false;
        try {
          deadLettered += await applyEvents(plan, s, batch.events, parts);
          waiting.delete(s.collection);
        } catch (err) {
          if (err instanceof ApplicationFailure) throw err;
          // A write that needs another table's change first (a foreign key: a child before its
          // parent, a parent deleted before its children). The batch goes again one event at a
          // time, in order, as far as it can; the stream then waits at the first event that
          // cannot be written yet while the other streams go on, and reads on from there next
          // round. Only a stream that stays stuck for many rounds fails the activity.
          let stuck: unknown = null;
          for (const e of batch.events) {
            try {
              deadLettered += await applyEvents(plan, s, [e], parts);
              s.token = e.resumeToken;
            } catch (one) {
              if (one instanceof ApplicationFailure) throw one;
              stuck = one;
              break;
            }
          }
          if (stuck) {
            const rounds = (waiting.get(s.collection) ?? 0) + 1;
            if (rounds > WAIT_ROUNDS) throw stuck;
            waiting.set(s.collection, rounds);
            await readers.get(s.collection)!.close().catch(() => undefined);
            readers.set(s.collection, openChangeStream(db.collection(s.collection), { resumeAfter: s.token }));
            ctx.heartbeat(cursor);
            continue;
          }
          waiting.delete(s.collection);
        }
        if (batch.resumeToken) s.token = batch.resumeToken;
        ctx.heartbeat(cursor);
      }
      caughtUp = quiet;
      behindSince = quiet ? null : (behindSince ?? Date.now());
      await report();
    }
  } finally {
    for (const r of readers.values()) await r.close().catch(() => undefined);
  }
  caughtUp = true;
  await report(true);
  return { streams: cursor.streams, progress: progress('caught-up') };
}

interface ApplyParts {
  sink: ReturnType<typeof openSink>;
  deadLetters: ReturnType<typeof deadLetterStore>;
  migrationId: string;
  source: ReturnType<typeof pgPool>;
  cursor: Cursor;
}

/** Applies one batch of one stream in order; a marker splits it (everything before it is written first). Returns the events dead-lettered. */
async function applyEvents(plan: TablePlan, stream: StreamStart, events: ChangeEvent[], parts: ApplyParts): Promise<number> {
  const toRow = rowMapperFor(plan);
  let pending: RowChange[] = [];
  let dead: DeadLetter[] = [];
  let deadCount = 0;
  const position = (e: ChangeEvent) => ({ topic: `mongodb:${stream.collection}`, partition: 0, offset: createHash('sha256').update(JSON.stringify(e.resumeToken)).digest('hex').slice(0, 20) });
  const flush = async () => {
    if (pending.length) {
      const refused = await parts.sink.apply(plan, coalesce(pending));
      for (const f of refused) dead.push(letter(parts.migrationId, plan, f.change.position, f.reason, null));
      parts.cursor.eventsApplied += pending.length;
    }
    if (dead.length) await parts.deadLetters.add(dead);
    deadCount += dead.length;
    pending = [];
    dead = [];
  };
  for (const e of events) {
    const marker = markerOf(e);
    if (marker !== null) {
      if (marker.startsWith('drain-') && e.operationType === 'insert') {
        await flush();
        await recordPassedMarker(parts.source, parts.migrationId, stream.collection, marker);
      }
      continue;
    }
    const at = position(e);
    try {
      if (e.operationType === 'delete' && e.documentKey) {
        pending.push({ kind: 'delete', key: keyOfId(plan, e.documentKey._id), position: at, sourceTsMs: Date.now() });
      } else if ((e.operationType === 'insert' || e.operationType === 'update' || e.operationType === 'replace') && e.fullDocument) {
        const { key, row, absent } = toRow(e.fullDocument);
        // An insert creates the row (a column the spec dropped is NULL there); an update leaves such columns as they are.
        const unavailable = e.operationType === 'insert' ? [] : absent;
        pending.push({ kind: 'upsert', key, row, unavailable, position: at, sourceTsMs: Date.now() });
      } else if (e.operationType === 'invalidate') {
        throw ApplicationFailure.nonRetryable(`the change stream of ${stream.collection} was invalidated (the collection was dropped or renamed on the target): the reverse sync cannot go on`, 'EventsLost');
      }
      // An update whose document is gone (its delete follows, keyed) and a 'drop' of another collection carry nothing to apply.
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      dead.push(letter(parts.migrationId, plan, at, (err as Error).message, e.fullDocument ? BSON.EJSON.stringify(e.fullDocument, { relaxed: false }) : null, e.documentKey ? BSON.EJSON.stringify(e.documentKey, { relaxed: false }) : null));
    }
  }
  await flush();
  return deadCount;
}

function letter(migrationId: string, plan: TablePlan, at: { topic: string; partition: number; offset: string }, reason: string, value: string | null, key: string | null = null): DeadLetter {
  return { migrationId, topic: at.topic, partition: at.partition, offset: at.offset, key, table: plan.display, reason, value };
}
