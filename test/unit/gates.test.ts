// The cutover gates as a pure function of the migration's figures: each passes or fails on
// its own limit, with the value an operator reads.
import { strict as assert } from 'node:assert';
import { evaluateGates } from '../../workflows/phases/gates';
import { specSchema } from '../../contracts/spec';
import type { MigrationStatus } from '../../contracts/migration';
import type { GateReading } from '../../contracts/cutover';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();

function spec(cutover: Record<string, unknown> = {}, shadow: Record<string, unknown> = {}) {
  return specSchema.parse({
    name: 'g',
    mode: 'online',
    source: { url: 'postgres://x' },
    target: { url: 'postgres://y' },
    tables: ['public.t'],
    sync: { connect: 'http://c', kafka: 'k:9092' },
    shadow,
    cutover: { fence: { roles: ['app'] }, ...cutover },
  });
}

function status(over: Partial<MigrationStatus> = {}): MigrationStatus {
  return {
    migrationId: 'm', name: 'g', phase: 'sync', paused: false, targetKind: 'postgres', startedAt: iso(600_000), finishedAt: null,
    rowsCopied: 0, rowsEstimated: 0, tables: [], throttle: 0, lag: null, sync: null, syncWorkflowId: 'm/sync', capture: null,
    verification: { method: 'checksum', verifyId: 'v', clean: true, checkedAt: iso(60_000), tables: [] },
    error: null,
    shadow: { rounds: 3, keysCompared: 300, mismatches: 0, inFlight: 0, lagResolved: 2, differences: [], source: { p50: 1, p95: 2, p99: 3, samples: 10 }, target: { p50: 1, p95: 2, p99: 3, samples: 10 }, queries: [], lastRoundAt: iso(1_000), lastError: null },
    ...over,
  };
}

const reading = (over: Partial<GateReading> = {}): GateReading => ({ lagSeconds: 1.2, lagOkSince: iso(40_000), syncState: 'caught-up', deadLetters: 0, captureProblem: null, checkedAt: iso(500), ...over });
const failing = (s: ReturnType<typeof spec>, st: MigrationStatus, r: GateReading | null) => evaluateGates(s, st, r, NOW).filter((g) => !g.pass).map((g) => g.name);

describe('cutover gates', () => {
  it('all pass when lag has held, the verification is clean and recent, shadows agree and nothing is dead-lettered', () => {
    assert.deepEqual(failing(spec(), status(), reading()), []);
  });
  it('lag: over the limit now, or under it for less than holdSeconds', () => {
    assert.deepEqual(failing(spec(), status(), reading({ lagOkSince: null, lagSeconds: 12 })), ['lag']);
    assert.deepEqual(failing(spec({ gates: { holdSeconds: 60 } }), status(), reading()), ['lag']);
    const lag = evaluateGates(spec(), status(), reading({ lagOkSince: null, lagSeconds: 12 }), NOW).find((g) => g.name === 'lag')!;
    assert.match(lag.value, /12\.0 s/);
    assert.match(lag.limit, /≤ 5 s.*30 s/);
  });
  it('verification: dirty, missing, or older than verifyMaxAgeSeconds', () => {
    const dirty = status({ verification: { method: 'checksum', verifyId: 'v2', clean: false, checkedAt: iso(1_000), tables: [{ table: 'public.t', chunks: 1, sourceRows: 3, targetRows: 3, missing: 0, extra: 0, different: 1, mismatchedChunks: [0], sample: [] }] } });
    assert.deepEqual(failing(spec(), dirty, reading()), ['verification']);
    assert.match(evaluateGates(spec(), dirty, reading(), NOW).find((g) => g.name === 'verification')!.value, /1 difference/);
    assert.deepEqual(failing(spec(), status({ verification: null }), reading()), ['verification']);
    assert.deepEqual(failing(spec({ gates: { verifyMaxAgeSeconds: 30 } }), status(), reading()), ['verification']);
  });
  it('shadow: mismatches over the limit or no round yet; disabled shadows pass', () => {
    const st = status();
    st.shadow!.mismatches = 2;
    assert.deepEqual(failing(spec(), st, reading()), ['shadow']);
    assert.deepEqual(failing(spec({ gates: { maxShadowMismatches: 2 } }), st, reading()), []);
    assert.deepEqual(failing(spec(), status({ shadow: null }), reading()), ['shadow']);
    assert.deepEqual(failing(spec({}, { enabled: false }), status({ shadow: null }), reading()), []);
  });
  it('dead letters, capture health, and a missing fence each fail on their own', () => {
    assert.deepEqual(failing(spec(), status(), reading({ deadLetters: 1 })), ['dead-letters']);
    assert.deepEqual(failing(spec(), status(), reading({ captureProblem: 'connector ferry_x is FAILED' })), ['capture']);
    const noFence = spec();
    delete (noFence.cutover as { fence?: unknown }).fence;
    assert.deepEqual(failing(noFence, status(), reading()), ['fence']);
  });
  it('without a reading, lag and capture are not measured yet', () => {
    assert.deepEqual(failing(spec(), status(), null).sort(), ['capture', 'lag']);
  });
});
