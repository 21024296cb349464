// Where the sync's consumer group starts reading. Normally its committed offsets; on the very
// first run, the offsets recorded with the start marker (prepare); if the group's offsets were
// lost (group deleted, offsets expired) the heartbeat of the last attempt still knows where it
// was. Starting earlier than necessary is always safe (writes are idempotent); later never is.
import type { Admin } from 'kafkajs';
import { ApplicationFailure } from '@temporalio/common';
import type { CaptureInfo, TopicOffset } from '../../workflows/definitions';

const id = (o: { topic: string; partition: number }) => `${o.topic}/${o.partition}`;

/**
 * Where each partition resumes (`offsets`), and the ones where that differs from the group's
 * committed offset (`seeks`): the consumer seeks those once it runs. (Setting group offsets
 * through the admin API would join the group with a throwaway consumer first: seconds lost.)
 */
export async function resumeOffsets(admin: Admin, capture: CaptureInfo, topics: string[], heartbeat: TopicOffset[]): Promise<{ offsets: TopicOffset[]; seeks: TopicOffset[] }> {
  const start = new Map(capture.startOffsets.map((o) => [id(o), o.offset]));
  const saved = new Map(heartbeat.map((o) => [id(o), o.offset]));
  const committed = await admin.fetchOffsets({ groupId: capture.name, topics });
  const result: TopicOffset[] = [];
  const seeks: TopicOffset[] = [];
  for (const t of committed) {
    const earliest = new Map((await admin.fetchTopicOffsets(t.topic)).map((p) => [p.partition, p.low]));
    for (const p of t.partitions) {
      const key = id({ topic: t.topic, partition: p.partition });
      let offset = p.offset;
      if (BigInt(offset) < 0n) offset = saved.get(key) ?? start.get(key) ?? earliest.get(p.partition) ?? '0';
      const low = earliest.get(p.partition);
      if (low !== undefined && BigInt(offset) < BigInt(low)) {
        throw ApplicationFailure.nonRetryable(
          `${t.topic} partition ${p.partition}: the sync must resume at offset ${offset} but the topic now starts at ${low} — events were deleted by retention before they were applied. ` +
            `Nothing can bring them back: restart the migration (a new backfill), and raise sync.retentionHours`,
          'EventsLost',
        );
      }
      result.push({ topic: t.topic, partition: p.partition, offset });
      if (offset !== p.offset) seeks.push({ topic: t.topic, partition: p.partition, offset });
    }
  }
  return { offsets: result, seeks };
}
