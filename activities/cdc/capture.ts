// Change capture set-up and tear-down, as two activities. prepareCapture checks everything
// first (source, topics), then creates — marker table, publication, topics, connector — each
// step "create or converge", so a retried or re-run activity ends in the same state and never
// duplicates anything. It returns only once a start marker written to the source has come
// out of Kafka, with the end offsets read after that: the sync replays from there, and the
// backfill starts only after this returns, so every change is either copied or replayed.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Admin, Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { type Spec } from '../../contracts/spec';
import { describeRef } from '../../contracts/references';
import type { CaptureInfo, StartMarker, TopicOffset } from '../../contracts/capture';
import type { QualifiedTable, TablePlan } from '../../contracts/tables';
import { pgPool, resolveUrl } from '../../engines/connections';
import { connectorValueConfig } from '../../engines/postgres/capture/debezium-config';
import { captureObjectsExist, ensurePublication, slotActive } from '../../engines/postgres/capture/publication';
import { ConnectClient, ConnectError, connectFor, traceSummary } from './connect';
import { checkSource } from '../../engines/postgres/capture/source-checks';
import { connectorHeartbeatQuery, ensureMarkerTable, markerFromEvent, markerTable, writeStartMarker } from '../../engines/postgres/capture/marker';
import { CONNECTOR_OWNER_KEY, claimName, ownershipProblems, recordedOwner } from '../../engines/postgres/capture/ownership';
import { removeCapture } from './release';
import type { CaptureRelease } from '../../contracts/capture-release';
import { MAX_EVENT_BYTES, connectAdmin, createMissingTopics, endOffsets, existingTopicProblems, heartbeatTopicFor, kafkaFor, markerTopicFor, planTopics } from './topics';

const CONNECTOR_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';
const HEARTBEAT_MS = 5_000;
const RUNNING_TIMEOUT_MS = 180_000;
const MARKER_TIMEOUT_MS = 120_000;
/** How often Debezium runs its heartbeat query, keeping the slot moving while captured tables are quiet. */
const CONNECTOR_HEARTBEAT_MS = 10_000;

/** Heartbeats when running as an activity; a no-op when called directly (tests, scripts). */
function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not inside an activity
  }
}

function keepAlive(): () => void {
  heartbeat();
  const timer = setInterval(() => heartbeat(), HEARTBEAT_MS);
  return () => clearInterval(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configurationError(problems: string[]): ApplicationFailure {
  const text = problems.length === 1 ? problems[0] : `change capture cannot start:\n- ${problems.join('\n- ')}`;
  return ApplicationFailure.nonRetryable(text, 'ConfigurationError');
}

/**
 * The one name Ferry gives a migration's connector, slot, publication, topic prefix and
 * consumer group: `ferry_` + the id in [a-z0-9_] (a slot name's alphabet), at most 63
 * characters (PostgreSQL's identifier limit). Unless the id already is such a name, a short
 * hash of the exact id follows: `orders-v2` and `orders_v2` read alike but must never share
 * a slot (what is left to collide, an id chosen to equal another's name, ownership refuses).
 */
export function captureName(migrationId: string): string {
  const prefixed = prefixedName(migrationId);
  return prefixed === migrationId && prefixed.length <= 63 ? prefixed : hashedName(prefixed, migrationId);
}

/**
 * The reverse capture's name (on the target, after the switch): the forward name's rule applied
 * to `<id>/reverse`, whose `/` no migration id's own name can produce unhashed, so it never
 * equals any migration's forward name.
 */
export function reverseCaptureName(migrationId: string): string {
  return captureName(`${migrationId}/reverse`);
}

/**
 * The name the code before per-id hashing gave (fa419ed and earlier): ids that differ only in
 * `-` and `_` shared it. Only `ferry cleanup` looks for it, for migrations started then whose
 * recorded name it cannot read.
 */
export function legacyCaptureName(migrationId: string): string {
  const prefixed = prefixedName(migrationId);
  return prefixed.length <= 63 && !/[^a-z0-9_-]/.test(migrationId) ? prefixed : hashedName(prefixed, migrationId);
}

/** `ferry_` + the id in a slot name's alphabet. */
function prefixedName(migrationId: string): string {
  const base = migrationId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return base.startsWith('ferry_') ? base : `ferry_${base}`;
}

/** Cut to fit 63 characters with a short hash of the exact id. */
function hashedName(prefixed: string, migrationId: string): string {
  const hash = createHash('sha256').update(migrationId).digest('hex').slice(0, 8);
  return `${prefixed.slice(0, 63 - 9).replace(/_+$/, '')}_${hash}`;
}

/** A table as a Debezium include-list regex: exact, whatever characters the names hold. */
export function tableRegex(t: QualifiedTable): string {
  // Commas split Debezium's lists, so anything but [A-Za-z0-9_] becomes a \x{…} escape.
  const esc = (s: string) => s.replace(/[^A-Za-z0-9_]/gu, (c) => `\\x{${c.codePointAt(0)!.toString(16)}}`);
  return `${esc(t.schema)}\\.${esc(t.name)}`;
}

/** How Connect reaches the source: host/port from source.url unless sync.sourceHost/sourcePort say otherwise. */
function databaseConfig(spec: Spec): Record<string, string> {
  const url = new URL(resolveUrl(spec.source.url, 'source.url'));
  const host = spec.sync?.sourceHost ?? (url.hostname.replace(/^\[|\]$/g, '') || url.searchParams.get('host') || '');
  const user = decodeURIComponent(url.username);
  if (!host || host.startsWith('/')) {
    throw configurationError(['source.url names no TCP host Kafka Connect can reach: set sync.sourceHost (and sync.sourcePort) to the address Connect uses']);
  }
  if (!user) throw configurationError(['source.url names no user: Debezium logs in with the user of source.url; add it (postgres://user@host/db)']);
  const config: Record<string, string> = {
    'database.hostname': host,
    'database.port': String(spec.sync?.sourcePort ?? (url.port || 5432)),
    'database.user': user,
    'database.password': decodeURIComponent(url.password),
    'database.dbname': decodeURIComponent(url.pathname.slice(1)),
  };
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) config['database.sslmode'] = sslmode;
  return config;
}

/** The Debezium connector for a migration. The password is in it: never return or log this object. */
export function connectorConfig(spec: Spec, plans: TablePlan[], name: string, migrationId: string): Record<string, string> {
  const keyed = plans.filter((p) => p.keySource !== 'primary key');
  const badColumn = keyed.flatMap((p) => p.key.filter((c) => /[,;:]/.test(c)).map((c) => `${p.display}.${c}`));
  if (badColumn.length) {
    throw configurationError([`key column${badColumn.length > 1 ? 's' : ''} ${badColumn.join(', ')} contain , ; or : which Debezium's message.key.columns cannot express: key the table by other columns or rename the column`]);
  }
  return {
    'connector.class': CONNECTOR_CLASS,
    'tasks.max': '1',
    'plugin.name': 'pgoutput',
    ...databaseConfig(spec),
    'topic.prefix': name,
    'table.include.list': [...plans.map((p) => p.table), markerTable].map(tableRegex).join(','),
    'slot.name': name,
    // Ferry owns the publication (created before the connector), so Debezium never alters it.
    'publication.name': name,
    'publication.autocreate.mode': 'disabled',
    // The backfill is the snapshot: Debezium only streams what happens from now on.
    'snapshot.mode': 'no_data',
    // Debezium skips truncates unless told otherwise; the sync applies them in order.
    'skipped.operations': 'none',
    'heartbeat.interval.ms': String(CONNECTOR_HEARTBEAT_MS),
    // Large rows: the producer must send what the topics accept (needs Connect's default
    // connector.client.config.override.policy=All).
    'producer.override.max.request.size': String(MAX_EVENT_BYTES),
    'heartbeat.action.query': connectorHeartbeatQuery(migrationId),
    // Whose connector this is: a later prepare under the same name for another id is refused.
    [CONNECTOR_OWNER_KEY]: migrationId,
    // Tables keyed by a unique index (no primary key, or another key chosen in the spec):
    // without this their events would carry no key, or a key the sync does not use.
    ...(keyed.length ? { 'message.key.columns': keyed.map((p) => `${tableRegex(p.table)}:${p.key.join(',')}`).join(';') } : {}),
    ...connectorValueConfig,
  };
}


/** Waits for connector and task RUNNING and the slot active; a FAILED task is a configuration error. */
async function waitRunning(connect: ConnectClient, pool: Pool, name: string): Promise<void> {
  const deadline = Date.now() + RUNNING_TIMEOUT_MS;
  let restarted = false;
  let last = 'not registered yet';
  for (;;) {
    const s = await connect.status(name).catch((err: ConnectError) => {
      if (err.status === 0) throw err;
      return null; // 409 while Connect rebalances, and the like: ask again
    });
    if (s) {
      const failed = s.connector.state === 'FAILED' ? { what: 'connector', trace: s.connector.trace } : s.tasks.filter((t) => t.state === 'FAILED').map((t) => ({ what: `task ${t.id}`, trace: t.trace }))[0];
      if (failed && !restarted) {
        // A connector left FAILED by an earlier attempt keeps failing until restarted, even with a fixed config.
        restarted = true;
        await connect.restartFailed(name);
        await sleep(3_000);
        continue;
      } else if (failed) {
        throw configurationError([`Debezium connector ${name} ${failed.what} FAILED: ${connect.scrub(traceSummary(failed.trace))} (GET /connectors/${name}/status on Kafka Connect shows the whole trace)`]);
      } else if (s.connector.state === 'RUNNING' && s.tasks.length && s.tasks.every((t) => t.state === 'RUNNING')) {
        if ((await slotActive(pool, name)).active) return;
        last = `connector RUNNING, replication slot ${name} not active yet`;
      } else {
        last = `connector ${s.connector.state}, tasks ${s.tasks.map((t) => t.state).join(',') || 'none'}`;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`Debezium connector ${name} did not start streaming within ${RUNNING_TIMEOUT_MS / 1000} s (${last}): check GET /connectors/${name}/status and the Kafka Connect log`);
    }
    await sleep(1_000);
  }
}

/** Writes the start marker and reads the marker topic until its event arrives. */
async function startMarker(kafka: Kafka, admin: Admin, pool: Pool, markerTopic: string, migrationId: string, name: string): Promise<StartMarker> {
  // Where the marker topic ends now: the event can only come after this.
  const from = await endOffsets(admin, [markerTopic]);
  const written = await writeStartMarker(pool, migrationId);
  // A throwaway group that commits nothing; it is deleted afterwards.
  const groupId = `${name}-prepare-${written.token.slice(0, 8)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: markerTopic, fromBeginning: true });
    let found: (value: StartMarker) => void = () => undefined;
    const seen = new Promise<StartMarker>((resolve) => (found = resolve));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (!message.value) return;
        const raw = message.value.toString('utf8');
        let after: Record<string, unknown> | null | undefined;
        try {
          after = (JSON.parse(raw) as { after?: Record<string, unknown> | null }).after;
        } catch {
          return; // not a Debezium JSON event: not ours to judge here
        }
        const row = markerFromEvent(after);
        if (row?.migration !== migrationId || row.kind !== 'start' || row.token !== written.token) return;
        // source.lsn can exceed 2^53: read its digits from the text rather than from JSON.parse.
        const lsn = /"source":\{[^}]*"lsn":(\d+)/.exec(raw)?.[1] ?? null;
        found({
          token: written.token,
          writtenAt: written.writtenAt.toISOString(),
          seenAt: new Date().toISOString(),
          position: { topic, partition, offset: message.offset },
          lsn,
        });
      },
    });
    for (const o of from) consumer.seek({ topic: o.topic, partition: o.partition, offset: o.offset });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Debezium is not delivering: the start marker written to ${markerTable.schema}.${markerTable.name} did not reach topic ${markerTopic} within ${MARKER_TIMEOUT_MS / 1000} s; check GET /connectors/${name}/status and the Kafka Connect log`)),
        MARKER_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([seen, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/** Wraps Connect errors: unreachable or 5xx/409 stay retryable, a refused configuration does not. */
function classifyConnect(err: unknown, hint = ''): never {
  if (err instanceof ConnectError && (err.status === 400 || err.status === 401 || err.status === 403 || err.status === 422)) {
    throw configurationError([`${err.message.trim()}${hint}`]);
  }
  throw err;
}

/**
 * Events wait in Kafka for the whole backfill before the sync replays them. With a throttle
 * the backfill's length can be estimated: retention must outlast it with room to spare
 * (verification and a stalled day included). Unthrottled, the copy runs far faster than any
 * sensible retention; the sync checks on resume that no event expired (EventsLost).
 */
export function retentionForBackfill(spec: Spec, plans: TablePlan[]): string | null {
  const rate = spec.backfill.maxRowsPerSecond;
  if (!rate || !spec.sync) return null;
  const rows = plans.reduce((n, p) => n + p.estimatedRows, 0);
  const hours = rows / rate / 3600;
  const needed = Math.ceil(hours * 2 + 24);
  if (needed <= spec.sync.retentionHours) return null;
  return `sync.retentionHours ${spec.sync.retentionHours} is too short: at backfill.maxRowsPerSecond ${rate} the ${rows} estimated rows take about ${hours.toFixed(1)} h to copy, and the change events must outlast that with a margin: set sync.retentionHours to at least ${needed} (or raise the throttle)`;
}

/** `name`: the reverse capture's own (reverseCaptureName); by default the migration's captureName. */
export async function prepareCapture(input: { spec: Spec; plans: TablePlan[]; migrationId: string; name?: string }): Promise<CaptureInfo> {
  const { spec, plans, migrationId } = input;
  if (!spec.sync) throw ApplicationFailure.nonRetryable('mode online needs the sync section (sync.connect, sync.kafka)', 'SpecError');
  const sync = spec.sync;
  const name = input.name ?? captureName(migrationId);
  const pool = pgPool(spec.source.url);
  const config = connectorConfig(spec, plans, name, migrationId);
  const connect = connectFor(spec, [config['database.password']]);
  const kafka = kafkaFor(spec);
  const reach = `Connect reaches the source as ${config['database.user']}@${config['database.hostname']}:${config['database.port']}/${config['database.dbname']}: set sync.sourceHost / sync.sourcePort when Connect runs in another network`;
  const stop = keepAlive();
  let admin: Admin | undefined;
  try {
    // 1. Every check, before anything is created.
    const { topics, problems } = planTopics(name, plans);
    const markerTopic = markerTopicFor(name);
    problems.push(...(await checkSource(pool, plans, name)));
    problems.push(...(await nameProblems(pool, connect, name, migrationId)));
    const backfillProblem = retentionForBackfill(spec, plans);
    if (backfillProblem) problems.push(backfillProblem);
    // Connect answering (an unreachable one is retryable) and able to run Debezium's connector.
    if (!(await connect.plugins().catch((err) => classifyConnect(err))).includes(CONNECTOR_CLASS)) {
      problems.push(`Kafka Connect (sync.connect ${describeRef(sync.connect)}) has no ${CONNECTOR_CLASS} plugin: install Debezium's PostgreSQL connector (debezium-connector-postgres) in its plugin.path and restart it`);
    } else {
      // Connect checks the config itself — Debezium by connecting to the source from Connect's
      // network — so an address only the worker can reach is refused before anything exists.
      const invalid = await connect.validate(CONNECTOR_CLASS, { ...config, name }).catch((err) => classifyConnect(err));
      if (invalid.length) problems.push(`Kafka Connect refuses the connector config: ${invalid.join('; ')} (${reach})`);
    }
    admin = await connectAdmin(spec, kafka);
    problems.push(...(await existingTopicProblems(admin, spec, [...topics.map((t) => t.topic), markerTopic], sync.retentionHours)));
    if (problems.length) throw configurationError(problems);

    // 2. Create or converge: the claim on the name first, then marker table, publication, topics, connector.
    const owner = await claimName(pool, name, migrationId);
    if (owner !== migrationId) throw configurationError(ownershipProblems({ name, migrationId, owner, slotExists: false, publicationExists: false }));
    await ensureMarkerTable(pool);
    await ensurePublication(pool, name, plans);
    await createMissingTopics(
      admin,
      [
        ...topics.map((t) => ({ topic: t.topic, partitions: sync.partitions })),
        // Marker and heartbeat topics carry a few keys and little traffic: one partition keeps them in order.
        { topic: markerTopic, partitions: 1 },
        { topic: heartbeatTopicFor(name), partitions: 1 },
      ],
      sync.retentionHours,
    );
    // A concurrent creator (or broker auto-creation) may have won: check what is there now.
    const after = await existingTopicProblems(admin, spec, [...topics.map((t) => t.topic), markerTopic], sync.retentionHours);
    if (after.length) throw configurationError(after);
    await connect.putConfig(name, config).catch((err) => classifyConnect(err, ` (${reach})`));
    await waitRunning(connect, pool, name).catch((err) => classifyConnect(err));

    // 3. The start marker, then the offsets the sync starts from.
    const marker = await startMarker(kafka, admin, pool, markerTopic, migrationId, name);
    const startOffsets: TopicOffset[] = await endOffsets(admin, [...topics.map((t) => t.topic), markerTopic]);
    return { name, topics, markerTopic, marker, startOffsets, retentionHours: sync.retentionHours };
  } finally {
    stop();
    await admin?.disconnect().catch(() => undefined);
  }
}

/**
 * Undoes prepareCapture when a migration ends or is aborted. It never throws and never waits
 * without bound (an abort must end even with Kafka Connect down): every step is tried, and
 * what could not be removed comes back in the report with the command that removes it.
 * Topics are kept on purpose: they may still be read, and they expire by their retention.
 */
export async function releaseCapture(input: { spec: Spec; captureName?: string; migrationId: string }): Promise<CaptureRelease> {
  // Without a name (prepare was cut short), the one prepare would have used.
  const name = input.captureName ?? captureName(input.migrationId);
  const stop = keepAlive();
  try {
    const report = await removeCapture(input.spec, name, input.migrationId);
    if (report.left.length) {
      try {
        Context.current().log.warn(`change capture ${name} not fully released`, { left: report.left });
      } catch {
        // not inside an activity
      }
    }
    return report;
  } finally {
    stop();
  }
}

/** Whether the name is free for this migration: nothing there, or everything there its own. */
async function nameProblems(pool: Pool, connect: ConnectClient, name: string, migrationId: string): Promise<string[]> {
  const facts = await captureObjectsExist(pool, name);
  const config = await connect.config(name).catch((err) => classifyConnect(err));
  return ownershipProblems({
    name,
    migrationId,
    owner: await recordedOwner(pool, name),
    slotExists: facts.slot,
    publicationExists: facts.pub,
    connectorOwner: config ? (config[CONNECTOR_OWNER_KEY] ?? null) : undefined,
  });
}
