// The rehearsal's record: its figures read from the migration's own status and the samples
// (rehearsal/figures.ts), the tables' sizes from the source's statistics, the ETA at
// production size, the go/no-go against the spec's criteria — stored on the target beside
// Ferry's other stores, and returned as the rehearsal workflow's result.
import { Context } from '@temporalio/activity';
import type { MigrationStatus } from '../../contracts/migration';
import type { RehearsalRecord, RehearsalSample } from '../../contracts/rehearsal';
import { redact } from '../../contracts/references';
import type { Spec } from '../../contracts/spec';
import { pgPool } from '../../engines/connections';
import { targetEngine } from '../../engines';
import { judgeCriteria, verdictOf } from '../../rehearsal/criteria';
import { computeEta, rehearsalSize } from '../../rehearsal/eta';
import { rehearsalFigures, type TableSize } from '../../rehearsal/figures';
import { resolveScale } from '../../rehearsal/scale';
import { validateSpec } from '../plan/spec';
import type { RehearsalCleanup } from './cleanup';

export interface RecordInput {
  spec: Spec;
  rehearsalId: string;
  migrationId: string;
  /** The migration's last status (its result, or the status its failure carried); null when it never started. */
  status: MigrationStatus | null;
  samples: RehearsalSample[];
  scale: string | null;
  cleanup: RehearsalCleanup;
  startedAt: string;
  finishedAt: string;
  /** Why the migration failed (null: it completed). */
  error: string | null;
}

export async function recordRehearsal(input: RecordInput): Promise<RehearsalRecord> {
  const spec = validateSpec(input.spec, process.env);
  const sizes = await tableSizes(spec, input.status);
  const figures = rehearsalFigures(input.status, input.samples, sizes, spec.cutover.finalVerify);
  const size = rehearsalSize(figures);
  // Nothing copied (a migration that failed early) gives no rates to scale: no ETA, and the record still stored.
  const scale = size.rows > 0 ? resolveScale({ scale: input.scale ?? undefined, production: spec.rehearsal.production, rehearsalRows: size.rows, rehearsalBytes: size.bytes, sourceStatisticsRows: sum([...sizes.values()].map((s) => s.rows)) }) : null;
  const unfinished = unfinishedSteps(input.status);
  const outcome = input.error === null && input.status?.phase === 'completed' && !unfinished ? 'completed' : 'failed';
  const base: Omit<RehearsalRecord, 'criteria' | 'verdict'> = {
    rehearsalId: input.rehearsalId,
    migrationId: input.migrationId,
    specName: spec.name,
    targetKind: input.status?.targetKind ?? targetEngine(spec).name,
    source: redact(spec.source.url),
    target: redact(spec.target.url),
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    outcome,
    error: outcome === 'failed' ? (input.error ?? input.status?.rehearsal?.error ?? unfinished ?? `the migration ended ${input.status?.phase ?? 'without a status'}`) : null,
    ...figures,
    cleanup: input.cleanup,
    eta: scale ? computeEta(figures, scale) : null,
  };
  const criteria = judgeCriteria(base, spec.rehearsal.criteria);
  const record: RehearsalRecord = { ...base, criteria, verdict: verdictOf(outcome, criteria) };
  Context.current().heartbeat();
  await targetEngine(spec).rehearsals(spec).save(record);
  return record;
}

/** Why a migration that completed did not rehearse (its sync ended before the dry run, a step did not finish), else null. */
function unfinishedSteps(status: MigrationStatus | null): string | null {
  const r = status?.rehearsal;
  if (!status || status.phase !== 'completed') return null;
  if (!r?.dryRun.length) return 'the migration completed without its cutover dry run (its sync ended first): nothing was rehearsed past the sync';
  const open = [...r.dryRun, ...r.drill].filter((s) => s.state !== 'done' && s.state !== 'skipped');
  if (open.length) return `the step(s) ${open.map((s) => s.name).join(', ')} did not finish`;
  if (!r.drill.length) return 'the rollback drill did not run';
  return null;
}

/** Each table's heap size and row estimate, from the source's statistics (zero when a table is gone). */
async function tableSizes(spec: Spec, status: MigrationStatus | null): Promise<Map<string, TableSize>> {
  const sizes = new Map<string, TableSize>();
  const source = pgPool(spec.source.url);
  for (const t of status?.tables ?? []) {
    const { rows } = await source
      .query<{ bytes: string | null; rows: string | null }>(
        `SELECT pg_table_size(c.oid)::text AS bytes, greatest(c.reltuples, 0)::bigint::text AS rows FROM pg_class c WHERE c.oid = to_regclass($1)`,
        [t.table],
      )
      .catch(() => ({ rows: [] as Array<{ bytes: string | null; rows: string | null }> }));
    sizes.set(t.table, { bytes: Number(rows[0]?.bytes ?? 0), rows: Number(rows[0]?.rows ?? 0) });
  }
  return sizes;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
