// The go/no-go: each criterion the spec sets, against what the rehearsal measured. A figure the
// rehearsal did not measure fails its criterion: a team deciding on a cutover needs evidence
// that the limit holds, and "we don't know" is not that.
import type { CriterionName, CriterionResult, RehearsalRecord } from '../contracts/rehearsal';
import type { Spec } from '../contracts/spec';
import { formatNumber } from './report/units';

type Judged = Omit<RehearsalRecord, 'criteria' | 'verdict'>;
type Criteria = Spec['rehearsal']['criteria'];

const UNMEASURED = 'counts as failing: without a figure the rehearsal cannot show the limit holds';

type NumericName = Exclude<CriterionName, 'verificationClean'>;

interface Measure {
  unit: string;
  /** What the detail line calls the figure. */
  label: string;
  /** The figure, or why there is none. */
  read(r: Judged): { value: number } | { missing: string };
}

// In the order the report lists them: copy, sync, correctness, cutover, way back.
const order: CriterionName[] = ['backfillHours', 'lagP99Seconds', 'verificationClean', 'shadowMismatches', 'freezeSeconds', 'rollbackSeconds'];

const measures: Record<NumericName, Measure> = {
  backfillHours: {
    unit: 'h', label: 'backfill at production size',
    read: (r) => (r.eta ? { value: r.eta.backfillSeconds / 3600 } : { missing: 'no ETA was computed (the rehearsal stopped before its backfill finished)' }),
  },
  lagP99Seconds: {
    unit: 's', label: 'CDC lag p99',
    read: (r) => (r.cdc.samples.some((s) => s.lagSeconds !== null) ? { value: r.cdc.lag.p99 } : { missing: 'no lag was sampled (the sync never ran)' }),
  },
  shadowMismatches: {
    unit: 'mismatches', label: 'shadow read mismatches',
    read: (r) =>
      !r.shadow ? { missing: 'shadow reads did not run' }
      // Zero mismatches out of zero keys proves nothing about the reads the application makes.
      : r.shadow.keysCompared === 0 ? { missing: 'shadow reads compared no key' }
      : { value: r.shadow.mismatches },
  },
  freezeSeconds: {
    unit: 's', label: 'cutover freeze (dry run)',
    read: (r) => (r.dryRun?.freezeSeconds != null ? { value: r.dryRun.freezeSeconds } : { missing: r.dryRun ? 'the dry run did not finish its steps' : 'the cutover dry run did not run' }),
  },
  rollbackSeconds: {
    unit: 's', label: 'rollback drill',
    read: (r) => (r.drill?.seconds != null ? { value: r.drill.seconds } : { missing: r.drill ? 'the drill did not finish its steps' : 'the rollback drill did not run' }),
  },
};

export function judgeCriteria(record: Judged, criteria: Criteria): CriterionResult[] {
  const results: CriterionResult[] = [];
  for (const name of order) {
    if (name === 'verificationClean') {
      if (criteria.verificationClean) results.push(judgeVerification(record));
      continue;
    }
    const limit = criteria[name];
    if (limit !== undefined) results.push(judgeNumeric(record, name, limit));
  }
  return results;
}

function judgeNumeric(record: Judged, name: NumericName, limit: number): CriterionResult {
  const m = measures[name];
  const figure = m.read(record);
  const unit = m.unit === 'mismatches' ? '' : ` ${m.unit}`;
  if ('missing' in figure) {
    return { name, limit, measured: null, unit: m.unit, pass: false, detail: `${m.label} not measured: ${figure.missing}; ${UNMEASURED} (limit ${formatNumber(limit)}${unit})` };
  }
  const pass = figure.value <= limit;
  // A figure just over its limit must not read as equal to it ("6 h > 6 h").
  const rounded = formatNumber(figure.value);
  const shown = !pass && rounded === formatNumber(limit) ? String(figure.value) : rounded;
  return {
    name, limit, measured: figure.value, unit: m.unit, pass,
    detail: `${m.label} ${shown}${unit} ${pass ? '≤' : '>'} ${formatNumber(limit)}${unit}`,
  };
}

function judgeVerification(record: Judged): CriterionResult {
  const v = record.verification;
  const base = { name: 'verificationClean' as const, limit: true, unit: '' };
  if (!v) return { ...base, measured: null, pass: false, detail: `verification not measured: it did not run; ${UNMEASURED}` };
  if (v.clean) return { ...base, measured: true, pass: true, detail: `verification clean (${v.tables.length} table${v.tables.length === 1 ? '' : 's'} compared)` };
  const differing = v.tables.filter((t) => t.differences > 0);
  const differences = differing.reduce((a, t) => a + t.differences, 0);
  return {
    ...base, measured: false, pass: false,
    detail: differing.length
      ? `verification found ${differences} difference${differences === 1 ? '' : 's'} in ${differing.map((t) => t.table).join(', ')}`
      : 'verification did not come out clean',
  };
}

/** go only when every step ran and every criterion passed. */
export function verdictOf(outcome: RehearsalRecord['outcome'], results: readonly CriterionResult[]): 'go' | 'no-go' {
  return outcome === 'completed' && results.every((r) => r.pass) ? 'go' : 'no-go';
}
