// What a rehearsal's rollback drill applies changes to: nothing. The drill runs the reverse
// sync's whole machinery — capture on the target, the consumer, offsets committed, markers
// passed — so its timing is real, but it must never write to the production source: a write a
// tester made on the staging target, or one the forward sync made before it stopped, would
// land on the application's rows. These stand in for the source's sink and dead-letter store:
// the sink drops every change, the dead letters are kept in memory (the sync's figures count them).
import type { DeadLetterStore } from './dead-letters';
import type { ChangeSink } from './engine';
import type { ChangeFailure, DeadLetter, RowChange } from './rows';
import type { TablePlan } from '../contracts/tables';

export class DrillSink implements ChangeSink {
  async apply(_plan: TablePlan, _changes: RowChange[]): Promise<ChangeFailure[]> {
    return [];
  }

  async truncate(): Promise<void> {}

  async addColumns(): Promise<void> {}
}

export class DrillDeadLetters implements DeadLetterStore {
  private readonly entries: Array<DeadLetter & { at: string }> = [];

  async add(entries: DeadLetter[]): Promise<void> {
    this.entries.push(...entries.map((e) => ({ ...e, at: new Date().toISOString() })));
  }

  async count(migrationId: string): Promise<number> {
    return this.entries.filter((e) => e.migrationId === migrationId).length;
  }

  async list(migrationId: string, limit: number): Promise<Array<DeadLetter & { at: string }>> {
    return this.entries.filter((e) => e.migrationId === migrationId).slice(0, limit);
  }
}
