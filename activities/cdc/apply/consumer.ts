// The sync's Kafka consumer: its settings (one event may be as large as a topic allows, so
// fetches are sized by MAX_EVENT_BYTES), how a crash it will not recover from reaches the run,
// and how it starts — subscribed from the beginning, manual commits, resume seeks re-applied
// after every group join.
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Positions } from './positions';
import type { RunState } from './state';
import { MAX_EVENT_BYTES } from '../topics';

export function syncConsumer(kafka: Kafka, groupId: string, run: RunState): Consumer {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    maxBytesPerPartition: MAX_EVENT_BYTES,
    maxBytes: 2 * MAX_EVENT_BYTES,
    allowAutoTopicCreation: false,
    retry: { retries: 30, maxRetryTime: 10_000 },
  });
  consumer.on(consumer.events.CRASH, (e) => {
    // kafkajs restarts itself after retriable errors; a crash it will not restart from ends this attempt.
    if (!e.payload.restart) run.crashed = e.payload.error;
  });
  return consumer;
}

export async function startConsuming(consumer: Consumer, topics: string[], positions: Positions, eachBatch: (payload: EachBatchPayload) => Promise<void>): Promise<void> {
  await consumer.connect();
  // A partition with no committed offset and no seek (lost in a rejoin) starts at the beginning:
  // replaying more is always safe, skipping never is.
  await consumer.subscribe({ topics, fromBeginning: true });
  const seekUncommitted = () => positions.seekUncommitted(consumer);
  consumer.on(consumer.events.GROUP_JOIN, seekUncommitted);
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.min(4, topics.length),
    eachBatch,
  });
  // Applied before the first fetch of each partition once it is assigned to this member.
  seekUncommitted();
}
