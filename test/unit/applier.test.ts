// The applier's ordering and failure rules, with a recording sink and dead-letter store (the
// real ones are exercised against real targets in test/integration/cdc-sink.test.ts and the
// online workflow tests).
import { strict as assert } from 'node:assert';
import type { KafkaMessage } from 'kafkajs';
import { ApplicationFailure } from '@temporalio/common';
import { ChangeApplier, type ApplierOptions } from '../../activities/cdc/applier';
import type { ChangeSink } from '../../engines/engine';
import type { DeadLetterStore } from '../../engines/dead-letters';
import type { ChangeEvent } from '../../activities/cdc/types';
import type { DeadLetter, RowChange } from '../../engines/rows';
import type { TablePlan } from '../../contracts/tables';
import { validateSpec } from '../../activities/plan/spec';
import { column, tablePlan } from '../helpers/plan';

const plan = tablePlan('items', [column('id', 'integer', 23), column('name', 'text', 25)], ['id']);
const withColor: TablePlan = { ...plan, columns: [...plan.columns, column('color', 'text', 25)] };

function spec(onPoison: 'continue' | 'halt') {
  return validateSpec(
    { name: 't', mode: 'online', source: { url: 'postgres://u@h:1/s' }, target: { url: 'postgres://u@h:1/t' }, tables: ['public.items'], sync: { connect: 'http://c:1', kafka: 'k:1', onPoison } },
    {},
  );
}

let offset = 0;
function msg(value: unknown): KafkaMessage {
  const text = value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
  return { offset: String(offset++), key: Buffer.from('{}'), value: text === null ? null : Buffer.from(text), timestamp: '0', attributes: 0, headers: {} } as KafkaMessage;
}
const ev = (op: string, before: object | null, after: object | null, ts = 1000) => ({ op, before, after, source: { schema: 'public', table: 'items', ts_ms: ts, lsn: 1 }, ts_ms: ts });

function harness(onPoison: 'continue' | 'halt', refuse: (c: RowChange) => string | null = () => null) {
  const applied: RowChange[][] = [];
  const letters: DeadLetter[] = [];
  const markers: ChangeEvent[] = [];
  let replans = 0;
  const sink: ChangeSink = {
    async apply(_p, changes) {
      applied.push(changes);
      return changes.flatMap((c) => (refuse(c) ? [{ change: c, reason: refuse(c)! }] : []));
    },
    async truncate() {
      applied.push([]);
    },
    async addColumns() {},
  };
  const deadLetters: DeadLetterStore = { async add(e) { letters.push(...e); }, async count() { return letters.length; }, async list() { return []; } };
  const opts: ApplierOptions = {
    spec: spec(onPoison), migrationId: 'm', sink, deadLetters, skip: new Set(),
    replan: async () => { replans++; return withColor; },
    sourceColumns: async () => new Set(['id', 'color']),
    valuesBeforeAdd: async (_p, cols) => Object.fromEntries(cols.map((c) => [c, 'red'])),
    onMarker: (e) => markers.push(e),
  };
  const applier = new ChangeApplier(opts, new Map([['p.public.items', plan]]), 'p._ferry.cdc_marker');
  return { applier, applied, letters, markers, replans: () => replans };
}

describe('change applier (pure, recording sink)', () => {
  beforeEach(() => (offset = 100));

  it('coalesces one partition batch per key and commits past its last message', async () => {
    const h = harness('continue');
    const out = await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [
      msg(ev('c', null, { id: 1, name: 'a' })), msg(ev('u', null, { id: 1, name: 'b' })), msg(ev('d', { id: 2 }, null)), msg(null),
    ] });
    assert.equal(out.commitOffset, '104');
    assert.equal(out.applied, 3);
    assert.deepEqual(h.applied[0].map((c) => [c.kind, c.key, c.kind === 'upsert' ? c.row.name : null]), [['upsert', ['1'], 'b'], ['delete', ['2'], null]]);
  });

  it('dead-letters an undecodable message and goes on (onPoison: continue)', async () => {
    const h = harness('continue');
    const out = await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [msg(ev('c', null, { id: 1, name: 'a' })), msg('{"op": '), msg(ev('c', null, { id: 3, name: 'c' }))] });
    assert.equal(out.commitOffset, '103');
    assert.equal(out.deadLettered, 1);
    assert.equal(h.letters[0].offset, '101');
    assert.equal(h.letters[0].topic, 'p.public.items');
    assert.ok(h.letters[0].reason.length > 0);
    assert.equal(h.applied.flat().length, 2);
  });

  it('stops before a poison event and commits only what came before it (onPoison: halt)', async () => {
    const h = harness('halt');
    const out = await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [msg(ev('c', null, { id: 1, name: 'a' })), msg('nope'), msg(ev('c', null, { id: 3, name: 'c' }))] });
    assert.deepEqual(out.halted?.position, { topic: 'p.public.items', partition: 0, offset: '101' });
    assert.equal(out.commitOffset, '101');
    assert.equal(h.applied.flat().length, 1);
    assert.equal(h.letters.length, 1);
  });

  it('dead-letters rows the target refuses, with the raw message', async () => {
    const h = harness('continue', (c) => (c.key[0] === '2' ? 'violates check' : null));
    const out = await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [msg(ev('c', null, { id: 1, name: 'a' })), msg(ev('c', null, { id: 2, name: 'b' }))] });
    assert.equal(out.deadLettered, 1);
    assert.equal(out.applied, 1);
    assert.equal(h.letters[0].offset, '101');
    assert.match(h.letters[0].value!, /"id":2/);
  });

  it('writes what came before a new column with the old plan, then re-plans', async () => {
    const h = harness('continue');
    await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [msg(ev('u', null, { id: 1, name: 'a' })), msg(ev('u', null, { id: 2, name: 'b', color: 'red' }))] });
    assert.equal(h.replans(), 1);
    assert.equal(h.applied.length, 2, 'one write before the new column, one after');
    assert.equal((h.applied[1][0] as { row: Record<string, string> }).row.color, 'red');
    assert.equal(h.applier.plans.get('p.public.items'), withColor);
  });

  it('stops the sync, naming table and column, when a planned column is gone from the source', async () => {
    const h = harness('continue');
    await assert.rejects(
      h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [msg(ev('u', null, { id: 1 }))] }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'UnfollowableChange' && /public\.items: column name no longer exists on the source/.test(err.message),
    );
  });

  it('writes an event that predates an added column with the value existing rows got', async () => {
    const h = harness('continue');
    h.applier.plans.set('p.public.items', withColor);
    await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [msg(ev('c', null, { id: 1, name: 'a' }))] });
    const change = h.applied[0][0] as { row: Record<string, string>; unavailable: string[] };
    assert.deepEqual(change.unavailable, []);
    assert.equal(change.row.color, 'red');
  });

  it('writes what came before a truncate first, then empties the table, then goes on', async () => {
    const h = harness('continue');
    const out = await h.applier.applyBatch({ topic: 'p.public.items', partition: 0, messages: [
      msg(ev('c', null, { id: 1, name: 'a' })), msg({ op: 't', before: null, after: null, source: { schema: 'public', table: 'items', ts_ms: 5 } }), msg(ev('c', null, { id: 2, name: 'b' })),
    ] });
    assert.deepEqual(h.applied.map((b) => b.map((c) => c.key[0])), [['1'], [], ['2']]);
    assert.equal(out.commitOffset, '103');
  });

  it('hands marker-topic events to the lag tracker instead of the target', async () => {
    const h = harness('continue');
    const out = await h.applier.applyBatch({ topic: 'p._ferry.cdc_marker', partition: 0, messages: [msg({ ...ev('u', null, { migration: 'm', kind: 'heartbeat', seq: 3 }), source: { schema: '_ferry', table: 'cdc_marker', ts_ms: 1 } })] });
    assert.equal(h.markers.length, 1);
    assert.equal(h.applied.length, 0);
    assert.equal(out.commitOffset, '101');
  });
});
