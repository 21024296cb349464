// `npm run bench:backfill`: a benchmark, not a test. One table shaped like pgbench_accounts
// (aid int PK, bid int, abalance int, filler char(84); 2,000,000 rows unless --rows), copied
// in one run, on the same data, by:
//   copy               raw COPY … TO STDOUT (binary) piped into COPY … FROM STDIN, then the PK
//   pgcopydb           `pgcopydb clone` (Debian package; installed when missing)
//   ferry-pg           Ferry PostgreSQL → PostgreSQL, verify: counts (no row verification)
//   ferry-pg-verified  Ferry PostgreSQL → PostgreSQL, verify: checksum
//   insertmany         raw insertMany loop of documents already mapped by Ferry's mapper
//   ferry-mongo        Ferry PostgreSQL → MongoDB, verify: counts
// and prints wall time, rows/s, Ferry/peer ratios against the goals, Ferry's peak worker
// memory, and where the time went. Exit 0 when every contender that ran copied every row
// (goals missed do not fail it: it is a measurement), 1 otherwise.
import { Command, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client as PgClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { MongoClient, type Document } from 'mongodb';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { ensureNamespace } from '../cli/setup';
import type { MigrationStatus } from '../../contracts/migration';
import { specSchema } from '../../contracts/spec';
import { closeAll, pgPool } from '../../engines/connections';
import { introspectTable } from '../../engines/postgres/source';
import { type SourceRow } from '../../engines/rows';
import { documentMapper } from '../../engines/mongodb/mapping/document';
import { migrationTimeline } from './timeline';
import { repoRoot } from '../repo-root';
import {
  cpuDelta, cpuSnapshot, findServices, installSignalHandlers, javaMaxHeapBytes, killAllGroups, logTail, machineFacts, onPath, PeakMemory,
  startGroup, stopGroup, type ServicePids, type Started,
} from './system';
import {
  CONTENDERS, cpuLine, fmtInt, fmtMiB, fmtS, indent, ratios, ratioTable, summaryTable, workflowBreakdown,
  type ContenderId, type ContenderResult,
} from './report';

// The checkout, from the sources or from dist/ alike.
const ROOT = repoRoot;
const FERRY_BIN = join(ROOT, 'bin', 'ferry.js');
const TABLE = 'pgbench_accounts';
// Database names: 'bench_…' for the default namespace, 'bench_<namespace>_…' otherwise, so two
// benchmarks in different namespaces (two checkouts) never drop each other's databases.
let SRC_DB = 'bench_src';
const DST_DB: Record<'copy' | 'pgcopydb' | 'ferry-pg' | 'ferry-pg-verified', string> = {
  copy: 'bench_dst_copy',
  pgcopydb: 'bench_dst_pgcopydb',
  'ferry-pg': 'bench_dst_ferry',
  'ferry-pg-verified': 'bench_dst_ferry_verified',
};
const MONGO_DB: Record<'insertmany' | 'ferry-mongo', string> = { insertmany: 'bench_raw_insert', 'ferry-mongo': 'bench_ferry' };

function useNamespace(namespace: string): void {
  if (namespace === 'ferry-bench') return;
  const tag = `bench_${namespace.replace(/^ferry-?/, '').toLowerCase().replace(/[^a-z0-9]+/g, '_')}_`;
  const rename = (name: string) => name.replace(/^bench_/, tag);
  SRC_DB = rename(SRC_DB);
  for (const k of Object.keys(DST_DB) as Array<keyof typeof DST_DB>) DST_DB[k] = rename(DST_DB[k]);
  for (const k of Object.keys(MONGO_DB) as Array<keyof typeof MONGO_DB>) MONGO_DB[k] = rename(MONGO_DB[k]);
}

const LABELS: Record<ContenderId, string> = {
  copy: 'raw COPY pipe',
  pgcopydb: 'pgcopydb clone',
  'ferry-pg': 'Ferry PG→PG',
  'ferry-pg-verified': 'Ferry PG→PG verified',
  insertmany: 'raw insertMany loop',
  'ferry-mongo': 'Ferry PG→Mongo',
};

interface Options {
  rows: number;
  parallelism: number;
  batchRows: number;
  chunkRows?: number;
  skip: ContenderId[];
  json: boolean;
  namespace: string;
  keep: boolean;
  pgcopydbSplit: boolean;
  /** Seconds a Ferry run may take before it is stopped and reported failed. */
  timeoutS: number;
  /** Run the MongoDB contenders even when the server's heap looks too small. */
  forceMongo: boolean;
  /** Start Ferry's worker without the memory settings the README recommends for workers. */
  plainWorker: boolean;
  /** The worker's NODE_OPTIONS in place of the recommended ones (to measure others). */
  workerNodeOptions: string;
}

/**
 * What the README recommends for a copy worker's process: at most two malloc arenas, a 2 MiB
 * young generation and a 384 MiB old generation. The copy's live set is small (streams and a
 * batch or two per chunk) but it makes garbage fast, which V8 otherwise lets pile up, sizing
 * its heap from the machine's memory: measured peak RSS into MongoDB at 2M rows 208–213 MiB
 * with a 320–400 MiB cap against 354–367 without, for 3–11% more wall time (256 MiB: 12–18%).
 */
export const WORKER_MEMORY_ENV = { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=2 --max-old-space-size=384' };

interface Ctx {
  opts: Options;
  adminUrl: string;
  mongoUrl: string;
  work: string;
  services: ServicePids;
  cores: number;
  temporal?: { connection: Connection; client: TemporalClient };
  ferryEnv: NodeJS.ProcessEnv;
  tableBytes: number;
  /** The Ferry migration in flight, terminated if the bench is interrupted. */
  running?: string;
}

const log = (msg: string) => console.log(msg);
const now = () => performance.now();

function dbUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

function parseIntOption(name: string, min: number) {
  return (v: string) => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

/** The stack's connection variables, for whatever the caller has not exported. */
function loadStackEnv(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'stack', 'stack.sh'), 'env'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && !process.env[m[1]]) process.env[m[1]] = m[2];
  }
}

// ---- PostgreSQL helpers -------------------------------------------------------------------

async function withPg<T>(url: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const c = new PgClient({ connectionString: url, application_name: 'ferry-bench' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function recreateDatabase(ctx: Ctx, db: string): Promise<void> {
  await withPg(ctx.adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${db}`);
  });
}

async function dropDatabase(ctx: Ctx, db: string): Promise<void> {
  await withPg(ctx.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
}

/** Flushes what earlier contenders dirtied, so nobody pays for somebody else's writes. */
async function checkpoint(ctx: Ctx): Promise<void> {
  await withPg(ctx.adminUrl, (c) => c.query('CHECKPOINT'));
}

const TABLE_DDL = `CREATE TABLE public.${TABLE} (aid int NOT NULL, bid int, abalance int, filler char(84)) WITH (fillfactor = 100)`;

/** pgbench -i's data (bid = one branch per 100,000 accounts, balance 0, blank filler), then its PK. */
async function generateSource(ctx: Ctx): Promise<number> {
  const t0 = now();
  await recreateDatabase(ctx, SRC_DB);
  await withPg(dbUrl(ctx.adminUrl, SRC_DB), async (c) => {
    await c.query(TABLE_DDL);
    await c.query(`INSERT INTO public.${TABLE} (aid, bid, abalance, filler) SELECT aid, (aid - 1) / 100000 + 1, 0, '' FROM generate_series(1, $1::int) aid`, [ctx.opts.rows]);
    await c.query(`ALTER TABLE public.${TABLE} ADD PRIMARY KEY (aid)`);
    await c.query(`VACUUM ANALYZE public.${TABLE}`);
    const size = await c.query(`SELECT pg_table_size('public.${TABLE}')::bigint AS heap, pg_total_relation_size('public.${TABLE}')::bigint AS total`);
    ctx.tableBytes = Number(size.rows[0].heap);
    log(`source: ${SRC_DB}.public.${TABLE}, ${fmtInt(ctx.opts.rows)} rows, table ${fmtMiB(Number(size.rows[0].heap))}, with PK ${fmtMiB(Number(size.rows[0].total))} (generated in ${fmtS((now() - t0) / 1000)} s)`);
  });
  return ctx.opts.rows;
}

async function pgTargetCheck(url: string): Promise<{ rows: number; primaryKey: boolean }> {
  return withPg(url, async (c) => {
    const exists = await c.query(`SELECT to_regclass('public.${TABLE}') IS NOT NULL AS ok`);
    if (!exists.rows[0].ok) return { rows: 0, primaryKey: false };
    const n = await c.query(`SELECT count(*)::bigint AS n FROM public.${TABLE}`);
    const pk = await c.query(`SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'public.${TABLE}'::regclass AND indisprimary`);
    return { rows: Number(n.rows[0].n), primaryKey: pk.rows[0].n > 0 };
  });
}

async function mongoCount(ctx: Ctx, db: string): Promise<number> {
  const m = await MongoClient.connect(ctx.mongoUrl);
  try {
    return await m.db(db).collection(TABLE).countDocuments({});
  } finally {
    await m.close();
  }
}

async function dropMongo(ctx: Ctx, db: string): Promise<void> {
  const m = await MongoClient.connect(ctx.mongoUrl);
  try {
    await m.db(db).dropDatabase();
  } finally {
    await m.close();
  }
}

function finish(r: ContenderResult, ctx: Ctx): ContenderResult {
  if (r.status === 'ok' || r.status === 'wrong') {
    const right = r.targetRows === r.sourceRows && (r.target !== 'postgres' || r.primaryKey === true);
    r.status = right ? 'ok' : 'wrong';
    if (!right) r.reason = `target holds ${fmtInt(r.targetRows)} rows${r.target === 'postgres' && !r.primaryKey ? ', no primary key' : ''}; source has ${fmtInt(r.sourceRows)}`;
    if (r.wallS) r.rowsPerS = r.sourceRows / r.wallS;
  }
  const head = `${LABELS[r.id]}: ${r.status === 'ok' ? `${fmtS(r.wallS)} s, ${fmtInt(r.rowsPerS)} rows/s, target rows ${fmtInt(r.targetRows)} ✓` : `${r.status.toUpperCase()}${r.wallS ? ` after ${fmtS(r.wallS)} s` : ''}: ${r.reason ?? ''}`}`;
  log(`  → ${head}`);
  if (r.steps?.length) log(`    steps: ${r.steps.map((s) => `${s.name} ${fmtS(s.s)} s`).join(', ')}`);
  if (r.cpu) log(`    ${cpuLine(r.cpu, r.wallS, ctx.cores)}`);
  if (r.workerPeakRssBytes !== undefined) log(`    worker peak RSS ${fmtMiB(r.workerPeakRssBytes)}${r.workerPeakNote ? ` (${r.workerPeakNote})` : ''}`);
  for (const n of r.notes ?? []) log(`    note: ${n}`);
  if (r.peerSummary) log(indent(r.peerSummary));
  if (r.workflow && r.wallS) log(indent(workflowBreakdown(r.workflow, r.wallS)));
  return r;
}

// ---- contender: raw COPY pipe -------------------------------------------------------------

async function runCopy(ctx: Ctx, sourceRows: number): Promise<ContenderResult> {
  const r: ContenderResult = { id: 'copy', label: LABELS.copy, target: 'postgres', status: 'ok', sourceRows, notes: ['one COPY stream (binary); table created without PK, PK added after the load (timed), as pgcopydb does'] };
  const dst = dbUrl(ctx.adminUrl, DST_DB.copy);
  await recreateDatabase(ctx, DST_DB.copy);
  await checkpoint(ctx);
  const src = new PgClient({ connectionString: dbUrl(ctx.adminUrl, SRC_DB), application_name: 'ferry-bench' });
  const out = new PgClient({ connectionString: dst, application_name: 'ferry-bench' });
  await src.connect();
  await out.connect();
  try {
    const cpu0 = cpuSnapshot(ctx.services);
    const t0 = now();
    await out.query(TABLE_DDL);
    const t1 = now();
    await pipeline(
      src.query(copyTo(`COPY public.${TABLE} TO STDOUT (FORMAT binary)`)),
      out.query(copyFrom(`COPY public.${TABLE} FROM STDIN (FORMAT binary)`)),
    );
    const t2 = now();
    await out.query(`ALTER TABLE public.${TABLE} ADD PRIMARY KEY (aid)`);
    const t3 = now();
    r.cpu = cpuDelta(cpu0, cpuSnapshot(ctx.services));
    r.wallS = (t3 - t0) / 1000;
    r.steps = [{ name: 'create table', s: (t1 - t0) / 1000 }, { name: 'COPY', s: (t2 - t1) / 1000 }, { name: 'add PK', s: (t3 - t2) / 1000 }];
  } finally {
    await src.end();
    await out.end();
  }
  Object.assign(r, await pgTargetCheck(dst).then((c) => ({ targetRows: c.rows, primaryKey: c.primaryKey })));
  return r;
}

// ---- contender: pgcopydb ------------------------------------------------------------------

function tailOf(file: string, n = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join(' | ');
  } catch {
    return '';
  }
}

/** pgcopydb on PATH, installing the Debian package when it is missing. */
function ensurePgcopydb(ctx: Ctx): { ok: true; installed: boolean } | { ok: false; reason: string } {
  if (onPath('pgcopydb')) return { ok: true, installed: false };
  const root = process.getuid?.() === 0;
  const prefix = root ? [] : onPath('sudo') ? ['sudo', '-n'] : null;
  if (!prefix) return { ok: false, reason: 'not on PATH, not root and no sudo to apt-get install pgcopydb' };
  const aptLog = join(ctx.work, 'apt-pgcopydb.log');
  const apt = (args: string[]) => {
    const cmd = [...prefix, 'apt-get', '-o', 'DPkg::Lock::Timeout=120', ...args];
    log(`  pgcopydb is not on PATH: running ${cmd.join(' ')} (log ${aptLog})`);
    const res = spawnSync(cmd[0], cmd.slice(1), { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', timeout: 600_000 });
    writeFileSync(aptLog, `$ ${cmd.join(' ')}\n${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? `\n${res.error.message}` : ''}\n`, { flag: 'a' });
    return res.status === 0;
  };
  if (!apt(['install', '-y', '-q', 'pgcopydb'])) {
    // A stale package index is the usual reason: refresh it once and try again.
    apt(['update', '-q']);
    apt(['install', '-y', '-q', 'pgcopydb']);
  }
  return onPath('pgcopydb') ? { ok: true, installed: true } : { ok: false, reason: `apt-get install pgcopydb failed: ${tailOf(aptLog, 3)}` };
}

function pgcopydbVersion(): string {
  const r = spawnSync('pgcopydb', ['--version'], { encoding: 'utf8' });
  return /pgcopydb version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** pgcopydb's own summary table (the lines from its "Step" header on), de-prefixed. */
function pgcopydbSummary(file: string): string | undefined {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\s+Step\s+Connection\s+Duration/.test(l));
  if (start < 0) return undefined;
  return lines.slice(start).filter((l) => l.trim() && !/^\d\d:\d\d:\d\d /.test(l)).join('\n');
}

async function runPgcopydb(ctx: Ctx, sourceRows: number, facts: Record<string, unknown>): Promise<ContenderResult> {
  const r: ContenderResult = { id: 'pgcopydb', label: LABELS.pgcopydb, target: 'postgres', status: 'ok', sourceRows, notes: [] };
  const have = ensurePgcopydb(ctx);
  if (!have.ok) {
    facts.pgcopydb = `not available (${have.reason})`;
    return { ...r, label: `${LABELS.pgcopydb}`, status: 'skipped', reason: `pgcopydb not available (${have.reason})` };
  }
  const version = pgcopydbVersion();
  facts.pgcopydb = version;
  r.label = `pgcopydb clone ${version}`;
  LABELS.pgcopydb = r.label;
  const help = spawnSync('pgcopydb', ['clone', '--help'], { encoding: 'utf8' });
  const helpText = `${help.stdout}${help.stderr}`;
  const dst = dbUrl(ctx.adminUrl, DST_DB.pgcopydb);
  await recreateDatabase(ctx, DST_DB.pgcopydb);
  const dir = join(ctx.work, 'pgcopydb');
  const P = String(ctx.opts.parallelism);
  // The source database holds only the bench table: no filters needed.
  const args = ['clone', '--source', dbUrl(ctx.adminUrl, SRC_DB), '--target', dst, '--dir', dir, '--table-jobs', P, '--index-jobs', P];
  if (ctx.opts.pgcopydbSplit && ctx.opts.parallelism > 1 && helpText.includes('--split-tables-larger-than')) {
    // Same-table concurrency, like Ferry's chunks: about `parallelism` parts of the table.
    // pgcopydb makes ceil(table size / threshold) parts: 1% over size/P gives exactly P.
    const kB = Math.ceil((ctx.tableBytes * 1.01) / ctx.opts.parallelism / 1024);
    args.push('--split-tables-larger-than', `${kB}kB`);
    r.notes!.push(`same-table concurrency: --split-tables-larger-than ${kB}kB (≈${ctx.opts.parallelism} parts)`);
  }
  if (helpText.includes('--skip-vacuum')) args.push('--skip-vacuum');
  else r.notes!.push(`pgcopydb ${version} also runs VACUUM ANALYZE on the copied table (no --skip-vacuum in this version); Ferry does not`);
  r.notes!.push(`pgcopydb ${args.join(' ').replace(/postgres(ql)?:\/\/[^ ]*/g, (u) => u.replace(/:[^:@/]*@/, '@'))}`);
  if (have.installed) r.notes!.push('installed by this run (apt-get install pgcopydb)');

  await checkpoint(ctx);
  const logFile = join(ctx.work, 'pgcopydb.log');
  const cpu0 = cpuSnapshot(ctx.services);
  const t0 = now();
  const p = startGroup('pgcopydb', args, { env: { ...process.env, PGAPPNAME: 'pgcopydb' }, log: logFile });
  const code = await p.exited;
  const t1 = now();
  r.cpu = cpuDelta(cpu0, cpuSnapshot(ctx.services));
  if (r.cpu.children !== undefined) {
    r.cpu.pgcopydb = r.cpu.children; // pgcopydb and the pg_dump/pg_restore it ran
    delete r.cpu.children;
  }
  const parts = /(\d+) COPY processes will be used/.exec(readFileSync(logFile, 'utf8'))?.[1];
  if (parts) r.notes!.push(`pgcopydb split the table into ${parts} COPY processes`);
  r.wallS = (t1 - t0) / 1000;
  r.peerSummary = pgcopydbSummary(logFile);
  if (code !== 0) return { ...r, status: 'failed', reason: `pgcopydb exited ${code} (log ${logFile}):\n${logTail(logFile)}` };
  const c = await pgTargetCheck(dst);
  return { ...r, targetRows: c.rows, primaryKey: c.primaryKey };
}

// ---- contender: raw insertMany loop -------------------------------------------------------

async function runInsertMany(ctx: Ctx, sourceRows: number): Promise<ContenderResult> {
  const P = ctx.opts.parallelism;
  const B = ctx.opts.batchRows;
  const r: ContenderResult = {
    id: 'insertmany', label: LABELS.insertmany, target: 'mongodb', status: 'ok', sourceRows,
    notes: [`documents read and mapped by Ferry's documentMapper before timing; timed: insertMany(batch of ${B}, {ordered: false}) in ${P} concurrent loops`],
  };
  // Read and map (not timed): Ferry's pool settings (every value as PostgreSQL text) and mapper.
  const t0 = now();
  const pool = pgPool('${BENCH_SRC}');
  const plan = await introspectTable(pool, { name: { schema: 'public', name: TABLE } });
  if (typeof plan === 'string') return { ...r, status: 'failed', reason: `introspecting the source: ${plan}` };
  const map = documentMapper(plan);
  const docs: Document[] = [];
  let last = 0;
  for (;;) {
    const res = await pool.query<SourceRow>(`SELECT * FROM public.${TABLE} WHERE aid > $1 ORDER BY aid LIMIT 100000`, [last]);
    if (!res.rows.length) break;
    for (const row of res.rows) docs.push(map(row));
    last = Number(res.rows[res.rows.length - 1].aid);
  }
  log(`  read and mapped ${fmtInt(docs.length)} documents in ${fmtS((now() - t0) / 1000)} s (not timed)`);

  await dropMongo(ctx, MONGO_DB.insertmany);
  await checkpoint(ctx);
  const mongo = await MongoClient.connect(ctx.mongoUrl);
  try {
    const coll = mongo.db(MONGO_DB.insertmany).collection(TABLE);
    const cpu0 = cpuSnapshot(ctx.services);
    const t1 = now();
    let next = 0;
    await Promise.all(Array.from({ length: P }, async () => {
      for (let i = next; i < docs.length; i = next) {
        next = i + B;
        await coll.insertMany(docs.slice(i, i + B), { ordered: false });
      }
    }));
    const t2 = now();
    r.cpu = cpuDelta(cpu0, cpuSnapshot(ctx.services));
    r.wallS = (t2 - t1) / 1000;
    docs.length = 0;
    r.targetRows = await coll.countDocuments({});
  } finally {
    await mongo.close();
  }
  // mongo-java-server keeps everything in its heap: free it before the next contender.
  if (!ctx.opts.keep) await dropMongo(ctx, MONGO_DB.insertmany);
  return r;
}

/**
 * The stack's MongoDB is mongo-java-server with its in-memory backend: every document lives
 * in its Java heap, about 0.9 KB per pgbench_accounts document (measured: 200,000 documents
 * took 180 MB of heap after a full GC). A heap too small fails with OutOfMemoryError and
 * leaves the server broken for everyone, so refuse to start instead. One collection at a
 * time: each contender's database is dropped before the next one runs.
 */
const MONGO_BYTES_PER_DOC = 1_000;
const MONGO_HEAP_RESERVE = 256 * 2 ** 20;

function mongoHeapProblem(ctx: Ctx): string | null {
  if (ctx.opts.forceMongo || !ctx.services.mongo) return null;
  const max = javaMaxHeapBytes(ctx.services.mongo);
  if (!max) return null;
  const need = ctx.opts.rows * MONGO_BYTES_PER_DOC;
  if (need + MONGO_HEAP_RESERVE <= max) return null;
  const gib = Math.ceil((need + MONGO_HEAP_RESERVE) / 2 ** 30) + 1;
  return `mongo-java-server's heap (${fmtMiB(max)}) cannot hold ${fmtInt(ctx.opts.rows)} documents (~${fmtMiB(need)} at ~1 KB each, in memory): ` +
    `restart the stack's MongoDB with a larger heap (FERRY_MONGO_HEAP=-Xmx${gib}g npx ferry stack down && FERRY_MONGO_HEAP=-Xmx${gib}g npx ferry stack up; down empties MongoDB), ` +
    'use fewer --rows, or --force-mongo to try anyway';
}

// ---- Ferry --------------------------------------------------------------------------------


async function startWorker(ctx: Ctx, name: string): Promise<Started> {
  const logFile = join(ctx.work, `worker-${name}.log`);
  const env = ctx.opts.plainWorker
    ? ctx.ferryEnv
    : { ...ctx.ferryEnv, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? WORKER_MEMORY_ENV.MALLOC_ARENA_MAX, NODE_OPTIONS: [process.env.NODE_OPTIONS, ctx.opts.workerNodeOptions].filter(Boolean).join(' ') };
  const w = startGroup(process.execPath, [FERRY_BIN, 'worker', '--queue', 'all'], { env, log: logFile, cwd: ROOT });
  const deadline = Date.now() + 300_000;
  let exited: number | null = null;
  void w.exited.then((c) => (exited = c));
  while (Date.now() < deadline) {
    if (existsSync(logFile) && readFileSync(logFile, 'utf8').includes('ferry worker: polling')) return w;
    if (exited !== null) throw new Error(`the worker exited ${exited} before polling (log ${logFile}):\n${logTail(logFile)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  await stopGroup(w);
  throw new Error(`the worker did not start polling within 300 s (log ${logFile}):\n${logTail(logFile)}`);
}

/** Terminates a migration and its children (ids start with the migration's id) in the bench namespace. */
async function terminateRun(ctx: Ctx, workflowId: string): Promise<void> {
  const client = ctx.temporal!.client;
  try {
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      if (w.workflowId === workflowId || w.workflowId.startsWith(`${workflowId}/`)) {
        await client.workflow.getHandle(w.workflowId, w.runId).terminate('ferry bench: timed out').catch(() => undefined);
      }
    }
  } catch (err) {
    console.error(`bench: could not terminate ${workflowId}: ${(err as Error).message}`);
  }
}

/** The distinct error lines a worker logged (first line of each), for a failure report. */
function workerErrors(file: string): string {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (!/\[(ERROR|WARN)\]/.test(l) || l.includes('No workflows registered')) return;
    // The message that matters is often a few lines below the log header.
    const detail = lines.slice(i, i + 12).find((x) => /Error:|error:|Failure|failed/i.test(x) && x !== l)?.trim() ?? '';
    const key = `${l.replace(/^\S+ /, '').slice(0, 120)} ${detail.slice(0, 200)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  });
  return [...seen.entries()].slice(0, 8).map(([k, n]) => `    | ${k}${n > 1 ? ` (×${n})` : ''}`).join('\n');
}

async function runFerry(ctx: Ctx, id: 'ferry-pg' | 'ferry-pg-verified' | 'ferry-mongo', sourceRows: number): Promise<ContenderResult> {
  const toMongo = id === 'ferry-mongo';
  const verify = id === 'ferry-pg-verified' ? 'checksum' : 'counts';
  const r: ContenderResult = { id, label: LABELS[id], target: toMongo ? 'mongodb' : 'postgres', status: 'ok', sourceRows, notes: [] };
  const verifyKey = 'verify' in specSchema.shape;
  if (!verifyKey && verify === 'checksum') return { ...r, status: 'skipped', reason: 'the spec has no `verify` key yet (activities/plan/spec.ts)' };
  if (!verifyKey) r.notes!.push('the spec has no `verify` key yet: ran with the workflow\'s default verification');

  const targetVar = toMongo ? 'BENCH_MONGO' : id === 'ferry-pg' ? 'BENCH_DST_FERRY' : 'BENCH_DST_FERRY_VERIFIED';
  const spec = {
    name: `bench-${id}`,
    mode: 'offline',
    source: { url: '${BENCH_SRC}' },
    target: toMongo ? { url: `\${${targetVar}}`, database: MONGO_DB['ferry-mongo'] } : { url: `\${${targetVar}}` },
    tables: [`public.${TABLE}`],
    ...(verifyKey ? { verify } : {}),
    backfill: { parallelism: ctx.opts.parallelism, batchRows: ctx.opts.batchRows, ...(ctx.opts.chunkRows ? { chunkRows: ctx.opts.chunkRows } : {}) },
  };
  const specFile = join(ctx.work, `${id}.spec.json`);
  writeFileSync(specFile, JSON.stringify(spec, null, 2));
  r.notes!.push(`spec ${specFile}: verify ${verifyKey ? verify : '(default)'}, parallelism ${ctx.opts.parallelism}, batchRows ${ctx.opts.batchRows}${ctx.opts.chunkRows ? `, chunkRows ${ctx.opts.chunkRows}` : ', chunkRows (Ferry default)'}; one worker process (ferry worker --queue all), started before timing${ctx.opts.plainWorker ? ', without the recommended memory settings (--plain-worker)' : `, with the README's worker memory settings (MALLOC_ARENA_MAX=${WORKER_MEMORY_ENV.MALLOC_ARENA_MAX} NODE_OPTIONS=${ctx.opts.workerNodeOptions}; --plain-worker to go without)`}`);

  if (toMongo) await dropMongo(ctx, MONGO_DB['ferry-mongo']);
  else await recreateDatabase(ctx, DST_DB[id]);

  const worker = await startWorker(ctx, id);
  const workflowId = `bench-${id}-${Date.now()}`;
  ctx.running = workflowId;
  const cliLog = join(ctx.work, `${id}.cli.log`);
  let code: number;
  let t0: number;
  let t1: number;
  let spawnedAt = 0;
  let exitedAt = 0;
  try {
    await checkpoint(ctx);
    const mem = new PeakMemory(worker.pid);
    if (!mem.resetWorked) r.workerPeakNote = 'peak since the worker started: /proc clear_refs refused';
    const cpu0 = cpuSnapshot(ctx.services, { worker: worker.pid });
    t0 = now();
    spawnedAt = Date.now();
    const cli = startGroup(process.execPath, [FERRY_BIN, 'start', '--spec', specFile, '--wait', '--id', workflowId], { env: ctx.ferryEnv, log: cliLog, cwd: ROOT });
    // A workflow task that keeps failing (say, a workflow the bundle lacks) never fails the
    // run: it retries forever. Give up after a generous limit and say what the worker logged.
    // Three failed workflow activations in the worker's log mean the same will happen forever.
    const limitS = ctx.opts.timeoutS;
    let timer: NodeJS.Timeout | undefined;
    let watch: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), limitS * 1000)));
    const stuck = new Promise<'stuck'>((res) => {
      watch = setInterval(() => {
        const failures = readFileSync(worker.log, 'utf8').split('Failed to process Workflow Activation').length - 1;
        if (failures >= 3) res('stuck');
      }, 2_000);
    });
    const first = await Promise.race([cli.exited, timedOut, stuck]);
    clearTimeout(timer);
    clearInterval(watch);
    if (first === 'timeout' || first === 'stuck') {
      await stopGroup(cli, 2_000);
      await terminateRun(ctx, workflowId);
      code = 124;
      r.reason = first === 'timeout' ? `no result after ${limitS} s (--timeout)` : 'workflow tasks keep failing on the worker (they would retry forever)';
      r.notes!.push(`${r.reason}: ferry start stopped, the run's workflows terminated`);
    } else code = first;
    t1 = now();
    exitedAt = Date.now();
    r.cpu = cpuDelta(cpu0, cpuSnapshot(ctx.services, { worker: worker.pid }));
    if (r.cpu.children !== undefined) {
      r.cpu.cli = r.cpu.children;
      delete r.cpu.children;
    }
    r.workerPeakRssBytes = mem.stop().peakBytes;
    r.workerPeakNote = [r.workerPeakNote, `RSS ${fmtMiB(mem.startBytes)} when the run started`].filter(Boolean).join('; ');
  } finally {
    await stopGroup(worker);
  }
  ctx.running = undefined;
  r.wallS = (t1 - t0) / 1000;
  if (code !== 0) {
    const errors = workerErrors(worker.log);
    return {
      ...r, status: 'failed',
      reason: `${code === 124 ? r.reason : `ferry start exited ${code}`} (log ${cliLog}):\n${logTail(cliLog, 6)}\n  worker log ${worker.log}${errors ? `, errors:\n${errors}` : `:\n${logTail(worker.log, 10)}`}`,
    };
  }

  const client = ctx.temporal!.client;
  try {
    const status = (await client.workflow.getHandle(workflowId).result()) as MigrationStatus;
    const tl = await migrationTimeline(client, workflowId);
    const method = status.verification?.method ?? null;
    r.workflow = {
      id: workflowId, workflowS: tl.workflowS, cliOverheadS: r.wallS - tl.workflowS, cliBeforeS: (tl.startedAt - spawnedAt) / 1000, cliAfterS: (exitedAt - tl.closedAt) / 1000,
      steps: tl.steps, activities: tl.activities, verification: method,
      idleS: tl.idleS, slotWaitS: (tl.activities.find((a) => a.name === 'copyChunk')?.waitS ?? 0) / ctx.opts.parallelism,
    };
    if (verifyKey && method !== verify) r.notes!.push(`asked for verify: ${verify}, the workflow reported verification method ${method ?? 'none'}`);
  } catch (err) {
    r.notes!.push(`could not read the workflow's history: ${(err as Error).message}`);
  }

  if (toMongo) {
    r.targetRows = await mongoCount(ctx, MONGO_DB['ferry-mongo']);
    if (!ctx.opts.keep) await dropMongo(ctx, MONGO_DB['ferry-mongo']);
  } else {
    const c = await pgTargetCheck(dbUrl(ctx.adminUrl, DST_DB[id]));
    r.targetRows = c.rows;
    r.primaryKey = c.primaryKey;
  }
  return r;
}

// ---- main ---------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const program = new Command('bench:backfill')
    .description('Backfill benchmark: raw COPY, pgcopydb and Ferry PG→PG; raw insertMany and Ferry PG→MongoDB, on one pgbench_accounts-shaped table')
    .option('--rows <n>', 'rows in the generated table', parseIntOption('--rows', 1), 2_000_000)
    .option('--parallelism <n>', "Ferry's backfill.parallelism, pgcopydb's --table-jobs/--index-jobs, insertMany loops", parseIntOption('--parallelism', 1), 4)
    .option('--batch-rows <n>', "Ferry's backfill.batchRows and the insertMany batch size", parseIntOption('--batch-rows', 1), 2_000)
    .option('--chunk-rows <n>', "Ferry's backfill.chunkRows (default: Ferry's own sizing)", parseIntOption('--chunk-rows', 1))
    .addOption(new Option('--skip <list>', `comma-separated contenders to skip: ${CONTENDERS.join(', ')}`).default(''))
    .option('--no-pgcopydb-split', "don't give pgcopydb same-table concurrency (--split-tables-larger-than)")
    .option('--timeout <s>', 'seconds a Ferry run may take before it is stopped (default: 120 + rows/2000)', parseIntOption('--timeout', 1))
    .option('--namespace <ns>', 'Temporal namespace for the Ferry runs (created if missing); other than the default, it also names the bench databases', 'ferry-bench')
    .option('--plain-worker', "start Ferry's worker without the README's worker memory settings", false)
    .option('--worker-node-options <flags>', "the worker's NODE_OPTIONS instead of the README's", WORKER_MEMORY_ENV.NODE_OPTIONS)
    .option('--force-mongo', "run the MongoDB contenders even if mongo-java-server's heap looks too small for --rows", false)
    .option('--keep', 'keep the bench databases afterwards (default: drop them)', false)
    .option('--json', 'also print the results as one JSON document at the end', false)
    .showHelpAfterError();
  program.parse(argv);
  const raw = program.opts();
  const skip = String(raw.skip).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = skip.filter((s) => !CONTENDERS.includes(s as ContenderId));
  if (unknown.length) {
    console.error(`bench: unknown contender(s) in --skip: ${unknown.join(', ')} (known: ${CONTENDERS.join(', ')})`);
    return 2;
  }
  const opts: Options = {
    rows: raw.rows, parallelism: raw.parallelism, batchRows: raw.batchRows, chunkRows: raw.chunkRows, skip: skip as ContenderId[],
    json: raw.json, namespace: raw.namespace, keep: raw.keep, pgcopydbSplit: raw.pgcopydbSplit,
    timeoutS: raw.timeout ?? 120 + Math.ceil(raw.rows / 2_000), forceMongo: raw.forceMongo, plainWorker: raw.plainWorker, workerNodeOptions: raw.workerNodeOptions,
  };
  const selected = CONTENDERS.filter((c) => !opts.skip.includes(c));
  useNamespace(opts.namespace);

  loadStackEnv();
  const adminUrl = process.env.FERRY_PG_ADMIN_URL;
  const mongoUrl = process.env.FERRY_MONGO_URL;
  if (!adminUrl || !mongoUrl) {
    console.error('bench: FERRY_PG_ADMIN_URL / FERRY_MONGO_URL are not set and `scripts/stack/stack.sh env` gave none: is the stack running? (npx ferry stack up)');
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  process.env.BENCH_SRC = dbUrl(adminUrl, SRC_DB);
  const ferryEnv: NodeJS.ProcessEnv = {
    ...process.env,
    FERRY_LOG_LEVEL: 'WARN',
    TEMPORAL_NAMESPACE: opts.namespace,
    BENCH_SRC: dbUrl(adminUrl, SRC_DB),
    BENCH_DST_FERRY: dbUrl(adminUrl, DST_DB['ferry-pg']),
    BENCH_DST_FERRY_VERIFIED: dbUrl(adminUrl, DST_DB['ferry-pg-verified']),
    BENCH_MONGO: mongoUrl,
  };
  const facts: Record<string, unknown> = { ...machineFacts() };
  const pgFacts = await withPg(adminUrl, async (c) => {
    const v = await c.query(`SELECT current_setting('server_version') AS v, current_setting('data_directory') AS d, current_setting('shared_buffers') AS sb, current_setting('wal_level') AS wal, current_setting('synchronous_commit') AS sc`);
    return v.rows[0] as { v: string; d: string; sb: string; wal: string; sc: string };
  });
  facts.postgres = `${pgFacts.v} (shared_buffers ${pgFacts.sb}, wal_level ${pgFacts.wal}, synchronous_commit ${pgFacts.sc})`;
  let postmaster: number | null = null;
  try {
    postmaster = Number(readFileSync(join(pgFacts.d, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    // CPU of PostgreSQL will be missing from the breakdown
  }
  const ctx: Ctx = { opts, adminUrl, mongoUrl, work, services: findServices(postmaster), cores: facts.cores as number, ferryEnv, tableBytes: 0 };

  const cleanup = async () => {
    killAllGroups('SIGTERM');
    if (ctx.running && ctx.temporal) await terminateRun(ctx, ctx.running);
    await closeAll().catch(() => undefined);
    if (!opts.keep) {
      for (const db of [SRC_DB, ...Object.values(DST_DB)]) await dropDatabase(ctx, db).catch(() => undefined);
      for (const db of Object.values(MONGO_DB)) await dropMongo(ctx, db).catch(() => undefined);
    }
    await ctx.temporal?.connection.close().catch(() => undefined);
  };
  installSignalHandlers(cleanup);

  if (selected.some((c) => c === 'insertmany' || c === 'ferry-mongo')) {
    const m = await MongoClient.connect(mongoUrl, { serverSelectionTimeoutMS: 5_000 });
    const info = await m.db('admin').command({ buildInfo: 1 }).catch(() => ({ version: 'unknown' }));
    facts.mongodb = `${info.version} at ${mongoUrl}${ctx.services.mongo ? ' (mongo-java-server)' : ''}`;
    await m.close();
  }
  const mongoSkip = mongoHeapProblem(ctx);
  if (mongoSkip && selected.some((c) => c === 'insertmany' || c === 'ferry-mongo')) log(`warning: ${mongoSkip}`);
  if (selected.some((c) => c.startsWith('ferry'))) {
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', connectTimeout: '5 seconds' });
    await ensureNamespace(connection, opts.namespace, log);
    ctx.temporal = { connection, client: new TemporalClient({ connection, namespace: opts.namespace }) };
    facts.temporal = `${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}, namespace ${opts.namespace}`;
  }

  log('=== Ferry backfill benchmark ===');
  log(`machine: ${facts.cores} cores (${facts.cpuModel}), ${facts.memGiB} GiB, load average ${facts.load}, Linux ${facts.kernel}, Node ${facts.node}`);
  log(`PostgreSQL ${facts.postgres}${facts.mongodb ? `\nMongoDB wire server ${facts.mongodb}` : ''}${facts.temporal ? `\nTemporal ${facts.temporal}` : ''}`);
  log(`rows ${fmtInt(opts.rows)}, parallelism ${opts.parallelism}, batch ${opts.batchRows}; contenders: ${selected.join(', ')}${opts.skip.length ? ` (skipped: ${opts.skip.join(', ')})` : ''}; work dir ${work}`);
  log('');

  const results: ContenderResult[] = [];
  try {
    const sourceRows = await generateSource(ctx);
    for (const id of CONTENDERS) {
      if (opts.skip.includes(id)) continue;
      log(`\n--- ${LABELS[id]} ---`);
      let r: ContenderResult;
      try {
        if (id === 'copy') r = await runCopy(ctx, sourceRows);
        else if (id === 'pgcopydb') r = await runPgcopydb(ctx, sourceRows, facts);
        else if ((id === 'insertmany' || id === 'ferry-mongo') && mongoSkip) r = { id, label: LABELS[id], target: 'mongodb', status: 'skipped', sourceRows, reason: `${mongoSkip}` };
        else if (id === 'insertmany') r = await runInsertMany(ctx, sourceRows);
        else r = await runFerry(ctx, id, sourceRows);
      } catch (err) {
        r = { id, label: LABELS[id], target: id === 'insertmany' || id === 'ferry-mongo' ? 'mongodb' : 'postgres', status: 'failed', sourceRows, reason: (err as Error).message };
      }
      r.label = LABELS[id];
      results.push(finish(r, ctx));
    }
  } finally {
    await cleanup();
  }

  const rr = ratios(results);
  log('\n=== summary ===');
  log(summaryTable(results));
  for (const r of results.filter((x) => x.status !== 'ok')) log(`${r.label}: ${r.status}: ${r.reason ?? ''}`);
  log('');
  log(rr.length ? ratioTable(rr, new Map(Object.entries(LABELS) as Array<[ContenderId, string]>)) : 'no Ferry/peer pair ran on both sides: no ratios');
  log('time × = Ferry wall / peer wall (goal ≤ limit); speed × = Ferry rows/s ÷ peer rows/s (goal ≥ limit). Ferry wall = `ferry start --wait` from launch to exit, workers already polling.');
  log('CPU s counts every process of the stack, so other work on this machine shows up in it too.');
  if (opts.rows < 500_000) log(`with ${fmtInt(opts.rows)} rows, fixed costs (process start-up, schema steps, Temporal round trips) dominate: the ratios say little about throughput below a few hundred thousand rows.`);
  log(`logs, specs and pgcopydb's work dir: ${work}`);
  const ok = results.every((r) => r.status === 'ok' || r.status === 'skipped');
  if (opts.json) {
    const round = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
    console.log(JSON.stringify({ facts, options: opts, results, ratios: rr, ok }, round, 2));
  }
  return ok ? 0 : 1;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    killAllGroups('SIGKILL');
    console.error(`bench: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);

