// The cutover fence on the real stack PgBouncer (1.18, pool_mode=transaction) and PostgreSQL:
// an application connected through PgBouncer to a name N runs transactions in a loop; PAUSE N
// lets the transaction in flight finish and holds every new one (they wait, none fails);
// N repointed from database A to database B in Ferry's include file, RELOAD, RESUME: the
// held transactions and all later ones land in B. Also: what RELOAD does to server
// connections of a repointed database without a PAUSE, pause/resume idempotence, a PAUSE
// that times out, the include file's bookkeeping and the `*` fallback after removeRoute.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createDatabase, dropDatabase, loadStackEnv, repoRoot, uniqueName } from '../helpers/stack';
import {
  connInfoOf,
  databaseState,
  pauseDatabase,
  readRoutes,
  reload,
  removeRoute,
  resumeDatabase,
  writeRoute,
  type DatabaseState,
} from '../../engines/postgres/pgbouncer';

/** The stack's PgBouncer addresses; an older exported env may lack them, so read stack.sh. */
function bouncerEnv(): { admin: string; include: string; base: string } {
  loadStackEnv();
  if (!process.env.FERRY_PGBOUNCER_ADMIN_URL || !process.env.FERRY_PGBOUNCER_INCLUDE || !process.env.FERRY_PGBOUNCER_URL) {
    const out = execFileSync('bash', [join(repoRoot, 'scripts', 'stack', 'stack.sh'), 'env'], { encoding: 'utf8' });
    for (const m of out.matchAll(/^export (FERRY_PGBOUNCER_[A-Z_]+)=(.*)$/gm)) process.env[m[1]] = m[2];
  }
  return { admin: process.env.FERRY_PGBOUNCER_ADMIN_URL!, include: process.env.FERRY_PGBOUNCER_INCLUDE!, base: process.env.FERRY_PGBOUNCER_URL! };
}

const dbOf = (url: string): string => new URL(url).pathname.slice(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a value (not undefined); the test's own timeout bounds it. */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(25);
  }
}

describe('PgBouncer fence: PAUSE, repoint, RESUME (real PgBouncer and PostgreSQL)', function () {
  this.timeout(120_000);
  let admin: string;
  let include: string;
  /** PgBouncer URL for a name: the application's address. */
  let through: (name: string) => string;
  let urlA: string;
  let urlB: string;
  const routed: string[] = [];
  const clients: Client[] = [];

  const connect = async (url: string): Promise<Client> => {
    const c = new Client({ connectionString: url });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  /** One query on a connection of its own, closed afterwards. */
  const once = async (url: string, sql: string): Promise<Record<string, unknown>> => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql)).rows[0];
    } finally {
      await c.end();
    }
  };
  /** Rows of t in a database, read directly (not through PgBouncer). */
  const rows = async (url: string, where = 'true'): Promise<number> => Number((await once(url, `SELECT count(*) AS n FROM t WHERE ${where}`)).n);
  const route = async (name: string, url: string) => {
    routed.push(name);
    await writeRoute(include, name, connInfoOf(url));
    await reload(admin, { [name]: connInfoOf(url) });
  };
  const state = async (name: string): Promise<DatabaseState> => {
    const s = await databaseState(admin, name);
    assert.ok(s, `PgBouncer knows ${name}`);
    return s;
  };

  before(async () => {
    const env = bouncerEnv();
    admin = env.admin;
    include = env.include;
    through = (name) => {
      const u = new URL(env.base);
      u.pathname = `/${name}`;
      return u.toString();
    };
    urlA = await createDatabase('pgb_a');
    urlB = await createDatabase('pgb_b');
    for (const url of [urlA, urlB]) await once(url, 'CREATE TABLE t (id bigserial PRIMARY KEY, writer int NOT NULL, seq int NOT NULL)');
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
    for (const name of routed.splice(0)) {
      await resumeDatabase(admin, name).catch(() => undefined);
      await removeRoute(include, name);
    }
    await reload(admin);
  });

  after(async () => {
    await dropDatabase(urlA);
    await dropDatabase(urlB);
  });

  it('PAUSE lets the open transaction finish and holds new ones; repoint + RELOAD + RESUME lands them in the new database, with no error', async () => {
    const N = uniqueName('pgb_app');
    await route(N, urlA);
    const WORKERS = 3;
    let stop = false;
    const errors: Error[] = [];
    /** Per worker, the database each committed transaction ran in, in order. */
    const landed: string[][] = [];
    const apps = await Promise.all(Array.from({ length: WORKERS }, () => connect(through(N))));
    const loops = apps.map(async (c, w) => {
      landed[w] = [];
      for (let seq = 0; !stop; seq++) {
        try {
          await c.query('BEGIN');
          const r = await c.query('INSERT INTO t (writer, seq) VALUES ($1, $2) RETURNING current_database() AS db', [w, seq]);
          await c.query('COMMIT');
          landed[w].push(r.rows[0].db);
        } catch (err) {
          errors.push(err as Error);
          return; // an error fails the test: no need to go on
        }
      }
    });
    /** Waits until every worker committed `more` transactions beyond `from`; fails on an error. */
    const progressed = (from: number[], more: number) =>
      until(async () => {
        if (errors.length) throw errors[0];
        return landed.every((l, w) => l.length >= from[w] + more) ? true : undefined;
      });
    // The loop runs against A.
    await progressed([0, 0, 0], 3);

    // A transaction open when PAUSE is issued.
    const held = await connect(through(N));
    await held.query('BEGIN');
    await held.query('INSERT INTO t (writer, seq) VALUES (-1, 0)');
    let pauseDone = false;
    const pausing = pauseDatabase(admin, N, { timeoutMs: 60_000 }).then(() => { pauseDone = true; });
    // PgBouncer marks N paused at once, and waits for the open transaction.
    await until(async () => ((await state(N)).paused ? true : undefined));
    await until(async () => ((await state(N)).clientsWaiting === WORKERS ? true : undefined));
    assert.equal(pauseDone, false, 'PAUSE waits while a transaction is open');
    assert.equal((await state(N)).serversActive, 1, 'the open transaction still holds its server connection');
    await held.query('COMMIT');
    await pausing;
    assert.equal(await rows(urlA, 'writer = -1'), 1, 'the transaction open at PAUSE committed, in A');

    // Paused: no server connection left on the old route, every worker waits (none failed).
    const paused = await state(N);
    assert.equal(paused.paused, true);
    assert.equal(paused.serversActive, 0);
    assert.deepEqual(paused.servers, [], 'PAUSE closed every server connection of N');
    assert.equal(paused.clientsWaiting, WORKERS);
    const atPause = landed.map((l) => l.length);
    const inA = await rows(urlA);
    assert.equal(await rows(urlB), 0);
    assert.deepEqual(errors, []);

    // Repoint while paused, RELOAD, RESUME.
    await writeRoute(include, N, connInfoOf(urlB));
    await reload(admin, { [N]: connInfoOf(urlB) });
    assert.equal((await state(N)).database, dbOf(urlB), 'N forwards to B after RELOAD');
    assert.equal((await state(N)).paused, true, 'RELOAD keeps N paused');
    assert.equal(await resumeDatabase(admin, N), true);

    await progressed(atPause, 3);
    // The server connections N holds now are B's backends.
    const pids = (await state(N)).servers.map((s) => s.remotePid);
    const direct = await connect(urlB);
    const dbs = (await direct.query('SELECT DISTINCT datname FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids])).rows.map((r) => r.datname);
    stop = true;
    await Promise.all(loops);

    assert.deepEqual(errors, [], 'the application saw no error');
    assert.deepEqual(dbs, [dbOf(urlB)]);
    for (let w = 0; w < WORKERS; w++) {
      // Everything done before the pause ran in A; the transaction that waited, and every
      // later one, in B.
      assert.ok(landed[w].slice(0, atPause[w]).every((db) => db === dbOf(urlA)), `worker ${w} before the pause: A`);
      assert.ok(landed[w].slice(atPause[w]).every((db) => db === dbOf(urlB)), `worker ${w} after the resume: B`);
    }
    const countA = landed.flat().filter((db) => db === dbOf(urlA)).length;
    const countB = landed.flat().filter((db) => db === dbOf(urlB)).length;
    assert.equal(await rows(urlA), inA, 'nothing landed in A after the pause');
    assert.equal(await rows(urlA), countA + 1, 'A holds exactly the transactions committed before the pause (and the open one)');
    assert.equal(await rows(urlB), countB, 'B holds exactly the transactions after the resume');
  });

  it('RELOAD alone: a transaction in flight ends on the old server, which is then closed; the next one runs on the new route', async () => {
    const N = uniqueName('pgb_app');
    await route(N, urlA);
    const app = await connect(through(N));
    await app.query('BEGIN');
    assert.equal((await app.query('SELECT current_database() AS db')).rows[0].db, dbOf(urlA));
    await writeRoute(include, N, connInfoOf(urlB));
    await reload(admin);
    const s = await state(N);
    assert.equal(s.database, dbOf(urlB));
    assert.deepEqual(s.servers.map((v) => [v.state, v.closeNeeded]), [['active', true]], 'the old server is tagged close_needed');
    assert.equal((await app.query('SELECT current_database() AS db')).rows[0].db, dbOf(urlA), 'the open transaction stays on A');
    await app.query('COMMIT');
    assert.equal((await app.query('SELECT current_database() AS db')).rows[0].db, dbOf(urlB), 'the next transaction runs on B');
    assert.ok((await state(N)).servers.every((v) => !v.closeNeeded), 'the old server connection was not kept');
  });

  it('pause and resume are idempotent; a PAUSE that cannot complete in time resumes and throws', async () => {
    const N = uniqueName('pgb_app');
    await route(N, urlA);
    await pauseDatabase(admin, N);
    await pauseDatabase(admin, N);
    assert.equal((await state(N)).paused, true);
    assert.equal(await resumeDatabase(admin, N), true);
    assert.equal(await resumeDatabase(admin, N), false, 'not paused: fine');
    assert.equal(await resumeDatabase(admin, uniqueName('pgb_unknown')), false, 'unknown to PgBouncer: not paused either');
    assert.equal((await state(N)).paused, false);

    const held = await connect(through(N));
    await held.query('BEGIN');
    await held.query('INSERT INTO t (writer, seq) VALUES (-2, 0)');
    await assert.rejects(pauseDatabase(admin, N, { timeoutMs: 300 }), (err: Error) => {
      assert.match(err.message, /PAUSE pgb_app_\w+ did not complete within 300 ms \(1 transaction\(s\) still in flight\); resumed/);
      assert.match(err.message, /ferry@127\.0\.0\.1:\d+\/pgbouncer/);
      return true;
    });
    assert.equal((await state(N)).paused, false, 'resumed after the timeout');
    // The held transaction goes on, and so does everyone else.
    await held.query('COMMIT');
    const other = await connect(through(N));
    assert.equal((await other.query('SELECT current_database() AS db')).rows[0].db, dbOf(urlA));
    assert.equal(await rows(urlA, 'writer = -2'), 1);
  });

  it('reload checks the routes it is told to expect (RELOAD itself reports no parse error)', async () => {
    const N = uniqueName('pgb_app');
    await route(N, urlA);
    await assert.rejects(reload(admin, { [N]: connInfoOf(urlB) }), (err: Error) => {
      assert.match(err.message, new RegExp(`after RELOAD ${N} routes to 127\\.0\\.0\\.1:\\d+/${dbOf(urlA)}, not 127\\.0\\.0\\.1:\\d+/${dbOf(urlB)}`));
      return true;
    });
    await assert.rejects(reload(admin, { [uniqueName('pgb_none')]: connInfoOf(urlB) }), /routes to no entry/);
  });

  it('admin connection failures name the address, never the password', async () => {
    const bad = 'postgres://ferry:s3cret@127.0.0.1:1/pgbouncer';
    for (const call of [() => pauseDatabase(bad, 'x'), () => resumeDatabase(bad, 'x'), () => reload(bad), () => databaseState(bad, 'x')]) {
      await assert.rejects(call(), (err: Error) => {
        assert.match(err.message, /PgBouncer admin console at ferry@127\.0\.0\.1:1\/pgbouncer/);
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      });
    }
  });

  it('connInfoOf keeps host, port and database, never credentials', () => {
    assert.deepEqual(connInfoOf('postgres://app:pw@db.example:6543/shop?sslmode=require'), { host: 'db.example', port: 6543, dbname: 'shop' });
    assert.deepEqual(connInfoOf('postgresql://[::1]/x%20y'), { host: '::1', port: 5432, dbname: 'x y' });
    assert.throws(() => connInfoOf('postgres://app:pw@db.example/'), (err: Error) => !/pw/.test(err.message) && /names no database/.test(err.message));
  });

  it('writeRoute replaces its own line and keeps the others; removeRoute drops only its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-pgb-'));
    try {
      const file = join(dir, 'routes.ini');
      writeFileSync(file, '; kept comment\nother = host=10.0.0.1 port=5433 dbname=elsewhere pool_size=5\n');
      await writeRoute(file, 'app', { host: '127.0.0.1', port: 55432, dbname: 'a' });
      await writeRoute(file, 'odd-name', { host: 'h', port: 1, dbname: "it's" });
      await writeRoute(file, 'app', { host: '127.0.0.1', port: 55432, dbname: 'b' });
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^; kept comment$/m);
      assert.match(text, /^other = host=10\.0\.0\.1 port=5433 dbname=elsewhere pool_size=5$/m);
      assert.match(text, /^app = host=127\.0\.0\.1 port=55432 dbname=b$/m);
      assert.match(text, /^odd-name = host=h port=1 dbname='it''s'$/m);
      assert.equal(text.match(/^app =/gm)?.length, 1);
      assert.doesNotMatch(text, /user=|password=/);
      assert.deepEqual(
        (await readRoutes(file)).map((r) => [r.db, r.host, r.port, r.dbname]),
        [['other', '10.0.0.1', 5433, 'elsewhere'], ['app', '127.0.0.1', 55432, 'b'], ['odd-name', 'h', 1, "it's"]],
      );
      assert.equal(await removeRoute(file, 'app'), true);
      assert.equal(await removeRoute(file, 'app'), false);
      assert.deepEqual((await readRoutes(file)).map((r) => r.db), ['other', 'odd-name']);
      assert.deepEqual(await readRoutes(join(dir, 'missing.ini')), []);
      // PgBouncer 1.18 stops loading at a key it cannot parse: such names are refused.
      for (const bad of ['sp ace', 'a"b', 'd$x', '*', 'pgbouncer', '']) {
        await assert.rejects(writeRoute(file, bad, { host: 'h', port: 1, dbname: 'x' }), /cannot be a PgBouncer database name|PgBouncer 1\.18 takes only/);
      }
      await assert.rejects(writeRoute(file, 'ok', { host: 'h', port: 0, dbname: 'x' }), /is not a port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an entry overrides the * fallback for its name; removeRoute puts the name back on the fallback", async () => {
    // The name of database B, routed to A: the entry wins over `*` (which would reach B).
    const N = dbOf(urlB);
    const current = async () => (await once(through(N), 'SELECT current_database() AS db')).db;
    assert.equal(await current(), N, 'no entry: the fallback');
    await route(N, urlA);
    assert.equal(await current(), dbOf(urlA), 'the include entry wins');
    assert.equal(await removeRoute(include, N), true);
    await reload(admin);
    assert.equal(await current(), N, 'back on the fallback');
    assert.equal((await state(N)).database, N);
  });

  it('pgbench through PgBouncer across a PAUSE, repoint and RESUME: no failed transaction', async function () {
    const N = uniqueName('pgb_bench');
    const benchA = await createDatabase('pgb_bench_a');
    const benchB = await createDatabase('pgb_bench_b');
    try {
      for (const url of [benchA, benchB]) execFileSync('pgbench', ['-i', '-q', '-s', '1', url], { stdio: 'pipe' });
      await route(N, benchA);
      const out: string[] = [];
      const bench = spawn('pgbench', ['-n', '-c', '4', '-j', '2', '-T', '10', through(N)]);
      bench.stdout.on('data', (d: Buffer) => out.push(d.toString()));
      bench.stderr.on('data', (d: Buffer) => out.push(d.toString()));
      const exited = new Promise<number | null>((resolve) => bench.on('close', resolve));
      // Mid-run: once pgbench has written to A, fence and repoint it.
      await until(async () => ((await historyRows(benchA)) > 100 ? true : undefined));
      await pauseDatabase(admin, N, { timeoutMs: 30_000 });
      const inA = await historyRows(benchA);
      await writeRoute(include, N, connInfoOf(benchB));
      await reload(admin);
      await resumeDatabase(admin, N);
      const code = await exited;
      const text = out.join('');
      assert.equal(code, 0, text);
      assert.match(text, /number of failed transactions: 0 \(0\.000%\)/, text);
      assert.equal(await historyRows(benchA), inA, 'nothing reached A after the pause');
      assert.ok((await historyRows(benchB)) > 0, 'pgbench went on in B');
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(text)?.[1]);
      assert.equal(inA + (await historyRows(benchB)), processed, 'every transaction pgbench counted is in A or B');
    } finally {
      await dropDatabase(benchA);
      await dropDatabase(benchB);
    }

    async function historyRows(url: string): Promise<number> {
      return Number((await once(url, 'SELECT count(*) AS n FROM pgbench_history')).n);
    }
  });
});
