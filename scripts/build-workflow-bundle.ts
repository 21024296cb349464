// Second step of `npm run build` (after tsc): webpacks the compiled workflows once into
// dist/workflow-bundle.js, which a compiled worker loads instead of bundling at every start
// (workers/workflow-bundle.ts). Run compiled: node dist/scripts/build-workflow-bundle.js.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { bundleWorkflows, workflowBundlePath } from '../workers/workflow-bundle';

async function main(): Promise<void> {
  if (__filename.endsWith('.ts')) throw new Error('run the compiled script (npm run build): from the sources the bundle would land outside dist/');
  const t0 = Date.now();
  const { code } = await bundleWorkflows();
  writeFileSync(workflowBundlePath, code);
  console.log(`workflow bundle: ${relative(process.cwd(), workflowBundlePath)} (${(code.length / 1024).toFixed(0)} KiB, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
