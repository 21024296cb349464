import { strict as assert } from 'node:assert';
import { LagTracker } from '../../activities/cdc/lag';

describe('sync lag tracker (pure)', () => {
  it('times a heartbeat from written to seen, on the worker clock', () => {
    const lag = new LagTracker();
    lag.wrote('1', 10_000);
    assert.equal(lag.heartbeatCameBack(), false);
    lag.seen('1', 0, 10_400);
    assert.equal(lag.heartbeatSeconds(), 0.4);
    assert.equal(lag.heartbeatCameBack(), true);
    assert.equal(lag.lagSeconds(10_500, []), 0.4);
  });

  it('grows while a heartbeat is not coming back (a stuck pipeline never reads as 0)', () => {
    const lag = new LagTracker();
    lag.wrote('1', 0);
    lag.seen('1', 0, 200);
    lag.wrote('2', 1_000);
    assert.equal(lag.lagSeconds(31_000, []), 30);
  });

  it('counts a lagging partition from the commit time of its last applied event', () => {
    const lag = new LagTracker();
    lag.appliedEvents('t/0', 10, 5_000, 6_000);
    assert.equal(lag.lagSeconds(20_000, ['t/0']), 15);
    assert.equal(lag.lagSeconds(20_000, []), 0, 'a partition with nothing pending adds no lag');
  });

  it('reports events per second over a window', () => {
    const lag = new LagTracker();
    lag.appliedEvents('t/0', 500, 1, 1_000);
    lag.appliedEvents('t/0', 500, 1, 5_000);
    assert.equal(lag.rate(6_000, 10_000), 100);
    assert.equal(lag.rate(14_000, 10_000), 50);
  });

  it('counts a partition that has applied nothing yet from when it was first seen waiting', () => {
    const lag = new LagTracker();
    lag.lagging(['t/0'], 1_000);
    lag.lagging(['t/0'], 5_000);
    assert.equal(lag.lagSeconds(21_000, ['t/0']), 20);
    lag.appliedEvents('t/0', 1, 20_500, 21_000);
    assert.equal(lag.lagSeconds(21_000, ['t/0']), 0.5);
  });
});
