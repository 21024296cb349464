// Cutover step 7, in two parts so that nothing is ever undone once the application may have
// written to the target:
//   prepareSwitch: with PgBouncer, the database's entry in the include file Ferry owns points
//     at the target and PgBouncer reloads it (checked) — still PAUSEd, nothing has moved, so
//     a failure here is un-fenced like any earlier step (the entry is written back);
//   commitSwitch: the routing record says `writes: target` on both sides, PgBouncer RESUMEs
//     (the waiting transactions run on the target) and the ledger forgets the fence. From its
//     first write on the target may take writes: it is retried until it succeeds, never
//     compensated. Both are idempotent.
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RoutingState } from '../../contracts/cutover';
import type { Spec } from '../../contracts/spec';
import { pgPool, resolveUrl } from '../../engines/connections';
import { forgetFence, recordedFences } from '../../engines/postgres/fence-ledger';
import { connInfoOf, reload, resumeDatabase, writeRoute } from '../../engines/postgres/pgbouncer';
import { writeRouting } from './routing';

const HOOK_TIMEOUT_MS = 5 * 60_000;

/** Every `scheme://user:password@` in a text, password starred (a hook may print a URL). */
function scrub(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s@/]*)@/gi, '$1$2:***@');
}

/** Heartbeats while `run` runs, so a slow PgBouncer or database is not taken for a dead worker. */
async function heartbeating<T>(run: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const alive = setInterval(() => ctx.heartbeat(), 3_000);
  try {
    return await run();
  } finally {
    clearInterval(alive);
  }
}

export async function prepareSwitch(input: { spec: Spec }): Promise<{ detail: string }> {
  const fence = input.spec.cutover.fence;
  if (!fence || !('pgbouncer' in fence)) return { detail: 'nothing to prepare (the routing record is the switch)' };
  const { admin, database } = fence.pgbouncer;
  const includeFile = resolveUrl(fence.pgbouncer.includeFile, 'cutover.fence.pgbouncer.includeFile');
  const target = connInfoOf(resolveUrl(input.spec.target.url, 'target.url'));
  return heartbeating(async () => {
    await writeRoute(includeFile, database, target);
    // Checked: PgBouncer answers RELOAD with OK even when it could not read the file.
    await reload(resolveUrl(admin, 'cutover.fence.pgbouncer.admin'), { [database]: target });
    return { detail: `PgBouncer database ${database} points at ${target.host}:${target.port}/${target.dbname} (still paused)` };
  });
}

export async function commitSwitch(input: { spec: Spec; migrationId: string; state: RoutingState }): Promise<{ switchedAt: string; detail: string }> {
  const { spec, migrationId, state } = input;
  return heartbeating(async () => {
    await writeRouting({ spec, state });
    const fence = spec.cutover.fence;
    if (fence && 'pgbouncer' in fence) {
      const { admin, database } = fence.pgbouncer;
      await resumeDatabase(resolveUrl(admin, 'cutover.fence.pgbouncer.admin'), database);
      const switchedAt = new Date().toISOString();
      // Resumed onto the target: the fence is lifted, and the ledger forgets it.
      const source = pgPool(spec.source.url);
      for (const r of await recordedFences(source, migrationId, 'pgbouncer')) await forgetFence(source, migrationId, 'pgbouncer', r.subject);
      return { switchedAt, detail: `PgBouncer resumed database ${database} on the target` };
    }
    return { switchedAt: new Date().toISOString(), detail: 'the routing record sends writes to the target' };
  });
}

/**
 * `cutover.hooks.afterFlip`, run on the worker with the routing state in its environment —
 * and nothing else of the worker's (its environment holds the migration's secrets); what it
 * prints is scrubbed of URLs' passwords before it is reported.
 */
export async function runAfterFlipHook(input: { spec: Spec; state: RoutingState }): Promise<{ output: string }> {
  const command = input.spec.cutover.hooks.afterFlip;
  if (!command) return { output: '' };
  const s = input.state;
  try {
    const { stdout } = await promisify(exec)(command, {
      timeout: HOOK_TIMEOUT_MS,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/',
        FERRY_ROUTING_WRITES: s.writes,
        FERRY_ROUTING_READS: s.reads,
        FERRY_ROUTING_READ_SHARE: String(s.readShare),
        FERRY_ROUTING_MIGRATION: s.migration,
        FERRY_ROUTING_PHASE: s.phase,
        FERRY_ROUTING_CHANGED_AT: s.changedAt,
      },
    });
    return { output: scrub(stdout.slice(-2_000)) };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw ApplicationFailure.nonRetryable(`cutover.hooks.afterFlip failed (exit ${e.code ?? '?'}): ${scrub((e.stderr ?? '').slice(-1_000))}`, 'HookFailed');
  }
}
