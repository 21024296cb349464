// `npm run bench:cdc -- [--rate N] [--seconds S] [--target postgres|mongodb|both] [--max]`:
// a benchmark, not a test. Online (CDC) sync under a steady write load, Ferry against a raw peer.
//
// Per target, one after the other: a source database with several load tables
// (cdc-load.ts), an online Ferry migration of them (its own Temporal namespace, one
// `ferry worker --queue all` process), and once its sync has caught up, a steady load of
// inserts/updates/deletes at --rate events/s for --seconds. Every second it samples:
//   - Ferry's own figures (query syncProgress on the sync child: events applied, lag, heartbeat);
//   - end-to-end lag, measured here: every write sets updated_at = clock_timestamp(), so
//     now − (newest updated_at on the target) is how far the target trails the source;
//   - the same for the peer: a raw kafkajs consumer (its own process) reading the same Debezium
//     topics and upserting the decoded `after` rows (INSERT … ON CONFLICT / bulkWrite), deletes
//     by key, newest event per key per batch, no Ferry code at all.
// When the load stops it waits until both targets hold the source's newest row (drain time) and
// compares row counts. --max steps the rate up (1000, 2000, 4000, … or --steps) for --seconds
// each and reports the highest rate each contender kept up with: lag at the end of the step
// not above the lag in its middle (within max(1 s, 50 %)), and ≥ 90 % of the events produced
// in the step applied. Ferry and the peer run at the same time on the same machine: they
// share its cores, PostgreSQL and Kafka. --no-ferry runs the peer alone on a connector of its own.
// Afterwards the migration is aborted (which releases its connector and slot; the bench checks
// and releases them itself if not), topics and consumer groups are deleted, databases dropped.
import { Command, Option } from 'commander';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Decimal128, Int32, Long, MongoClient, type AnyBulkWriteOperation, type Db, type Document } from 'mongodb';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { ensureNamespace } from '../cli/setup';
import type { CaptureInfo } from '../../contracts/capture';
import { syncWorkflowId } from '../../contracts/ids';
import { abortSignal, statusQuery, syncProgressQuery } from '../../contracts/messages';
import type { MigrationStatus } from '../../contracts/migration';
import { taskQueues } from '../../contracts/queues';
import { searchAttributes } from '../../contracts/search-attributes';
import type { SyncProgress } from '../../contracts/sync';
import { startWorkflow } from '../../contracts/workflow-types';
import { validateSpec } from '../../activities/plan/spec';
import { connectorValueConfig } from '../../engines/postgres/capture/debezium-config';
import { table } from '../cli/format';
import { createLoadTables, startLoad, type LoadHandle, type LoadStats } from './cdc-load';
import { cpuDelta, cpuSnapshot, findServices, installSignalHandlers, killAllGroups, logTail, machineFacts, startGroup, stopGroup, type ServicePids, type Started } from './system';
import { repoRoot } from '../repo-root';

type Kind = 'postgres' | 'mongodb';
// The checkout, from the sources or from dist/ alike.
const ROOT = repoRoot;
const FERRY_BIN = join(ROOT, 'bin', 'ferry.js');
const SRC_DB = 'bench_cdc_src';
const FERRY_DB = 'bench_cdc_ferry';
const PEER_DB = 'bench_cdc_peer';
const KIND_LABEL: Record<Kind, string> = { postgres: 'PG', mongodb: 'Mongo' };

const log = (msg: string) => console.log(msg);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Options {
  rate: number;
  seconds: number;
  targets: Kind[];
  max: boolean;
  steps: number[];
  tables: number;
  rows: number;
  namespace: string;
  ferry: boolean;
  peer: boolean;
  timeoutS: number;
  drainS: number;
  keep: boolean;
  json: boolean;
}

// ==== the peer (child process) ===============================================================

interface PeerConfig {
  kind: Kind;
  brokers: string[];
  groupId: string;
  /** topic → target table (PostgreSQL: schema.name in PEER_DB; MongoDB: collection name). */
  topics: Array<{ topic: string; table: string }>;
  pgUrl?: string;
  mongoUrl?: string;
  mongoDb?: string;
}

type PeerMessage = { type: 'ready' } | { type: 'stats'; applied: number; batches: number; errors: number; lastError: string | null; redelivered: number };

interface Change {
  del: boolean;
  id: number;
  after?: { account: number; amount: string; note: string | null; updated_at: string };
}

/** Debezium JSON (schemas on or off): the newest change per key of one batch, in arrival order. */
function newestPerKey(messages: KafkaMessage[]): Change[] {
  const last = new Map<number, Change>();
  for (const m of messages) {
    if (!m.value) continue; // tombstone after a delete
    const raw = JSON.parse(m.value.toString());
    const ev = raw && 'payload' in raw && raw.schema ? raw.payload : raw;
    if (!ev || !ev.op) continue;
    if (ev.op === 'd') {
      const k = m.key ? JSON.parse(m.key.toString()) : null;
      const id = Number((k && ('payload' in k ? k.payload : k)?.id) ?? ev.before?.id);
      last.delete(id);
      last.set(id, { del: true, id });
    } else if (ev.after) {
      const id = Number(ev.after.id);
      last.delete(id);
      last.set(id, { del: false, id, after: ev.after });
    }
  }
  return [...last.values()];
}

async function peerChild(cfg: PeerConfig): Promise<void> {
  const send = (m: PeerMessage) => process.send?.(m);
  let applied = 0;
  let batches = 0;
  let errors = 0;
  let lastError: string | null = null;
  let apply: (table: string, changes: Change[]) => Promise<void>;
  let close: () => Promise<void>;
  if (cfg.kind === 'postgres') {
    const pool = new Pool({ connectionString: cfg.pgUrl, max: Math.max(1, cfg.topics.length), application_name: 'ferry-bench-peer' });
    apply = async (t, changes) => {
      const ups = changes.filter((c) => !c.del);
      const dels = changes.filter((c) => c.del).map((c) => c.id);
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        if (ups.length) {
          await c.query(
            `INSERT INTO ${t} (id, account, amount, note, updated_at)
             SELECT * FROM unnest($1::bigint[], $2::int[], $3::numeric[], $4::text[], $5::timestamptz[])
             ON CONFLICT (id) DO UPDATE SET account = EXCLUDED.account, amount = EXCLUDED.amount, note = EXCLUDED.note, updated_at = EXCLUDED.updated_at`,
            [ups.map((u) => u.id), ups.map((u) => u.after!.account), ups.map((u) => u.after!.amount), ups.map((u) => u.after!.note), ups.map((u) => u.after!.updated_at)],
          );
        }
        if (dels.length) await c.query(`DELETE FROM ${t} WHERE id = ANY($1::bigint[])`, [dels]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    };
    close = () => pool.end();
  } else {
    const mongo = await MongoClient.connect(cfg.mongoUrl!);
    const db = mongo.db(cfg.mongoDb!);
    apply = async (t, changes) => {
      const ops: AnyBulkWriteOperation<Document>[] = changes.map((c) =>
        c.del
          ? { deleteOne: { filter: { _id: Long.fromNumber(c.id) } } }
          : {
            replaceOne: {
              filter: { _id: Long.fromNumber(c.id) },
              replacement: { account: new Int32(c.after!.account), amount: Decimal128.fromString(c.after!.amount), note: c.after!.note, updated_at: new Date(c.after!.updated_at) },
              upsert: true,
            },
          },
      );
      if (ops.length) await db.collection(t).bulkWrite(ops, { ordered: false });
    };
    close = () => mongo.close();
  }
  const tableOf = new Map(cfg.topics.map((t) => [t.topic, t.table]));
  const seen = new Map<string, bigint>();
  let redelivered = 0;
  const kafka = new Kafka({ clientId: 'ferry-bench-peer', brokers: cfg.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: cfg.groupId });
  consumer.on(consumer.events.GROUP_JOIN, () => send({ type: 'ready' }));
  await consumer.connect();
  await consumer.subscribe({ topics: cfg.topics.map((t) => t.topic), fromBeginning: true });
  await consumer.run({
    // One table per topic: tables are independent, so they are written concurrently.
    partitionsConsumedConcurrently: cfg.topics.length,
    eachBatch: async ({ batch }) => {
      // Count each offset once, whatever kafkajs hands over again.
      const key = `${batch.topic}/${batch.partition}`;
      const done = seen.get(key) ?? -1n;
      const fresh = batch.messages.filter((m) => BigInt(m.offset) > done);
      redelivered += batch.messages.length - fresh.length;
      if (!fresh.length) return;
      try {
        await apply(tableOf.get(batch.topic)!, newestPerKey(fresh));
      } catch (err) {
        errors++;
        lastError = (err as Error).message;
        throw err; // kafkajs retries the batch (offsets are not committed)
      }
      applied += fresh.filter((m) => m.value !== null).length; // tombstones after deletes are not events
      batches++;
      seen.set(key, BigInt(fresh[fresh.length - 1].offset));
    },
  });
  const timer = setInterval(() => send({ type: 'stats', applied, batches, errors, lastError, redelivered }), 250);
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'stop') return;
    clearInterval(timer);
    send({ type: 'stats', applied, batches, errors, lastError, redelivered });
    void consumer.disconnect().catch(() => undefined).then(() => close().catch(() => undefined)).then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
}

/** The peer, seen from the bench. */
class Peer {
  applied = 0;
  errors = 0;
  lastError: string | null = null;
  redelivered = 0;
  readonly ready: Promise<void>;
  readonly exited: Promise<number>;
  constructor(readonly child: ChildProcess) {
    let onReady: () => void = () => undefined;
    this.ready = new Promise((r) => (onReady = r));
    child.on('message', (m: PeerMessage) => {
      if (m.type === 'ready') onReady();
      else {
        this.applied = m.applied;
        this.errors = m.errors;
        this.lastError = m.lastError;
        this.redelivered = m.redelivered;
      }
    });
    this.exited = new Promise((r) => child.on('exit', (code) => r(code ?? 1)));
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.send({ type: 'stop' });
    const t = sleep(10_000).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited, t])) === 'timeout') this.child.kill('SIGKILL');
  }
}

function startPeer(cfg: PeerConfig, logFile: string): Peer {
  const child = fork(__filename, ['--peer-child'], {
    cwd: ROOT,
    // This very file again: compiled it needs no loader; from the sources it needs ts-node.
    execArgv: __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [],
    env: { ...process.env, BENCH_CDC_PEER: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const out: string[] = [];
  const keep = (b: Buffer) => {
    out.push(b.toString());
    if (out.length > 200) out.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', () => {
    try {
      writeFileSync(logFile, out.join(''));
    } catch {
      // no log then
    }
  });
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  return new Peer(child);
}

// ==== measurement =============================================================================

interface Sample {
  /** Seconds since the window opened, and the wall clock (ms). */
  t: number;
  at: number;
  produced: number;
  ferry: SyncProgress | null;
  ferryE2e: number | null;
  peerApplied: number | null;
  peerE2e: number | null;
}

interface Window {
  rate: number;
  seconds: number;
  samples: Sample[];
  load: LoadStats;
  /** Ferry's eventsApplied when the window opened (its figure is reported every few seconds), and as of when. */
  ferryApplied0: number | null;
  ferryReported0: number | null;
  peerApplied0: number | null;
  cpu: Record<string, number>;
}

/** Newest updated_at (ms since epoch) of each load table on one side; null for an empty table. */
type Probe = () => Promise<Array<number | null>>;

function pgProbe(pool: Pool, tables: string[]): Probe {
  const sql = `SELECT ${tables.map((t, i) => `(SELECT (extract(epoch FROM max(updated_at)) * 1000)::float8 FROM ${t}) AS t${i}`).join(', ')}`;
  return async () => {
    const r = await pool.query<Record<string, number | null>>(sql);
    return tables.map((_t, i) => r.rows[0]?.[`t${i}`] ?? null);
  };
}

function mongoProbe(db: Db, collections: string[]): Probe {
  return async () => {
    const docs = await Promise.all(collections.map((c) => db.collection(c).find({}, { projection: { _id: 0, updated_at: 1 } }).sort({ updated_at: -1 }).limit(1).next()));
    return docs.map((d) => (d?.updated_at instanceof Date ? d.updated_at.getTime() : null));
  };
}

/** The newest of all tables. */
function newest(v: Array<number | null> | null): number | null {
  const xs = (v ?? []).filter((x): x is number => x !== null);
  return xs.length ? Math.max(...xs) : null;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  return Promise.race([p.catch(() => null), sleep(ms).then(() => null)]);
}

function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

// ==== Temporal ==================================================================================


async function startWorker(ctx: Ctx): Promise<Started> {
  const logFile = join(ctx.work, 'worker.log');
  const w = startGroup(process.execPath, [FERRY_BIN, 'worker', '--queue', 'all'], { env: ctx.ferryEnv, log: logFile, cwd: ROOT });
  const deadline = Date.now() + 300_000;
  let exited: number | null = null;
  void w.exited.then((c) => (exited = c));
  while (Date.now() < deadline) {
    if (existsSync(logFile) && readFileSync(logFile, 'utf8').includes('ferry worker: polling')) return w;
    if (exited !== null) throw new Error(`the worker exited ${exited} before polling (log ${logFile}):\n${logTail(logFile)}`);
    await sleep(200);
  }
  await stopGroup(w);
  throw new Error(`the worker did not start polling within 300 s (log ${logFile}):\n${logTail(logFile)}`);
}

/** The sync child's input holds the exact capture (topics per table). */
async function captureOf(client: TemporalClient, migrationId: string): Promise<CaptureInfo | null> {
  try {
    const h = await client.workflow.getHandle(syncWorkflowId(migrationId)).fetchHistory();
    const payload = h.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload?.data) return null;
    const input = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { capture?: CaptureInfo };
    return input.capture ?? null;
  } catch {
    return null;
  }
}

// ==== the run ===================================================================================

interface Ctx {
  opts: Options;
  adminUrl: string;
  mongoUrl: string;
  brokers: string[];
  connectUrl: string;
  work: string;
  services: ServicePids;
  ferryEnv: NodeJS.ProcessEnv;
  temporal?: { connection: Connection; client: TemporalClient };
  source?: Pool;
  tables: string[];
  worker?: Started;
  /** Things to undo, newest first, if the bench stops half-way. */
  running: { migrationId?: string; captureName?: string; peer?: Peer; load?: LoadHandle; peerGroup?: string; ownConnector?: string };
}

interface ContenderFigures {
  label: string;
  applied: number | null;
  appliedPerS: number | null;
  e2e: { p50: number | null; p95: number | null; p99: number | null; max: number | null; n: number };
  reported?: { p50: number | null; p95: number | null; p99: number | null; heartbeatP50: number | null; lagEventsMax: number | null };
  drainS: number | null;
  rowsEqual: boolean | null;
  maxRate?: number | null;
  steps?: Array<{ rate: number; produced: number; applied: number | null; lagMid: number | null; lagEnd: number | null; bounded: boolean | null }>;
  notes: string[];
}

interface TargetResult {
  kind: Kind;
  status: 'ok' | 'failed';
  reason?: string;
  migrationId?: string;
  produced?: number;
  producedPerS?: number;
  loadMisses?: number;
  ferry?: ContenderFigures;
  peer?: ContenderFigures;
  cpu?: Record<string, number>;
  windowS?: number;
  generatorLimit?: number | null;
}

function dbUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function recreateDatabase(ctx: Ctx, db: string): Promise<void> {
  const p = new Pool({ connectionString: ctx.adminUrl, max: 1 });
  try {
    await p.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await p.query(`CREATE DATABASE ${db}`);
  } finally {
    await p.end();
  }
}

async function dropDatabase(ctx: Ctx, db: string): Promise<void> {
  const p = new Pool({ connectionString: ctx.adminUrl, max: 1 });
  try {
    await p.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  } finally {
    await p.end();
  }
}

function stackPid(name: string): number | null {
  const dir = process.env.FERRY_STACK_DIR ?? join(homedir(), '.cache', 'ferry', 'stack');
  try {
    const pid = Number(readFileSync(join(dir, 'run', `${name}.pid`), 'utf8').trim());
    return pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
  } catch {
    return null;
  }
}

async function readStatus(ctx: Ctx, id: string): Promise<MigrationStatus | null> {
  return withTimeout(ctx.temporal!.client.workflow.getHandle(id).query(statusQuery), 10_000);
}

async function readSync(ctx: Ctx, id: string): Promise<SyncProgress | null> {
  return withTimeout(ctx.temporal!.client.workflow.getHandle(syncWorkflowId(id)).query(syncProgressQuery), 3_000);
}

/** Starts the online migration and waits until its sync has caught up. */
async function startFerry(ctx: Ctx, kind: Kind): Promise<{ id: string; capture: CaptureInfo }> {
  const client = ctx.temporal!.client;
  const spec = validateSpec({
    name: `bench-cdc-${kind === 'postgres' ? 'pg' : 'mongo'}`,
    mode: 'online',
    source: { url: '${BENCH_CDC_SRC}' },
    target: kind === 'postgres' ? { url: '${BENCH_CDC_FERRY_PG}' } : { url: '${FERRY_MONGO_URL}', database: FERRY_DB },
    tables: ctx.tables,
    verify: 'counts',
    sync: { connect: '${FERRY_CONNECT_URL}', kafka: '${FERRY_KAFKA_BROKERS}' },
  }, ctx.ferryEnv);
  const id = `bench-cdc-${kind}-${Date.now()}`;
  ctx.running.migrationId = id;
  await startWorkflow(client, 'migration', {
    workflowId: id,
    taskQueue: taskQueues.control,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    args: [{ spec }],
    typedSearchAttributes: [
      { key: searchAttributes.phase, value: 'prepare' },
      { key: searchAttributes.spec, value: spec.name },
    ],
  });
  log(`  migration ${id} started (namespace ${ctx.opts.namespace}); waiting for the sync phase`);
  const t0 = Date.now();
  let last: MigrationStatus | null = null;
  let lastPhase = '';
  for (;;) {
    const desc = await ctx.temporal!.client.workflow.getHandle(id).describe().catch(() => null);
    last = (await readStatus(ctx, id)) ?? last;
    if (last?.capture?.name) ctx.running.captureName = last.capture.name;
    if (last && last.phase !== lastPhase) {
      log(`  ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  phase ${last.phase}`);
      lastPhase = last.phase;
    }
    if (desc && desc.status.name !== 'RUNNING') throw new Error(`the migration ended ${desc.status.name.toLowerCase()} before its sync phase: ${last?.error ?? 'see the worker log'}`);
    if (last?.phase === 'sync') {
      const p = await readSync(ctx, id);
      if (p && p.state === 'caught-up') break;
    }
    if (Date.now() - t0 > ctx.opts.timeoutS * 1000) throw new Error(`not caught up in sync after ${ctx.opts.timeoutS} s (last phase ${last?.phase ?? '?'}, sync ${JSON.stringify(last?.sync ?? null)}); worker log:\n${logTail(ctx.worker!.log, 15)}`);
    await sleep(1_000);
  }
  log(`  sync caught up ${((Date.now() - t0) / 1000).toFixed(0)} s after the start`);
  const capture = await captureOf(client, id);
  if (!capture) throw new Error(`could not read the capture (topics) from ${syncWorkflowId(id)}'s input`);
  return { id, capture };
}

/** Aborts the migration and makes sure its connector, slot, topics and group are gone. */
async function releaseFerry(ctx: Ctx, id: string, captureName: string | undefined): Promise<string[]> {
  const notes: string[] = [];
  const handle = ctx.temporal!.client.workflow.getHandle(id);
  const desc = await handle.describe().catch(() => null);
  if (desc?.status.name === 'RUNNING') {
    await handle.signal(abortSignal, 'bench:cdc done').catch(() => undefined);
    const ended = await withTimeout(handle.result().then(() => true, () => true), 120_000);
    if (!ended) {
      notes.push('the migration did not end within 120 s of the abort signal: terminated');
      await handle.terminate('bench:cdc: abort did not finish').catch(() => undefined);
    }
  }
  if (captureName) notes.push(...(await releaseCapture(ctx, captureName, 'Ferry\'s abort')));
  return notes;
}

/** Connector and slot `name`; topics `name.*` and `__debezium-heartbeat.name`; consumer group `name`. */
async function releaseCapture(ctx: Ctx, name: string, by: string): Promise<string[]> {
  const notes: string[] = [];
  const res = await fetch(`${ctx.connectUrl}/connectors/${encodeURIComponent(name)}`).catch(() => null);
  if (res?.status === 200) {
    notes.push(`connector ${name} still registered after ${by}: deleted by the bench`);
    await fetch(`${ctx.connectUrl}/connectors/${encodeURIComponent(name)}`, { method: 'DELETE' }).catch(() => undefined);
    await sleep(2_000);
  }
  const slot = name.replace(/[^a-z0-9_]/g, '_');
  for (let i = 0; i < 15; i++) {
    const r = await ctx.source!.query<{ slot_name: string; active: boolean }>(`SELECT slot_name, active FROM pg_replication_slots WHERE slot_name IN ($1, $2)`, [name, slot]);
    if (!r.rows.length) break;
    if (r.rows.every((x) => !x.active)) {
      notes.push(`replication slot ${r.rows.map((x) => x.slot_name).join(', ')} still there after ${by}: dropped by the bench`);
      for (const x of r.rows) await ctx.source!.query('SELECT pg_drop_replication_slot($1)', [x.slot_name]).catch((e) => notes.push(`could not drop slot ${x.slot_name}: ${(e as Error).message}`));
      break;
    }
    await sleep(1_000);
  }
  const kafka = new Kafka({ clientId: 'ferry-bench', brokers: ctx.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    // Change and marker topics `name.*`, and Debezium's heartbeat topic.
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${name}.`) || t === `__debezium-heartbeat.${name}`);
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups([name]).catch(() => undefined);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return notes;
}

/** --no-ferry: a Debezium connector of the bench's own, configured like Ferry's. */
async function ownConnector(ctx: Ctx): Promise<CaptureInfo> {
  const name = 'bench_cdc_peer_only';
  const src = new URL(dbUrl(ctx.adminUrl, SRC_DB));
  const config = {
    ...connectorValueConfig,
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'database.hostname': src.hostname, 'database.port': src.port || '5432', 'database.user': decodeURIComponent(src.username), 'database.password': decodeURIComponent(src.password),
    'database.dbname': SRC_DB, 'topic.prefix': name, 'plugin.name': 'pgoutput', 'slot.name': name, 'publication.name': name,
    'publication.autocreate.mode': 'filtered', 'table.include.list': ctx.tables.join(','), 'snapshot.mode': 'no_data',
  };
  ctx.running.ownConnector = name;
  const put = await fetch(`${ctx.connectUrl}/connectors/${name}/config`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(config) });
  if (!put.ok) throw new Error(`Kafka Connect refused the connector: ${put.status} ${await put.text()}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const st = (await (await fetch(`${ctx.connectUrl}/connectors/${name}/status`)).json().catch(() => ({}))) as { tasks?: Array<{ state: string }> };
    if (st.tasks?.length && st.tasks.every((t) => t.state === 'RUNNING')) break;
    if (Date.now() > deadline) throw new Error(`connector ${name} not RUNNING after 60 s: ${JSON.stringify(st)}`);
    await sleep(500);
  }
  // The topics appear with their first event: one update per table.
  for (const t of ctx.tables) await ctx.source!.query(`UPDATE ${t} SET updated_at = clock_timestamp() WHERE id = (SELECT min(id) FROM ${t})`);
  const topics = ctx.tables.map((t) => ({ table: { schema: t.split('.')[0], name: t.split('.')[1] }, topic: `${name}.${t}` }));
  const kafka = new Kafka({ clientId: 'ferry-bench', brokers: ctx.brokers, logLevel: logLevel.NOTHING }).admin();
  await kafka.connect();
  try {
    for (;;) {
      const have = await kafka.listTopics();
      if (topics.every((t) => have.includes(t.topic))) break;
      if (Date.now() > deadline) throw new Error('the connector created no topics within 60 s');
      await sleep(500);
    }
  } finally {
    await kafka.disconnect();
  }
  return { name, topics } as unknown as CaptureInfo;
}

/** The peer's target: plain tables (PostgreSQL) or an empty database (MongoDB), with an index on updated_at. */
async function preparePeerTarget(ctx: Ctx, kind: Kind, mongo: MongoClient | null): Promise<void> {
  if (kind === 'postgres') {
    await recreateDatabase(ctx, PEER_DB);
    const p = new Pool({ connectionString: dbUrl(ctx.adminUrl, PEER_DB), max: 1 });
    try {
      for (const t of ctx.tables) {
        await p.query(`CREATE SCHEMA IF NOT EXISTS ${t.split('.')[0]}`);
        await p.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, account int, amount numeric(12,2), note text, updated_at timestamptz)`);
        await p.query(`CREATE INDEX ON ${t} (updated_at)`);
      }
      // The peer starts where the topics start; the rows that existed before are copied here so both targets hold the same data.
      // (Not timed: the backfill is not what this bench measures.)
    } finally {
      await p.end();
    }
  } else {
    await mongo!.db(PEER_DB).dropDatabase();
    for (const t of ctx.tables) await mongo!.db(PEER_DB).collection(t.split('.')[1]).createIndex({ updated_at: -1 });
  }
}

/** The peer's target holds the source rows as of now (bulk copy, untimed), so counts can be compared at the end. */
async function seedPeerTarget(ctx: Ctx, kind: Kind, mongo: MongoClient | null): Promise<void> {
  for (const t of ctx.tables) {
    const rows = (await ctx.source!.query<{ id: string; account: number; amount: string; note: string | null; updated_at: Date }>(`SELECT id::text AS id, account, amount::text AS amount, note, updated_at FROM ${t}`)).rows;
    if (kind === 'postgres') {
      const p = new Pool({ connectionString: dbUrl(ctx.adminUrl, PEER_DB), max: 1 });
      try {
        for (let i = 0; i < rows.length; i += 5_000) {
          const b = rows.slice(i, i + 5_000);
          await p.query(
            `INSERT INTO ${t} SELECT * FROM unnest($1::bigint[], $2::int[], $3::numeric[], $4::text[], $5::timestamptz[]) ON CONFLICT (id) DO NOTHING`,
            [b.map((r) => r.id), b.map((r) => r.account), b.map((r) => r.amount), b.map((r) => r.note), b.map((r) => r.updated_at)],
          );
        }
      } finally {
        await p.end();
      }
    } else {
      const c = mongo!.db(PEER_DB).collection(t.split('.')[1]);
      for (let i = 0; i < rows.length; i += 5_000) {
        await c.insertMany(rows.slice(i, i + 5_000).map((r) => ({ _id: Long.fromString(r.id), account: new Int32(r.account), amount: Decimal128.fromString(r.amount), note: r.note, updated_at: r.updated_at })) as Document[], { ordered: false }).catch(() => undefined);
      }
    }
  }
}

async function counts(ctx: Ctx, kind: Kind, side: 'source' | 'ferry' | 'peer', mongo: MongoClient | null): Promise<number[]> {
  if (side === 'source') return Promise.all(ctx.tables.map(async (t) => Number((await ctx.source!.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n)));
  const db = side === 'ferry' ? FERRY_DB : PEER_DB;
  if (kind === 'postgres') {
    const p = new Pool({ connectionString: dbUrl(ctx.adminUrl, db), max: 1 });
    try {
      return await Promise.all(ctx.tables.map(async (t) => Number((await p.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n)));
    } finally {
      await p.end();
    }
  }
  return Promise.all(ctx.tables.map((t) => mongo!.db(db).collection(t.split('.')[1]).countDocuments({})));
}

/** One window of steady load at `rate`, sampled every second. */
async function runWindow(
  ctx: Ctx, rate: number, seconds: number, idStart: number,
  probes: { source: Probe; ferry: Probe | null; peer: Probe | null }, migrationId: string | null, peer: Peer | null, cpuPids: Record<string, number>,
): Promise<Window> {
  const ferry0 = migrationId ? await readSync(ctx, migrationId) : null;
  const peer0 = peer ? peer.applied : null;
  const cpu0 = cpuSnapshot(ctx.services, cpuPids);
  const load = startLoad({ pool: ctx.source!, tables: ctx.tables, eventsPerSecond: rate, idStart });
  ctx.running.load = load;
  const samples: Sample[] = [];
  const t0 = Date.now();
  for (let i = 1; i <= seconds; i++) {
    const wake = t0 + i * 1000;
    await sleep(Math.max(0, wake - Date.now()));
    const at = Date.now();
    const [f, fmAll, pmAll] = await Promise.all([
      migrationId ? readSync(ctx, migrationId) : Promise.resolve(null),
      probes.ferry ? withTimeout(probes.ferry(), 900) : Promise.resolve(null),
      probes.peer ? withTimeout(probes.peer(), 900) : Promise.resolve(null),
    ]);
    const st = load.stats();
    const fm = newest(fmAll);
    const pm = newest(pmAll);
    samples.push({
      t: (at - t0) / 1000,
      at,
      produced: st.inserts + st.updates + st.deletes,
      ferry: f,
      // Nothing of this window applied yet: the oldest unapplied write is the window's first.
      ferryE2e: fm === null ? null : Math.max(0, (at - Math.max(fm, t0)) / 1000),
      peerApplied: peer ? peer.applied : null,
      peerE2e: pm === null ? null : Math.max(0, (at - Math.max(pm, t0)) / 1000),
    });
  }
  const stats = await load.stop();
  ctx.running.load = undefined;
  return {
    rate, seconds, samples, load: stats,
    ferryApplied0: ferry0?.eventsApplied ?? null, ferryReported0: ferry0 ? Date.parse(ferry0.updatedAt) : null, peerApplied0: peer0,
    cpu: cpuDelta(cpu0, cpuSnapshot(ctx.services, cpuPids)),
  };
}

/** Seconds until every table's newest updated_at on the side reaches the source's, or null after `limitS`. */
async function drain(source: Probe, side: Probe, limitS: number): Promise<number | null> {
  const target = await source();
  const t0 = Date.now();
  while (Date.now() - t0 < limitS * 1000) {
    const v = await side().catch(() => null);
    // MongoDB keeps milliseconds: compare whole milliseconds.
    if (v && target.every((x, i) => x === null || (v[i] !== null && Math.floor(v[i]!) >= Math.floor(x)))) return (Date.now() - t0) / 1000;
    await sleep(200);
  }
  return null;
}

/** Row counts of one side, polled until they equal the source's (deletes leave no updated_at to wait for). */
async function settleCounts(read: () => Promise<number[]>, src: number[], limitS: number): Promise<{ counts: number[]; afterS: number }> {
  const t0 = Date.now();
  for (;;) {
    const c = await read();
    if (c.every((n, i) => n === src[i]) || Date.now() - t0 > limitS * 1000) return { counts: c, afterS: (Date.now() - t0) / 1000 };
    await sleep(1_000);
  }
}

const round = (x: number | null, d = 2) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

function e2eStats(values: Array<number | null>): ContenderFigures['e2e'] {
  const v = values.filter((x): x is number => x !== null);
  return { p50: percentile(v, 50), p95: percentile(v, 95), p99: percentile(v, 99), max: v.length ? Math.max(...v) : null, n: v.length };
}

/** --max: lag at the end of the step not growing vs its middle, and ≥ 90 % of the events applied. */
function stepVerdict(w: Window, side: 'ferry' | 'peer'): { applied: number | null; lagMid: number | null; lagEnd: number | null; bounded: boolean | null } {
  const lags = w.samples.map((s) => (side === 'ferry' ? s.ferryE2e : s.peerE2e));
  const mid = Math.floor(w.samples.length / 2);
  const avg = (xs: Array<number | null>) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const lagMid = avg(lags.slice(Math.max(0, mid - 2), mid + 2));
  const lagEnd = avg(lags.slice(-3));
  const last = w.samples[w.samples.length - 1];
  let applied: number | null = null;
  if (side === 'peer' && w.peerApplied0 !== null && last.peerApplied !== null) applied = last.peerApplied - w.peerApplied0;
  if (side === 'ferry' && w.ferryApplied0 !== null && last.ferry) applied = last.ferry.eventsApplied - w.ferryApplied0;
  const produced = last.produced;
  if (lagMid === null || lagEnd === null) return { applied, lagMid, lagEnd, bounded: null };
  // Ferry's count is reported every few seconds: compare it with what was produced by the time it was reported.
  let producedBy = produced;
  if (side === 'ferry' && last.ferry) {
    const reportedAt = Date.parse(last.ferry.updatedAt);
    producedBy = [...w.samples].reverse().find((s) => s.at <= reportedAt)?.produced ?? 0;
  }
  const appliedOk = applied === null ? true : applied >= 0.9 * producedBy;
  return { applied, lagMid, lagEnd, bounded: lagEnd <= lagMid + Math.max(1, 0.5 * lagMid) && appliedOk };
}

async function runTarget(ctx: Ctx, kind: Kind, mongo: MongoClient | null): Promise<TargetResult> {
  const opts = ctx.opts;
  const r: TargetResult = { kind, status: 'ok' };
  const notesF: string[] = [];
  const notesP: string[] = [];
  let ferryPool: Pool | null = null;
  let peerPool: Pool | null = null;
  let peer: Peer | null = null;
  let migrationId: string | null = null;
  let captureName: string | undefined;
  try {
    // Fresh source tables for every target: the same starting point.
    log(`  source: ${opts.tables} tables × ${opts.rows} rows in ${SRC_DB}`);
    ctx.tables = await createLoadTables(ctx.source!, 'public', opts.tables, opts.rows);

    let capture: CaptureInfo;
    if (opts.ferry) {
      if (kind === 'postgres') await recreateDatabase(ctx, FERRY_DB);
      else await mongo!.db(FERRY_DB).dropDatabase();
      const started = await startFerry(ctx, kind);
      migrationId = started.id;
      r.migrationId = migrationId;
      capture = started.capture;
      captureName = capture.name;
      ctx.running.captureName = captureName;
      if (kind === 'postgres') {
        ferryPool = new Pool({ connectionString: dbUrl(ctx.adminUrl, FERRY_DB), max: 2 });
        const idx = await ferryPool.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexdef LIKE '%(updated_at)%'`);
        if (idx.rows[0].n < ctx.tables.length) {
          notesF.push('the target had no index on updated_at: added by the bench for its probe');
          for (const t of ctx.tables) await ferryPool.query(`CREATE INDEX IF NOT EXISTS ${t.split('.')[1]}_bench_updated_at ON ${t} (updated_at)`);
        }
      } else {
        for (const t of ctx.tables) await mongo!.db(FERRY_DB).collection(t.split('.')[1]).createIndex({ updated_at: -1 });
      }
    } else {
      capture = await ownConnector(ctx);
      captureName = capture.name;
    }
    const topicOf = (t: string) => capture.topics.find((x) => `${x.table.schema}.${x.table.name}` === t)?.topic;
    const missing = ctx.tables.filter((t) => !topicOf(t));
    if (missing.length) throw new Error(`the capture names no topic for ${missing.join(', ')}`);

    if (opts.peer) {
      if (mongo === null && kind === 'mongodb') throw new Error('no MongoDB client');
      await preparePeerTarget(ctx, kind, mongo);
      await seedPeerTarget(ctx, kind, mongo);
      const groupId = `bench-cdc-peer-${kind}-${Date.now()}`;
      ctx.running.peerGroup = groupId;
      peer = startPeer({
        kind, brokers: ctx.brokers, groupId,
        topics: ctx.tables.map((t) => ({ topic: topicOf(t)!, table: kind === 'postgres' ? t : t.split('.')[1] })),
        pgUrl: dbUrl(ctx.adminUrl, PEER_DB), mongoUrl: ctx.mongoUrl, mongoDb: PEER_DB,
      }, join(ctx.work, `peer-${kind}.log`));
      ctx.running.peer = peer;
      const ready = await Promise.race([peer.ready.then(() => true), peer.exited.then(() => false), sleep(60_000).then(() => false)]);
      if (!ready) throw new Error(`the peer consumer did not join its group (log ${join(ctx.work, `peer-${kind}.log`)})`);
      // Let it read what the topics already hold.
      let before = -1;
      while (peer.applied !== before) {
        before = peer.applied;
        await sleep(1_500);
      }
      if (kind === 'postgres') peerPool = new Pool({ connectionString: dbUrl(ctx.adminUrl, PEER_DB), max: 2 });
    }

    const probes = {
      source: pgProbe(ctx.source!, ctx.tables),
      ferry: !opts.ferry ? null : kind === 'postgres' ? pgProbe(ferryPool!, ctx.tables) : mongoProbe(mongo!.db(FERRY_DB), ctx.tables.map((t) => t.split('.')[1])),
      peer: !opts.peer ? null : kind === 'postgres' ? pgProbe(peerPool!, ctx.tables) : mongoProbe(mongo!.db(PEER_DB), ctx.tables.map((t) => t.split('.')[1])),
    };
    const cpuPids: Record<string, number> = {};
    if (ctx.worker) cpuPids.ferry_worker = ctx.worker.pid;
    if (peer?.child.pid) cpuPids.peer = peer.child.pid;
    for (const s of ['kafka', 'connect'] as const) {
      const pid = stackPid(s);
      if (pid) cpuPids[s] = pid;
    }

    const windows: Window[] = [];
    let idStart = 10_000_000;
    if (!opts.max) {
      log(`  load: ${opts.rate} events/s for ${opts.seconds} s`);
      windows.push(await runWindow(ctx, opts.rate, opts.seconds, idStart, probes, migrationId, peer, cpuPids));
    } else {
      const alive = { ferry: opts.ferry, peer: opts.peer };
      for (const rate of opts.steps) {
        log(`  step: ${rate} events/s for ${opts.seconds} s`);
        const w = await runWindow(ctx, rate, opts.seconds, idStart, probes, migrationId, peer, cpuPids);
        idStart += 10_000_000;
        windows.push(w);
        const vf = alive.ferry ? stepVerdict(w, 'ferry') : null;
        const vp = alive.peer ? stepVerdict(w, 'peer') : null;
        log(`    produced ${Math.round(w.load.achievedPerSecond)}/s; Ferry: ${vf ? `lag mid ${round(vf.lagMid)} s, end ${round(vf.lagEnd)} s, ${vf.bounded ? 'kept up' : 'FELL BEHIND'}` : '-'}; peer: ${vp ? `lag mid ${round(vp.lagMid)} s, end ${round(vp.lagEnd)} s, ${vp.bounded ? 'kept up' : 'FELL BEHIND'}` : '-'}`);
        if (vf && !vf.bounded) alive.ferry = false;
        if (vp && !vp.bounded) alive.peer = false;
        if (w.load.achievedPerSecond < 0.9 * rate) {
          r.generatorLimit = Math.round(w.load.achievedPerSecond);
          log(`    the load generator reached only ${Math.round(w.load.achievedPerSecond)}/s of ${rate}: stepping stops here`);
          break;
        }
        if (!alive.ferry && !alive.peer) break;
      }
    }

    // Drain: the load has stopped; how long until each target holds the source's newest row.
    const [drainF, drainP] = await Promise.all([
      probes.ferry ? drain(probes.source, probes.ferry, opts.drainS) : Promise.resolve(null),
      probes.peer ? drain(probes.source, probes.peer, opts.drainS) : Promise.resolve(null),
    ]);
    const src = await counts(ctx, kind, 'source', mongo);
    const eq = (xs: number[]) => xs.every((n, i) => n === src[i]);
    const [fSettled, pSettled] = await Promise.all([
      opts.ferry ? settleCounts(() => counts(ctx, kind, 'ferry', mongo), src, 30) : Promise.resolve(null),
      opts.peer ? settleCounts(() => counts(ctx, kind, 'peer', mongo), src, 30) : Promise.resolve(null),
    ]);
    const fCounts = fSettled?.counts ?? null;
    const pCounts = pSettled?.counts ?? null;
    if (fSettled && eq(fSettled.counts) && fSettled.afterS > 1) notesF.push(`row counts equal only ${fSettled.afterS.toFixed(0)} s after the newest rows arrived`);
    if (pSettled && eq(pSettled.counts) && pSettled.afterS > 1) notesP.push(`row counts equal only ${pSettled.afterS.toFixed(0)} s after the newest rows arrived`);

    const all = windows.flatMap((w) => w.samples);
    const last = windows[windows.length - 1];
    const totalS = windows.reduce((n, w) => n + w.seconds, 0);
    r.produced = windows.reduce((n, w) => n + w.load.inserts + w.load.updates + w.load.deletes, 0);
    r.producedPerS = r.produced / totalS;
    r.loadMisses = windows.reduce((n, w) => n + w.load.misses, 0);
    r.windowS = totalS;
    r.cpu = windows.reduce<Record<string, number>>((acc, w) => {
      for (const [k, v] of Object.entries(w.cpu)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {});
    const loadErrors = windows.reduce((n, w) => n + w.load.errors, 0);
    if (loadErrors) notesF.push(`the load had ${loadErrors} failed transactions (last: ${windows.map((w) => w.load.lastError).filter(Boolean).pop()})`);

    if (opts.ferry) {
      const first = windows[0];
      const lastF = [...last.samples].reverse().find((s) => s.ferry)?.ferry ?? null;
      const applied = lastF && first.ferryApplied0 !== null ? lastF.eventsApplied - first.ferryApplied0 : null;
      // Ferry reports every few seconds: its count is as of its updatedAt, not the sample time.
      const spanS = lastF && first.ferryReported0 !== null ? (Date.parse(lastF.updatedAt) - first.ferryReported0) / 1000 : null;
      const rep = all.map((s) => s.ferry).filter((x): x is SyncProgress => !!x);
      r.ferry = {
        label: `Ferry→${KIND_LABEL[kind]}`,
        applied,
        appliedPerS: applied !== null && spanS && spanS > 0 ? applied / spanS : null,
        e2e: e2eStats(all.map((s) => s.ferryE2e)),
        reported: {
          p50: percentile(rep.map((p) => p.lagSeconds), 50), p95: percentile(rep.map((p) => p.lagSeconds), 95), p99: percentile(rep.map((p) => p.lagSeconds), 99),
          heartbeatP50: percentile(rep.map((p) => p.heartbeatSeconds).filter((x): x is number => x !== null), 50),
          lagEventsMax: rep.length ? Math.max(...rep.map((p) => p.lagEvents)) : null,
        },
        drainS: drainF,
        rowsEqual: fCounts ? eq(fCounts) : null,
        notes: notesF,
      };
      if (rep.some((p) => p.deadLetters > 0)) notesF.push(`${Math.max(...rep.map((p) => p.deadLetters))} dead letters`);
      const alerts = [...new Set(rep.flatMap((p) => p.alerts))];
      if (alerts.length) notesF.push(`alerts: ${alerts.join('; ')}`);
      if (fCounts && !eq(fCounts)) notesF.push(`row counts still differ 30 s after the drain: source ${src.join('/')}, Ferry's target ${fCounts.join('/')}`);
      if (drainF === null) notesF.push(`did not catch up within ${opts.drainS} s after the load stopped`);
      if (opts.max) {
        r.ferry.steps = windows.map((w) => ({ rate: w.rate, produced: Math.round(w.load.achievedPerSecond), ...stepVerdict(w, 'ferry') }));
        const firstBad = r.ferry.steps.findIndex((s) => s.bounded !== true);
        r.ferry.maxRate = firstBad === 0 ? null : (firstBad < 0 ? r.ferry.steps[r.ferry.steps.length - 1] : r.ferry.steps[firstBad - 1]).produced;
      }
    }
    if (opts.peer) {
      const applied = peer ? peer.applied - (windows[0].peerApplied0 ?? 0) : null;
      r.peer = {
        label: `peer→${KIND_LABEL[kind]}`,
        applied,
        appliedPerS: null,
        e2e: e2eStats(all.map((s) => s.peerE2e)),
        drainS: drainP,
        rowsEqual: pCounts ? eq(pCounts) : null,
        notes: notesP,
      };
      // The peer's count at the end of the load windows, over their length.
      const lastP = last.samples[last.samples.length - 1]?.peerApplied;
      if (lastP !== null && lastP !== undefined && windows[0].peerApplied0 !== null) r.peer.appliedPerS = (lastP - windows[0].peerApplied0) / totalS;
      if (peer?.redelivered) notesP.push(`kafkajs handed over ${peer.redelivered} already-applied messages again (skipped, not counted)`);
      if (peer?.errors) notesP.push(`${peer.errors} failed batches (retried by kafkajs); last: ${peer.lastError}`);
      if (pCounts && !eq(pCounts)) notesP.push(`row counts still differ 30 s after the drain: source ${src.join('/')}, peer's target ${pCounts.join('/')}`);
      if (drainP === null) notesP.push(`did not catch up within ${opts.drainS} s after the load stopped`);
      if (opts.max) {
        r.peer.steps = windows.map((w) => ({ rate: w.rate, produced: Math.round(w.load.achievedPerSecond), ...stepVerdict(w, 'peer') }));
        const firstBad = r.peer.steps.findIndex((s) => s.bounded !== true);
        r.peer.maxRate = firstBad === 0 ? null : (firstBad < 0 ? r.peer.steps[r.peer.steps.length - 1] : r.peer.steps[firstBad - 1]).produced;
      }
    }
  } catch (err) {
    r.status = 'failed';
    r.reason = (err as Error).message;
  } finally {
    if (ctx.running.load) await ctx.running.load.stop().catch(() => undefined);
    ctx.running.load = undefined;
    if (peer) await peer.stop();
    ctx.running.peer = undefined;
    await ferryPool?.end().catch(() => undefined);
    await peerPool?.end().catch(() => undefined);
    const cleanup: string[] = [];
    if (migrationId) cleanup.push(...(await releaseFerry(ctx, migrationId, captureName ?? ctx.running.captureName).catch((e) => [`cleanup failed: ${(e as Error).message}`])));
    else if (!opts.ferry && captureName) cleanup.push(...(await releaseCapture(ctx, captureName, 'the bench').catch((e) => [`cleanup failed: ${(e as Error).message}`])).filter((n) => !n.includes('dropped by the bench') && !n.includes('deleted by the bench')));
    ctx.running.migrationId = undefined;
    ctx.running.captureName = undefined;
    ctx.running.ownConnector = undefined;
    if (ctx.running.peerGroup) {
      const admin = new Kafka({ clientId: 'ferry-bench', brokers: ctx.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect().then(() => admin.deleteGroups([ctx.running.peerGroup!])).catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
      ctx.running.peerGroup = undefined;
    }
    if (cleanup.length) (r.ferry?.notes ?? notesF).push(...cleanup);
    if (r.status === 'failed' && cleanup.length) r.reason = `${r.reason}\n  cleanup: ${cleanup.join('; ')}`;
  }
  return r;
}

// ==== report ====================================================================================

const fmt = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? '-' : x.toFixed(d));
const fmtN = (x: number | null | undefined) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
const ratio = (f: number | null | undefined, p: number | null | undefined) => (f === null || f === undefined || p === null || p === undefined || p === 0 ? '-' : `${(f / p).toFixed(2)}×`);

function report(results: TargetResult[], opts: Options): string {
  const out: string[] = [];
  const cols = results.flatMap((r) => [r.ferry, r.peer].filter((c): c is ContenderFigures => !!c).map((c) => ({ r, c })));
  if (cols.length) {
    const row = (name: string, f: (x: { r: TargetResult; c: ContenderFigures }) => string): Array<string> => [name, ...cols.map(f)];
    const rows: string[][] = [
      row('events produced (ev/s)', ({ r }) => `${fmtN(r.produced)} (${fmtN(r.producedPerS)})`),
      row('events applied in the window', ({ c }) => fmtN(c.applied)),
      row('applied ev/s in the window', ({ c }) => fmtN(c.appliedPerS)),
      row('e2e lag p50 s', ({ c }) => fmt(c.e2e.p50)),
      row('e2e lag p95 s', ({ c }) => fmt(c.e2e.p95)),
      row('e2e lag p99 s', ({ c }) => fmt(c.e2e.p99)),
      row('e2e lag max s', ({ c }) => fmt(c.e2e.max)),
      row('Ferry-reported lag p50/p95/p99 s', ({ c }) => (c.reported ? `${fmt(c.reported.p50, 1)}/${fmt(c.reported.p95, 1)}/${fmt(c.reported.p99, 1)}` : '')),
      row('heartbeat trip p50 s', ({ c }) => (c.reported ? fmt(c.reported.heartbeatP50) : '')),
      row('max lagEvents reported', ({ c }) => (c.reported ? fmtN(c.reported.lagEventsMax) : '')),
      row('drain after the load stopped s', ({ c }) => fmt(c.drainS, 1)),
      row('row counts equal at the end', ({ c }) => (c.rowsEqual === null ? '-' : c.rowsEqual ? 'yes' : 'NO')),
      row('CPU s (process)', ({ r, c }) => fmt(c.label.startsWith('Ferry') ? r.cpu?.ferry_worker : r.cpu?.peer, 1)),
    ];
    if (opts.max) rows.push(row('highest rate kept up with (ev/s)', ({ c, r }) => `${fmtN(c.maxRate)}${r.generatorLimit && c.steps?.every((s) => s.bounded) ? ' (generator limit)' : ''}`));
    out.push(table(['', ...cols.map((x) => x.c.label)], rows));

    if (opts.max) {
      out.push('', 'steps (lag: mean of the samples around the middle / of the last 3; applied: events in the step):');
      for (const { c } of cols) {
        out.push(`  ${c.label}: ${(c.steps ?? []).map((s) => `${s.rate}/s (made ${s.produced}) mid ${fmt(s.lagMid, 1)} s end ${fmt(s.lagEnd, 1)} s applied ${fmtN(s.applied)} ${s.bounded === null ? '?' : s.bounded ? 'ok' : 'BEHIND'}`).join(' | ')}`);
      }
    }

    const pairs = results.filter((r) => r.ferry && r.peer);
    if (pairs.length) {
      out.push('', 'Ferry / peer (lag and drain: lower is better, so > 1× means Ferry trails; ev/s and max rate: higher is better):');
      const prow = (name: string, f: (r: TargetResult) => string) => [name, ...pairs.map(f)];
      const prs = [
        prow('e2e lag p50', (r) => ratio(r.ferry!.e2e.p50, r.peer!.e2e.p50)),
        prow('e2e lag p95', (r) => ratio(r.ferry!.e2e.p95, r.peer!.e2e.p95)),
        prow('e2e lag p99', (r) => ratio(r.ferry!.e2e.p99, r.peer!.e2e.p99)),
        prow('applied ev/s', (r) => ratio(r.ferry!.appliedPerS, r.peer!.appliedPerS)),
        prow('drain time', (r) => ratio(r.ferry!.drainS, r.peer!.drainS)),
        prow('CPU s', (r) => ratio(r.cpu?.ferry_worker, r.cpu?.peer)),
      ];
      if (opts.max) prs.push(prow('highest rate kept up with', (r) => ratio(r.ferry!.maxRate, r.peer!.maxRate)));
      out.push(table(['', ...pairs.map((r) => KIND_LABEL[r.kind])], prs));
    }
  }
  for (const r of results) {
    if (r.cpu) out.push('', `${KIND_LABEL[r.kind]} run, CPU seconds over the ${r.windowS} s of load: ${Object.entries(r.cpu).filter(([, v]) => v > 0.05).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    if (r.loadMisses) out.push(`  load: ${r.loadMisses} statements changed other than one row`);
    for (const c of [r.ferry, r.peer]) for (const n of c?.notes ?? []) out.push(`  ${c!.label}: ${n}`);
    if (r.status === 'failed') out.push(`${KIND_LABEL[r.kind]}: FAILED: ${r.reason}`);
    if (r.migrationId) out.push(`  migration ${r.migrationId}`);
  }
  return out.join('\n');
}

// ==== main ======================================================================================

function loadStackEnv(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'stack', 'stack.sh'), 'env'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && !process.env[m[1]]) process.env[m[1]] = m[2];
  }
}

function intOption(name: string, min: number) {
  return (v: string) => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('bench:cdc')
    .description('CDC sync benchmark: Ferry online sync vs a raw kafkajs → upsert consumer, under a steady write load')
    .option('--rate <n>', 'events per second written to the source', intOption('--rate', 1), 1_000)
    .option('--seconds <s>', 'seconds of load (per step with --max)', intOption('--seconds', 3), 60)
    .addOption(new Option('--target <kind>', 'target(s)').choices(['postgres', 'mongodb', 'both']).default('both'))
    .option('--max', 'step the rate up (see --steps) and report the highest rate each kept up with', false)
    .option('--steps <list>', 'rates for --max, comma-separated', '1000,2000,4000,8000,16000')
    .option('--tables <n>', 'source tables', intOption('--tables', 1), 4)
    .option('--rows <n>', 'rows per table before the load', intOption('--rows', 0), 10_000)
    .option('--namespace <ns>', 'Temporal namespace for the Ferry runs (created if missing)', 'ferry-bench')
    .option('--no-ferry', 'run the peer alone, on a Debezium connector of its own')
    .option('--no-peer', 'run Ferry alone')
    .option('--timeout <s>', 'seconds the migration may take to reach a caught-up sync', intOption('--timeout', 10), 600)
    .option('--drain <s>', 'seconds to wait for the targets to catch up after the load', intOption('--drain', 1), 300)
    .option('--keep', 'keep the bench databases afterwards', false)
    .option('--json', 'also print the results as JSON', false)
    .showHelpAfterError();
  program.parse(argv);
  const raw = program.opts();
  const steps = String(raw.steps).split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
  const opts: Options = {
    rate: raw.rate, seconds: raw.seconds, targets: raw.target === 'both' ? ['postgres', 'mongodb'] : [raw.target], max: raw.max, steps,
    tables: raw.tables, rows: raw.rows, namespace: raw.namespace, ferry: raw.ferry, peer: raw.peer, timeoutS: raw.timeout, drainS: raw.drain,
    keep: raw.keep, json: raw.json,
  };
  if (!opts.ferry && !opts.peer) {
    console.error('bench: --no-ferry and --no-peer leave nothing to measure');
    return 2;
  }
  loadStackEnv();
  const adminUrl = process.env.FERRY_PG_ADMIN_URL;
  const mongoUrl = process.env.FERRY_MONGO_URL;
  const brokers = process.env.FERRY_KAFKA_BROKERS;
  const connectUrl = process.env.FERRY_CONNECT_URL;
  if (!adminUrl || !mongoUrl || !brokers || !connectUrl) {
    console.error('bench: FERRY_PG_ADMIN_URL / FERRY_MONGO_URL / FERRY_KAFKA_BROKERS / FERRY_CONNECT_URL not set and `scripts/stack/stack.sh env` gave none: is the stack running? (npx ferry stack up)');
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'ferry-bench-cdc-'));
  const ferryEnv: NodeJS.ProcessEnv = {
    ...process.env,
    FERRY_LOG_LEVEL: 'WARN',
    TEMPORAL_NAMESPACE: opts.namespace,
    BENCH_CDC_SRC: dbUrl(adminUrl, SRC_DB),
    BENCH_CDC_FERRY_PG: dbUrl(adminUrl, FERRY_DB),
  };
  let postmaster: number | null = null;
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  const pgFacts = (await admin.query(`SELECT current_setting('server_version') AS v, current_setting('data_directory') AS d, current_setting('synchronous_commit') AS sc`)).rows[0] as { v: string; d: string; sc: string };
  await admin.end();
  try {
    postmaster = Number(readFileSync(join(pgFacts.d, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    // PostgreSQL's CPU will be missing
  }
  const ctx: Ctx = { opts, adminUrl, mongoUrl, brokers: brokers.split(','), connectUrl, work, services: findServices(postmaster), ferryEnv, tables: [], running: {} };
  let mongo: MongoClient | null = null;

  const cleanup = async () => {
    if (ctx.running.load) await ctx.running.load.stop().catch(() => undefined);
    if (ctx.running.peer) await ctx.running.peer.stop().catch(() => undefined);
    if (ctx.running.migrationId && ctx.temporal) await releaseFerry(ctx, ctx.running.migrationId, ctx.running.captureName).catch(() => undefined);
    else if (ctx.running.ownConnector && ctx.source) await releaseCapture(ctx, ctx.running.ownConnector, 'the bench').catch(() => undefined);
    if (ctx.worker) await stopGroup(ctx.worker);
    await ctx.source?.end().catch(() => undefined);
    ctx.source = undefined;
    if (!opts.keep) {
      for (const db of [SRC_DB, FERRY_DB, PEER_DB]) await dropDatabase(ctx, db).catch(() => undefined);
      for (const db of [FERRY_DB, PEER_DB]) await mongo?.db(db).dropDatabase().catch(() => undefined);
    }
    await mongo?.close().catch(() => undefined);
    await ctx.temporal?.connection.close().catch(() => undefined);
  };
  installSignalHandlers(cleanup);

  const facts = machineFacts();
  log('=== Ferry CDC sync benchmark ===');
  log(`machine: ${facts.cores} cores (${facts.cpuModel}), ${facts.memGiB} GiB, load average ${facts.load}, Node ${facts.node}`);
  log(`PostgreSQL ${pgFacts.v} (synchronous_commit ${pgFacts.sc}); Kafka ${brokers}; Connect ${connectUrl}`);
  log(`${opts.max ? `steps ${opts.steps.join(', ')} ev/s, ${opts.seconds} s each` : `${opts.rate} ev/s for ${opts.seconds} s`}; ${opts.tables} tables × ${opts.rows} rows; targets ${opts.targets.join(', ')}; contenders ${[opts.ferry && 'Ferry', opts.peer && 'peer'].filter(Boolean).join(' + ')}; work dir ${work}`);
  log('e2e lag = sample time − newest updated_at on the target (each write sets updated_at = clock_timestamp()), sampled every second during the load.');

  const results: TargetResult[] = [];
  try {
    await (async () => {
      const p = new Pool({ connectionString: adminUrl, max: 1 });
      try {
        // A slot left by an earlier interrupted run would block DROP DATABASE.
        const slots = await p.query<{ slot_name: string }>(`SELECT slot_name FROM pg_replication_slots WHERE database = $1 AND NOT active`, [SRC_DB]);
        for (const s of slots.rows) await p.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]);
      } finally {
        await p.end();
      }
    })();
    await recreateDatabase(ctx, SRC_DB);
    ctx.source = new Pool({ connectionString: dbUrl(adminUrl, SRC_DB), max: 20, application_name: 'ferry-bench-load' });
    if (opts.targets.includes('mongodb')) mongo = await MongoClient.connect(mongoUrl, { serverSelectionTimeoutMS: 5_000 });
    if (opts.ferry) {
      const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', connectTimeout: '5 seconds' });
      await ensureNamespace(connection, opts.namespace, log);
      ctx.temporal = { connection, client: new TemporalClient({ connection, namespace: opts.namespace }) };
      ctx.worker = await startWorker(ctx);
    }
    for (const kind of opts.targets) {
      log(`\n--- ${KIND_LABEL[kind]} target ---`);
      const r = await runTarget(ctx, kind, mongo);
      if (r.status === 'failed') log(`  FAILED: ${r.reason}`);
      results.push(r);
    }
  } finally {
    await cleanup();
  }

  log('\n=== summary ===');
  log(report(results, opts));
  log(`\nlogs: ${work}`);
  if (opts.json) console.log(JSON.stringify({ facts, options: opts, results }, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v), 2));
  return results.every((r) => r.status === 'ok') ? 0 : 1;
}

if (process.argv.includes('--peer-child')) {
  peerChild(JSON.parse(process.env.BENCH_CDC_PEER!) as PeerConfig).catch((err) => {
    console.error(`peer: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  });
} else {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      killAllGroups('SIGKILL');
      console.error(`bench: ${(err as Error)?.stack ?? err}`);
      process.exit(1);
    },
  );
}
