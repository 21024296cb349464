#!/usr/bin/env node
// The `ferry` command: TypeScript sources run through ts-node (type-checked by `npm test`).
require('ts-node').register({ transpileOnly: true, project: require('path').join(__dirname, '..', 'tsconfig.json') });
require('../scripts/ferry.ts');
