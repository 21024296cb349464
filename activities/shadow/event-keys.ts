// The row key a change event is about, in text form: the Kafka message key Debezium wrote
// (the key columns), decoded through the same converters the apply path uses.
import type { KafkaMessage } from 'kafkajs';
import type { TablePlan } from '../../contracts/tables';
import { decodeKey } from '../cdc/debezium';
import { rowFromDebezium } from '../../engines/postgres/capture/debezium-values';
import { keyOf } from '../../engines/postgres/source';

/** The key of the message's row, or null for a message without one (a truncate) or one that cannot be read. */
export function messageKey(plan: TablePlan, message: KafkaMessage): string[] | null {
  try {
    const raw = decodeKey(message.key);
    if (!raw) return null;
    const { row } = rowFromDebezium(plan, raw, plan.key);
    const key = keyOf(plan, row);
    return key.every((v) => typeof v === 'string') ? key : null;
  } catch {
    return null; // a poison key: the sync dead-letters it, shadow reads pass it by
  }
}
