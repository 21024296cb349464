// How `ferry rollback --wait/--drill` shows the way back after the switch (pure formatting).
import { strict as assert } from 'node:assert';
import { formatRollbackSteps } from '../../scripts/cli/rollback-format';
import type { MigrationStatus } from '../../contracts/migration';

const base = { migrationId: 'm1', phase: 'rolled-back' } as MigrationStatus;

describe('ferry rollback --drill output', () => {
  it('lists each step with its time, then the events carried and the freeze', () => {
    const text = formatRollbackSteps({
      ...base,
      rollback: {
        requestedAt: '2026-12-01T10:00:00.000Z', finishedAt: '2026-12-01T10:00:12.500Z', reason: 'drill', dropTarget: false, from: 'cut-over', dropped: [], kept: [],
        eventsCarried: 16372, eventsDrained: 148, freezeSeconds: 2.5,
        steps: [
          { name: 'fence-target', state: 'done', startedAt: '2026-12-01T10:00:00.100Z', durationSeconds: 0.1, detail: 'PgBouncer paused database app' },
          { name: 'drain-reverse', state: 'done', startedAt: '2026-12-01T10:00:00.200Z', durationSeconds: 2.0, detail: '148 drained' },
        ],
      },
    }, true);
    assert.match(text, /m1 is rolled-back \(rollback drill\):/);
    assert.match(text, /fence-target\s+done\s+0\.1 s\s+PgBouncer paused database app/);
    assert.match(text, /drain-reverse\s+done\s+2\.0 s/);
    assert.match(text, /events carried back by the reverse sync: 16372 \(the final drain waited for 148\)/);
    assert.match(text, /application frozen \(target fenced → source resumed\): 2\.5 s/);
    assert.match(text, /drill took 12\.5 s from the request/);
  });

  it('says only the phase when no step ran (a rollback before the switch)', () => {
    assert.equal(formatRollbackSteps({ ...base, rollback: null }, false), 'm1 is rolled-back');
  });
});
