// The checkout's root, whether this code runs from its TypeScript sources (scripts/…) or
// compiled (dist/scripts/…): the nearest folder up that holds package.json. Files that are
// not compiled (the stack script, examples, the bin) are found from here, not from __dirname.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const repoRoot = findRoot(__dirname);
