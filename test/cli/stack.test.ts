// `ferry stack` through the CLI, on the running stack (npm test brings it up first):
// status names every service, env prints the documented exports, up is idempotent.
import { strict as assert } from 'node:assert';
import { ferry } from '../helpers/cli';

describe('ferry stack (CLI on the running local stack)', function () {
  this.timeout(120_000);

  it('status reports every service running and exits 0', () => {
    const r = ferry(['stack', 'status']);
    assert.equal(r.code, 0, r.out + r.err);
    for (const svc of ['postgres', 'temporal', 'kafka', 'connect', 'mongo', 'pgbouncer']) {
      assert.match(r.out, new RegExp(`^${svc}\\s+running`, 'm'));
    }
  });

  it('env prints the export lines the README documents', () => {
    const r = ferry(['stack', 'env']);
    assert.equal(r.code, 0);
    for (const v of ['FERRY_SOURCE_URL', 'FERRY_TARGET_PG_URL', 'FERRY_MONGO_URL', 'FERRY_KAFKA_BROKERS', 'FERRY_CONNECT_URL', 'TEMPORAL_ADDRESS', 'FERRY_UI_URL', 'FERRY_PGBOUNCER_URL', 'FERRY_PGBOUNCER_ADMIN_URL', 'FERRY_PGBOUNCER_INCLUDE']) {
      assert.match(r.out, new RegExp(`^export ${v}=\\S+$`, 'm'));
    }
  });

  it('up on a running stack starts nothing and exits 0', () => {
    const r = ferry(['stack', 'up']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.doesNotMatch(r.out, /\bstarted\b/);
    assert.match(r.out, /already running/);
  });

  it('pg names its major and port, and refuses a major it does not install', () => {
    const url = ferry(['stack', 'pg', '17', 'url']);
    assert.equal(url.code, 0, url.err);
    assert.match(url.out.trim(), /^postgres:\/\/ferry@127\.0\.0\.1:55417\/postgres$/);
    const old = ferry(['stack', 'pg', '12', 'up']);
    assert.notEqual(old.code, 0);
    assert.match(old.err, /one of 13 14 15 16 17/);
  });

  it('logs says where each service logs', () => {
    const r = ferry(['stack', 'logs']);
    assert.equal(r.code, 0);
    assert.match(r.out, /postgres.*\.log/);
  });
});
