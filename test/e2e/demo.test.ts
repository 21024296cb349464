// The demo end to end, as `npm run demo` runs it once the stack is up: seed, migrate into
// MongoDB, summary, exit 0 — and the workflow is listed as completed by the Temporal Web UI
// (asked through the UI server's own HTTP API, the one its pages call).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadStackEnv, repoRoot } from '../helpers/stack';

describe('npm run demo (end to end)', function () {
  this.timeout(600_000);

  it('migrates the shop, prints the summary, exits 0, and the UI shows the workflow completed', async () => {
    loadStackEnv();
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(repoRoot, 'scripts', 'demo', 'run.ts')], { cwd: repoRoot, env: process.env });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /=== demo summary ===/);
    for (const t of ['public.customers', 'public.products', 'public.orders', 'public.order_items']) {
      assert.match(run.out, new RegExp(`${t.replace('.', '\\.')}\\s+\\d+\\s+\\d+\\s+yes`));
    }
    assert.match(run.out, /RESULT: every row verified equal/);
    const id = /^workflow: (\S+)$/m.exec(run.out)?.[1];
    assert.ok(id, 'the summary names the workflow');

    const query = encodeURIComponent(`WorkflowId="${id}" AND FerryPhase="completed"`);
    let body: { executions?: { execution: { workflowId: string }; status: string }[] } = {};
    for (let i = 0; i < 40 && !body.executions?.length; i++) {
      // Visibility is eventually consistent: the list may lag the close by a moment.
      if (i) await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${process.env.FERRY_UI_URL}/api/v1/namespaces/${process.env.TEMPORAL_NAMESPACE ?? 'default'}/workflows?query=${query}`);
      assert.equal(res.status, 200);
      body = (await res.json()) as typeof body;
    }
    assert.equal(body.executions?.length, 1, JSON.stringify(body));
    assert.equal(body.executions![0].status, 'WORKFLOW_EXECUTION_STATUS_COMPLETED');
  });
});
