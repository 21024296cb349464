// Operator and internal message payloads as the Temporal UI may send them (pure logic).
import { strict as assert } from 'node:assert';
import { parseBackfillProgress, parseRate, parseReason, parseSyncProgress, parseSyncReport } from '../../workflows/payloads';

describe('message payloads', () => {
  it('throttle: a whole number ≥ 0, as a number, a numeric string or {rowsPerSecond}', () => {
    assert.deepEqual(parseRate(5000), { ok: true, value: 5000 });
    assert.deepEqual(parseRate('250'), { ok: true, value: 250 });
    assert.deepEqual(parseRate({ rowsPerSecond: 100.7 }), { ok: true, value: 100 });
    assert.deepEqual(parseRate(0), { ok: true, value: 0 });
    for (const bad of [undefined, null, '', 'fast', -1, NaN, Infinity, { rows: 5 }, [100], true]) {
      const r = parseRate(bad);
      assert.equal(r.ok, false, JSON.stringify(bad));
      if (!r.ok) assert.match(r.reason, /throttle needs a number of rows per second/);
    }
  });

  it('abort reason: text or {reason}, else the default', () => {
    assert.equal(parseReason('  maintenance  ', 'x'), 'maintenance');
    assert.equal(parseReason({ reason: 'wrong spec' }, 'x'), 'wrong spec');
    assert.equal(parseReason(undefined, 'by the operator'), 'by the operator');
    assert.equal(parseReason(42, 'by the operator'), 'by the operator');
  });

  it('internal reports are checked too: a hand-sent one is ignored, not merged into the status', () => {
    assert.equal(parseBackfillProgress({ table: 'public.a', state: 'copying', rowsCopied: 1, chunksDone: 0, chunksTotal: 1, rowsTotal: 5 }).ok, true);
    assert.equal(parseBackfillProgress({ table: 'public.a', state: 'exploded' }).ok, false);
    assert.equal(parseBackfillProgress('x').ok, false);
    const progress = { state: 'replaying', lagSeconds: 1, eventsApplied: 2, alerts: [] };
    assert.equal(parseSyncProgress(progress).ok, true);
    assert.equal(parseSyncProgress({ state: 'replaying' }).ok, false);
    assert.equal(parseSyncReport({ progress, plans: null }).ok, true);
    assert.equal(parseSyncReport({ progress: {} }).ok, false);
    assert.equal(parseSyncReport(undefined).ok, false);
  });
});
