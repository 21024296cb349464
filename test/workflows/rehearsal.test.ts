// Rehearsals end to end (real PostgreSQL, Debezium, Kafka, Temporal, MongoDB-wire server and
// Chromium): `ferry rehearse` runs the whole migration against a scratch target while a steady
// write load goes on at the source — backfill, catch-up, verification, shadow reads, the cutover
// dry run, the rollback drill — then cleans up and records. Checked: the report's figures are the
// workflow's own records (the migration's status, the record stored on the target, the JSON
// report, all equal); nothing of the rehearsal is left (no slot, connector, publication or Ferry
// object, on either side, except the rehearsal records); the source holds exactly what the load
// wrote; a second rehearsal of the spec shows the first in its trend; failing criteria give
// no-go and exit 1; a Schedule's run produces a report; the HTML report renders in Chromium.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { Pool } from 'pg';
import { captureName, reverseCaptureName } from '../../activities/cdc/capture';
import { rehearsalMigrationId } from '../../contracts/ids';
import type { MigrationStatus } from '../../contracts/migration';
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { chromiumAvailable, openInChromium } from '../helpers/browser';
import { ferryAsync } from '../helpers/cli';
import { startWriteLoad, type WriteLoad } from '../helpers/load';
import { createDatabase, loadStackEnv, repoRoot, uniqueName } from '../helpers/stack';
import { onlineSuite } from '../helpers/sync';
import { waitForStatus } from '../helpers/temporal';

const ROWS = 3_000;

describe('rehearsals: dry run, drill, cleanup and report (real stack, headless Chromium)', function () {
  this.timeout(20 * 60_000);
  const suite = onlineSuite();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rehearsal-'));
  const name = uniqueName('rehe').toLowerCase();
  let source: Pool;
  let target: Pool;
  let mongo: MongoClient;
  let load: WriteLoad;
  const mongoDatabase = uniqueName('rehe');
  const ran: string[] = [];

  before(async () => {
    loadStackEnv();
    const sourceUrl = await createDatabase('ferry_t_rehe');
    const targetUrl = await createDatabase('ferry_t_rehe_tgt');
    suite.databases.push(sourceUrl, targetUrl);
    Object.assign(process.env, { FERRY_REHE_SRC: sourceUrl, FERRY_REHE_TGT: targetUrl });
    source = new Pool({ connectionString: sourceUrl });
    target = new Pool({ connectionString: targetUrl });
    source.on('error', () => undefined);
    target.on('error', () => undefined);
    await source.query('CREATE TABLE public.accounts (id int PRIMARY KEY, note text NOT NULL, n int NOT NULL)');
    await source.query(`INSERT INTO public.accounts SELECT g, 'account ' || g, 0 FROM generate_series(1, ${ROWS}) g`);
    await source.query('CREATE TABLE public.regions (id int PRIMARY KEY, name text NOT NULL)');
    await source.query(`INSERT INTO public.regions SELECT g, 'region ' || g FROM generate_series(1, 40) g`);
    await source.query('ANALYZE');
    mongo = await MongoClient.connect(process.env.FERRY_MONGO_URL!);
    load = startWriteLoad(source, 'public.accounts', ROWS);
  });
  after(async () => {
    await load?.stop();
    await mongo?.close();
    await source?.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
  });

  /** A spec file with references (the CLI resolves them as an operator's shell would). */
  function specFile(file: string, targetSection: Record<string, unknown>, criteria: Record<string, unknown>): string {
    const path = join(dir, file);
    writeFileSync(path, JSON.stringify({
      name,
      mode: 'online',
      source: { url: '${FERRY_REHE_SRC}' },
      target: targetSection,
      tables: ['public.accounts', 'public.regions'],
      sync: { connect: '${FERRY_CONNECT_URL}', kafka: '${FERRY_KAFKA_BROKERS}', heartbeatSeconds: 1 },
      backfill: { chunkRows: 500, batchRows: 250, parallelism: 2 },
      shadow: { everySeconds: 2, sampleKeys: 20, recentKeys: 20 },
      rehearsal: { shadowSeconds: 5, criteria },
    }, null, 2));
    return path;
  }
  const generous = { lagP99Seconds: 600, shadowMismatches: 0, freezeSeconds: 600, rollbackSeconds: 600, backfillHours: 1_000 };
  let pgSpec: string;

  const rehearse = async (args: string[]) => {
    const r = await ferryAsync(['rehearse', ...args]);
    return { ...r, all: `${r.out}\n${r.err}` };
  };
  const recordOf = (id: string) => suite.harness.client.workflow.getHandle(id).result() as Promise<RehearsalRecord>;
  const migrationOf = (id: string) => suite.harness.client.workflow.getHandle(rehearsalMigrationId(id)).result() as Promise<MigrationStatus>;
  const filesIn = (d: string, ext: string) => readdirSync(d).filter((f) => f.endsWith(ext)).map((f) => join(d, f));

  /** Nothing of the rehearsal's migration is left: capture on both sides, Connect, Ferry's objects. */
  async function assertCleanedUp(id: string, targetKind: 'postgres' | 'mongodb'): Promise<void> {
    const mig = rehearsalMigrationId(id);
    const names = [captureName(mig), reverseCaptureName(mig)];
    for (const [side, pool] of [['source', source], ['target', target]] as const) {
      const slots = await pool.query('SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1)', [names]);
      assert.deepEqual(slots.rows, [], `no replication slot left on the ${side}`);
      const pubs = await pool.query('SELECT pubname FROM pg_publication WHERE pubname = ANY($1)', [names]);
      assert.deepEqual(pubs.rows, [], `no publication left on the ${side}`);
    }
    const connectors = (await (await fetch(`${process.env.FERRY_CONNECT_URL}/connectors`)).json()) as string[];
    assert.deepEqual(connectors.filter((c) => names.includes(c)), [], 'no connector left');
    const ferryOnSource = await source.query(`SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '_ferry'`);
    assert.deepEqual(ferryOnSource.rows, [], 'no Ferry table left on the source');
    assert.equal((await source.query(`SELECT to_regnamespace('_ferry') AS s`)).rows[0].s, null, 'no _ferry schema left on the source');
    if (targetKind === 'postgres') {
      const tables = await target.query(`SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`);
      assert.deepEqual(tables.rows.map((r) => r.t), ['_ferry.rehearsals'], 'only the rehearsal records are left on the target');
    } else {
      const collections = (await mongo.db(mongoDatabase).listCollections().toArray()).map((c) => c.name).sort();
      assert.deepEqual(collections, ['_ferry_rehearsals'], 'only the rehearsal records are left on the target');
    }
  }

  /** The record is the workflow's own figures: the migration's status, stored on the target, and in the JSON report. */
  async function assertRecordMatches(id: string, record: RehearsalRecord, reportDir: string | null): Promise<MigrationStatus> {
    const status = await migrationOf(id);
    assert.equal(record.rehearsalId, id);
    assert.deepEqual(record.tables.map((t) => [t.table, t.rows, t.chunks]), status.tables.map((t) => [t.table, t.rowsCopied, t.chunksDone]));
    assert.deepEqual(record.dryRun?.steps, status.rehearsal?.dryRun);
    assert.deepEqual(record.drill?.steps, status.rehearsal?.drill);
    assert.deepEqual(record.verification?.tables.map((t) => [t.table, t.sourceRows, t.targetRows]), status.verification?.tables.map((t) => [t.table, t.sourceRows, t.targetRows]));
    assert.equal(record.shadow?.keysCompared, status.shadow?.keysCompared);
    assert.equal(record.cdc.eventsApplied, status.sync?.eventsApplied);
    assert.deepEqual(record.phases.map((p) => p.phase), ['prepare', 'backfill', 'indexes', 'catch-up', 'verify', 'sync', 'rehearsing']);
    assert.ok(record.cdc.samples.length >= 5, `samples were taken (${record.cdc.samples.length})`);
    assert.ok(record.cdc.samples.some((s) => s.lagSeconds !== null), 'samples carry the sync lag');
    if (reportDir) {
      const [json] = filesIn(reportDir, '.json');
      assert.deepEqual(JSON.parse(readFileSync(json, 'utf8')).record, record, 'the JSON report holds the record as the workflow returned it');
    }
    return status;
  }

  it('PostgreSQL target: runs end to end under load, reports go with figures that match the records, and cleans up', async () => {
    pgSpec = specFile('pg.json', { url: '${FERRY_REHE_TGT}' }, generous);
    const id = `${name}-pg1`;
    ran.push(id);
    const reportDir = join(dir, 'pg1');
    const r = await rehearse(['--spec', pgSpec, '--id', id, '--report', reportDir, '--scale', '100x']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /GO: the rehearsal completed/);
    const record = await recordOf(id);
    assert.equal(record.verdict, 'go', JSON.stringify(record.criteria));
    assert.equal(record.outcome, 'completed');
    await assertRecordMatches(id, record, reportDir);
    const stored = await target.query('SELECT record FROM _ferry.rehearsals WHERE rehearsal = $1', [id]);
    assert.deepEqual(stored.rows[0].record, record, 'the record stored on the target is the workflow result');
    // settle-check only when writes in flight made the final check differ (the source is not fenced): outside the freeze.
    const settled = record.dryRun!.steps.some((s) => s.name === 'settle-check');
    assert.deepEqual(record.dryRun!.steps.map((s) => [s.name, s.state]), [['drain', 'done'], ['final-check', 'done'], ...(settled ? [['settle-check', 'done']] : []), ['prepare-target', 'done']]);
    assert.deepEqual(record.drill!.steps.map((s) => [s.name, s.state]), [['reverse-capture', 'done'], ['drain-reverse', 'done'], ['release-reverse', 'done']]);
    const freeze = ['drain', 'final-check', 'prepare-target'].reduce((n, s) => n + record.dryRun!.steps.find((x) => x.name === s)!.durationSeconds!, 0) + record.drill!.steps[0].durationSeconds!;
    assert.equal(record.dryRun!.freezeSeconds, freeze);
    assert.equal(record.eta!.scaleFactor, 100);
    assert.equal(record.eta!.basis, '--scale 100x');
    assert.equal(record.eta!.planned!.low, record.eta!.totalSeconds! * 1.5);
    assert.deepEqual(record.criteria.map((c) => [c.name, c.pass]), [['backfillHours', true], ['lagP99Seconds', true], ['verificationClean', true], ['shadowMismatches', true], ['freezeSeconds', true], ['rollbackSeconds', true]]);
    const [md] = filesIn(reportDir, '.md');
    const text = readFileSync(md, 'utf8');
    for (const c of record.criteria) assert.ok(text.includes(c.detail), `the markdown report says ${c.detail}`);
    await assertCleanedUp(id, 'postgres');
  });

  it('a second rehearsal of the same spec succeeds, shows the first in its trend, and its HTML report renders in Chromium', async function () {
    const id = `${name}-pg2`;
    ran.push(id);
    const reportDir = join(dir, 'pg2');
    const r = await rehearse(['--spec', pgSpec, '--id', id, '--report', reportDir]);
    assert.equal(r.code, 0, r.all);
    const record = await recordOf(id);
    assert.equal(record.verdict, 'go');
    await assertRecordMatches(id, record, reportDir);
    const [json] = filesIn(reportDir, '.json');
    const trend = JSON.parse(readFileSync(json, 'utf8')).trend as Array<{ rehearsalId: string }>;
    assert.deepEqual(trend.map((t) => t.rehearsalId), [ran[0]], 'the trend holds the first rehearsal');
    const [md] = filesIn(reportDir, '.md');
    assert.ok(readFileSync(md, 'utf8').includes(ran[0]), 'the markdown trend names the first rehearsal');
    await assertCleanedUp(id, 'postgres');

    if (!chromiumAvailable()) this.skip();
    const [html] = filesIn(reportDir, '.html');
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    const shot = join(repoRoot, 'test-artifacts', 'rehearsal-report.png');
    const page = await openInChromium(html, { screenshot: shot });
    try {
      assert.deepEqual(page.pageErrors, []);
      assert.deepEqual(page.consoleMessages.filter((m) => m.type === 'error' || m.type === 'warning'), []);
      assert.equal(await page.evaluate<number>('window.ferryCharts.length'), 4, 'rate, lag, rows and trend charts are drawn');
      assert.match(await page.evaluate<string>("document.getElementById('verdict').textContent"), /GO/);
    } finally {
      await page.close();
    }
  });

  it('a Schedule created with --schedule fires, and its run produces a report', async () => {
    const scheduleId = `${name}-sched`;
    const created = await rehearse(['--schedule', '@every 15s', '--spec', pgSpec, '--id', scheduleId]);
    assert.equal(created.code, 0, created.all);
    const listed = await rehearse(['--list']);
    assert.match(listed.out, new RegExp(`${scheduleId}\\s+active`));
    const handle = suite.harness.client.schedule.getHandle(scheduleId);
    let runId: string | null = null;
    try {
      for (let i = 0; i < 60 && !runId; i++) {
        runId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId ?? null;
        if (!runId) await new Promise((res) => setTimeout(res, 1_000));
      }
      assert.ok(runId, 'the schedule started a rehearsal');
    } finally {
      // One run is enough: the next fires are not wanted.
      const deleted = await rehearse(['--delete', scheduleId]);
      assert.equal(deleted.code, 0, deleted.all);
    }
    ran.push(runId!);
    const record = await recordOf(runId!);
    assert.equal(record.outcome, 'completed', record.error ?? '');
    const reportDir = join(dir, 'sched');
    const rep = await ferryAsync(['report', '--id', runId!, '--format', 'md,json', '--out', reportDir]);
    assert.equal(rep.code, 0, rep.out + rep.err);
    const [json] = filesIn(reportDir, '.json');
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(report.record, record);
    assert.deepEqual(report.trend.map((t: { rehearsalId: string }) => t.rehearsalId), ran.slice(0, 2));
    assert.equal(filesIn(reportDir, '.md').length, 1);
    await assertCleanedUp(runId!, 'postgres');
  });

  it('refuses bad input with exit 2 and starts nothing', async () => {
    const offline = join(dir, 'offline.json');
    writeFileSync(offline, JSON.stringify({ ...JSON.parse(readFileSync(pgSpec, 'utf8')), mode: 'offline', sync: undefined }));
    const cases: Array<[string[], RegExp]> = [
      [['--spec', pgSpec, '--scale', 'lots'], /--scale takes a factor like 12x or a production row count like 50000000, not "lots"/],
      [['--spec', pgSpec, '--shadow-seconds', '-5'], /--shadow-seconds takes a whole number of seconds/],
      [['--spec', offline], /a rehearsal runs the migration online/],
      [['--spec', pgSpec, '--schedule', '@every 6 hours'], /--schedule takes a cron expression/],
      [['--spec', pgSpec, '--schedule', '@every 1h', '--wait'], /--schedule creates a schedule and returns/],
      [[], /give the spec to rehearse/],
    ];
    for (const [args, message] of cases) {
      const r = await rehearse([...args, '--id', `${name}-bad`]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.all}`);
      assert.match(r.err, message);
    }
    await assert.rejects(suite.harness.client.workflow.getHandle(`${name}-bad`).describe(), /not found/i, 'no rehearsal was started');
    await assert.rejects(suite.harness.client.schedule.getHandle(`${name}-bad`).describe(), /not found/i, 'no schedule was created');
  });

  it('a rehearsal cancelled mid-way still cleans up and records a no-go with the reason', async () => {
    const id = `${name}-cancel`;
    const started = await rehearse(['--spec', pgSpec, '--id', id]);
    assert.equal(started.code, 0, started.all);
    await waitForStatus(suite.harness.client, rehearsalMigrationId(id), (s) => ['catch-up', 'verify', 'sync'].includes(s.phase), 'past the backfill', 5 * 60_000);
    await suite.harness.client.workflow.getHandle(id).cancel();
    const record = await recordOf(id);
    assert.equal(record.outcome, 'failed');
    assert.equal(record.verdict, 'no-go');
    assert.match(record.error ?? '', /aborted: cancelled/);
    const stored = await target.query('SELECT verdict FROM _ferry.rehearsals WHERE rehearsal = $1', [id]);
    assert.equal(stored.rows[0]?.verdict, 'no-go', 'the record is stored');
    await assertCleanedUp(id, 'postgres');
  });

  it('--keep leaves what it made on the target (capture released); ferry cleanup --drop-target removes it', async () => {
    const id = `${name}-keep`;
    const r = await rehearse(['--spec', pgSpec, '--id', id, '--wait', '--keep']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /--keep: what the rehearsal made on the target is left/);
    const record = await recordOf(id);
    assert.equal(record.cleanup.kept, true);
    const kept = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM public.accounts');
    assert.ok(kept.rows[0].n >= ROWS - 10, `the copied table is still on the target (${kept.rows[0].n} rows)`);
    const mig = rehearsalMigrationId(id);
    const slots = await source.query('SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1)', [[captureName(mig), reverseCaptureName(mig)]]);
    assert.deepEqual(slots.rows, [], 'capture is released even with --keep');
    const cleaned = await ferryAsync(['cleanup', '--id', mig, '--drop-target']);
    assert.equal(cleaned.code, 0, cleaned.out + cleaned.err);
    assert.match(cleaned.out, /dropped table public\.accounts \(target\)/);
    await assertCleanedUp(id, 'postgres');
  });

  it('MongoDB target: failing criteria (a freeze limit of 0 s) give no-go and exit 1, and it still cleans up', async () => {
    const spec = specFile('mongo.json', { url: '${FERRY_MONGO_URL}', database: mongoDatabase }, { freezeSeconds: 0 });
    const id = `${name}-mongo`;
    const reportDir = join(dir, 'mongo');
    const r = await rehearse(['--spec', spec, '--id', id, '--report', reportDir]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.out, /NO-GO: .*freezeSeconds/);
    const record = await recordOf(id);
    assert.equal(record.outcome, 'completed', record.error ?? '');
    assert.equal(record.verdict, 'no-go');
    const freeze = record.criteria.find((c) => c.name === 'freezeSeconds')!;
    assert.equal(freeze.pass, false);
    assert.equal(freeze.measured, record.dryRun!.freezeSeconds);
    assert.ok(record.criteria.find((c) => c.name === 'verificationClean')!.pass);
    await assertRecordMatches(id, record, reportDir);
    assert.deepEqual(record.drill!.steps.map((s) => [s.name, s.state]), [['reverse-capture', 'done'], ['drain-reverse', 'done'], ['release-reverse', 'done']]);
    const stored = JSON.parse((await mongo.db(mongoDatabase).collection<{ _id: string; record: string }>('_ferry_rehearsals').findOne({ _id: id }))!.record);
    assert.deepEqual(stored, record);
    await assertCleanedUp(id, 'mongodb');
  });

  it('left the source as the application wrote it: every row exactly as the load wrote it, nothing else', async () => {
    await load.stop();
    assert.ok(load.writes > 100, `the load wrote throughout (${load.writes} writes)`);
    const { rows } = await source.query<{ id: number; note: string; n: number }>('SELECT id, note, n FROM public.accounts ORDER BY id');
    assert.deepEqual(rows.map((r) => [r.id, r.note, r.n]), load.expectedRows());
    const regions = await source.query<{ n: number }>('SELECT count(*)::int AS n FROM public.regions');
    assert.equal(regions.rows[0].n, 40);
  });
});
