// Cutover step 2: proven, not guessed. With the source fenced, a marker row is written; the
// drain ends once (1) the replication slot has confirmed a WAL position past that marker's
// commit — Kafka Connect commits a position only after every record before it was written to
// Kafka — and then (2) the sync's consumer group has committed, after writing them to the
// target, every partition of every change topic up to its end offset as it was at that
// moment. Nothing the application committed before the fence can still be on its way.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CaptureInfo, TopicOffset } from '../../contracts/capture';
import type { Spec } from '../../contracts/spec';
import { pgPool } from '../../engines/connections';
import { writeDrainMarker } from '../../engines/postgres/capture/marker';
import { connectAdmin, endOffsets, kafkaFor } from '../cdc/topics';

const POLL_MS = 250;

export interface DrainResult {
  markerLsn: string;
  /** Events that were still on their way when the drain began. */
  eventsDrained: number;
  /** Change events of the tables applied since capture began (its start offsets), read from Kafka: right however often the sync was restarted. */
  eventsApplied: number;
  drainedAt: string;
}

function timedOut(what: string, timeoutSeconds: number): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`the drain did not finish within cutover.drainTimeoutSeconds (${timeoutSeconds} s): ${what}`, 'DrainTimedOut');
}

export async function drainToMarker(input: { spec: Spec; migrationId: string; capture: CaptureInfo; deadline: string; timeoutSeconds: number }): Promise<DrainResult> {
  const deadline = Date.parse(input.deadline);
  if (Date.now() > deadline) throw timedOut('the deadline passed before this attempt began', input.timeoutSeconds);
  try {
    return await drain(input, deadline);
  } catch (err) {
    // Whatever went wrong (the source or Kafka unreachable), past the deadline the answer is the timeout: the application is waiting.
    if (err instanceof ApplicationFailure || Date.now() <= deadline) throw err;
    throw timedOut((err as Error).message, input.timeoutSeconds);
  }
}

async function drain(input: { spec: Spec; migrationId: string; capture: CaptureInfo; timeoutSeconds: number }, deadline: number): Promise<DrainResult> {
  const { spec, capture } = input;
  const ctx = Context.current();
  const source = pgPool(spec.source.url);
  const marker = await writeDrainMarker(source, input.migrationId);
  // (1) The slot past the marker: Debezium has read it, and Connect has written everything before it to Kafka.
  let confirmed: string | null = null;
  for (;;) {
    const { rows } = await source.query<{ confirmed: string | null; past: string | null }>(
      `SELECT confirmed_flush_lsn::text AS confirmed, (confirmed_flush_lsn >= $2::pg_lsn)::text AS past FROM pg_replication_slots WHERE slot_name = $1`,
      [capture.name, marker.lsn],
    );
    if (!rows[0]) throw ApplicationFailure.nonRetryable(`replication slot ${capture.name} is gone: the drain cannot be proven`, 'DrainFailed');
    confirmed = rows[0].confirmed;
    if (rows[0].past === 'true') break;
    if (Date.now() > deadline) throw timedOut(`replication slot ${capture.name} confirmed ${confirmed ?? 'nothing'}, the drain marker is at ${marker.lsn} (is Kafka Connect running?)`, input.timeoutSeconds);
    ctx.heartbeat({ stage: 'slot', confirmed });
    await ctx.sleep(POLL_MS);
  }
  // (2) Every change topic applied to its end as it is now.
  const kafka = kafkaFor(spec);
  const admin = await connectAdmin(spec, kafka);
  try {
    const topics = [...capture.topics.map((t) => t.topic), capture.markerTopic];
    const ends = await endOffsets(admin, topics);
    let first: number | null = null;
    for (;;) {
      const behind = await behindEnd(admin, capture, topics, ends);
      const total = behind.reduce((n, b) => n + b.events, 0);
      first ??= total;
      if (total === 0) return { markerLsn: marker.lsn, eventsDrained: first, eventsApplied: appliedSinceStart(capture, ends), drainedAt: new Date().toISOString() };
      if (Date.now() > deadline) {
        throw timedOut(`${total} event(s) not yet applied (${behind.map((b) => `${b.topic}/${b.partition}: ${b.events}`).join(', ')}) — is the cdc worker running?`, input.timeoutSeconds);
      }
      ctx.heartbeat({ stage: 'topics', behind: total });
      await ctx.sleep(POLL_MS);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Where the sync started on each partition (`topic/partition` → offset). */
function startOffsets(capture: CaptureInfo): Map<string, bigint> {
  return new Map(capture.startOffsets.map((o) => [`${o.topic}/${o.partition}`, BigInt(o.offset)]));
}

/** Table-topic events from the capture's start offsets to `ends` (the drain returns once all are applied). */
function appliedSinceStart(capture: CaptureInfo, ends: TopicOffset[]): number {
  const tables = new Set(capture.topics.map((t) => t.topic));
  const start = startOffsets(capture);
  let n = 0n;
  for (const e of ends) {
    if (!tables.has(e.topic)) continue;
    const from = start.get(`${e.topic}/${e.partition}`) ?? 0n;
    if (BigInt(e.offset) > from) n += BigInt(e.offset) - from;
  }
  return Number(n);
}

/** Partitions whose committed offset (the next event to apply) is short of `ends`. */
async function behindEnd(admin: Awaited<ReturnType<typeof connectAdmin>>, capture: CaptureInfo, topics: string[], ends: TopicOffset[]): Promise<Array<{ topic: string; partition: number; events: number }>> {
  const committed = await admin.fetchOffsets({ groupId: capture.name, topics });
  const start = startOffsets(capture);
  const at = new Map<string, bigint>();
  for (const t of committed) for (const p of t.partitions) at.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
  const behind: Array<{ topic: string; partition: number; events: number }> = [];
  for (const e of ends) {
    const end = BigInt(e.offset);
    const c = at.get(`${e.topic}/${e.partition}`) ?? -1n;
    // -1: nothing committed yet, so the sync starts where the start marker left it (what lies before belongs to the backfill).
    const next = c < 0n ? (start.get(`${e.topic}/${e.partition}`) ?? 0n) : c;
    if (next < end) behind.push({ topic: e.topic, partition: e.partition, events: Number(end - next) });
  }
  return behind;
}
