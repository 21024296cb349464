// The ETA for production: the rehearsal's measured times scaled to production's size, plus the
// catch-up the sync needs afterwards, plus the freeze; and the wider window to plan for.
import type { Eta, RehearsalRecord } from '../contracts/rehearsal';
import type { Scale } from './scale';

type EtaInputs = Pick<RehearsalRecord, 'phases' | 'tables' | 'cdc' | 'verification' | 'dryRun'>;

/** What the rehearsal copied: the tables' figures, else the backfill phase's (no per-table figures). */
export function rehearsalSize(record: Pick<RehearsalRecord, 'phases' | 'tables'>): { rows: number; bytes: number } {
  if (record.tables.length) {
    return { rows: sum(record.tables.map((t) => t.rows)), bytes: sum(record.tables.map((t) => t.bytes)) };
  }
  const backfill = record.phases.filter((p) => p.phase === 'backfill');
  return { rows: sum(backfill.map((p) => p.rows)), bytes: sum(backfill.map((p) => p.bytes)) };
}

/** Seconds the rehearsal spent in a phase (summed: a phase may be recorded in parts). */
export function phaseSeconds(record: Pick<RehearsalRecord, 'phases'>, ...names: string[]): number {
  return sum(record.phases.filter((p) => names.includes(p.phase)).map((p) => p.seconds));
}

export function computeEta(record: EtaInputs, scale: Scale): Eta {
  const size = rehearsalSize(record);
  // Copying, index builds and verification read or write every row: their time grows with the
  // rows, so the measured seconds scale by the factor.
  const backfillSeconds = phaseSeconds(record, 'backfill', 'indexes') * scale.factor;
  const verifySeconds = phaseSeconds(record, 'verify') * scale.factor;

  const incoming = record.cdc.incomingPerSecond;
  const capacity = record.cdc.applyCapacityPerSecond;
  // Changes keep arriving while production copies; catch-up (before verification, which runs
  // with the sync applying beside it) works them off with what the apply's capacity has left
  // over after the changes still arriving.
  let catchUpSeconds: number | null;
  if (incoming <= 0) catchUpSeconds = 0;
  else if (capacity <= incoming) catchUpSeconds = null;
  else catchUpSeconds = (incoming * backfillSeconds) / (capacity - incoming);

  // Not scaled: the drain waits for the lag to reach a marker and the changed-keys check reads
  // only the keys changed since, so the freeze depends on the write rate and the lag, not on
  // size — except a `finalVerify: full` check, which compares every row and grows with them.
  const dry = record.dryRun;
  const fullCheck = dry?.finalVerify === 'full' ? (dry.steps.find((s) => s.name === 'final-check')?.durationSeconds ?? 0) : 0;
  const freezeSeconds = dry?.freezeSeconds == null ? null : dry.freezeSeconds + fullCheck * (scale.factor - 1);
  // Without a measured freeze there is no total to plan a window on (the freeze criterion fails on it too).
  const totalSeconds = catchUpSeconds === null || freezeSeconds === null ? null : backfillSeconds + verifySeconds + catchUpSeconds + freezeSeconds;

  return {
    scaleFactor: scale.factor,
    basis: scale.basis,
    rows: Math.round(size.rows * scale.factor),
    bytes: Math.round(size.bytes * scale.factor),
    backfillSeconds,
    verifySeconds,
    catchUpSeconds,
    freezeSeconds,
    totalSeconds,
    // One rehearsal's rates are one sample of production's: plan for half again to twice as long.
    planned: totalSeconds === null ? null : { low: totalSeconds * 1.5, high: totalSeconds * 2 },
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
