import { strict as assert } from 'node:assert';
import { coalesce } from '../../engines/coalesce';
import type { RowChange, SourceRow } from '../../engines/rows';

let offset = 0;
const at = () => {
  offset += 1;
  return { position: { topic: 't', partition: 0, offset: String(offset) }, sourceTsMs: 1_000 + offset };
};
const upsert = (id: string, row: SourceRow, unavailable: string[] = []): RowChange => ({ kind: 'upsert', key: [id], row: { id, ...row }, unavailable, ...at() });
const del = (id: string): RowChange => ({ kind: 'delete', key: [id], ...at() });

/** The end state of applying changes one by one, in order (a partial update of a missing row does nothing). */
function applyInOrder(start: Map<string, SourceRow>, changes: RowChange[]): Map<string, SourceRow> {
  const state = new Map([...start].map(([k, v]) => [k, { ...v }]));
  for (const c of changes) {
    const id = JSON.stringify(c.key);
    if (c.kind === 'delete') state.delete(id);
    else if (c.unavailable.length === 0) state.set(id, { ...c.row });
    else {
      const existing = state.get(id);
      if (!existing) continue;
      const available = Object.fromEntries(Object.entries(c.row).filter(([k]) => !c.unavailable.includes(k)));
      state.set(id, { ...existing, ...available });
    }
  }
  return state;
}

describe('coalesce (pure)', () => {
  beforeEach(() => {
    offset = 0;
  });

  it('keeps one change per key, the last one, in order of first appearance, with the last position', () => {
    const changes = [upsert('1', { v: 'a' }), upsert('2', { v: 'b' }), upsert('1', { v: 'c' }), upsert('3', { v: 'd' })];
    const out = coalesce(changes);
    assert.deepEqual(out.map((c) => c.key[0]), ['1', '2', '3']);
    const first = out[0] as Extract<RowChange, { kind: 'upsert' }>;
    assert.deepEqual(first.row, { id: '1', v: 'c' });
    assert.equal(first.position.offset, '3');
    assert.equal(first.sourceTsMs, 1_003);
  });

  it('insert, update, delete, insert of one key: the last insert', () => {
    const changes = [upsert('1', { v: 'a' }), upsert('1', { v: 'b' }), del('1'), upsert('1', { v: 'c' })];
    const out = coalesce(changes);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0], changes[3]);
  });

  it('insert then delete: the delete', () => {
    const out = coalesce([upsert('1', { v: 'a' }), del('1')]);
    assert.equal(out.length, 1);
    assert.equal(out[0].kind, 'delete');
    assert.equal(out[0].position.offset, '2');
  });

  it('a key change (delete old key, upsert new key) keeps both keys', () => {
    const changes = [upsert('1', { v: 'a' }), del('1'), upsert('2', { v: 'a' }), del('2'), upsert('3', { v: 'a' })];
    const out = coalesce(changes);
    assert.deepEqual(out.map((c) => [c.kind, c.key[0]]), [['delete', '1'], ['delete', '2'], ['upsert', '3']]);
    assert.deepEqual(applyInOrder(new Map(), out), applyInOrder(new Map(), changes));
  });

  it('a key moving back and forth ends where the source ends', () => {
    const start = new Map([[JSON.stringify(['1']), { id: '1', v: 'x' }]]);
    const changes = [del('1'), upsert('2', { v: 'x' }), del('2'), upsert('1', { v: 'y' })];
    const out = coalesce(changes);
    assert.deepEqual(out.map((c) => [c.kind, c.key[0]]), [['upsert', '1'], ['delete', '2']]);
    assert.deepEqual(applyInOrder(start, out), applyInOrder(start, changes));
  });

  it('an upsert lacking a TOASTed column takes it from an earlier upsert in the batch', () => {
    const big = 'x'.repeat(10_000);
    const out = coalesce([upsert('1', { big, v: 'a' }), upsert('1', { v: 'b' }, ['big'])]);
    assert.equal(out.length, 1);
    const c = out[0] as Extract<RowChange, { kind: 'upsert' }>;
    assert.deepEqual(c.unavailable, []);
    assert.deepEqual(c.row, { id: '1', big, v: 'b' });
    assert.equal(c.position.offset, '2');
  });

  it('an earlier upsert that lacked the column too leaves it unavailable; other columns fill', () => {
    const out = coalesce([upsert('1', { a: '1', b: 'b1', v: 'x' }, ['a']), upsert('1', { v: 'y' }, ['a', 'b'])]);
    const c = out[0] as Extract<RowChange, { kind: 'upsert' }>;
    assert.deepEqual(c.unavailable, ['a']);
    assert.deepEqual(c.row, { id: '1', b: 'b1', v: 'y' });
  });

  it('a partial upsert with nothing earlier stays partial', () => {
    const changes = [upsert('1', { v: 'y' }, ['big'])];
    assert.deepEqual(coalesce(changes), changes);
  });

  it('a partial upsert after a delete ends as the delete (in order, it would update a missing row)', () => {
    const start = new Map([[JSON.stringify(['1']), { id: '1', big: 'old', v: 'x' }]]);
    const changes = [del('1'), upsert('1', { v: 'y' }, ['big'])];
    const out = coalesce(changes);
    assert.deepEqual(out, [{ kind: 'delete', key: ['1'], position: changes[1].position, sourceTsMs: changes[1].sourceTsMs }]);
    assert.deepEqual(applyInOrder(start, out), applyInOrder(start, changes));
  });

  it('a full upsert after a partial one replaces it', () => {
    const out = coalesce([upsert('1', { v: 'y' }, ['big']), upsert('1', { big: 'new', v: 'z' })]);
    assert.deepEqual((out[0] as Extract<RowChange, { kind: 'upsert' }>).unavailable, []);
    assert.deepEqual((out[0] as Extract<RowChange, { kind: 'upsert' }>).row, { id: '1', big: 'new', v: 'z' });
  });

  it('composite keys are told apart exactly (no separator ambiguity)', () => {
    const a: RowChange = { kind: 'upsert', key: ['a,b', 'c'], row: {}, unavailable: [], ...at() };
    const b: RowChange = { kind: 'upsert', key: ['a', 'b,c'], row: {}, unavailable: [], ...at() };
    assert.equal(coalesce([a, b]).length, 2);
  });

  it('matches in-order application on a random stream of inserts, partial updates and deletes', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const start = new Map<string, SourceRow>();
      for (let k = 0; k < 3; k++) if (rand(2)) start.set(JSON.stringify([String(k)]), { id: String(k), big: `s${k}`, v: `s${k}` });
      const live = new Set([...start.keys()].map((k) => JSON.parse(k)[0] as string));
      const changes: RowChange[] = [];
      for (let i = 0; i < 12; i++) {
        const id = String(rand(3));
        // A well-formed stream: deletes and partial updates only of live rows, inserts carry every column.
        if (!live.has(id)) {
          changes.push(upsert(id, { big: `b${i}`, v: `v${i}` }));
          live.add(id);
        } else if (rand(3) === 0) {
          changes.push(del(id));
          live.delete(id);
        } else changes.push(rand(2) ? upsert(id, { v: `v${i}` }, ['big']) : upsert(id, { big: `b${i}`, v: `v${i}` }));
      }
      const out = coalesce(changes);
      assert.equal(new Set(out.map((c) => JSON.stringify(c.key))).size, out.length);
      assert.deepEqual(applyInOrder(start, out), applyInOrder(start, changes), `round ${round}`);
    }
  });
});
