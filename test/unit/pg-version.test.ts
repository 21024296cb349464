// Which catalog columns each PostgreSQL major has, and which database orders count as the
// same: a wrong column fails the query on that major, a wrong equivalence misplaces rows.
import { strict as assert } from 'node:assert';
import { databaseLocaleSql, icuLocaleColumn } from '../../engines/postgres/version';
import { textOrder } from '../../engines/postgres/key-ranges';

describe('pg-version', () => {
  it('names the locale columns each major has', () => {
    assert.doesNotMatch(databaseLocaleSql(130023), /datlocprovider|daticulocale|datlocale/);
    assert.doesNotMatch(databaseLocaleSql(140024), /datlocprovider|daticulocale|datlocale/);
    assert.match(databaseLocaleSql(150019), /datlocprovider.*daticulocale/);
    assert.match(databaseLocaleSql(160015), /datlocprovider.*daticulocale/);
    assert.match(databaseLocaleSql(170011), /datlocprovider.*datlocale /);
    assert.deepEqual([130023, 140024, 150019, 160015, 170011].map((v) => icuLocaleColumn(v)), ['c.collcollate', 'c.collcollate', 'c.colliculocale', 'c.colliculocale', 'c.colllocale']);
  });

  it('treats libc C, POSIX and the builtin provider as one byte order', () => {
    const orders = [
      { provider: 'c', collate: 'C', locale: null },
      { provider: 'c', collate: 'POSIX', locale: null },
      { provider: 'b', collate: 'C.UTF-8', locale: 'C.UTF-8' },
      { provider: 'b', collate: 'en_US.UTF-8', locale: 'C' },
    ].map(textOrder);
    assert.deepEqual(new Set(orders), new Set(['bytes']));
    assert.notEqual(textOrder({ provider: 'c', collate: 'C.UTF-8', locale: null }), 'bytes');
    // An ICU database is ordered by its ICU locale, whatever its libc collate says.
    assert.equal(textOrder({ provider: 'i', collate: 'C', locale: 'en-US' }), textOrder({ provider: 'i', collate: 'C.UTF-8', locale: 'en-US' }));
    assert.notEqual(textOrder({ provider: 'i', collate: 'C', locale: 'en-US' }), textOrder({ provider: 'c', collate: 'C', locale: null }));
  });
});
