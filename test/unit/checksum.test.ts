// The document digest decides what verification calls equal: field order and number
// representation must not matter, everything else must.
import { strict as assert } from 'node:assert';
import { Binary, Decimal128, Double, Int32, Long, UUID } from 'mongodb';
import { canonicalDecimal, ChunkHash, documentDigest, documentDigests, hex64 } from '../../engines/checksum';

const same = (a: unknown, b: unknown) => assert.equal(documentDigest(a), documentDigest(b), `${String(a)} vs ${String(b)}`);
const differ = (a: unknown, b: unknown) => assert.notEqual(documentDigest(a), documentDigest(b), `${String(a)} vs ${String(b)}`);

describe('checksum', () => {
  it('canonicalises decimal text', () => {
    assert.equal(canonicalDecimal('5'), '5e0');
    assert.equal(canonicalDecimal('5.00'), '5e0');
    assert.equal(canonicalDecimal('500'), '5e2');
    assert.equal(canonicalDecimal('5E+2'), '5e2');
    assert.equal(canonicalDecimal('0.0250'), '25e-3');
    assert.equal(canonicalDecimal('-0.000'), '0');
    assert.equal(canonicalDecimal('1e+21'), '1e21');
    assert.equal(canonicalDecimal('Infinity'), 'Inf');
    assert.equal(canonicalDecimal('-Infinity'), '-Inf');
    assert.equal(canonicalDecimal('NaN'), 'NaN');
  });

  it('ignores field order, recursively', () => {
    same({ _id: 1, a: 'x', b: { c: 1, d: [1, { e: 2, f: 3 }] } }, { b: { d: [1, { f: 3, e: 2 }], c: 1 }, a: 'x', _id: 1 });
  });

  it('treats every representation of a number alike', () => {
    const forms = [5, new Int32(5), Long.fromNumber(5), new Double(5), Decimal128.fromString('5.00'), Decimal128.fromString('5'), 5n];
    for (const f of forms) same({ v: f }, { v: 5 });
    same({ v: 0 }, { v: -0 });
    same({ v: new Double(-0) }, { v: Decimal128.fromString('-0.00') });
    same({ v: Long.fromString('9007199254740993') }, { v: Decimal128.fromString('9007199254740993.0') });
    same({ v: 1e20 }, { v: Decimal128.fromString('1E+20') });
    same({ v: 0.1 }, { v: new Double(0.1) });
  });

  it('keeps NaN and the infinities apart', () => {
    differ({ v: NaN }, { v: Infinity });
    differ({ v: Infinity }, { v: -Infinity });
    same({ v: new Double(NaN) }, { v: Decimal128.fromString('NaN') });
    same({ v: -Infinity }, { v: Decimal128.fromString('-Infinity') });
  });

  it('notices value and type changes', () => {
    differ({ v: 5 }, { v: 6 });
    differ({ v: 5 }, { v: '5' });
    differ({ v: 1 }, { v: true });
    differ({ v: null }, {});
    differ({ v: null }, { v: 0 });
    differ({ v: '' }, { v: null });
    differ({ v: new Date(0) }, { v: 0 });
    differ({ v: new Binary(Buffer.from('ab'), 0) }, { v: new Binary(Buffer.from('ab'), 5) });
    differ({ v: [1, 2] }, { v: [2, 1] });
    differ({ v: [1, 2] }, { v: { 0: 1, 1: 2 } });
    differ({ a: 'bc' }, { ab: 'c' });
    differ({ v: ['a', 'b'] }, { v: ['ab'] });
    differ({ v: { a: 1 } }, { v: { a: 1, b: null } });
  });

  it('digests mapped and read-back forms of the same values alike', () => {
    const u = '6f1c1b3a-2f0e-4c59-9d8e-1b2c3d4e5f60';
    same({ u: new UUID(u), b: Buffer.from('hi'), d: new Date(1_700_000_000_123) }, { d: new Date(1_700_000_000_123), b: new Binary(Buffer.from('hi')), u: new Binary(new UUID(u).buffer, 4) });
  });

  it('sums chunk hashes independently of order', async () => {
    const docs = Array.from({ length: 1200 }, (_, i) => ({ _id: i, v: `row ${i}` }));
    const digests = await documentDigests(docs);
    const a = new ChunkHash();
    const b = new ChunkHash();
    digests.forEach((d) => a.add(d));
    [...digests].reverse().forEach((d) => b.add(d));
    assert.equal(a.hex(), b.hex());
    assert.equal(a.rows, 1200);
    assert.match(a.hex(), /^[0-9a-f]{16}$/);
    const c = new ChunkHash();
    c.addSum((-1n).toString(), 1);
    assert.equal(c.hex(), 'ffffffffffffffff');
    assert.equal(hex64(1n << 64n), '0000000000000000');
  });
});
