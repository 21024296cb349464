// The rehearsal report's text: markdown with the verdict, each criterion, the ETA and its
// planned window and the trend; HTML that keeps hostile names inert; JSON that round-trips.
import { strict as assert } from 'node:assert';
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { renderHtml } from '../../rehearsal/report/html';
import { renderReport, reportFileName } from '../../rehearsal/report/index';
import { renderMarkdown } from '../../rehearsal/report/markdown';
import { formatBytes, formatDuration } from '../../rehearsal/report/units';
import { sampleHistory, sampleRecord } from '../helpers/rehearsal-fixture';

const HOSTILE = '<script>alert(1)</script>';

/** The lines of a markdown table whose first cell matches. */
function rowsStarting(text: string, first: RegExp): string[] {
  return text.split('\n').filter((l) => l.startsWith('| ') && first.test(l.slice(2).split(' | ')[0]));
}

describe('rehearsal report units', () => {
  it('writes durations as a person reads them', () => {
    assert.equal(formatDuration(null), 'n/a');
    assert.equal(formatDuration(0.25), '0.25 s');
    assert.equal(formatDuration(42.34), '42.3 s');
    assert.equal(formatDuration(125), '2 min 5 s');
    assert.equal(formatDuration(120), '2 min');
    assert.equal(formatDuration(4_320), '1 h 12 min');
    assert.equal(formatDuration(3_600), '1 h');
    assert.equal(formatDuration(183_600), '2 d 3 h');
  });

  it('writes sizes in decimal units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1_200_000_000), '1.20 GB');
    assert.equal(formatBytes(48_000_000), '48.0 MB');
    assert.equal(formatBytes(960_000_000), '960 MB');
  });
});

describe('rehearsal report: markdown', () => {
  const record = sampleRecord();
  const history = sampleHistory();
  const text = renderMarkdown(record, history);

  it('opens with the verdict', () => {
    assert.match(text.split('\n')[0], /^# Rehearsal of orders: GO$/);
    assert.match(text, /\*\*GO: the rehearsal completed and all 6 criteria passed\*\*/);
  });

  it('says NO-GO and why when a criterion fails or the rehearsal failed', () => {
    const failed = sampleRecord({ outcome: 'failed', error: 'the drill step drain-reverse timed out', drill: null });
    const md = renderMarkdown(failed, []);
    assert.match(md.split('\n')[0], /NO-GO$/);
    assert.match(md, /NO-GO: the rehearsal failed: the drill step drain-reverse timed out; 1 of 6 criteria failed \(rollbackSeconds\)/);
    assert.match(md, /\| rollbackSeconds \| ≤ 120 s \| not measured \| \*\*FAIL\*\* \| rollback drill not measured: the rollback drill did not run; counts as failing/);
  });

  it('has one line per criterion with its limit, figure, result and detail', () => {
    assert.equal(record.criteria.length, 6);
    for (const c of record.criteria) {
      const [line] = rowsStarting(text, new RegExp(`^${c.name}$`));
      assert.ok(line, `no line for ${c.name}`);
      assert.ok(line.includes(`| pass | ${c.detail} |`), line);
    }
    assert.ok(text.includes('| backfillHours | ≤ 6 h | 1.93 h | pass |'));
    assert.ok(text.includes('| verificationClean | clean | clean | pass |'));
  });

  it('has a row per phase and per table, with human durations and sizes', () => {
    assert.match(rowsStarting(text, /^backfill$/)[0], /\| 9 min \| 1,400,000 \| 1\.01 GB \| 2,593 rows\/s \|/);
    assert.match(rowsStarting(text, /^public\.orders$/)[0], /\| 1,200,000 \| 960 MB \| 8 min 52 s \| 2,257 rows\/s \| 30 \| 15\.9 s \| 22\.4 s \| 22\.4 s \| 1 \|$/);
  });

  it('shows the CDC figures, the dry run with its freeze and the drill', () => {
    assert.match(text, /\| Lag p99 \| 36\.0 s \|/);
    assert.match(text, /\| Apply capacity \| 2,360 events\/s \|/);
    for (const step of ['drain', 'final-check', 'prepare-target', 'reverse-capture', 'drain-reverse', 'release-reverse']) assert.equal(rowsStarting(text, new RegExp(`^${step}$`)).length >= 1, true, step);
    assert.match(text, /Freeze window: 8\.0 s/);
    assert.match(text, /capture and drain took 7\.6 s/);
  });

  it('shows the ETA, its basis, and the planned window apart from the measured total', () => {
    assert.match(text, /Production is taken as 12× the rehearsal \(16,800,000 rows, 12\.1 GB\), from --scale 12x\./);
    assert.match(text, /\| Total, from measured rates \| 2 h 21 min \|/, "6,936 + 411 + 1,140 + 8 s");
    const eta = record.eta!;
    const planned = `Plan for ${formatDuration(eta.planned!.low)} to ${formatDuration(eta.planned!.high)} (1.5 to 2 times the total)`;
    assert.ok(text.includes(planned), planned);
    assert.ok(!/Total.*Plan for/.test(text), 'the window is a line of its own');
  });

  it('says when the sync never catches up, with no window to plan', () => {
    const r = sampleRecord({ cdc: { ...record.cdc, applyCapacityPerSecond: 100, incomingPerSecond: 150 } });
    const md = renderMarkdown(r, []);
    assert.match(md, /\| Catch-up \| \*\*never\*\* \| the apply \(100 events\/s\) does not keep up with the changes arriving \(150 events\/s\) \|/);
    assert.match(md, /\| Total, from measured rates \| \*\*never ends\*\* \|/);
    assert.match(md, /No window to plan/);
  });

  it('lists the earlier rehearsals of the same spec oldest first, then this one', () => {
    const other = sampleRecord({ specName: 'payments', startedAt: '2026-11-30T08:00:00.000Z' });
    const md = renderMarkdown(record, [history[1], other, history[0]]);
    const rows = rowsStarting(md, /^\d{4}-\d\d-\d\d /);
    assert.deepEqual(rows.map((r) => r.slice(2, 25)), ['2026-11-24 09:30:00 UTC', '2026-11-28 14:00:00 UTC', '2026-12-01 10:00:00 UTC']);
    assert.match(rows[0], new RegExp(`\\| ${history[0].rehearsalId} \\| \\*\\*NO-GO\\*\\* \\| 12 min 38 s`));
    assert.match(rows[0], /\| \*\*NO-GO\*\* \| 12 min 38 s \| 1,944 rows\/s \| 36\.0 s \| 37\.1 s \| 7\.6 s \|/);
    assert.match(rows[2], new RegExp(`\\(this run\\) \\| ${record.rehearsalId} \\| GO \\|`));
  });

  it('says there is no trend yet for a first rehearsal', () => {
    const md = renderMarkdown(record, []);
    assert.match(md, /The first rehearsal of spec orders: no trend yet\./);
    assert.equal(rowsStarting(md, /^\d{4}-\d\d-\d\d /).length, 1);
  });

  it('keeps a table name from breaking its table or injecting HTML', () => {
    const r = sampleRecord({ tables: [{ ...record.tables[0], table: `a|b\n${HOSTILE}` }] });
    const md = renderMarkdown(r, []);
    assert.ok(!md.includes('<script>'));
    assert.ok(md.includes('| a\\|b &lt;script>alert(1)&lt;/script> |'));
  });
});

describe('rehearsal report: HTML', () => {
  const hostile = (): RehearsalRecord => {
    const base = sampleRecord();
    return sampleRecord({
      tables: [{ ...base.tables[0], table: HOSTILE }, base.tables[1]],
      error: `"><img src=x onerror=alert(2)>`,
      outcome: 'failed',
      cleanup: { kept: false, removed: [HOSTILE], left: [] },
    });
  };

  it('escapes every string from the record', () => {
    const html = renderHtml(hostile(), []);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!html.includes('<script>alert(1)'), 'the hostile name appears only escaped');
    assert.ok(!html.includes('<img src=x'));
    assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));
  });

  it('inlines the figures as JSON with no `<` that could close the script', () => {
    const html = renderHtml(sampleRecord({ cdc: { ...sampleRecord().cdc, samples: sampleRecord().cdc.samples.map((s) => ({ ...s, phase: `</script>${HOSTILE}` })) } }), []);
    const data = /<script type="application\/json" id="ferry-data">([\s\S]*?)<\/script>/.exec(html)![1];
    assert.ok(!data.includes('<'));
    assert.equal(JSON.parse(data).samples[0].phase, `</script>${HOSTILE}`);
  });

  it('is self-contained: Chart.js inline, nothing fetched, a canvas per chart and the verdict banner', () => {
    const html = renderHtml(sampleRecord(), sampleHistory());
    assert.ok(!/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/cdn/i.test(html));
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.ok(html.includes('Chart.js v4'), 'the Chart.js bundle is inlined');
    for (const id of ['chart-cdc-rate', 'chart-lag', 'chart-rows', 'chart-trend']) assert.ok(html.includes(`<canvas id="${id}"`), id);
    assert.match(html, /<div id="verdict" class="go">GO: /);
    // Only the three inline scripts: the bundle's own text never closes its element.
    assert.equal(html.match(/<\/script/gi)!.length, 3);
  });

  it('draws no trend chart without an earlier rehearsal', () => {
    const html = renderHtml(sampleRecord(), []);
    assert.ok(!html.includes('<canvas id="chart-trend"'));
    assert.match(renderHtml(sampleRecord({ drill: null }), []), /<div id="verdict" class="no-go">NO-GO: /);
  });
});

describe('rehearsal report: JSON and file names', () => {
  it('round-trips the record and carries the earlier runs as trend figures', () => {
    const record = sampleRecord();
    const parsed = JSON.parse(renderReport(record, sampleHistory(), 'json'));
    assert.deepEqual(parsed.record, record);
    assert.deepEqual(parsed.trend.map((t: { startedAt: string; verdict: string }) => [t.startedAt, t.verdict]), [['2026-11-24T09:30:00.000Z', 'no-go'], ['2026-11-28T14:00:00.000Z', 'go']]);
    assert.equal(parsed.trend[0].freezeSeconds, 37.1);
  });

  it('renders each format by name', () => {
    const record = sampleRecord();
    assert.equal(renderReport(record, [], 'md'), renderMarkdown(record, []));
    assert.match(renderReport(record, [], 'html'), /^<!doctype html>/);
  });

  it('names the file by spec and start time', () => {
    const record = sampleRecord();
    assert.equal(reportFileName(record, 'html'), 'rehearsal-orders-20261201T100000.html');
    assert.equal(reportFileName(record, 'md'), 'rehearsal-orders-20261201T100000.md');
    assert.equal(reportFileName({ specName: '../x y', startedAt: '2026-01-02T03:04:05.678Z' }, 'json'), 'rehearsal--x-y-20260102T030405.json');
  });
});
