// Where each partition of a sync run stands: the committed offsets (resumed from the
// heartbeat, the workflow's carried offsets and the group's), which of them this attempt
// committed itself, and the seeks still owed to the others. The committed offsets are what
// the run heartbeats, measures its backlog against and hands back to its workflow.
import type { Admin, Consumer } from 'kafkajs';
import type { CaptureInfo, TopicOffset } from '../../../contracts/capture';
import { resumeOffsets } from '../offsets';

/** Heartbeat details: where each partition is committed, so a new attempt resumes there. */
export interface ApplyCursor {
  offsets: TopicOffset[];
  eventsApplied: number;
}

const key = (topic: string, partition: number) => `${topic}/${partition}`;

/** Connects `admin` and works out where to resume; on failure `admin` is disconnected again. */
export async function openPositions(admin: Admin, capture: CaptureInfo, topics: string[], saved: ApplyCursor | undefined, carried: TopicOffset[]): Promise<Positions> {
  try {
    await admin.connect();
    return new Positions(await resumeOffsets(admin, capture, topics, saved?.offsets ?? [], carried));
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw err;
  }
}

export class Positions {
  private readonly committed = new Map<string, TopicOffset>();
  /** Partitions this attempt has committed: their position no longer depends on a seek. */
  private readonly committedHere = new Set<string>();
  private readonly seeks: TopicOffset[];

  constructor(resume: { offsets: TopicOffset[]; seeks: TopicOffset[] }) {
    for (const o of resume.offsets) this.committed.set(key(o.topic, o.partition), o);
    this.seeks = resume.seeks;
  }

  offset(topic: string, partition: number): TopicOffset | undefined {
    return this.committed.get(key(topic, partition));
  }

  /** Record an offset committed to Kafka by this attempt. */
  committedNow(topic: string, partition: number, offset: string): void {
    this.committed.set(key(topic, partition), { topic, partition, offset });
    this.committedHere.add(key(topic, partition));
  }

  all(): TopicOffset[] {
    return [...this.committed.values()];
  }

  cursor(eventsApplied: number): ApplyCursor {
    return { offsets: this.all(), eventsApplied };
  }

  /**
   * kafkajs keeps a seek only until the next rebalance or restart: seek again after every join
   * for partitions this attempt has not committed yet.
   */
  seekUncommitted(consumer: Consumer): void {
    for (const o of this.seeks) if (!this.committedHere.has(key(o.topic, o.partition))) consumer.seek(o);
  }
}
