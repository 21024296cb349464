// Cutover step 6: the application's writes go to the target. The routing record says so on
// both sides; with PgBouncer, the database entry the application uses is pointed at the
// target (in the include file Ferry owns), PgBouncer reloads it and RESUMEs: the transactions
// that waited during the freeze run on the target. Idempotent: a retry rewrites the same entry.
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import type { RoutingState } from '../../contracts/cutover';
import type { Spec } from '../../contracts/spec';
import { pgPool, resolveUrl } from '../../engines/connections';
import { forgetFence, recordedFences } from '../../engines/postgres/fence-ledger';
import { connInfoOf, reload, resumeDatabase, writeRoute } from '../../engines/postgres/pgbouncer';
import { writeRouting } from './routing';

const HOOK_TIMEOUT_MS = 5 * 60_000;

export async function switchWrites(input: { spec: Spec; migrationId: string; state: RoutingState }): Promise<{ switchedAt: string; detail: string }> {
  const { spec, migrationId, state } = input;
  await writeRouting({ spec, state });
  const fence = spec.cutover.fence;
  if (fence && 'pgbouncer' in fence) {
    const { admin, database, includeFile } = fence.pgbouncer;
    const adminUrl = resolveUrl(admin, 'cutover.fence.pgbouncer.admin');
    const target = connInfoOf(resolveUrl(spec.target.url, 'target.url'));
    await writeRoute(includeFile, database, target);
    // Checked: PgBouncer answers RELOAD with OK even when it could not read the file.
    await reload(adminUrl, { [database]: target });
    await resumeDatabase(adminUrl, database);
    // Resumed onto the target: the fence is lifted, and the ledger forgets it.
    const source = pgPool(spec.source.url);
    for (const r of await recordedFences(source, migrationId, 'pgbouncer')) await forgetFence(source, migrationId, 'pgbouncer', r.subject);
    return { switchedAt: new Date().toISOString(), detail: `PgBouncer database ${database} now reaches ${target.host}:${target.port}/${target.dbname}, resumed` };
  }
  return { switchedAt: new Date().toISOString(), detail: 'the routing record sends writes to the target' };
}

/** `cutover.hooks.afterFlip`, run on the worker with the routing state in its environment. */
export async function runAfterFlipHook(input: { spec: Spec; state: RoutingState }): Promise<{ output: string }> {
  const command = input.spec.cutover.hooks.afterFlip;
  if (!command) return { output: '' };
  const s = input.state;
  try {
    const { stdout } = await promisify(exec)(command, {
      timeout: HOOK_TIMEOUT_MS,
      env: { ...process.env, FERRY_ROUTING_WRITES: s.writes, FERRY_ROUTING_READS: s.reads, FERRY_ROUTING_READ_SHARE: String(s.readShare), FERRY_ROUTING_MIGRATION: s.migration, FERRY_ROUTING_PHASE: s.phase, FERRY_ROUTING_CHANGED_AT: s.changedAt },
    });
    return { output: stdout.slice(-2_000) };
  } catch (err) {
    const e = err as { code?: number; stderr?: string; message: string };
    throw ApplicationFailure.nonRetryable(`cutover.hooks.afterFlip failed (exit ${e.code ?? '?'}): ${(e.stderr || e.message).slice(-1_000)}`, 'HookFailed');
  }
}
