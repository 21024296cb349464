// The plan's warnings for values a MongoDB target cannot keep apart or hold exactly.
import { strict as assert } from 'node:assert';
import { lossWarnings } from '../../engines/mongodb/mapping/loss';
import { column, tablePlan } from '../helpers/plan';

describe('plan loss warnings (MongoDB target)', () => {
  it('warns that SQL NULL and JSON null become one null for nullable json and jsonb columns', () => {
    const w = lossWarnings(tablePlan('t', [column('id', 'integer', 23, 0, { nullable: false }), column('doc', 'jsonb', 3802), column('raw', 'json', 114)], ['id']));
    assert.equal(w.length, 2, w.join('\n'));
    assert.match(w[0], /^public\.t\.doc \(jsonb\): SQL NULL and JSON null both become null \(field present\) in MongoDB and cannot be told apart afterwards; set lossy: string .*or make the column NOT NULL$/);
    assert.match(w[1], /^public\.t\.raw \(json\): SQL NULL and JSON null/);
  });

  it('warns for arrays of jsonb (NULL elements), and not for NOT NULL, text-stored or dropped columns', () => {
    const w = lossWarnings(tablePlan('t', [
      column('a', 'jsonb[]', 3807, 3802, { nullable: false }),
      column('b', 'jsonb', 3802, 0, { nullable: false }),
      column('c', 'jsonb', 3802, 0, { lossy: 'string' }),
      column('d', 'jsonb', 3802, 0, { field: null }),
    ], ['b']));
    assert.equal(w.length, 2, w.join('\n'));
    assert.match(w[0], /^public\.t\.a \(jsonb\[\]\): a NULL element and a JSON null element both become null/);
    assert.match(w[1], /^public\.t\.c \(jsonb\): stored as text/);
  });
});
