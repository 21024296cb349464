// Ferry's change topics: their names (as Debezium will spell them), creating them with the
// retention the sync needs, and refusing existing ones that would drop events before the
// sync reads them. Topics are created by Ferry, not by broker auto-creation, so their
// retention never depends on broker defaults.
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { ApplicationFailure } from '@temporalio/common';
import type { Spec } from '../../contracts/spec';
import { describeRef, redact } from '../../contracts/references';
import { resolveUrl } from '../../engines/connections';
import type { TopicOffset } from '../../contracts/capture';
import type { QualifiedTable, TablePlan } from '../../contracts/tables';
import { markerTable } from '../../engines/postgres/capture/marker';

/** Kafka refuses longer topic names. */
const MAX_TOPIC = 249;

/** A kafkajs client for the spec's brokers (`sync.kafka`, resolved here, inside the activity). */
export function kafkaFor(spec: Spec): Kafka {
  if (!spec.sync) throw ApplicationFailure.nonRetryable('the spec has no sync section (mode online needs one)', 'SpecError');
  const brokers = resolveUrl(spec.sync.kafka, 'sync.kafka').split(',').map((b) => b.trim()).filter(Boolean);
  return new Kafka({ clientId: 'ferry', brokers, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

/**
 * The topic Debezium writes a table's changes to: `<prefix>.<schema>.<table>`, where Debezium
 * replaces every character outside [a-zA-Z0-9._-] with `_` (checked against Debezium 2.7:
 * "Sales"."Line Items" → `<prefix>.Sales.Line_Items`). Java replaces per UTF-16 unit, and so
 * does this regex (no `u` flag): an emoji becomes two underscores on both sides.
 */
export function topicForTable(prefix: string, table: QualifiedTable): string {
  return `${prefix}.${table.schema}.${table.name}`.replace(/[^a-zA-Z0-9._-]/g, '_');
}

export function markerTopicFor(prefix: string): string {
  return topicForTable(prefix, markerTable);
}

/** Where Debezium sends its own heartbeat records (topic.heartbeat.prefix default + topic.prefix). */
export function heartbeatTopicFor(prefix: string): string {
  return `__debezium-heartbeat.${prefix}`;
}

/**
 * Every plan table's topic, and the problems that stop capture: two tables on one topic (their
 * events would mix), names Kafka refuses (too long, or differing only by `.`/`_`, which Kafka
 * treats as colliding).
 */
export function planTopics(prefix: string, plans: TablePlan[]): { topics: Array<{ table: QualifiedTable; topic: string }>; problems: string[] } {
  const problems: string[] = [];
  const byTopic = new Map<string, string>();
  const byMetric = new Map<string, string>();
  const show = (t: QualifiedTable) => `${t.schema}.${t.name}`;
  const all = [...plans.map((p) => p.table), markerTable];
  const topics: Array<{ table: QualifiedTable; topic: string }> = [];
  for (const table of all) {
    const topic = topicForTable(prefix, table);
    const metric = topic.replace(/\./g, '_');
    if (topic.length > MAX_TOPIC) problems.push(`${show(table)}: its topic name ${topic} is longer than Kafka's ${MAX_TOPIC} characters; rename the table or migrate it separately`);
    if (byTopic.has(topic)) {
      problems.push(`${show(table)} and ${byTopic.get(topic)} would both be written to topic ${topic} (Debezium replaces characters outside [a-zA-Z0-9._-] with _): rename one, or migrate them in separate specs`);
    } else if (byMetric.has(metric)) {
      problems.push(`${show(table)} and ${byMetric.get(metric)} map to topics that differ only by . and _ (${topic}), which Kafka refuses to hold together: rename one, or migrate them in separate specs`);
    }
    byTopic.set(topic, show(table));
    byMetric.set(metric, show(table));
    if (table !== markerTable) topics.push({ table, topic });
  }
  return { topics, problems };
}

/** The settings Ferry's change topics need: time-based deletion only, never compaction or size limits. */
export function topicConfig(retentionHours: number): Record<string, string> {
  return { 'cleanup.policy': 'delete', 'retention.ms': String(retentionHours * 3_600_000), 'retention.bytes': '-1', 'max.message.bytes': String(MAX_EVENT_BYTES) };
}

/**
 * The largest change event Ferry's topics and connector accept. Kafka's 1 MB default would
 * fail the connector on the first large row (a row over the limit stops Debezium's task).
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/** The kafka-configs command that gives a topic those settings, with the brokers as the spec names them. */
function fixCommand(spec: Spec, topic: string, retentionHours: number): string {
  const brokers = spec.sync ? spec.sync.kafka.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, '"$$$1"') : '<brokers>';
  const config = Object.entries(topicConfig(retentionHours)).map(([k, v]) => `${k}=${v}`).join(',');
  return `kafka-configs.sh --bootstrap-server ${brokers} --alter --entity-type topics --entity-name ${topic} --add-config ${config}`;
}

/** Why an existing topic would lose events the sync still needs, or null when its settings will do. */
export function retentionProblem(topic: string, entries: Record<string, string | undefined>, retentionHours: number): string | null {
  const wantMs = BigInt(retentionHours) * 3_600_000n;
  const policy = (entries['cleanup.policy'] ?? 'delete').split(',').map((s) => s.trim());
  const ms = BigInt(entries['retention.ms'] ?? '-1');
  const bytes = BigInt(entries['retention.bytes'] ?? '-1');
  const why: string[] = [];
  // Compaction keeps only a key's last record: a delete event goes as soon as its tombstone
  // follows, and the tombstone itself after delete.retention.ms — so a late sync misses deletes.
  if (policy.includes('compact')) why.push(`cleanup.policy is ${policy.join(',')} (compaction drops delete events before the sync reads them)`);
  if (ms >= 0n && ms < wantMs) why.push(`retention.ms is ${ms} (${Number(ms) / 3_600_000} h), less than sync.retentionHours = ${retentionHours} h`);
  if (bytes >= 0n) why.push(`retention.bytes is ${bytes}, so events can be deleted by size before the sync reads them`);
  return why.length ? `topic ${topic} already exists and ${why.join('; ')}` : null;
}

/** Problems with topics that exist already (describeConfigs), each with the command that fixes it. */
export async function existingTopicProblems(admin: Admin, spec: Spec, topics: string[], retentionHours: number): Promise<string[]> {
  const present = new Set(await admin.listTopics());
  const existing = topics.filter((t) => present.has(t));
  if (!existing.length) return [];
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: existing.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: Object.keys(topicConfig(retentionHours)) })),
  });
  const problems: string[] = [];
  // One partition only: a truncate carries no key, so with more it could not be ordered
  // against the rows on the other partitions (see sync.partitions in the spec).
  const { topics: meta } = await admin.fetchTopicMetadata({ topics: existing });
  for (const t of meta) {
    if (t.partitions.length > 1) problems.push(`topic ${t.name} already exists with ${t.partitions.length} partitions; Ferry needs 1 (a truncate carries no key and cannot be ordered against rows on other partitions): delete the topic, or migrate the table under another name`);
  }
  for (const r of described.resources) {
    const entries = Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]));
    const p = retentionProblem(r.resourceName, entries, retentionHours);
    if (p) problems.push(`${p}: run ${fixCommand(spec, r.resourceName, retentionHours)}`);
  }
  return problems;
}

/** Creates the topics that are missing (another creator winning the race is fine: they are checked by the caller). */
export async function createMissingTopics(admin: Admin, topics: Array<{ topic: string; partitions: number }>, retentionHours: number): Promise<string[]> {
  const present = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !present.has(t.topic));
  if (!missing.length) return [];
  const configEntries = Object.entries(topicConfig(retentionHours)).map(([name, value]) => ({ name, value }));
  try {
    await admin.createTopics({ waitForLeaders: true, topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions, configEntries })) });
  } catch (err) {
    const e = err as Error & { errors?: Array<{ type?: string }> };
    if (!e.errors?.every((x) => x.type === 'TOPIC_ALREADY_EXISTS')) throw err;
  }
  return missing.map((t) => t.topic);
}

/** Every partition's end offset: where a reader that wants only what comes next starts. */
export async function endOffsets(admin: Admin, topics: string[]): Promise<TopicOffset[]> {
  const out: TopicOffset[] = [];
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, offset: p.high });
  }
  return out;
}

/** Connects an admin client; an unreachable Kafka is retryable and named by its spec reference. */
export async function connectAdmin(spec: Spec, kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`Kafka (sync.kafka ${describeRef(spec.sync?.kafka ?? '')}) is unreachable: ${redact((err as Error).message)}`);
  }
  return admin;
}
