import { strict as assert } from 'node:assert';
import { SpecError, validateSpec } from '../../activities/plan/spec';
import { parseSpecShape } from '../../contracts/spec';
import { parseQualifiedName, displayName } from '../../engines/postgres/identifiers';

const env = { SRC: 'postgres://ferry@127.0.0.1:5432/src', MONGO: 'mongodb://127.0.0.1:27017', PW: 'from-env' };
const base = () => ({
  name: 'demo',
  source: { url: '${SRC}' },
  target: { url: '${MONGO}', database: 'demo' },
  tables: ['public.customers', 'public.orders'],
});

function problems(input: unknown, extraEnv: Record<string, string> = {}): string[] {
  try {
    validateSpec(input, { ...env, ...extraEnv });
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.message.split('\n');
  }
  return [];
}

describe('spec validation (pure)', () => {
  it('parses the shape alone (the workflow does, on its raw input): defaults filled, one problem per path', () => {
    const ok = parseSpecShape({ ...base(), backfill: { maxRowsPerSecond: 2000 } });
    assert.ok(ok.spec);
    assert.equal(ok.spec.backfill.parallelism, 4);
    assert.equal(ok.spec.backfill.batchRows, 2000);
    assert.equal(ok.spec.backfill.maxRowsPerSecond, 2000);
    assert.equal(parseSpecShape(base()).spec?.backfill.tableParallelism, 2);
    const bad = parseSpecShape({ name: 'Bad Name', tables: [] });
    assert.equal(bad.spec, null);
    assert.deepEqual(bad.problems.map((p) => p.path).sort(), ['name', 'source', 'tables', 'target']);
    assert.equal(parseSpecShape(undefined).spec, null);
  });

  it('accepts the minimal form and fills defaults, leaving ${VAR} references unresolved', () => {
    const spec = validateSpec(base(), env);
    assert.equal(spec.source.url, '${SRC}');
    assert.equal(spec.mode, 'offline');
    assert.equal(spec.backfill.parallelism, 4);
  });

  it('names an unknown key by its path', () => {
    const p = problems({ ...base(), target: { ...base().target, databse: 'x' } });
    assert.equal(p.length, 1);
    assert.match(p[0], /^target: unknown key "databse"/);
  });

  it('reports a missing environment variable with what to do', () => {
    const p = problems({ ...base(), source: { url: '${NOPE_NOT_SET}' } });
    assert.deepEqual(p, ['source.url: environment variable NOPE_NOT_SET is not set: export it before running ferry (or on the worker), e.g. export NOPE_NOT_SET=...']);
  });

  it('refuses an unsupported URL scheme and says what is expected', () => {
    const p = problems({ ...base(), target: { url: 'mysql://x@h/db' } });
    assert.match(p[0], /^target\.url: scheme mysql: is not supported here: expected a postgres:\/\/ or mongodb:\/\/ URL/);
  });

  it('refuses a literal password but accepts one given by reference', () => {
    assert.match(problems({ ...base(), source: { url: 'postgres://u:hunter22@h/db' } })[0], /^source\.url: contains a literal password/);
    assert.deepEqual(problems({ ...base(), source: { url: 'postgres://u:${PW}@h/db' } }), []);
  });

  it('refuses a password in the query string and never echoes resolved values', () => {
    assert.match(problems({ ...base(), source: { url: 'postgres://u@h/db?password=hunter22' } })[0], /^source\.url: contains a literal password/);
    const p = problems({ ...base(), source: { url: '${BADURL}' } }, { BADURL: 'postgres://u:s3cret/x@' });
    assert.equal(p.length, 1);
    assert.ok(!p[0].includes('s3cret'), p[0]);
  });

  it('refuses two tables that would share one MongoDB collection', () => {
    const p = problems({ ...base(), tables: ['a.orders', 'b.orders'] });
    assert.match(p[0], /^tables\[1\]: would share the MongoDB collection "orders" with tables\[0\]/);
    assert.deepEqual(problems({ ...base(), target: { url: '${SRC}' }, tables: ['a.orders', 'b.orders'] }), []);
  });

  it('collects every problem, one per path', () => {
    const p = problems({ ...base(), name: 'Bad Name', tables: [], extra: 1 });
    assert.ok(p.some((l) => l.startsWith('name: ')));
    assert.ok(p.some((l) => l.startsWith('tables: ')));
    assert.ok(p.some((l) => l.startsWith(': unknown key "extra"') || l.startsWith('unknown key "extra"')));
  });

  it('requires target.database for MongoDB and refuses it for PostgreSQL', () => {
    assert.match(problems({ ...base(), target: { url: '${MONGO}' } })[0], /^target\.database: is required/);
    assert.match(problems({ ...base(), target: { url: '${SRC}', database: 'x' } })[0], /^target\.database: applies to MongoDB targets only/);
  });

  it('reports a badly written or repeated table by its index', () => {
    const p = problems({ ...base(), tables: ['public.a', 'a.b.c', 'PUBLIC.A'] });
    assert.match(p[0], /^tables\[1\]: "a\.b\.c" has 3 parts/);
    assert.match(p[1], /^tables\[2\]: repeats tables\[0\]/);
  });
});

describe('table names', () => {
  it('folds unquoted names and keeps quoted ones exactly', () => {
    assert.deepEqual(parseQualifiedName('Public.Customers'), { schema: 'public', name: 'customers' });
    assert.deepEqual(parseQualifiedName('"Sales"."Line Items"'), { schema: 'Sales', name: 'Line Items' });
    assert.deepEqual(parseQualifiedName('"a.b"'), { schema: 'public', name: 'a.b' });
    assert.deepEqual(parseQualifiedName('"say ""hi"""."t"'), { schema: 'say "hi"', name: 't' });
    assert.equal(displayName({ schema: 'Sales', name: 'Line Items' }), '"Sales"."Line Items"');
    assert.equal(typeof parseQualifiedName('"open'), 'string');
  });
});

describe('spec validation: mode online (pure)', () => {

    const online = (sync?: unknown) => ({ ...base(), mode: 'online', ...(sync === undefined ? {} : { sync }) });
    it('needs the sync section and says what goes in it', () => {
      assert.deepEqual(problems(online()), ['sync: is missing: mode online needs sync.connect (Kafka Connect REST URL) and sync.kafka (brokers); or set mode: offline']);
    });
    it('fills the sync defaults and keeps references unresolved', () => {
      const spec = validateSpec(online({ connect: '${CONNECT}', kafka: '${BROKERS}' }), { ...env, CONNECT: 'http://127.0.0.1:8083', BROKERS: '127.0.0.1:9092' });
      assert.equal(spec.sync?.connect, '${CONNECT}');
      assert.equal(spec.sync?.onPoison, 'continue');
      assert.equal(spec.sync?.retentionHours, 168);
    });
    it('checks the Connect URL and the broker list', () => {
      const p = problems(online({ connect: 'localhost:8083', kafka: 'broker-without-port' }));
      assert.equal(p.length, 2);
      assert.match(p[0], /^sync.connect: .* is not an http\(s\):\/\/ URL/);
      assert.match(p[1], /^sync.kafka: .* is not a host:port/);
    });
    it('refuses more than one topic partition, saying why (truncates carry no key)', () => {
      const p = problems(online({ connect: 'http://c:8083', kafka: 'k:9092', partitions: 3 }));
      assert.equal(p.length, 1);
      assert.match(p[0], /^sync.partitions: must be 1: a truncate carries no key/);
      assert.deepEqual(problems(online({ connect: 'http://c:8083', kafka: 'k:9092', partitions: 1 })), []);
    });
    it('refuses embedding, which the sync cannot follow yet', () => {
      const spec = { ...online({ connect: 'http://c:8083', kafka: 'k:9092' }), tables: [{ table: 'public.orders', embed: [{ table: 'public.items', as: 'items', on: { order_id: 'id' } }] }] };
      assert.match(problems(spec)[0], /^tables\[0\]\.embed: embedding cannot follow changes yet/);
    });
});
