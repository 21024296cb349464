// Who may use a capture name: pure decisions over what exists under it and whose it says it is.
import { strict as assert } from 'node:assert';
import { ownershipProblems } from '../../engines/postgres/capture/ownership';

describe('capture name ownership', () => {
  const free = { name: 'ferry_x', migrationId: 'x', owner: null, slotExists: false, publicationExists: false };

  it('lets a migration use a free name, or one that is all its own (a retried prepare)', () => {
    assert.deepEqual(ownershipProblems(free), []);
    assert.deepEqual(ownershipProblems({ ...free, owner: 'x', slotExists: true, publicationExists: true, connectorOwner: 'x' }), []);
  });

  it('refuses a name recorded as another migration’s, naming it once', () => {
    const p = ownershipProblems({ ...free, owner: 'other', slotExists: true, connectorOwner: 'other' });
    assert.equal(p.length, 1);
    assert.match(p[0], /capture name ferry_x belongs to migration other .*ferry cleanup --id other/);
  });

  it('refuses a slot or publication nobody claimed, and a connector of another migration or none', () => {
    assert.match(ownershipProblems({ ...free, slotExists: true })[0], /replication slot ferry_x exists but no migration recorded it.*pg_drop_replication_slot\('ferry_x'\)/);
    assert.match(ownershipProblems({ ...free, publicationExists: true })[0], /publication ferry_x exists but no migration recorded it/);
    assert.match(ownershipProblems({ ...free, connectorOwner: 'y' })[0], /already runs connector ferry_x for migration y/);
    assert.match(ownershipProblems({ ...free, owner: 'x', connectorOwner: null })[0], /connector ferry_x that Ferry did not register for this migration \(no ferry\.migration\.id/);
  });
});
