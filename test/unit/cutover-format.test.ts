// What `ferry cutover`, `route`, `shadow`, `status` and `plan` print about the cutover, and
// the exit codes they end with: the pure parts, no Temporal.
import { strict as assert } from 'node:assert';
import { gateCheck, parseReadsPercent, renderAnswer, renderShadow, stepProgress } from '../../scripts/cli/cutover-format';
import { formatSeconds, renderCutoverSection, renderSteps, routingLine, shadowLine } from '../../scripts/cli/format';
import { describeAdminUrl, onlineSettingsJson, renderOnlineSettings } from '../../scripts/cli/plan-format';
import { CliError } from '../../scripts/cli/errors';
import { specSchema } from '../../contracts/spec';
import type { CutoverStatus, CutoverStep, GateResult } from '../../contracts/cutover';
import type { ShadowStatus } from '../../contracts/shadow';

const gates: GateResult[] = [
  { name: 'lag', pass: true, value: '1.2 s held 40 s', limit: '≤ 5 s for 30 s' },
  { name: 'verification', pass: true, value: 'clean, 120 s old', limit: '≤ 3600 s old' },
  { name: 'shadow', pass: false, value: '2 mismatches', limit: '≤ 0' },
];

const step = (name: CutoverStep['name'], state: CutoverStep['state'], durationSeconds: number | null, detail: string | null = null, startedAt = '2026-12-01T18:00:00.000Z'): CutoverStep => ({ name, state, startedAt, durationSeconds, detail });

const shadow: ShadowStatus = {
  rounds: 12, keysCompared: 1200, mismatches: 2, inFlight: 1, lagResolved: 3,
  differences: [
    { table: 'public.orders', key: ['42'], kind: 'different', source: 'recent', foundAt: '2026-12-01T17:59:00.000Z' },
    { table: 'public.items', key: ['7', 'a'], kind: 'missing', source: 'sample', foundAt: '2026-12-01T17:58:00.000Z' },
  ],
  source: { p50: 2, p95: 5, p99: 9, samples: 100 },
  target: { p50: 3, p95: 7, p99: 12, samples: 100 },
  queries: [{ name: 'top-customers', runs: 12, errors: 1, mismatches: 0, lastError: 'timeout', source: { p50: 10, p95: 20, p99: 30, samples: 12 }, target: { p50: 11, p95: 21, p99: 31, samples: 12 } }],
  lastRoundAt: '2026-12-01T18:00:00.000Z',
  lastError: null,
};

describe('ferry cutover --check: the gates and the exit code', () => {
  it('prints each gate with pass/FAIL, value and limit; exit 1 when one fails', () => {
    const c = gateCheck(gates);
    assert.equal(c.pass, false);
    assert.equal(c.code, 1);
    const lines = c.text.split('\n');
    assert.match(lines[0], /^gate\s+result\s+value\s+limit$/);
    assert.ok(lines.some((l) => /^lag\s+pass\s+1\.2 s held 40 s\s+≤ 5 s for 30 s$/.test(l)), c.text);
    assert.ok(lines.some((l) => /^shadow\s+FAIL\s+2 mismatches\s+≤ 0$/.test(l)), c.text);
    assert.match(c.text, /1 of 3 gates fail \(shadow\)/);
  });

  it('exit 0 when every gate passes', () => {
    const c = gateCheck(gates.map((g) => ({ ...g, pass: true })));
    assert.deepEqual([c.pass, c.code], [true, 0]);
    assert.match(c.text, /all 3 gates pass/);
  });

  it('no gates at all is not a pass', () => {
    const c = gateCheck([]);
    assert.deepEqual([c.pass, c.code], [false, 1]);
    assert.match(c.text, /no gates evaluated/);
  });
});

describe('cutover steps and their durations', () => {
  it('renderSteps: ended steps with their duration, a running one with the time so far, FAILED in capitals', () => {
    const now = Date.parse('2026-12-01T18:00:03.500Z');
    const out = renderSteps([step('fence', 'done', 0.42, 'pgbouncer paused'), step('drain', 'failed', 120, 'marker not reached'), step('final-check', 'running', null), step('reverse-capture', 'skipped', null)], now);
    const rows = out.split('\n').slice(2);
    assert.match(rows[0], /^fence\s+done\s+18:00:00\s+0\.4 s\s+pgbouncer paused$/);
    assert.match(rows[1], /^drain\s+FAILED\s+18:00:00\s+2m00s\s+marker not reached$/);
    assert.match(rows[2], /^final-check\s+running\s+18:00:00\s+3\.5 s so far/);
    assert.match(rows[3], /^reverse-capture\s+skipped\s+18:00:00\s+-/);
  });

  it('formatSeconds: tenths under a minute, minutes above, - for none', () => {
    assert.equal(formatSeconds(2.34), '2.3 s');
    assert.equal(formatSeconds(0), '0.0 s');
    assert.equal(formatSeconds(125), '2m05s');
    assert.equal(formatSeconds(null), '-');
  });

  it('stepProgress: a line when a step starts and when it ends, nothing twice; a new attempt shows again', () => {
    const seen = new Map();
    assert.deepEqual(stepProgress(seen, [step('fence', 'running', null)]), ['  fence: started']);
    assert.deepEqual(stepProgress(seen, [step('fence', 'running', null)]), []);
    assert.deepEqual(stepProgress(seen, [step('fence', 'done', 0.5, 'roles revoked'), step('drain', 'running', null)]), ['  fence: done in 0.5 s — roles revoked', '  drain: started']);
    // Missed the running state between two polls: the end only.
    assert.deepEqual(stepProgress(seen, [step('fence', 'done', 0.5, 'roles revoked'), step('drain', 'failed', 120, 'timeout'), step('unfence', 'done', 0.1)]), ['  drain: FAILED after 2m00s — timeout', '  unfence: done in 0.1 s']);
    assert.deepEqual(stepProgress(seen, [step('fence', 'running', null, null, '2026-12-01T18:05:00.000Z')]), ['  fence: started']);
  });
});

describe('ferry cutover --wait: the answer', () => {
  it('cut over: freeze window, exit 0, the next command', () => {
    const a = renderAnswer({ phase: 'cut-over', cutOver: true, freezeSeconds: 2.31, error: null, steps: [step('fence', 'done', 0.2), step('switch', 'done', 0.1)] }, 'm1');
    assert.equal(a.code, 0);
    assert.match(a.text, /freeze window: 2\.3 s/);
    assert.match(a.text, /cut over: m1 is in phase cut-over/);
    assert.match(a.text, /ferry finalize --id m1/);
  });

  it('not cut over: exit 1 with the error', () => {
    const a = renderAnswer({ phase: 'sync', cutOver: false, freezeSeconds: 120.4, error: 'drain timed out after 120 s', steps: [step('drain', 'failed', 120)] }, 'm1');
    assert.equal(a.code, 1);
    assert.match(a.text, /cutover FAILED and was undone \(phase sync\): drain timed out after 120 s/);
    assert.match(a.text, /freeze window: 2m00s/);
  });
});

describe('ferry route --reads', () => {
  it('takes a whole percent from 0 to 100', () => {
    assert.equal(parseReadsPercent('0'), 0);
    assert.equal(parseReadsPercent('10'), 10);
    assert.equal(parseReadsPercent('100'), 100);
    assert.equal(parseReadsPercent(' 25% '), 25);
  });

  for (const bad of ['101', '-1', '2.5', 'half', '', undefined, '1e2', '0x10']) {
    it(`refuses ${JSON.stringify(bad)} as bad input (exit 2), saying what to give`, () => {
      assert.throws(() => parseReadsPercent(bad), (err: unknown) => err instanceof CliError && err.exitCode === 2 && /whole number from 0 to 100/.test(err.message));
    });
  }

  it('routingLine: writes, reads and the share', () => {
    assert.equal(
      routingLine({ writes: 'source', reads: 'source', readShare: 10, migration: 'm1', phase: 'sync', changedAt: '2026-12-01T18:00:00.000Z' }),
      'routing: writes → source, reads → source, 10% of reads may go to the target (phase sync, changed 2026-12-01T18:00:00.000Z)',
    );
  });
});

describe('ferry shadow and the shadow line of ferry status', () => {
  it('renderShadow: totals, latencies per side, each query, the differences and how each key was chosen', () => {
    const out = renderShadow(shadow, 'm1');
    assert.match(out, /12 rounds, last 2026-12-01T18:00:00\.000Z/);
    assert.match(out, /keys compared: 1200 {3}mismatches: 2 {3}lag-resolved: 3 {3}in flight: 1/);
    assert.match(out, /\nsource\s+2\s+5\s+9\s+100\n/);
    assert.match(out, /\ntarget\s+3\s+7\s+12\s+100/);
    assert.match(out, /top-customers\s+12\s+1\s+0\s+10\/20\/30\s+11\/21\/31\s+timeout/);
    assert.match(out, /public\.orders\s+\(42\)\s+different\s+recent change/);
    assert.match(out, /public\.items\s+\(7, a\)\s+missing\s+random sample/);
  });

  it('says when fewer differences are listed than counted, and when none was proven', () => {
    assert.match(renderShadow({ ...shadow, mismatches: 40 }, 'm1'), /the latest 2 of 40/);
    assert.match(renderShadow({ ...shadow, mismatches: 0, differences: [], queries: [], source: { p50: 0, p95: 0, p99: 0, samples: 0 } }, 'm1'), /no difference proven/);
  });

  it('shadowLine: one line', () => {
    const line = shadowLine(shadow);
    assert.ok(!line.includes('\n'));
    assert.equal(line, 'shadow: 12 rounds, 1200 keys compared, 2 mismatches (3 lag-resolved, 1 in flight), last round 2026-12-01T18:00:00.000Z; p50/p95/p99 source 2/5/9 ms, target 3/7/12 ms');
  });
});

describe('the cutover section of ferry status', () => {
  const base: CutoverStatus = { gates, gatesAt: '2026-12-01T18:00:00.000Z', state: 'waiting', attempts: 0, steps: [], freezeSeconds: null, error: null, approvedAt: null };

  it('waiting: the failing gates, and where to see them all', () => {
    const out = renderCutoverSection(base, 'm1');
    assert.match(out[0], /^cutover: waiting, attempts 0, gates 2\/3 pass/);
    assert.ok(out.includes('  gate shadow FAILS: 2 mismatches (limit ≤ 0)'), out.join('\n'));
    assert.ok(out.some((l) => l.includes('ferry cutover --id m1 --check')));
  });

  it('after a failed attempt: the steps with durations, the freeze window, the error', () => {
    const out = renderCutoverSection({ ...base, gates: gates.map((g) => ({ ...g, pass: true })), state: 'failed', attempts: 1, steps: [step('fence', 'done', 0.3), step('drain', 'failed', 120)], freezeSeconds: 120.5, error: 'drain timed out' }, 'm1', Date.parse('2026-12-01T18:10:00.000Z')).join('\n');
    assert.match(out, /^cutover: failed, attempt 1, gates 3\/3 pass/);
    assert.match(out, /\n {2}fence\s+done\s+18:00:00\s+0\.3 s/);
    assert.match(out, /\n {2}drain\s+FAILED\s+18:00:00\s+2m00s/);
    assert.match(out, /freeze window: 2m01s/);
    assert.match(out, /last attempt failed and was undone: drain timed out/);
    assert.ok(!/FAILS/.test(out));
  });
});

describe('ferry plan: the cutover and shadow settings of an online spec', () => {
  const spec = (cutover: unknown = {}, shadowSection: unknown = {}) => specSchema.parse({
    name: 'shop', mode: 'online', source: { url: '${SRC}' }, target: { url: '${DST}' }, tables: ['public.orders'],
    sync: { connect: 'http://connect:8083', kafka: 'kafka:9092' }, cutover, shadow: shadowSection,
  });

  it('never prints the password of the PgBouncer admin URL', () => {
    assert.equal(describeAdminUrl('postgres://ferry:s3cret@10.0.0.5:6432/pgbouncer'), '10.0.0.5:6432/pgbouncer');
    assert.equal(describeAdminUrl('postgres://ferry:p@ss/w@rd@bouncer/pgbouncer?password=x&sslmode=require'), 'bouncer/pgbouncer');
    assert.equal(describeAdminUrl('postgres://ferry:${PGB_PASSWORD}@bouncer:6432/pgbouncer'), 'bouncer:6432/pgbouncer');
    assert.equal(describeAdminUrl('postgres://${PGB_HOST}/pgbouncer'), '${PGB_HOST}/pgbouncer');
    assert.equal(describeAdminUrl('${PGBOUNCER_ADMIN_URL}'), '${PGBOUNCER_ADMIN_URL}');
    const s = spec({ fence: { pgbouncer: { admin: 'postgres://ferry:s3cret@bouncer:6432/pgbouncer', database: 'shop', includeFile: '/etc/pgbouncer/ferry.ini' } } });
    const text = renderOnlineSettings(s);
    assert.ok(!text.includes('s3cret'), text);
    assert.match(text, /fence: PgBouncer, admin console bouncer:6432\/pgbouncer, database shop/);
    assert.ok(!JSON.stringify(onlineSettingsJson(s)).includes('s3cret'));
  });

  it('the defaults: manual approval, the gate limits, no fence, changed final verify, the drain timeout, no hook; shadow on', () => {
    const text = renderOnlineSettings(spec());
    for (const want of [
      /^cutover: approval manual/,
      /lag ≤ 5 s, held for 30 s/,
      /verification clean and at most 3600 s old \(verified every 1800 s while syncing\)/,
      /shadow mismatches ≤ 0/,
      /dead letters ≤ 0/,
      /fence: none/,
      /final verify: changed/,
      /drain timeout: 60 s/,
      /after-flip hook: none/,
      /shadow reads: every 30 s, 50 random and 50 recently changed keys per table, at most 200 reads\/s each side/,
    ]) assert.match(text, want);
  });

  it('roles fence, auto approval, a hook, shadow queries; shadow off', () => {
    const text = renderOnlineSettings(spec(
      { approval: 'auto', fence: { roles: ['app', 'batch'] }, finalVerify: 'full', hooks: { afterFlip: './notify.sh' } },
      { queries: [{ name: 'recent-orders', source: 'SELECT 1', target: { collection: 'orders', filter: {} } }] },
    ));
    assert.match(text, /approval auto/);
    assert.match(text, /fence: revoke INSERT\/UPDATE\/DELETE\/TRUNCATE on the migrated tables from app, batch/);
    assert.match(text, /final verify: full/);
    assert.match(text, /after-flip hook: \.\/notify\.sh/);
    assert.match(text, /query recent-orders on the first table's keys: SQL on the source, collection orders on the target/);
    assert.match(renderOnlineSettings(spec({}, { enabled: false })), /shadow reads: off/);
  });
});
