// Whether dist/ (npm run build) holds the current code: the build finished (its last step
// wrote dist/workflow-bundle.js) and no input is newer than the moment it started
// (dist/.build-started, stamped before tsc ran, so an edit made during the build counts as
// newer). Inputs: the TypeScript under the folders tsconfig.build.json compiles, the
// tsconfig files, and the lockfiles (the bundle embeds the workflow SDK).
// Plain JavaScript without dependencies: it decides whether the compiled code may run.
// Used by bin/ferry.js; `node bin/dist-state.js` exits 0 when fresh, 1 (printing why) when not.
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dirs = ['contracts', 'engines', 'workflows', 'activities', 'workers', 'scripts', 'rehearsal'];
const files = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'node_modules/.package-lock.json'];

/** null when dist/ is current, else why not (one line). */
function staleReason() {
  const stamp = join(root, 'dist', '.build-started');
  if (!existsSync(stamp) || !existsSync(join(root, 'dist', 'workflow-bundle.js'))) return 'dist/ is missing or its build did not finish';
  const built = statSync(stamp).mtimeMs;
  for (const f of files) {
    const p = join(root, f);
    if (existsSync(p) && statSync(p).mtimeMs > built) return `${f} is newer than dist/`;
  }
  for (const d of dirs) {
    const dir = join(root, d);
    if (!existsSync(dir)) continue; // a folder that does not exist yet holds nothing newer
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || !e.name.endsWith('.ts')) continue;
      const p = join(e.parentPath, e.name);
      if (statSync(p).mtimeMs > built) return `${p.slice(root.length + 1)} is newer than dist/`;
    }
  }
  return null;
}

module.exports = { staleReason };

if (require.main === module) {
  const why = staleReason();
  if (why) console.log(why);
  process.exit(why ? 1 : 0);
}
