// Reading a fixed stretch of change topics: for each partition the messages in [from, to),
// read by a throwaway consumer group that commits nothing and is deleted afterwards, so the
// sync's own group (named after the capture) never sees it. Shadow rounds read the tail of each
// table's topic this way, the cutover's final check everything since a moment.
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { MAX_EVENT_BYTES } from '../cdc/topics';

export interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset to read, and the offset after the last one (Kafka offsets are 64-bit: strings). */
  from: string;
  to: string;
}

/** Gives up when the broker does not hand the stretch over within this long. */
const READ_TIMEOUT_MS = 120_000;

/** The last `count` offsets of every partition of these topics, as they end now. */
export async function tailRanges(admin: Admin, topics: string[], count: number): Promise<PartitionRange[]> {
  const out: PartitionRange[] = [];
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const high = BigInt(p.high);
      const low = BigInt(p.low);
      const from = high - BigInt(count) > low ? high - BigInt(count) : low;
      out.push({ topic, partition: p.partition, from: from.toString(), to: high.toString() });
    }
  }
  return out;
}

/**
 * Every partition of these topics from the first message at or after `sinceMs` (Kafka
 * timestamps) to where it ends now.
 */
export async function rangesSince(admin: Admin, topics: string[], sinceMs: number): Promise<PartitionRange[]> {
  const out: PartitionRange[] = [];
  for (const topic of topics) {
    const [starts, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, sinceMs), admin.fetchTopicOffsets(topic)]);
    for (const end of ends) {
      const start = starts.find((s) => s.partition === end.partition);
      // No message at or after the timestamp: Kafka answers -1 (or the end); nothing to read.
      const from = start && BigInt(start.offset) >= 0n ? start.offset : end.high;
      out.push({ topic, partition: end.partition, from, to: end.high });
    }
  }
  return out;
}

/**
 * Hands every message of the ranges to `each` (in order within a partition), then returns.
 * `alive` is called as batches arrive (a heartbeat). `groupPrefix` names the throwaway group.
 */
export async function readRanges(
  kafka: Kafka,
  ranges: PartitionRange[],
  groupPrefix: string,
  each: (topic: string, partition: number, message: KafkaMessage) => void,
  alive: () => void = () => undefined,
): Promise<void> {
  const todo = ranges.filter((r) => BigInt(r.from) < BigInt(r.to));
  if (!todo.length) return;
  const pending = new Map(todo.map((r) => [`${r.topic}\u0000${r.partition}`, r]));
  const groupId = `${groupPrefix}-${randomUUID().slice(0, 8)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, maxBytesPerPartition: MAX_EVENT_BYTES, allowAutoTopicCreation: false });
  const admin = kafka.admin();
  let finish: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(todo.map((r) => r.topic))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}\u0000${batch.partition}`;
        const range = pending.get(id);
        if (!range) return;
        const to = BigInt(range.to);
        for (const m of batch.messages) {
          const at = BigInt(m.offset);
          if (at < BigInt(range.from)) continue;
          if (at >= to) break;
          each(batch.topic, batch.partition, m);
        }
        alive();
        const last = batch.messages.length ? BigInt(batch.messages[batch.messages.length - 1].offset) : -1n;
        // Debezium's topics are written without transactions: their offsets have no gaps.
        if (last >= to - 1n) pending.delete(id);
        if (!pending.size) finish();
      },
    });
    for (const r of todo) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from });
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not deliver ${pending.size} partition range(s) within ${READ_TIMEOUT_MS / 1000} s (first: ${[...pending.values()][0]?.topic})`)), READ_TIMEOUT_MS);
    });
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
