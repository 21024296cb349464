// PgBouncer as the fence of a cutover: Ferry talks to its admin console (PAUSE, RESUME,
// RELOAD, SHOW) and owns one include file of [databases] routes. The application connects to
// PgBouncer, never to the source directly, so the cutover is:
//
//   PAUSE app        in-flight transactions finish; new ones wait in PgBouncer (no error)
//   writeRoute(app → target) + RELOAD
//   RESUME app       the waiting transactions, and every later one, run on the target
//
// What was checked on PgBouncer 1.18 (src/admin.c, src/janitor.c, src/loader.c, and
// test/integration/pgbouncer.test.ts):
//  - PAUSE db marks the database paused at once (new transactions queue from that moment),
//    closes its idle server connections, and answers when the last active one is released,
//    i.e. when the last in-flight transaction has ended. So once PAUSE has answered, the
//    database has NO server connection left: nothing can keep serving the old host.
//  - RELOAD with a changed host/port/dbname for a database also tags its server connections
//    close_needed ("connect string changed"): without a PAUSE, a transaction in flight ends
//    on the old server, which is then closed, never reused. Either way no RECONNECT or KILL is
//    needed after a repoint.
//  - RELOAD answers OK even when the include file does not parse (PgBouncer logs the error
//    and keeps what it read before it): reload() checks the routes it is told to expect.
//  - Removing an entry (removeRoute + RELOAD) is different: PgBouncer kills the database,
//    disconnecting its clients ("database removed"); they reconnect onto the `*` fallback.
//    To move an application back without errors, writeRoute it back instead.
//  - Waiting clients get an error after query_wait_timeout (120 s by default): the window
//    between PAUSE and RESUME must stay well inside it. A database stays paused until
//    someone RESUMEs it (or PgBouncer restarts): a cutover that fails between the two must
//    resume on its way out.
//  - PgBouncer answers a PAUSE db when no paused database has an active server connection,
//    not only db: two databases paused at once wait for each other's transactions.
//  - Only connections through PgBouncer are fenced; a client connected to the source
//    directly is not.
//
// The admin console speaks only the simple query protocol: every command is a plain string
// passed to Client.query with no parameters (so pg never sends Parse/Bind). Names are
// double-quoted the way the console unquotes them ("" for a quote inside).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

/** Where a database entry forwards to. Never credentials: the application's own pass through. */
export interface ConnInfo {
  host: string;
  port: number;
  dbname: string;
}

/** One `db = host=… port=… dbname=…` line of the include file. */
export interface Route extends ConnInfo {
  /** The name clients connect to on PgBouncer. */
  db: string;
  /** Every key=value of the connection string as written (host, port, dbname, and any other). */
  params: Record<string, string>;
}

/** One server connection PgBouncer holds for a database (SHOW SERVERS). */
export interface ServerConn {
  user: string;
  /** active: linked to a client, i.e. carrying a transaction; idle/used/tested/new: not. */
  state: string;
  addr: string | null;
  port: number;
  remotePid: number;
  closeNeeded: boolean;
}

/** A database as PgBouncer sees it right now (SHOW DATABASES, SHOW POOLS, SHOW SERVERS). */
export interface DatabaseState {
  name: string;
  host: string | null;
  port: number;
  /** The database name on the server it forwards to. */
  database: string;
  paused: boolean;
  disabled: boolean;
  /** Server connections the database holds (SHOW DATABASES current_connections). */
  currentConnections: number;
  /** Clients linked to a server (in a transaction), and clients waiting for one (e.g. paused). */
  clientsActive: number;
  clientsWaiting: number;
  /**
   * Server connections carrying a transaction (sv_active, all users). 0 while paused proves no
   * transaction through PgBouncer is in flight on the old route.
   */
  serversActive: number;
  /** Server connections not carrying one (sv_idle + sv_used + sv_tested + sv_login). */
  serversOther: number;
  servers: ServerConn[];
}

export interface PauseOptions {
  /**
   * How long to wait for in-flight transactions to finish. On expiry the database is
   * RESUMEd (the application goes on against its current route) and an error is thrown.
   */
  timeoutMs?: number;
}

const DEFAULT_PAUSE_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Everything but PAUSE answers at once; a console that does not is unhealthy. */
const COMMAND_TIMEOUT_MS = 15_000;

// ---- addresses ------------------------------------------------------------------------------

/** host/port/dbname of a postgres:// URL, without user or password. */
export function connInfoOf(url: string): ConnInfo {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Never echo the text: it may hold a password.
    throw new Error('not a postgres URL (expected postgres://[user@]host[:port]/dbname)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error(`not a postgres URL (scheme ${u.protocol})`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const dbname = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!host) throw new Error(`postgres URL ${addressOf(url)} names no host`);
  if (!dbname) throw new Error(`postgres URL ${addressOf(url)} names no database`);
  return { host, port: u.port ? Number(u.port) : 5432, dbname };
}

/** user@host:port/db of a URL, for messages: never the password. */
export function addressOf(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

// ---- admin console --------------------------------------------------------------------------

// SHOW results arrive as numbers or strings depending on the column; read them either way.
const num = (v: unknown): number => (v === null || v === undefined || v === '' ? 0 : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

/** A database name as the console's parser reads it back: always double-quoted. */
function consoleName(db: string): string {
  checkName(db);
  return `"${db.replace(/"/g, '""')}"`;
}

const hasControl = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

function checkName(db: string): void {
  // The console and the ini parser both stop at control characters; `*` and pgbouncer are
  // PgBouncer's own (the fallback, the console).
  if (!db || hasControl(db) || db === '*' || db === 'pgbouncer') {
    throw new Error(`${JSON.stringify(db)} cannot be a PgBouncer database name`);
  }
}

/** A console connection; queryTimeoutMs bounds each command on the client side (0: none). */
async function connectAdmin(adminUrl: string, queryTimeoutMs = COMMAND_TIMEOUT_MS): Promise<Client> {
  const client = new Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
    application_name: 'ferry',
  });
  // A socket that dies between commands must not crash the process: the next query throws.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(`cannot reach the PgBouncer admin console at ${addressOf(adminUrl)}: ${(err as Error).message}`, { cause: err });
  }
  return client;
}

async function command(client: Client, adminUrl: string, sql: string): Promise<Record<string, unknown>[]> {
  try {
    // A plain string and no values: the simple query protocol, all the console accepts.
    const res = await client.query(sql);
    return res.rows as Record<string, unknown>[];
  } catch (err) {
    throw new Error(`PgBouncer ${addressOf(adminUrl)}: ${sql}: ${(err as Error).message}`, { cause: err });
  }
}

async function withAdmin<T>(adminUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectAdmin(adminUrl);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The console's own message of an error thrown by command(). */
const consoleMessage = (err: unknown): string => ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;

/**
 * PAUSE db: resolves once PgBouncer has paused it, i.e. every transaction that was in flight
 * has ended and the database holds no server connection; transactions started meanwhile
 * wait in PgBouncer. Already paused: resolves as soon as nothing is in flight. Bounded: after
 * timeoutMs the database is RESUMEd and this throws, naming how many transactions were
 * still open.
 */
export async function pauseDatabase(adminUrl: string, db: string, options: PauseOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PAUSE_TIMEOUT_MS;
  const sql = `PAUSE ${consoleName(db)}`;
  // No client-side query timeout: PAUSE answers when it is done; our own timer bounds it.
  const client = await connectAdmin(adminUrl, 0);
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  try {
    // Not command(): PAUSE answers when it is done, which may take longer than a command may.
    const paused = client.query(sql).then(() => true);
    paused.catch(() => undefined); // rejected by end() below when we give up; handled there
    const expired = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    try {
      done = await Promise.race([paused, expired]);
    } catch (err) {
      throw new Error(`PgBouncer ${addressOf(adminUrl)}: ${sql}: ${(err as Error).message}`, { cause: err });
    }
  } finally {
    clearTimeout(timer);
    // Closing the connection of a PAUSE still waiting withdraws it from the console (its
    // answer would otherwise go to whichever PAUSE completes next); the database stays paused.
    await client.end().catch(() => undefined);
  }
  if (done) return;
  const state = await databaseState(adminUrl, db).catch(() => null);
  await resumeDatabase(adminUrl, db);
  const open = state ? `${state.serversActive} transaction(s) still in flight` : 'transactions still in flight';
  throw new Error(`PgBouncer ${addressOf(adminUrl)}: PAUSE ${db} did not complete within ${timeoutMs} ms (${open}); resumed ${db}, so it runs on against its current route`);
}

/**
 * RESUME db: the transactions waiting on it go ahead, on whatever route is loaded now.
 * Idempotent: a database that is not paused (or that PgBouncer does not know yet, so cannot
 * be paused) is fine. Returns whether it was paused.
 */
export async function resumeDatabase(adminUrl: string, db: string): Promise<boolean> {
  const sql = `RESUME ${consoleName(db)}`;
  return withAdmin(adminUrl, async (client) => {
    try {
      await command(client, adminUrl, sql);
      return true;
    } catch (err) {
      if (/is not paused|no such database/.test(consoleMessage(err))) return false;
      throw err;
    }
  });
}

/**
 * RELOAD: PgBouncer rereads its config and the include file. A database whose host, port or
 * dbname changed has its server connections closed as they are released (see the header);
 * a database whose entry was removed is killed with its clients.
 *
 * RELOAD answers "RELOAD" even when the files do not parse: PgBouncer logs the syntax error
 * and keeps whatever it had read up to there. Resuming on that would put the application
 * back on its OLD route, so each name in `expect` is checked in SHOW DATABASES afterwards,
 * and a mismatch throws.
 */
export async function reload(adminUrl: string, expect: Record<string, ConnInfo> = {}): Promise<void> {
  await withAdmin(adminUrl, async (client) => {
    await command(client, adminUrl, 'RELOAD');
    if (!Object.keys(expect).length) return;
    const loaded = await command(client, adminUrl, 'SHOW DATABASES');
    for (const [db, to] of Object.entries(expect)) {
      const row = loaded.find((r) => r.name === db);
      const now = row ? `${str(row.host)}:${num(row.port)}/${String(row.database)}` : 'no entry';
      if (now !== `${to.host}:${to.port}/${to.dbname}`) {
        throw new Error(`PgBouncer ${addressOf(adminUrl)}: after RELOAD ${db} routes to ${now}, not ${to.host}:${to.port}/${to.dbname} (a config PgBouncer could not parse? see its log)`);
      }
    }
  });
}

/**
 * The database as PgBouncer sees it, or null when PgBouncer has no entry for it yet (a name
 * only the `*` fallback would serve, before any client or command used it).
 */
export async function databaseState(adminUrl: string, db: string): Promise<DatabaseState | null> {
  checkName(db);
  return withAdmin(adminUrl, async (client) => {
    const entry = (await command(client, adminUrl, 'SHOW DATABASES')).find((r) => r.name === db);
    if (!entry) return null;
    const pools = (await command(client, adminUrl, 'SHOW POOLS')).filter((r) => r.database === db);
    const servers = (await command(client, adminUrl, 'SHOW SERVERS')).filter((r) => r.database === db);
    const sum = (col: string): number => pools.reduce((n, r) => n + num(r[col]), 0);
    return {
      name: db,
      host: str(entry.host),
      port: num(entry.port),
      database: String(entry.database),
      paused: num(entry.paused) !== 0,
      disabled: num(entry.disabled) !== 0,
      currentConnections: num(entry.current_connections),
      clientsActive: sum('cl_active'),
      clientsWaiting: sum('cl_waiting'),
      serversActive: sum('sv_active'),
      serversOther: sum('sv_idle') + sum('sv_used') + sum('sv_tested') + sum('sv_login'),
      servers: servers.map((r) => ({
        user: String(r.user),
        state: String(r.state),
        addr: str(r.addr),
        port: num(r.port),
        remotePid: num(r.remote_pid),
        closeNeeded: num(r.close_needed) !== 0,
      })),
    };
  });
}

// ---- the include file ------------------------------------------------------------------------
// PgBouncer reads it from `%include` inside [databases], before the `*` fallback: an entry
// here wins for its name. Ferry owns the file; lines it does not understand are kept as they are.

const HEADER = "; Ferry's PgBouncer routes (engines/postgres/pgbouncer.ts): host, port and dbname only; clients' own credentials pass through";

/**
 * A name PgBouncer 1.18's ini parser reads as a key. Checked on 1.18: letters, digits, _ . -
 * load; a space, a $ or a double-quoted key (which later versions' docs describe) is a syntax
 * error that stops the load, and RELOAD does not report it (see reload()).
 */
function checkIniKey(db: string): void {
  checkName(db);
  if (!/^[A-Za-z0-9_.-]+$/.test(db)) {
    throw new Error(`${JSON.stringify(db)}: PgBouncer 1.18 takes only letters, digits, _ . and - in a [databases] name`);
  }
}
/** Value in a connection string: bare when it has no space or quote, else single-quoted. */
const cstrValue = (v: string): string => (/^[A-Za-z0-9_.:\-/]+$/.test(v) ? v : `'${v.replace(/'/g, "''")}'`);

/** The database name of a line, or null when the line is no entry (blank, comment, directive). */
function lineKey(line: string): { db: string; rest: string } | null {
  const s = line.trim();
  if (!s || s.startsWith(';') || s.startsWith('#') || s.startsWith('%') || s.startsWith('[')) return null;
  let db: string;
  let i: number;
  if (s.startsWith('"')) {
    db = '';
    for (i = 1; i < s.length; i++) {
      if (s[i] === '"') {
        if (s[i + 1] === '"') { db += '"'; i++; continue; }
        break;
      }
      db += s[i];
    }
    i++;
  } else {
    i = s.indexOf('=');
    if (i < 0) return null;
    db = s.slice(0, i).trim();
  }
  const eq = s.indexOf('=', i);
  if (eq < 0) return null;
  return { db, rest: s.slice(eq + 1) };
}

/** key=value pairs of a PgBouncer connection string ('…' quoting, '' for a quote). */
function parseConnString(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'((?:[^']|'')*)'|(\S*))/gy;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    params[m[1]] = m[2] !== undefined ? m[2].replace(/''/g, "'") : m[3];
  }
  return params;
}

async function readLines(includeFile: string): Promise<string[]> {
  try {
    const text = await fs.readFile(includeFile, 'utf8');
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every route in the include file, in file order. A missing file has none. */
export async function readRoutes(includeFile: string): Promise<Route[]> {
  const routes: Route[] = [];
  for (const line of await readLines(includeFile)) {
    const k = lineKey(line);
    if (!k) continue;
    const params = parseConnString(k.rest);
    routes.push({ db: k.db, host: params.host ?? '', port: params.port ? Number(params.port) : 5432, dbname: params.dbname ?? k.db, params });
  }
  return routes;
}

// Read-modify-write of one file, one at a time within this process (two cutovers of one
// worker must not lose each other's line). Across processes, one cutover writes at a time.
const fileLocks = new Map<string, Promise<unknown>>();
function serialized<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const file = resolve(path);
  const prev = fileLocks.get(file) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const settled = next.catch(() => undefined);
  fileLocks.set(file, settled);
  void settled.then(() => { if (fileLocks.get(file) === settled) fileLocks.delete(file); });
  return next;
}

/**
 * Replaces the file atomically: a temp file in the same directory, fsynced, renamed over it.
 * PgBouncer reading it during a RELOAD sees the old or the new file, never half of one.
 * The file keeps its mode (PgBouncer may run as another OS user that must read it).
 */
async function replaceFile(file: string, lines: string[]): Promise<void> {
  const mode = await fs.stat(file).then((s) => s.mode & 0o777, () => 0o644);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(lines.length ? `${lines.join('\n')}\n` : '');
    await fh.chmod(mode); // open()'s mode is filtered by the umask
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Routes db to `to`: writes or replaces its `db = host=… port=… dbname=…` line, keeping every
 * other line. Never a user or password: the application's own credentials pass through to the
 * target, which must accept them. Takes effect on the next reload().
 */
export async function writeRoute(includeFile: string, db: string, to: ConnInfo): Promise<void> {
  checkIniKey(db);
  checkName(to.dbname);
  if (!to.host || hasControl(to.host) || /[\s'"]/.test(to.host)) throw new Error(`route ${db}: ${JSON.stringify(to.host)} is not a host`);
  if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) throw new Error(`route ${db}: ${to.port} is not a port`);
  const line = `${db} = host=${cstrValue(to.host)} port=${to.port} dbname=${cstrValue(to.dbname)}`;
  await serialized(includeFile, async () => {
    const lines = await readLines(includeFile);
    const at = lines.findIndex((l) => lineKey(l)?.db === db);
    if (at >= 0) {
      lines[at] = line;
      // A name written twice (by hand) would leave PgBouncer reading the later line.
      for (let i = lines.length - 1; i > at; i--) if (lineKey(lines[i])?.db === db) lines.splice(i, 1);
    } else {
      if (!lines.some((l) => l.startsWith(HEADER))) lines.unshift(HEADER);
      lines.push(line);
    }
    await replaceFile(includeFile, lines);
  });
}

/**
 * Drops db's line, so after reload() the name falls back to `*` (the stack: the PostgreSQL
 * database of the same name). PgBouncer disconnects the clients of a removed entry; to move
 * an application back without errors, writeRoute it back instead. Returns whether there was one.
 */
export async function removeRoute(includeFile: string, db: string): Promise<boolean> {
  checkName(db);
  return serialized(includeFile, async () => {
    const lines = await readLines(includeFile);
    const kept = lines.filter((l) => lineKey(l)?.db !== db);
    if (kept.length === lines.length) return false;
    await replaceFile(includeFile, kept);
    return true;
  });
}
