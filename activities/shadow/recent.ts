// The most recently changed keys of each table: the keys of the last `count` events of each
// partition of its change topic, newest first, distinct. Read by a throwaway group that
// commits nothing (topic-range.ts): the sync's consumer group is never joined or moved.
import type { Admin } from 'kafkajs';
import type { CaptureInfo } from '../../contracts/capture';
import type { Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { connectAdmin, kafkaFor } from '../cdc/topics';
import { messageKey } from './event-keys';
import { readRanges, tailRanges, type PartitionRange } from './topic-range';

/** Each plan's change topic (by its table), for plans capture covers. */
export function topicsByPlan(capture: CaptureInfo, plans: TablePlan[]): Map<string, TablePlan> {
  const out = new Map<string, TablePlan>();
  for (const t of capture.topics) {
    const plan = plans.find((p) => p.table.schema === t.table.schema && p.table.name === t.table.name);
    if (plan) out.set(t.topic, plan);
  }
  return out;
}

/** Reads the ranges and returns, per table (display name), the distinct keys in them, newest first. */
export async function keysInRanges(spec: Spec, capture: CaptureInfo, plans: TablePlan[], ranges: (admin: Admin, topics: string[]) => Promise<PartitionRange[]>, purpose: string, alive: () => void): Promise<Map<string, string[][]>> {
  const byTopic = topicsByPlan(capture, plans);
  const kafka = kafkaFor(spec);
  const admin = await connectAdmin(spec, kafka);
  let todo: PartitionRange[];
  try {
    todo = await ranges(admin, [...byTopic.keys()]);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  // Per table, each key once with the offset of its newest event (many events of one hot key cost one entry).
  const seen = new Map<string, Map<string, bigint>>();
  await readRanges(
    kafka,
    todo,
    `${capture.name}-${purpose}`,
    (topic, _partition, message) => {
      const plan = byTopic.get(topic);
      if (!plan) return;
      const key = messageKey(plan, message);
      if (!key) return;
      let keys = seen.get(plan.display);
      if (!keys) seen.set(plan.display, (keys = new Map()));
      const id = JSON.stringify(key);
      const at = BigInt(message.offset);
      const had = keys.get(id);
      if (had === undefined || at > had) keys.set(id, at);
    },
    alive,
  );
  const out = new Map<string, string[][]>();
  for (const [table, keys] of seen) {
    const newestFirst = [...keys].sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0));
    out.set(table, newestFirst.map(([id]) => JSON.parse(id) as string[]));
  }
  return out;
}

/** The distinct keys of the last `count` events of each partition of each table's topic, newest first (at most `count` per table). */
export async function recentKeys(spec: Spec, capture: CaptureInfo, plans: TablePlan[], count: number, alive: () => void): Promise<Map<string, string[][]>> {
  if (count <= 0) return new Map();
  const found = await keysInRanges(spec, capture, plans, (admin, topics) => tailRanges(admin, topics, count), 'shadow', alive);
  for (const [table, keys] of found) found.set(table, keys.slice(0, count));
  return found;
}
