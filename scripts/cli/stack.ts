// `ferry stack …`: the local services, run by scripts/stack/stack.sh (bash is the right tool
// for installing packages and supervising processes).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../repo-root';

export function stackCommand(args: string[]): number {
  const script = join(repoRoot, 'scripts', 'stack', 'stack.sh');
  const res = spawnSync('bash', [script, ...args], { stdio: 'inherit' });
  return res.status ?? 1;
}
