import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { InsertRefused, insertRuns } from '../../engines/mongodb/insert';
import { rethrowClassified } from '../../engines/errors';

const MiB = 1024 * 1024;

describe('MongoDB insert commands sized to the server (pure)', () => {
  const limits = { maxBsonObjectSize: 16 * MiB, maxWriteBatchSize: 1_000 };

  it('one command for a batch within the limits', () => {
    assert.deepEqual(insertRuns(Array(1_000).fill(150), limits), [[0, 1_000]]);
    assert.deepEqual(insertRuns([], limits), []);
  });

  it('splits at maxWriteBatchSize documents', () => {
    assert.deepEqual(insertRuns(Array(2_500).fill(150), limits), [[0, 1_000], [1_000, 2_000], [2_000, 2_500]]);
  });

  it('splits so that no command carries more document bytes than the server takes', () => {
    const sizes = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 3 * MiB : MiB / 2));
    const runs = insertRuns(sizes, limits)!;
    assert.equal(runs[0][0], 0);
    assert.equal(runs[runs.length - 1][1], sizes.length);
    for (let i = 1; i < runs.length; i++) assert.equal(runs[i][0], runs[i - 1][1], 'runs are contiguous, in order');
    for (const [a, b] of runs) {
      const bytes = sizes.slice(a, b).reduce((s, n) => s + n + 8, 0);
      assert.ok(bytes <= 16 * MiB - 16 * 1024, `run ${a}..${b} carries ${bytes} bytes`);
      assert.ok(b > a);
    }
    // A document as large as the budget still goes alone.
    assert.deepEqual(insertRuns([MiB, 16 * MiB - 20 * 1024, MiB], limits), [[0, 1], [1, 2], [2, 3]]);
  });

  it('gives up (the driver refuses it as before) when one document exceeds the maximum document size', () => {
    assert.equal(insertRuns([100, 16 * MiB, 100], limits), null);
  });

  it("a refused document fails the copy as the driver's write errors did: a non-retryable DataError for the codes MongoDB refuses data with", () => {
    const refused = new InsertRefused([{ index: 3, code: 2, errmsg: 'bad value' }, { index: 7, code: 2, errmsg: 'bad value' }]);
    assert.equal(refused.code, 2);
    assert.match(refused.message, /bad value \(and 1 more refused documents\)/);
    assert.throws(() => rethrowClassified(refused, 'copying public.t'), (err: unknown) => err instanceof ApplicationFailure && err.type === 'DataError' && err.nonRetryable);
    const other = new InsertRefused([{ index: 0, code: 91, errmsg: 'shutting down' }]);
    assert.throws(() => rethrowClassified(other, 'copying public.t'), (err: unknown) => err === other, 'anything else is left to retries');
  });
});
