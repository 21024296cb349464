// The rehearsal's record: its figures read from the migration's own status and the samples
// (rehearsal/figures.ts), the tables' sizes from the source's statistics, the ETA at
// production size, the go/no-go against the spec's criteria — stored on the target beside
// Ferry's other stores, and returned as the rehearsal workflow's result.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
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
  const figures = rehearsalFigures(input.status, input.samples, sizes);
  const size = rehearsalSize(figures);
  let scale;
  try {
    scale = resolveScale({ scale: input.scale ?? undefined, production: spec.rehearsal.production, rehearsalRows: size.rows, rehearsalBytes: size.bytes, sourceStatisticsRows: sum([...sizes.values()].map((s) => s.rows)) });
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'SpecError');
  }
  const outcome = input.error === null && input.status?.phase === 'completed' ? 'completed' : 'failed';
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
    error: outcome === 'failed' ? (input.error ?? input.status?.rehearsal?.error ?? `the migration ended ${input.status?.phase ?? 'without a status'}`) : null,
    ...figures,
    cleanup: input.cleanup,
    eta: size.rows > 0 ? computeEta(figures, scale) : null,
  };
  const criteria = judgeCriteria(base, spec.rehearsal.criteria);
  const record: RehearsalRecord = { ...base, criteria, verdict: verdictOf(outcome, criteria) };
  Context.current().heartbeat();
  await targetEngine(spec).rehearsals(spec).save(record);
  return record;
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
