// The sync run's report to its workflow, every REPORT_MS: poll the source (heartbeat row,
// slot, connector), measure the Kafka backlog against the committed offsets, build the
// progress and signal it. One report at a time, and never in the way of the apply loop: a
// failed report is logged and the next one retries.
import type { Context } from '@temporalio/activity';
import type { Admin } from 'kafkajs';
import { syncProgressSignal } from '../../../contracts/messages';
import type { SyncProgress } from '../../../contracts/sync';
import type { SourceWatch } from './health';
import type { Positions } from './positions';
import type { RunState } from './state';
import type { DeadLetterStore } from '../../../engines/dead-letters';
import type { LagTracker } from '../lag';

const REPORT_MS = 3_000;

export interface ReportWiring {
  ctx: Context;
  admin: Admin;
  /** Every topic the run consumes; the marker topic's events are not counted as backlog. */
  topics: string[];
  markerTopic: string;
  positions: Positions;
  watch: SourceWatch;
  lag: LagTracker;
  run: RunState;
  deadLetters: DeadLetterStore;
  migrationId: string;
  progress: () => SyncProgress;
}

export class Reporter {
  private reporting: Promise<unknown> | null = null;
  private last = 0;
  private readonly workflowId: string;

  constructor(private readonly w: ReportWiring) {
    this.workflowId = w.ctx.info.workflowExecution?.workflowId ?? '';
  }

  /** Starts a report when none is in flight and REPORT_MS have passed since the last one began. */
  tick(): void {
    if (this.reporting || Date.now() - this.last < REPORT_MS) return;
    this.last = Date.now();
    this.reporting = this.report()
      .catch((err) => {
        // A busy source or an ended workflow must not stop the apply loop; the next report retries.
        this.w.ctx.log.warn(`sync report failed: ${(err as Error).message}`);
      })
      .finally(() => (this.reporting = null));
  }

  /** Waits for the report in flight, if any. */
  async settled(): Promise<void> {
    await this.reporting;
  }

  private async report(): Promise<SyncProgress> {
    const { ctx, watch, lag, run } = this.w;
    await watch.poll(Date.now());
    run.backlog = await this.measureBacklog();
    lag.lagging(run.backlog.partitions, Date.now());
    const p = this.w.progress();
    p.deadLetters = await this.w.deadLetters.count(this.w.migrationId);
    await ctx.client.workflow.getHandle(this.workflowId).signal(syncProgressSignal, p);
    return p;
  }

  /** Events between each partition's committed offset and its end, and the partitions holding any. */
  private async measureBacklog(): Promise<RunState['backlog']> {
    const { admin, topics, markerTopic, positions } = this.w;
    let events = 0;
    const partitions: string[] = [];
    for (const topic of topics) {
      const high = await admin.fetchTopicOffsets(topic);
      for (const p of high) {
        const at = positions.offset(topic, p.partition);
        const n = Number(BigInt(p.high) - BigInt(at?.offset ?? p.low));
        if (n > 0 && topic !== markerTopic) {
          events += n;
          partitions.push(`${topic}/${p.partition}`);
        }
      }
    }
    return { events, partitions };
  }
}
