// What one sync run knows as it goes, in one place: the figures its reports show (events
// applied, columns added, the Kafka backlog) and what ends it early (a halt on a poison event,
// a non-retryable batch failure, a consumer crash). The consumer's callbacks write it; the
// loop, the reports and the result read it.
import type { EventPosition } from '../../../engines/rows';

export interface Halt {
  position: EventPosition;
  reason: string;
}

export class RunState {
  eventsApplied: number;
  /** Columns followed so far (carried from earlier runs): the same array every report shows. */
  readonly columnsAdded: string[];
  halted: Halt | null = null;
  /** A non-retryable failure of a batch: the activity ends with it. */
  fatal: unknown = null;
  /** A consumer crash kafkajs will not restart from: the activity ends with it. */
  crashed: Error | null = null;
  /** Events in Kafka not applied yet, and the partitions holding them, as of the last report. */
  backlog: { events: number; partitions: string[] } = { events: 0, partitions: [] };

  constructor(
    readonly startedAt: number,
    totals: { eventsApplied: number; columnsAdded: string[] },
  ) {
    this.eventsApplied = totals.eventsApplied;
    this.columnsAdded = [...totals.columnsAdded];
  }

  /** The loop goes on while run time is left and nothing halted, failed or crashed. */
  running(runForMs: number): boolean {
    return Date.now() - this.startedAt < runForMs && !this.halted && !this.fatal && !this.crashed;
  }

  /** Once the consumer has stopped: a fatal batch failure, else a crash, is the activity's failure. */
  throwIfFailed(): void {
    if (this.fatal) throw this.fatal;
    if (this.crashed) throw this.crashed;
  }
}
