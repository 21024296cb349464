#!/usr/bin/env node
// The `ferry` command. It runs the compiled CLI (dist/scripts/ferry.js, `npm run build`; the
// npm scripts build it when missing or stale) — about a second faster than compiling
// TypeScript at every call.
// When dist/ is missing or older than any source (a developer edited a .ts file, or switched
// branches), it runs the sources through ts-node instead, with a one-line note on stderr:
// never stale code, and no build (a dozen seconds, writing dist/ under other ferry processes
// that may be running from it) behind an operator's back. `npm run build` restores the fast
// path.
const { join } = require('node:path');
const { staleReason } = require('./dist-state');

const why = staleReason();
if (why === null) {
  // Stack traces name the TypeScript lines (the build writes source maps).
  process.setSourceMapsEnabled(true);
  require('../dist/scripts/ferry.js');
} else {
  process.stderr.write(`ferry: running the TypeScript sources (${why}; npm run build makes ferry start faster)\n`);
  require('ts-node').register({ transpileOnly: true, project: join(__dirname, '..', 'tsconfig.json') });
  require('../scripts/ferry.ts');
}
