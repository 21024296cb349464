// `ferry setup` on a namespace that does not exist yet: it creates it, registers every Ferry
// search attribute, and a second run adds nothing.
import { strict as assert } from 'node:assert';
import { Connection } from '@temporalio/client';
import { ferry } from '../helpers/cli';
import { loadStackEnv, runToken } from '../helpers/stack';
import { searchAttributes } from '../../contracts/search-attributes';

describe('ferry setup', function () {
  this.timeout(120_000);
  before(loadStackEnv);

  it('creates the namespace and registers the search attributes once, idempotently', async () => {
    const namespace = `ferry-setup-${runToken}-${Date.now().toString(36)}`;
    const first = ferry(['setup', '--namespace', namespace, '--retention-days', '1']);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, new RegExp(`registering namespace ${namespace}`));
    for (const key of Object.values(searchAttributes)) assert.match(first.out, new RegExp(key.name));

    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
    try {
      const have = await connection.operatorService.listSearchAttributes({ namespace });
      for (const key of Object.values(searchAttributes)) assert.ok(key.name in (have.customAttributes ?? {}), `${key.name} registered`);
    } finally {
      await connection.close();
    }

    const second = ferry(['setup', '--namespace', namespace]);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /nothing added/);
    assert.doesNotMatch(second.out, /registering|added search attribute/);
  });

  it('refuses a bad retention with exit 2', () => {
    const r = ferry(['setup', '--namespace', 'x', '--retention-days', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err, /retention-days/);
  });
});
