// The rehearsal's arithmetic: --scale parsing, where the production factor comes from, the ETA
// from measured rates (including a sync that never catches up), and the go/no-go criteria.
import { strict as assert } from 'node:assert';
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { judgeCriteria, verdictOf } from '../../rehearsal/criteria';
import { computeEta, rehearsalSize } from '../../rehearsal/eta';
import { percentiles } from '../../rehearsal/percentiles';
import { parseScale, resolveScale } from '../../rehearsal/scale';
import { sampleCriteria, sampleRecord } from '../helpers/rehearsal-fixture';

describe('rehearsal percentiles', () => {
  it('takes the nearest rank, like the shadow summaries', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    assert.deepEqual(percentiles(values), { p50: 50, p95: 95, p99: 99, max: 100 });
    assert.deepEqual(percentiles([3, 1, 2]), { p50: 2, p95: 3, p99: 3, max: 3 });
  });

  it('is all zeros for no values', () => {
    assert.deepEqual(percentiles([]), { p50: 0, p95: 0, p99: 0, max: 0 });
  });
});

describe('parseScale', () => {
  it('reads a factor in either case, with decimals', () => {
    assert.deepEqual(parseScale('12x'), { factor: 12 });
    assert.deepEqual(parseScale('12X'), { factor: 12 });
    assert.deepEqual(parseScale('1.5x'), { factor: 1.5 });
  });

  it('reads a production row count, with _ or , between digit groups', () => {
    assert.deepEqual(parseScale('50000000'), { rows: 50_000_000 });
    assert.deepEqual(parseScale('50_000_000'), { rows: 50_000_000 });
    assert.deepEqual(parseScale('50,000,000'), { rows: 50_000_000 });
  });

  for (const bad of ['', 'x', '0x', '0', '-3x', '12 rows', '1.5', '12xx', '1e6', '50__000', 'twelve']) {
    it(`refuses ${JSON.stringify(bad)}, saying what to write`, () => {
      assert.throws(() => parseScale(bad), (e: Error) => {
        assert.equal(e.message, `--scale takes a factor like 12x or a production row count like 50000000, not ${JSON.stringify(bad)}`);
        return true;
      });
    });
  }
});

describe('resolveScale', () => {
  const size = { rehearsalRows: 1_000_000, rehearsalBytes: 2_000_000_000 };

  it('takes --scale first: a factor as written', () => {
    assert.deepEqual(resolveScale({ ...size, scale: '12x', production: { rows: 3_000_000 }, sourceStatisticsRows: 9_000_000 }), { factor: 12, basis: '--scale 12x' });
  });

  it('takes --scale first: a row count divided by the rows copied', () => {
    assert.deepEqual(resolveScale({ ...size, scale: '50_000_000', production: { rows: 3_000_000 } }), { factor: 50, basis: '--scale 50,000,000 rows' });
  });

  it('refuses a --scale row count when nothing was copied to divide by', () => {
    assert.throws(() => resolveScale({ scale: '50000000', rehearsalRows: 0, rehearsalBytes: 0 }), /copied no rows.*12x/);
  });

  it('then the spec: production rows, else production bytes', () => {
    assert.deepEqual(resolveScale({ ...size, production: { rows: 3_000_000, bytes: 10_000_000_000 }, sourceStatisticsRows: 9_000_000 }), { factor: 3, basis: 'spec rehearsal.production.rows' });
    assert.deepEqual(resolveScale({ ...size, production: { bytes: 10_000_000_000 }, sourceStatisticsRows: 9_000_000 }), { factor: 5, basis: 'spec rehearsal.production.bytes' });
  });

  it("then the source's statistics, when they say the source holds more than was copied", () => {
    assert.deepEqual(resolveScale({ ...size, sourceStatisticsRows: 8_000_000 }), { factor: 8, basis: "the source's statistics (8,000,000 rows)" });
  });

  it("else 1: the rehearsal's own size (statistics at or below the rows copied are estimation noise)", () => {
    const own = { factor: 1, basis: "the rehearsal's own size" };
    assert.deepEqual(resolveScale({ ...size }), own);
    assert.deepEqual(resolveScale({ ...size, sourceStatisticsRows: 980_000 }), own);
    assert.deepEqual(resolveScale({ ...size, sourceStatisticsRows: null }), own);
    assert.deepEqual(resolveScale({ rehearsalRows: 0, rehearsalBytes: 0, production: { rows: 5 }, sourceStatisticsRows: 100 }), own);
  });

  it('passes a bad --scale on as the parse error', () => {
    assert.throws(() => resolveScale({ ...size, scale: 'lots' }), /--scale takes a factor like 12x/);
  });
});

/** A record with round figures: backfill 100 s + indexes 20 s, verify 30 s, 1,000 rows copied. */
function measured(cdc: { incoming: number; capacity: number }, freeze: number | null = 5): Parameters<typeof computeEta>[0] {
  const phase = (name: string, seconds: number) => ({ phase: name, startedAt: '2026-12-01T10:00:00.000Z', seconds, rows: 0, bytes: 0, rowsPerSecond: 0, bytesPerSecond: 0 });
  return {
    phases: [phase('prepare', 3), phase('backfill', 100), phase('indexes', 20), phase('verify', 30), phase('sync', 60)],
    tables: [
      { table: 'public.a', rows: 600, bytes: 6_000, seconds: 80, rowsPerSecond: 7.5, chunks: 1, chunkSeconds: { p50: 80, p99: 80, max: 80 }, retries: 0 },
      { table: 'public.b', rows: 400, bytes: 4_000, seconds: 90, rowsPerSecond: 4.4, chunks: 1, chunkSeconds: { p50: 90, p99: 90, max: 90 }, retries: 0 },
    ],
    cdc: { samples: [], lag: percentiles([]), eventsApplied: 0, incomingPerSecond: cdc.incoming, applyCapacityPerSecond: cdc.capacity },
    verification: { clean: true, seconds: 30, tables: [] },
    dryRun: freeze === null ? null : { steps: [{ name: 'final-check', state: 'done', startedAt: '', durationSeconds: 2, detail: null }], eventsDrained: 0, freezeSeconds: freeze },
  };
}

describe('computeEta', () => {
  const scale = { factor: 10, basis: '--scale 10x' };

  it('scales backfill (with indexes), verification, rows and bytes by the factor', () => {
    const eta = computeEta(measured({ incoming: 0, capacity: 500 }), scale);
    assert.equal(eta.scaleFactor, 10);
    assert.equal(eta.basis, '--scale 10x');
    assert.equal(eta.backfillSeconds, 1_200);
    assert.equal(eta.verifySeconds, 300);
    assert.equal(eta.rows, 10_000);
    assert.equal(eta.bytes, 100_000);
  });

  it('needs no catch-up when nothing arrives', () => {
    const eta = computeEta(measured({ incoming: 0, capacity: 0 }), scale);
    assert.equal(eta.catchUpSeconds, 0);
    assert.equal(eta.totalSeconds, 1_200 + 300 + 0 + 5);
  });

  it('applies what arrived during the backfill at the capacity left over (catch-up comes before verification)', () => {
    // 50 events/s over the 1,200 s backfill = 60,000 events, worked off at 200 − 50 = 150 events/s.
    const eta = computeEta(measured({ incoming: 50, capacity: 200 }), scale);
    assert.equal(eta.catchUpSeconds, 400);
    assert.equal(eta.freezeSeconds, 5, 'the freeze is the dry run, not scaled');
    assert.equal(eta.totalSeconds, 1_200 + 300 + 400 + 5);
    assert.deepEqual(eta.planned, { low: 1_905 * 1.5, high: 1_905 * 2 });
  });

  it('scales a finalVerify: full check inside the freeze (a whole comparison grows with the rows)', () => {
    const m = measured({ incoming: 0, capacity: 1 });
    const check = m.dryRun!.steps.find((s) => s.name === 'final-check')!.durationSeconds!;
    const eta = computeEta({ ...m, dryRun: { ...m.dryRun!, finalVerify: 'full' } }, scale);
    assert.equal(check, 2);
    assert.equal(eta.freezeSeconds, 5 + 2 * 9);
  });

  it('never catches up when the apply is not faster than the writes: no total, no window', () => {
    for (const capacity of [50, 40]) {
      const eta = computeEta(measured({ incoming: 50, capacity }), scale);
      assert.equal(eta.catchUpSeconds, null);
      assert.equal(eta.totalSeconds, null);
      assert.equal(eta.planned, null);
      assert.equal(eta.backfillSeconds, 1_200, 'the parts that do end are still estimated');
    }
  });

  it('gives no total and no window without a measured freeze', () => {
    const eta = computeEta(measured({ incoming: 0, capacity: 1 }, null), scale);
    assert.equal(eta.freezeSeconds, null);
    assert.equal(eta.totalSeconds, null);
    assert.equal(eta.planned, null);
    assert.equal(eta.backfillSeconds, 1_200);
  });

  it('measures the rehearsal by its tables, else by the backfill phase', () => {
    assert.deepEqual(rehearsalSize(measured({ incoming: 0, capacity: 0 })), { rows: 1_000, bytes: 10_000 });
    const p = { phase: 'backfill', startedAt: '', seconds: 1, rows: 77, bytes: 88, rowsPerSecond: 77, bytesPerSecond: 88 };
    assert.deepEqual(rehearsalSize({ tables: [], phases: [p] }), { rows: 77, bytes: 88 });
  });
});

describe('judgeCriteria and verdictOf', () => {
  const judged = (r: RehearsalRecord) => judgeCriteria(r, sampleCriteria);
  const byName = (r: RehearsalRecord) => Object.fromEntries(judged(r).map((c) => [c.name, c]));

  it('judges every criterion the spec sets, in order, each with limit, figure and a line', () => {
    const results = judged(sampleRecord());
    assert.deepEqual(results.map((c) => c.name), ['backfillHours', 'lagP99Seconds', 'verificationClean', 'shadowMismatches', 'freezeSeconds', 'rollbackSeconds']);
    assert.ok(results.every((c) => c.pass), JSON.stringify(results, null, 2));
    const c = Object.fromEntries(results.map((x) => [x.name, x]));
    assert.equal(c.backfillHours.measured, ((540 + 38) * 12) / 3600);
    assert.equal(c.backfillHours.detail, 'backfill at production size 1.93 h ≤ 6 h');
    assert.equal(c.freezeSeconds.measured, 8);
    assert.equal(c.freezeSeconds.detail, 'cutover freeze (dry run) 8 s ≤ 30 s');
    assert.equal(c.rollbackSeconds.measured, 7.6);
    assert.equal(c.verificationClean.limit, true);
    assert.equal(c.verificationClean.measured, true);
    assert.equal(verdictOf('completed', results), 'go');
  });

  it('judges only what the spec sets (verificationClean only when true)', () => {
    const results = judgeCriteria(sampleRecord(), { verificationClean: false, freezeSeconds: 10 });
    assert.deepEqual(results.map((c) => c.name), ['freezeSeconds']);
    assert.deepEqual(judgeCriteria(sampleRecord(), { verificationClean: false }), []);
  });

  it('fails a figure over its limit, saying by how much', () => {
    const r = sampleRecord();
    const results = judgeCriteria(r, { verificationClean: true, lagP99Seconds: 10, rollbackSeconds: 7.6 });
    const lag = results.find((c) => c.name === 'lagP99Seconds')!;
    assert.equal(lag.pass, false);
    assert.equal(lag.measured, r.cdc.lag.p99);
    assert.match(lag.detail, /^CDC lag p99 36 s > 10 s$/);
    assert.equal(results.find((c) => c.name === 'rollbackSeconds')!.pass, true, 'the limit itself passes');
    assert.equal(verdictOf('completed', results), 'no-go');
  });

  it('does not show a figure just over its limit as equal to it', () => {
    const results = judgeCriteria(sampleRecord({ drill: { steps: [], seconds: 120.004 } }), { verificationClean: false, rollbackSeconds: 120 });
    assert.equal(results[0].pass, false);
    assert.equal(results[0].detail, 'rollback drill 120.004 s > 120 s');
  });

  it('fails verification that found differences, naming the tables', () => {
    const r = sampleRecord({ verification: { clean: false, seconds: 9, tables: [{ table: 'public.orders', sourceRows: 10, targetRows: 9, differences: 1 }, { table: 'public.customers', sourceRows: 5, targetRows: 5, differences: 0 }] } });
    const v = byName(r).verificationClean;
    assert.equal(v.pass, false);
    assert.equal(v.measured, false);
    assert.equal(v.detail, 'verification found 1 difference in public.orders');
  });

  it('fails every figure that was not measured, saying so and why it counts', () => {
    const r = sampleRecord({
      eta: null, verification: null, shadow: null, dryRun: null, drill: null,
      cdc: { ...sampleRecord().cdc, samples: sampleRecord().cdc.samples.map((s) => ({ ...s, lagSeconds: null })) },
    });
    const results = judged(r);
    assert.equal(results.length, 6);
    for (const c of results) {
      assert.equal(c.pass, false, c.name);
      assert.equal(c.measured, null, c.name);
      assert.match(c.detail, /not measured: .+counts as failing/, c.name);
    }
    const c = byName(r);
    assert.match(c.backfillHours.detail, /no ETA was computed/);
    assert.match(c.lagP99Seconds.detail, /no lag was sampled/);
    assert.match(c.verificationClean.detail, /did not run/);
    assert.match(c.shadowMismatches.detail, /shadow reads did not run/);
    assert.match(c.freezeSeconds.detail, /the cutover dry run did not run/);
    assert.match(c.rollbackSeconds.detail, /the rollback drill did not run/);
    assert.equal(r.verdict, 'no-go', 'the fixture judges its overrides');
  });

  it('counts shadow reads that compared no key, and a dry run without a freeze, as not measured', () => {
    const base = sampleRecord();
    const c = byName(sampleRecord({ shadow: { ...base.shadow!, keysCompared: 0, mismatches: 0 }, dryRun: { ...base.dryRun!, freezeSeconds: null } }));
    assert.equal(c.shadowMismatches.pass, false);
    assert.match(c.shadowMismatches.detail, /compared no key/);
    assert.equal(c.freezeSeconds.pass, false);
    assert.match(c.freezeSeconds.detail, /did not finish its steps/);
  });

  it('is no-go when the rehearsal failed, whatever the criteria say', () => {
    const results = judged(sampleRecord());
    assert.equal(verdictOf('failed', results), 'no-go');
    assert.equal(verdictOf('failed', []), 'no-go');
    assert.equal(verdictOf('completed', []), 'go');
  });
});
