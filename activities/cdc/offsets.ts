// Where the sync's consumer group starts reading: the furthest of what Ferry knows was
// committed after a write — the group's committed offset, the last attempt's heartbeat, and the
// offsets the sync workflow carries from its last finished run (group offsets expire during a
// long pause or halt; the workflow's copy does not). With none of them, on the very first run,
// the offsets recorded with the start marker (prepare). Starting earlier than necessary is
// always safe (writes are idempotent); later never is, and every candidate was committed only
// after its events were written.
import type { Admin } from 'kafkajs';
import { ApplicationFailure } from '@temporalio/common';
import type { CaptureInfo, TopicOffset } from '../../contracts/capture';
import { furthestOffsets } from '../../contracts/offsets';

const id = (o: { topic: string; partition: number }) => `${o.topic}/${o.partition}`;

/**
 * Where each partition resumes (`offsets`), and the ones where that differs from the group's
 * committed offset (`seeks`): the consumer seeks those once it runs. (Setting group offsets
 * through the admin API would join the group with a throwaway consumer first: seconds lost.)
 */
export async function resumeOffsets(admin: Admin, capture: CaptureInfo, topics: string[], heartbeat: TopicOffset[], carried: TopicOffset[] = []): Promise<{ offsets: TopicOffset[]; seeks: TopicOffset[] }> {
  const start = new Map(capture.startOffsets.map((o) => [id(o), o.offset]));
  const saved = new Map(furthestOffsets(carried, heartbeat).map((o) => [id(o), o.offset]));
  const committed = await admin.fetchOffsets({ groupId: capture.name, topics });
  const result: TopicOffset[] = [];
  const seeks: TopicOffset[] = [];
  for (const t of committed) {
    const earliest = new Map((await admin.fetchTopicOffsets(t.topic)).map((p) => [p.partition, p.low]));
    for (const p of t.partitions) {
      const key = id({ topic: t.topic, partition: p.partition });
      let offset = p.offset;
      const known = saved.get(key);
      if (BigInt(offset) < 0n) offset = known ?? start.get(key) ?? earliest.get(p.partition) ?? '0';
      else if (known !== undefined && BigInt(known) > BigInt(offset)) offset = known;
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
