// Cutover step 1 and its compensation: stop the application writing to the source, prove it,
// and lift it again. Both are idempotent (a retry after a killed worker finds the ledger row
// and goes on), and the un-fence is safe when nothing was fenced.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { FenceSpec, Spec } from '../../contracts/spec';
import type { TablePlan } from '../../contracts/tables';
import { pgPool, resolveUrl } from '../../engines/connections';
import { rethrowClassified } from '../../engines/errors';
import { ensureFenceTable, forgetFence, recordedFences, recordFence } from '../../engines/postgres/fence-ledger';
import { fencedWriters, fenceRoles, unfenceRoles } from '../../engines/postgres/fence-roles';
import { connInfoOf, databaseState, pauseDatabase, readRoutes, reload, resumeDatabase, writeRoute, type ConnInfo } from '../../engines/postgres/pgbouncer';

/** How long the fence waits for in-flight transactions (PgBouncer PAUSE, fenced sessions ending). */
const PROOF_TIMEOUT_MS = 60_000;

export interface FenceResult {
  /** When the fence held (the freeze window starts here). */
  fencedAt: string;
  detail: string;
}

function fenceOf(spec: Spec): FenceSpec {
  const fence = spec.cutover.fence;
  if (!fence) throw ApplicationFailure.nonRetryable('the spec has no cutover.fence: add { pgbouncer: {...} } or { roles: [...] } so the source takes no write during the switch', 'ConfigurationError');
  return fence;
}

export async function fenceSource(input: { spec: Spec; migrationId: string; plans: TablePlan[] }): Promise<FenceResult> {
  const { spec, migrationId } = input;
  const fence = fenceOf(spec);
  const source = pgPool(spec.source.url);
  const ctx = Context.current();
  try {
    if ('pgbouncer' in fence) {
      const { admin, database, includeFile } = fence.pgbouncer;
      const adminUrl = resolveUrl(admin, 'cutover.fence.pgbouncer.admin');
      // Recorded before the PAUSE: a crash right after it leaves the row that says to RESUME,
      // and where the entry led (its line in the include file, else PgBouncer's own view of
      // the `*` fallback), for an un-fence after a switch that failed half way.
      const found = (await readRoutes(resolveUrl(includeFile, 'cutover.fence.pgbouncer.includeFile'))).find((r) => r.db === database);
      const seen = found ? null : await databaseState(adminUrl, database);
      const previous: ConnInfo | null = found
        ? { host: found.host, port: found.port, dbname: found.dbname }
        : seen?.host
          ? { host: seen.host, port: seen.port, dbname: seen.database }
          : null;
      await ensureFenceTable(source);
      await recordFence(source, { migration: migrationId, kind: 'pgbouncer', subject: database, detail: { admin, database, includeFile, previous } });
      const alive = setInterval(() => ctx.heartbeat(), 5_000);
      try {
        // PAUSE returns once every server connection of the database is released: the open transactions have finished.
        await pauseDatabase(adminUrl, database, { timeoutMs: PROOF_TIMEOUT_MS });
      } catch (err) {
        // Timed out (pauseDatabase has resumed it): another try would freeze the application again for as long.
        throw ApplicationFailure.nonRetryable(`the PgBouncer fence is not proven: ${(err as Error).message}`, 'FenceFailed');
      } finally {
        clearInterval(alive);
      }
      return { fencedAt: new Date().toISOString(), detail: `PgBouncer paused database ${database}` };
    }
    const tables = input.plans.map((p) => p.table);
    const done = await fenceRoles(source, migrationId, fence.roles, tables);
    // Proven: no backend of a fenced role still holds a write lock on a migrated table.
    const deadline = Date.now() + PROOF_TIMEOUT_MS;
    for (;;) {
      const writers = await fencedWriters(source, fence.roles, tables);
      if (writers === 0) break;
      if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`the role fence is not proven: ${writers} session(s) of ${fence.roles.join(', ')} still hold write locks after ${PROOF_TIMEOUT_MS / 1000} s`, 'FenceFailed');
      ctx.heartbeat();
      await ctx.sleep(250);
    }
    return { fencedAt: new Date().toISOString(), detail: `revoked ${done.revoked} grant(s) from ${fence.roles.join(', ')}, ended ${done.terminated} session(s)` };
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    return rethrowClassified(err, 'fencing the source');
  }
}

/** The activity context when running as one (ferry cleanup calls the un-fence directly). */
function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

/** Lifts whatever the ledger says this migration fenced (RESUME, grants back). */
export async function unfenceSource(input: { spec: Spec; migrationId: string }): Promise<{ unfencedAt: string; detail: string }> {
  const { spec, migrationId } = input;
  const source = pgPool(spec.source.url);
  const details: string[] = [];
  const ctx = activityContext();
  const alive = ctx ? setInterval(() => ctx.heartbeat(), 3_000) : null;
  try {
    for (const r of await recordedFences(source, migrationId, 'pgbouncer')) {
      const { admin, database, previous } = r.detail as { admin: string; database: string; includeFile: string; previous: ConnInfo | null };
      // Recorded as written (a ${VAR} reference stays one), resolved here like every reference.
      const includeFile = resolveUrl((r.detail as { includeFile: string }).includeFile, 'cutover.fence.pgbouncer.includeFile');
      const adminUrl = resolveUrl(admin, 'cutover.fence.pgbouncer.admin');
      // A switch that failed after repointing the entry: the application must come back to the source, not go on to the target.
      const now = (await readRoutes(includeFile)).find((x) => x.db === database);
      const same = (a: ConnInfo | null | undefined, b: ConnInfo | null) => (!a && !b) || (!!a && !!b && a.host === b.host && a.port === b.port && a.dbname === b.dbname);
      if (now && !same(now, previous)) {
        // Written back rather than removed: removing an entry makes PgBouncer drop its clients
        // ("database removed"), and the application would see errors.
        const back = previous ?? connInfoOf(resolveUrl(spec.source.url, 'source.url'));
        await writeRoute(includeFile, database, back);
        await reload(adminUrl, { [database]: back });
        details.push(`PgBouncer entry ${database} put back to ${back.host}:${back.port}/${back.dbname}`);
      }
      await resumeDatabase(adminUrl, database);
      await forgetFence(source, migrationId, 'pgbouncer', r.subject);
      details.push(`PgBouncer resumed database ${database}`);
    }
  } finally {
    if (alive) clearInterval(alive);
  }
  const { restored } = await unfenceRoles(source, migrationId);
  if (restored) details.push(`restored ${restored} grant(s)`);
  return { unfencedAt: new Date().toISOString(), detail: details.join('; ') || 'nothing was fenced' };
}
