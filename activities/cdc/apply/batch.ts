// One Kafka batch of one partition: applied to the target, then — only after the write and
// any dead letters succeeded — its offset committed and the consumer's own position moved on,
// then the figures counted and kafkajs told the batch is alive. A halt or a fatal failure stops
// every later batch of the run from doing anything.
import { ApplicationFailure } from '@temporalio/common';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { rethrowClassified } from '../../../engines/errors';
import type { ChangeApplier } from '../applier';
import type { Positions } from './positions';
import type { RunState } from './state';
import type { LagTracker } from '../lag';

export interface BatchWiring {
  applier: ChangeApplier;
  consumer: Consumer;
  positions: Positions;
  lag: LagTracker;
  run: RunState;
}

/** kafkajs's eachBatch for the sync consumer. */
export function batchHandler(w: BatchWiring): (payload: EachBatchPayload) => Promise<void> {
  return (payload) =>
    applyOneBatch(w, payload).catch((err) => {
      // Non-retryable failures end the activity; everything else kafkajs retries (re-reading from the commit).
      if (err instanceof ApplicationFailure && err.nonRetryable) w.run.fatal = err;
      throw err;
    });
}

async function applyOneBatch({ applier, consumer, positions, lag, run }: BatchWiring, { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
  if (run.halted || run.fatal || !isRunning() || isStale() || !batch.messages.length) return;
  const outcome = await applier.applyBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages }).catch((err) => {
    if (err instanceof ApplicationFailure) throw err;
    return rethrowClassified(err, `applying changes from ${batch.topic}`);
  });
  if (outcome.commitOffset !== null) {
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: outcome.commitOffset }]);
    positions.committedNow(batch.topic, batch.partition, outcome.commitOffset);
    // The consumer's own position: without it the next fetch starts where this run began.
    if (BigInt(outcome.commitOffset) > 0n) resolveOffset((BigInt(outcome.commitOffset) - 1n).toString());
  }
  run.eventsApplied += outcome.applied;
  lag.appliedEvents(`${batch.topic}/${batch.partition}`, outcome.applied, outcome.newestSourceTsMs, Date.now());
  if (outcome.halted) run.halted = outcome.halted;
  await heartbeat();
}
