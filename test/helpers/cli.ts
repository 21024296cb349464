// Runs the real `ferry` command (bin/ferry.js) as a child process, as an operator would.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './stack';

const ferryJs = join(repoRoot, 'bin', 'ferry.js');

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

export function ferry(args: string[], env: NodeJS.ProcessEnv = process.env): CliRun {
  const r = spawnSync(process.execPath, [ferryJs, ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** For commands that wait on workers running in the test process itself. */
export function ferryAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ferryJs, ...args], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
