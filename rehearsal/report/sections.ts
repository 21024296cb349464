// What a rehearsal report says, once, as sections of text, lists, tables and chart slots: the
// markdown and the HTML renderers only lay these out, so the two formats cannot drift apart.
// Every string here is plain text; each renderer escapes it for its own format.
import type { CutoverStep } from '../../contracts/cutover';
import type { CriterionResult, RehearsalRecord } from '../../contracts/rehearsal';
import { phaseSeconds } from '../eta';
import { formatBytes, formatCount, formatDuration, formatFactor, formatNumber, formatRate, formatTimestamp } from './units';

export type Tone = 'pass' | 'fail';
export type Cell = string | { text: string; tone: Tone };

export type ChartId = 'chart-cdc-rate' | 'chart-lag' | 'chart-rows' | 'chart-trend';

export type Block =
  | { kind: 'text'; text: string }
  | { kind: 'list'; items: string[] }
  /** `numeric[i]`: column i holds figures (right-aligned). */
  | { kind: 'table'; headers: string[]; numeric: boolean[]; rows: Cell[][] }
  /** Drawn by the HTML report only (markdown has no charts). */
  | { kind: 'chart'; id: ChartId; title: string };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

/** One rehearsal in the trend: the figures a team compares from run to run. */
export interface TrendPoint {
  rehearsalId: string;
  startedAt: string;
  verdict: 'go' | 'no-go';
  /** Measured in the rehearsal (not scaled): backfill and index builds. */
  backfillSeconds: number;
  rowsPerSecond: number | null;
  lagP99Seconds: number | null;
  freezeSeconds: number | null;
  drillSeconds: number | null;
  etaTotalSeconds: number | null;
}

export function trendPoint(r: RehearsalRecord): TrendPoint {
  const backfill = r.phases.filter((p) => p.phase === 'backfill');
  const rows = backfill.reduce((a, p) => a + p.rows, 0);
  const seconds = backfill.reduce((a, p) => a + p.seconds, 0);
  return {
    rehearsalId: r.rehearsalId,
    startedAt: r.startedAt,
    verdict: r.verdict,
    backfillSeconds: phaseSeconds(r, 'backfill', 'indexes'),
    rowsPerSecond: seconds > 0 ? rows / seconds : null,
    lagP99Seconds: r.cdc.samples.some((s) => s.lagSeconds !== null) ? r.cdc.lag.p99 : null,
    freezeSeconds: r.dryRun?.freezeSeconds ?? null,
    drillSeconds: r.drill?.seconds ?? null,
    etaTotalSeconds: r.eta?.totalSeconds ?? null,
  };
}

/** The earlier rehearsals that belong in this one's trend: the same spec, oldest first. */
export function previousOfSameSpec(record: RehearsalRecord, previous: readonly RehearsalRecord[]): RehearsalRecord[] {
  return previous
    .filter((p) => p.specName === record.specName && p.rehearsalId !== record.rehearsalId)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
}

/** The banner's line: the verdict and why. */
export function headline(r: RehearsalRecord): string {
  const failed = r.criteria.filter((c) => !c.pass);
  if (r.verdict === 'go') return `GO: the rehearsal completed and ${r.criteria.length === 1 ? 'its criterion' : `all ${r.criteria.length} criteria`} passed`;
  const reasons = [
    ...(r.outcome === 'failed' ? [`the rehearsal failed${r.error ? `: ${r.error}` : ''}`] : []),
    ...(failed.length ? [`${failed.length} of ${r.criteria.length} criteria failed (${failed.map((c) => c.name).join(', ')})`] : []),
  ];
  return `NO-GO: ${reasons.length ? reasons.join('; ') : 'the rehearsal did not pass'}`;
}

export function reportSections(record: RehearsalRecord, previous: readonly RehearsalRecord[]): Section[] {
  return [summary(record), phases(record), tables(record), cdc(record), verification(record), shadow(record), dryRun(record), drill(record), eta(record), cleanup(record), trend(record, previous)];
}

const pass = (ok: boolean): Cell => ({ text: ok ? 'pass' : 'FAIL', tone: ok ? 'pass' : 'fail' });

function summary(r: RehearsalRecord): Section {
  const took = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
  // The headline is not repeated here: each format shows it at the top (a banner, a bold line).
  const blocks: Block[] = [
    {
      kind: 'list',
      items: [
        `Spec: ${r.specName} (migration ${r.migrationId}, rehearsal ${r.rehearsalId})`,
        `Source: ${r.source}`,
        `Target: ${r.target}${r.targetKind ? ` (${r.targetKind})` : ''}`,
        `Ran: ${formatTimestamp(r.startedAt)} to ${formatTimestamp(r.finishedAt)} (${formatDuration(took)})`,
        `Outcome: ${r.outcome === 'completed' ? 'every step ran' : `failed${r.error ? `: ${r.error}` : ''}`}`,
      ],
    },
  ];
  blocks.push(
    r.criteria.length
      ? { kind: 'table', headers: ['Criterion', 'Limit', 'Measured', 'Result', 'Detail'], numeric: [false, true, true, false, false], rows: r.criteria.map((c) => [c.name, limitText(c), measuredText(c), pass(c.pass), c.detail]) }
      : { kind: 'text', text: 'The spec sets no criterion: the verdict rests on the outcome alone.' },
  );
  return { id: 'summary', title: 'Summary', blocks };
}

function withUnit(value: number, unit: string): string {
  return unit === 'mismatches' || unit === '' ? formatNumber(value) : `${formatNumber(value)} ${unit}`;
}

function limitText(c: CriterionResult): string {
  return typeof c.limit === 'boolean' ? (c.limit ? 'clean' : 'any') : `≤ ${withUnit(c.limit, c.unit)}`;
}

function measuredText(c: CriterionResult): string {
  if (c.measured === null) return 'not measured';
  if (typeof c.measured === 'boolean') return c.measured ? 'clean' : 'not clean';
  return withUnit(c.measured, c.unit);
}

function phases(r: RehearsalRecord): Section {
  return {
    id: 'phases',
    title: 'Phases',
    blocks: [
      r.phases.length
        ? {
            kind: 'table',
            headers: ['Phase', 'Started', 'Wall time', 'Rows', 'Bytes', 'Rows/s', 'Bytes/s'],
            numeric: [false, false, true, true, true, true, true],
            rows: r.phases.map((p) => [p.phase, formatTimestamp(p.startedAt), formatDuration(p.seconds), formatCount(p.rows), formatBytes(p.bytes), formatRate(p.rowsPerSecond, 'rows'), formatRate(p.bytesPerSecond, 'bytes')]),
          }
        : { kind: 'text', text: 'No phase was recorded.' },
      { kind: 'chart', id: 'chart-rows', title: 'Rows copied over time' },
    ],
  };
}

function tables(r: RehearsalRecord): Section {
  return {
    id: 'tables',
    title: 'Tables',
    blocks: [
      r.tables.length
        ? {
            kind: 'table',
            headers: ['Table', 'Rows', 'Bytes', 'Duration', 'Rows/s', 'Chunks', 'Chunk p50', 'Chunk p99', 'Chunk max', 'Retries'],
            numeric: [false, true, true, true, true, true, true, true, true, true],
            rows: r.tables.map((t) => [t.table, formatCount(t.rows), formatBytes(t.bytes), formatDuration(t.seconds), formatRate(t.rowsPerSecond, 'rows'), formatCount(t.chunks), formatDuration(t.chunkSeconds.p50), formatDuration(t.chunkSeconds.p99), formatDuration(t.chunkSeconds.max), formatCount(t.retries)]),
          }
        : { kind: 'text', text: 'No table was copied.' },
    ],
  };
}

function cdc(r: RehearsalRecord): Section {
  const c = r.cdc;
  const lagged = c.samples.some((s) => s.lagSeconds !== null);
  const lag = (v: number) => (lagged ? formatDuration(v) : 'not measured');
  return {
    id: 'cdc',
    title: 'Change data capture',
    blocks: [
      {
        kind: 'table',
        headers: ['Figure', 'Value'],
        numeric: [false, true],
        rows: [
          ['Lag p50', lag(c.lag.p50)],
          ['Lag p95', lag(c.lag.p95)],
          ['Lag p99', lag(c.lag.p99)],
          ['Lag max', lag(c.lag.max)],
          ['Mean incoming while syncing', formatRate(c.incomingPerSecond, 'events')],
          ['Apply capacity', formatRate(c.applyCapacityPerSecond, 'events')],
          ['Events applied', formatCount(c.eventsApplied)],
          ['Samples', formatCount(c.samples.length)],
        ],
      },
      { kind: 'chart', id: 'chart-cdc-rate', title: 'Events per second: incoming and applied' },
      { kind: 'chart', id: 'chart-lag', title: 'Lag (seconds)' },
    ],
  };
}

function verification(r: RehearsalRecord): Section {
  const v = r.verification;
  const blocks: Block[] = !v
    ? [{ kind: 'text', text: 'Verification did not run.' }]
    : [
        { kind: 'text', text: `${v.clean ? 'Clean: every table matched' : 'Not clean: differences were found'} (took ${formatDuration(v.seconds)}).` },
        {
          kind: 'table',
          headers: ['Table', 'Source rows', 'Target rows', 'Differences'],
          numeric: [false, true, true, true],
          rows: v.tables.map((t) => [t.table, formatCount(t.sourceRows), formatCount(t.targetRows), t.differences ? { text: formatCount(t.differences), tone: 'fail' } : '0']),
        },
      ];
  return { id: 'verification', title: 'Verification', blocks };
}

function shadow(r: RehearsalRecord): Section {
  const s = r.shadow;
  const ms = (v: number) => `${formatNumber(v)} ms`;
  const blocks: Block[] = !s
    ? [{ kind: 'text', text: 'Shadow reads did not run.' }]
    : [
        { kind: 'text', text: `${formatCount(s.keysCompared)} keys compared in ${formatCount(s.rounds)} rounds over ${formatDuration(s.seconds)}: ${s.mismatches ? `${formatCount(s.mismatches)} mismatches` : 'no mismatch'}.` },
        {
          kind: 'table',
          headers: ['Reads on', 'p50', 'p95', 'p99', 'Samples'],
          numeric: [false, true, true, true, true],
          rows: [
            ['source', ms(s.source.p50), ms(s.source.p95), ms(s.source.p99), formatCount(s.source.samples)],
            ['target', ms(s.target.p50), ms(s.target.p95), ms(s.target.p99), formatCount(s.target.samples)],
          ],
        },
      ];
  return { id: 'shadow', title: 'Shadow reads', blocks };
}

function stepsTable(steps: readonly CutoverStep[]): Block {
  return {
    kind: 'table',
    headers: ['Step', 'State', 'Duration', 'Detail'],
    numeric: [false, false, true, false],
    rows: steps.map((s) => [s.name, s.state === 'failed' ? { text: s.state, tone: 'fail' } : s.state, formatDuration(s.durationSeconds), s.detail ?? '']),
  };
}

function dryRun(r: RehearsalRecord): Section {
  const d = r.dryRun;
  const blocks: Block[] = !d
    ? [{ kind: 'text', text: 'The cutover dry run did not run.' }]
    : [
        d.steps.length ? stepsTable(d.steps) : { kind: 'text', text: 'No step ran.' },
        {
          kind: 'list',
          items: [
            `Freeze window: ${formatDuration(d.freezeSeconds)}, what a real cutover would hold the application's writes for, from the steps measured here (the fence, repoint and switch are not run by a rehearsal and not counted)`,
            `Events still on their way when the drain began: ${formatCount(d.eventsDrained)}`,
          ],
        },
      ];
  return { id: 'dry-run', title: 'Cutover dry run', blocks };
}

function drill(r: RehearsalRecord): Section {
  const d = r.drill;
  const blocks: Block[] = !d
    ? [{ kind: 'text', text: 'The rollback drill did not run.' }]
    : [d.steps.length ? stepsTable(d.steps) : { kind: 'text', text: 'No step ran.' }, { kind: 'text', text: `The way back's capture and drain took ${formatDuration(d.seconds)}.` }];
  return { id: 'drill', title: 'Rollback drill', blocks };
}

function eta(r: RehearsalRecord): Section {
  const e = r.eta;
  if (!e) return { id: 'eta', title: 'ETA for production', blocks: [{ kind: 'text', text: 'No ETA: the rehearsal stopped before it had the figures.' }] };
  const scaled = `the rehearsal's time × ${formatNumber(e.scaleFactor)}`;
  return {
    id: 'eta',
    title: 'ETA for production',
    blocks: [
      { kind: 'text', text: `Production is taken as ${formatFactor(e.scaleFactor)} the rehearsal (${formatCount(e.rows)} rows, ${formatBytes(e.bytes)}), from ${e.basis}.` },
      {
        kind: 'table',
        headers: ['Part', 'Estimate', 'From'],
        numeric: [false, true, false],
        rows: [
          ['Backfill and indexes', formatDuration(e.backfillSeconds), scaled],
          ['Verification', formatDuration(e.verifySeconds), scaled],
          [
            'Catch-up',
            e.catchUpSeconds === null ? { text: 'never', tone: 'fail' } : formatDuration(e.catchUpSeconds),
            e.catchUpSeconds === null
              ? `the apply (${formatRate(r.cdc.applyCapacityPerSecond, 'events')}) does not keep up with the changes arriving (${formatRate(r.cdc.incomingPerSecond, 'events')})`
              : `changes arriving during the backfill at ${formatRate(r.cdc.incomingPerSecond, 'events')}, applied at ${formatRate(r.cdc.applyCapacityPerSecond, 'events')}`,
          ],
          ['Freeze', formatDuration(e.freezeSeconds), 'the dry run, not scaled (bounded by the lag, not by size)'],
          ['Total, from measured rates', e.totalSeconds === null ? { text: 'never ends', tone: 'fail' } : formatDuration(e.totalSeconds), 'the parts above'],
        ],
      },
      {
        kind: 'text',
        text: e.planned
          ? `Plan for ${formatDuration(e.planned.low)} to ${formatDuration(e.planned.high)} (1.5 to 2 times the total): one rehearsal's rates are one sample of production's.`
          : 'No window to plan: with these rates the sync never catches up.',
      },
    ],
  };
}

function cleanup(r: RehearsalRecord): Section {
  const c = r.cleanup;
  return {
    id: 'cleanup',
    title: 'Cleanup',
    blocks: [
      { kind: 'text', text: c.kept ? 'Kept for a look (--keep): what the rehearsal made on the target was left, its capture released.' : 'What the rehearsal made was removed, except what is listed as left.' },
      { kind: 'list', items: [`Removed: ${c.removed.length ? c.removed.join(', ') : 'nothing'}`, `Left: ${c.left.length ? c.left.join(', ') : 'nothing'}`] },
    ],
  };
}

function trend(r: RehearsalRecord, previous: readonly RehearsalRecord[]): Section {
  const earlier = previousOfSameSpec(r, previous);
  const row = (p: TrendPoint, current: boolean): Cell[] => [
    `${formatTimestamp(p.startedAt)}${current ? ' (this run)' : ''}`,
    // The id names the run to `ferry report --id` (and to the Temporal UI).
    p.rehearsalId,
    { text: p.verdict === 'go' ? 'GO' : 'NO-GO', tone: p.verdict === 'go' ? 'pass' : 'fail' },
    formatDuration(p.backfillSeconds),
    formatRate(p.rowsPerSecond, 'rows'),
    formatDuration(p.lagP99Seconds),
    formatDuration(p.freezeSeconds),
    formatDuration(p.drillSeconds),
    formatDuration(p.etaTotalSeconds),
  ];
  return {
    id: 'trend',
    title: 'Trend',
    blocks: [
      earlier.length ? { kind: 'text', text: `This run and the ${earlier.length} before it of spec ${r.specName}, oldest first.` } : { kind: 'text', text: `The first rehearsal of spec ${r.specName}: no trend yet.` },
      {
        kind: 'table',
        headers: ['Date', 'Rehearsal', 'Verdict', 'Backfill', 'Rows/s', 'Lag p99', 'Freeze', 'Drill', 'ETA total'],
        numeric: [false, false, false, true, true, true, true, true, true],
        rows: [...earlier.map((p) => row(trendPoint(p), false)), row(trendPoint(r), true)],
      },
      ...(earlier.length ? [{ kind: 'chart' as const, id: 'chart-trend' as const, title: 'Across rehearsals (seconds)' }] : []),
    ],
  };
}
