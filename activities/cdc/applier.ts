// Turns one Kafka partition's messages into target writes, in order: decode, convert to the
// backfill's row form, coalesce per key, write, dead-letter what cannot be decoded, mapped or
// written — and only then say which offset is safe to commit. A truncate or a column added on
// the source is a barrier: everything before it is written first.
import type { KafkaMessage } from 'kafkajs';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { keyOf } from '../../engines/postgres/source';
import { decodeMessage } from './debezium';
import { rowFromDebezium } from '../../engines/postgres/capture/debezium-values';
import { coalesce } from '../../engines/coalesce';
import type { ChangeSink } from '../../engines/engine';
import type { DeadLetterStore } from '../../engines/dead-letters';
import { type ChangeEvent } from './types';
import { PoisonMessage } from '../../engines/errors';
import { type DeadLetter, type EventPosition, type RowChange } from '../../engines/rows';

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

/** What a batch did; `commitOffset` is the next offset to read (null: nothing safe to commit). */
export interface BatchOutcome {
  commitOffset: string | null;
  applied: number;
  deadLettered: number;
  newestSourceTsMs: number;
  /** Set when the spec says halt and a poison event stopped the batch (not committed). */
  halted: { position: EventPosition; reason: string } | null;
}

/** Re-reads a table's plan from the source after a column appeared in its events (applier → caller). */
export type Replanner = (plan: TablePlan, unknownFields: string[]) => Promise<TablePlan>;

export interface ApplierOptions {
  spec: Spec;
  migrationId: string;
  sink: ChangeSink;
  deadLetters: DeadLetterStore;
  replan: Replanner;
  /** Positions already dead-lettered that the operator chose to go past (resume after a halt). */
  skip: Set<string>;
  /** The table's column names on the source now (asked when events lack a planned column). */
  sourceColumns: (plan: TablePlan) => Promise<Set<string>>;
  /** What rows that existed before these columns were added hold in them (text form; null = NULL). */
  valuesBeforeAdd: (plan: TablePlan, columns: string[]) => Promise<Record<string, string | null>>;
  /** Called for events of the marker topic (heartbeats), which are not applied to the target. */
  onMarker: (event: ChangeEvent) => void;
}

export const positionId = (p: EventPosition) => `${p.topic}/${p.partition}/${p.offset}`;

const text = (b: Buffer | null | undefined) => (b == null ? null : b.toString('utf8'));

export class ChangeApplier {
  constructor(
    private readonly opts: ApplierOptions,
    /** Plans by topic; replaced in place when a table gains a column. */
    readonly plans: Map<string, TablePlan>,
    private readonly markerTopic: string,
  ) {}

  async applyBatch(batch: PartitionBatch): Promise<BatchOutcome> {
    const out: BatchOutcome = { commitOffset: null, applied: 0, deadLettered: 0, newestSourceTsMs: 0, halted: null };
    let pending: RowChange[] = [];
    const raw = new Map<string, KafkaMessage>();
    let plan = this.plans.get(batch.topic);

    const flush = async (upTo: KafkaMessage | null) => {
      if (pending.length && plan) {
        const failures = await this.opts.sink.apply(plan, coalesce(pending));
        const letters = failures.map((f) => this.letter(batch, raw.get(f.change.position.offset) ?? null, f.change.position.offset, f.reason, plan!.display));
        if (letters.length) {
          await this.opts.deadLetters.add(letters);
          out.deadLettered += letters.length;
          if (this.opts.spec.sync!.onPoison === 'halt') {
            // The failed rows' later neighbours are written already; stop before the first failure.
            const first = failures.map((f) => BigInt(f.change.position.offset)).reduce((a, b) => (a < b ? a : b));
            out.halted = { position: { topic: batch.topic, partition: batch.partition, offset: first.toString() }, reason: failures[0].reason };
            out.commitOffset = first.toString();
            out.applied += pending.length - failures.length;
            pending = [];
            raw.clear();
            return;
          }
        }
        out.applied += pending.length - failures.length;
        for (const c of pending) out.newestSourceTsMs = Math.max(out.newestSourceTsMs, c.sourceTsMs);
      }
      pending = [];
      raw.clear();
      if (upTo) out.commitOffset = (BigInt(upTo.offset) + 1n).toString();
    };

    for (const m of batch.messages) {
      if (out.halted) break;
      const position = { topic: batch.topic, partition: batch.partition, offset: m.offset };
      if (this.opts.skip.has(positionId(position))) {
        await flush(m);
        continue;
      }
      try {
        const decoded = decodeMessage(m.value);
        if (decoded.kind === 'tombstone') {
          // Sent after a delete for log compaction; the delete itself carried the change.
          if (!pending.length) out.commitOffset = (BigInt(m.offset) + 1n).toString();
          continue;
        }
        const event = decoded.event;
        if (batch.topic === this.markerTopic) {
          this.opts.onMarker(event);
          if (!pending.length) out.commitOffset = (BigInt(m.offset) + 1n).toString();
          continue;
        }
        if (!plan) throw new PoisonMessage(`topic ${batch.topic} belongs to no table of this migration`);
        if (event.op === 't') {
          await flush(null);
          await this.opts.sink.truncate(plan);
          out.applied += 1;
          await flush(m);
          continue;
        }
        const values = event.op === 'd' ? event.before : event.after;
        if (!values) throw new PoisonMessage(`a "${event.op}" event without ${event.op === 'd' ? 'before' : 'after'}`);
        // A delete's `before` carries only the key under REPLICA IDENTITY DEFAULT.
        let row = rowFromDebezium(plan, values, event.op === 'd' ? plan.key : undefined);
        if (event.op !== 'd' && row.unknown.length) {
          // A column appeared on the source: write what came before it with the old plan.
          await flush(null);
          plan = await this.opts.replan(plan, row.unknown);
          this.plans.set(batch.topic, plan);
          row = rowFromDebezium(plan, values);
        }
        if (event.op !== 'd' && row.missing.length) {
          // An event from before a column was added (replayed, or read late from another
          // partition) lacks it: the row then held what existing rows got when the column was
          // added, so it is written with that, as a full row. A column gone from the source is a drop.
          await this.checkColumnsExist(plan, row.missing, event.sourceTsMs);
          Object.assign(row.row, await this.valuesBeforeAdd(plan, row.missing));
        }
        const missingKey = plan.key.filter((k) => row.row[k] === undefined || row.row[k] === null);
        if (missingKey.length) throw new PoisonMessage(`${plan.display}: the event carries no value for key column ${missingKey.join(', ')}`);
        const key = keyOf(plan, row.row);
        raw.set(m.offset, m);
        pending.push(
          event.op === 'd'
            ? { kind: 'delete', key, position, sourceTsMs: event.sourceTsMs }
            : { kind: 'upsert', key, row: row.row, unavailable: row.unavailable, position, sourceTsMs: event.sourceTsMs },
        );
        if (pending.length >= this.opts.spec.sync!.batchEvents) await flush(m);
      } catch (err) {
        if (!(err instanceof PoisonMessage)) throw err;
        await flush(null);
        if (out.halted) break;
        await this.opts.deadLetters.add([this.letter(batch, m, m.offset, err.message, plan?.display ?? null)]);
        out.deadLettered += 1;
        if (this.opts.spec.sync!.onPoison === 'halt') {
          // Everything before it is written: the next read starts at the poison event itself.
          out.halted = { position, reason: err.message };
          out.commitOffset = m.offset;
          break;
        }
        out.commitOffset = (BigInt(m.offset) + 1n).toString();
      }
    }
    if (!out.halted) await flush(batch.messages.length ? batch.messages[batch.messages.length - 1] : null);
    return out;
  }

  private readonly addedValues = new Map<string, string | null>();

  private async valuesBeforeAdd(plan: TablePlan, columns: string[]): Promise<Record<string, string | null>> {
    const unknown = columns.filter((c) => !this.addedValues.has(`${plan.display}\u0000${c}`));
    if (unknown.length) {
      const read = await this.opts.valuesBeforeAdd(plan, unknown);
      for (const c of unknown) this.addedValues.set(`${plan.display}\u0000${c}`, read[c] ?? null);
    }
    return Object.fromEntries(columns.map((c) => [c, this.addedValues.get(`${plan.display}\u0000${c}`) ?? null]));
  }

  /** When each table's columns were last seen on the source (ms), to check a drop once, not per event. */
  private readonly columnsCheckedAt = new Map<string, number>();

  private async checkColumnsExist(plan: TablePlan, missing: string[], sourceTsMs: number): Promise<void> {
    const checked = this.columnsCheckedAt.get(plan.display);
    // Columns that existed at the last check existed when an older event was committed.
    if (checked !== undefined && sourceTsMs <= checked) return;
    const now = Date.now();
    const present = await this.opts.sourceColumns(plan);
    const gone = missing.filter((c) => !present.has(c));
    if (gone.length) {
      throw ApplicationFailure.nonRetryable(
        `${plan.display}: column${gone.length > 1 ? 's' : ''} ${gone.join(', ')} no longer exist${gone.length > 1 ? '' : 's'} on the source (dropped or renamed): ` +
          `the sync cannot follow this change. The target still has the column; change the target to match and restart the migration of this table`,
        'UnfollowableChange',
      );
    }
    this.columnsCheckedAt.set(plan.display, now);
  }

  private letter(batch: PartitionBatch, m: KafkaMessage | null, offset: string, reason: string, table: string | null): DeadLetter {
    return { migrationId: this.opts.migrationId, topic: batch.topic, partition: batch.partition, offset, key: text(m?.key), table, reason, value: text(m?.value) };
  }
}
