// The workflow code the control worker runs. Compiled (dist/workers/…), it is the bundle
// `npm run build` wrote once (dist/workflow-bundle.js): a worker then starts without
// webpacking the workflows. From the TypeScript sources (mocha's in-process workers,
// ts-node) it is bundled from workflows/ at start, so a test never runs a stale bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';

const compiled = !__filename.endsWith('.ts');

/** Where the build writes the bundle: dist/workflow-bundle.js (this file is dist/workers/workflow-bundle.js). */
export const workflowBundlePath = join(__dirname, '..', 'workflow-bundle.js');

const quiet = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };

/** Bundles workflows/ (sources or compiled, beside this file) as the worker's SDK expects. */
export async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quiet });
}

/** Newest modification time of the .js files under dir (0 when there are none). */
function newestJs(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.js')) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * The prebuilt bundle when this runs compiled and the bundle is at least as new as the
 * compiled workflows and contracts it was made from (a bare `tsc -p tsconfig.build.json`
 * after the build would leave it behind); otherwise bundle now.
 */
export async function workflowBundle(): Promise<WorkflowBundleOption> {
  if (compiled && existsSync(workflowBundlePath)) {
    const built = statSync(workflowBundlePath).mtimeMs;
    const root = join(__dirname, '..');
    if (built >= Math.max(newestJs(join(root, 'workflows')), newestJs(join(root, 'contracts')))) return { codePath: workflowBundlePath };
    console.warn(`ferry worker: ${workflowBundlePath} is older than the compiled workflows: bundling them now (npm run build writes a fresh one)`);
  }
  return bundleWorkflows();
}
