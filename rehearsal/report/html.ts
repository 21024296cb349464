// The rehearsal report as one HTML file that opens from disk with no network: styles, the
// Chart.js bundle, the figures and the drawing code are all inline, and a Content-Security-
// Policy forbids fetching anything, so it reads the same on a laptop, in CI artifacts or mailed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RehearsalRecord } from '../../contracts/rehearsal';
import { headline, previousOfSameSpec, reportSections, trendPoint, type Block, type Cell, type Section } from './sections';

export function renderHtml(record: RehearsalRecord, previous: RehearsalRecord[]): string {
  const verdict = record.verdict === 'go' ? 'go' : 'no-go';
  const sections = reportSections(record, previous);
  const title = `Rehearsal of ${record.specName}: ${verdict === 'go' ? 'GO' : 'NO-GO'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<div id="verdict" class="${verdict}">${esc(headline(record))}</div>
<nav>${sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join(' ')}</nav>
</header>
<main>
${sections.map(renderSection).join('\n')}
</main>
<script type="application/json" id="ferry-data">${jsonForHtml(chartData(record, previous))}</script>
<script>${chartJsBundle()}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}

function renderSection(s: Section): string {
  return `<section id="${esc(s.id)}">\n<h2>${esc(s.title)}</h2>\n${s.blocks.map(renderBlock).join('\n')}\n</section>`;
}

function renderBlock(b: Block): string {
  switch (b.kind) {
    case 'text':
      return `<p>${esc(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
    case 'table': {
      const cls = (i: number) => (b.numeric[i] ? ' class="num"' : '');
      const head = `<tr>${b.headers.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr>`;
      const rows = b.rows.map((r) => `<tr>${r.map((c, i) => cell(c, b.numeric[i])).join('')}</tr>`).join('\n');
      return `<div class="scroll"><table>\n<thead>${head}</thead>\n<tbody>\n${rows}\n</tbody>\n</table></div>`;
    }
    case 'chart':
      return `<figure><figcaption>${esc(b.title)}</figcaption><div class="chart"><canvas id="${b.id}" role="img" aria-label="${esc(b.title)}"></canvas></div></figure>`;
  }
}

function cell(c: Cell, numeric: boolean): string {
  const classes = [numeric ? 'num' : '', typeof c === 'string' ? '' : c.tone].filter(Boolean);
  return `<td${classes.length ? ` class="${classes.join(' ')}"` : ''}>${esc(typeof c === 'string' ? c : c.text)}</td>`;
}

/** What the charts draw: the samples as seconds since the start, and the trend's points. */
function chartData(record: RehearsalRecord, previous: RehearsalRecord[]) {
  const start = Date.parse(record.startedAt);
  const earlier = previousOfSameSpec(record, previous);
  return {
    samples: record.cdc.samples.map((s) => ({
      t: (Date.parse(s.at) - start) / 1000,
      phase: s.phase,
      rows: s.rowsCopied,
      incoming: s.incomingPerSecond,
      applied: s.appliedPerSecond,
      lag: s.lagSeconds,
    })),
    // Drawn only with at least one earlier run: a single point is no trend.
    trend: earlier.length ? [...earlier, record].map(trendPoint) : [],
  };
}

/** Text from the record as HTML text or attribute value (table names, errors, step details are not trusted). */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON inside a <script>: no `<` at all, so no string in it can close the element or open a comment. */
function jsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The UMD bundle, read at render time from the installed chart.js (its package exports do not
 * expose dist/, so it is found beside the main entry). `</script` and `<!--` inside it would end
 * or confuse the inline <script>; `<\/` and `<\!` mean the same in the JavaScript strings and
 * regular expressions they can appear in.
 */
function chartJsBundle(): string {
  const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  return readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
}

const STYLE = `
:root { --go: #1a7f37; --nogo: #cf222e; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
h1 { font-size: 24px; margin: 24px 0 12px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
#verdict { padding: 14px 18px; border-radius: 6px; font-size: 16px; font-weight: 600; color: #fff; }
#verdict.go { background: var(--go); }
#verdict.no-go { background: var(--nogo); }
nav { margin: 12px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: var(--muted); text-decoration: none; }
nav a:hover { text-decoration: underline; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; white-space: nowrap; }
.num { text-align: right; white-space: nowrap; }
td.pass { color: var(--go); font-weight: 600; }
td.fail { color: var(--nogo); font-weight: 600; }
figure { margin: 16px 0; }
figcaption { color: var(--muted); margin-bottom: 4px; }
.chart { position: relative; height: 280px; }
ul { padding-left: 20px; }
@media print { .chart { height: 220px; } nav { display: none; } h2 { break-after: avoid; } }
`;

// Runs in the page: draws each chart whose canvas is there, without animation (a screenshot or
// a print shows the final chart), then exposes the instances as window.ferryCharts.
const DRAW = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ferry-data').textContent);
  var charts = [];
  function elapsed(s) {
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? h + ' h ' + m + ' min' : m ? m + ' min' + (r ? ' ' + r + ' s' : '') : r + ' s';
  }
  function points(key) {
    return data.samples.map(function (s) { return { x: s.t, y: s[key] }; });
  }
  // Ticks on whole minutes or hours (not Chart.js's round numbers of seconds), ten at most.
  var span = data.samples.length ? data.samples[data.samples.length - 1].t : 0;
  var step = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].filter(function (s) { return span / s <= 10; })[0] || 86400;
  var timeAxis = { type: 'linear', min: 0, max: span || undefined, title: { display: true, text: 'time since the rehearsal started' }, ticks: { stepSize: step, callback: function (v) { return elapsed(v); } } };
  var tooltip = { callbacks: {
    title: function (items) { return items.length ? elapsed(items[0].parsed.x) : ''; },
    afterBody: function (items) { return items.length ? 'phase: ' + data.samples[items[0].dataIndex].phase : ''; }
  } };
  function line(id, datasets, yTitle) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    charts.push(new Chart(canvas, {
      type: 'line',
      data: { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0 }, line: { borderWidth: 2 } },
        scales: { x: timeAxis, y: { beginAtZero: true, title: { display: true, text: yTitle } } },
        plugins: { tooltip: tooltip, legend: { display: datasets.length > 1 } }
      }
    }));
  }
  line('chart-cdc-rate', [
    { label: 'incoming events/s', data: points('incoming'), borderColor: '#0969da', backgroundColor: '#0969da' },
    { label: 'applied events/s', data: points('applied'), borderColor: '#1a7f37', backgroundColor: '#1a7f37' }
  ], 'events/s');
  line('chart-lag', [{ label: 'lag seconds', data: points('lag'), borderColor: '#bc4c00', backgroundColor: '#bc4c00', spanGaps: false }], 'seconds');
  line('chart-rows', [{ label: 'rows copied', data: points('rows'), borderColor: '#8250df', backgroundColor: '#8250df' }], 'rows');
  var trendCanvas = document.getElementById('chart-trend');
  if (trendCanvas && data.trend.length) {
    var labels = data.trend.map(function (p) { return p.startedAt.slice(0, 16).replace('T', ' '); });
    var series = function (key) { return data.trend.map(function (p) { return p[key]; }); };
    charts.push(new Chart(trendCanvas, {
      type: 'bar',
      data: { labels: labels, datasets: [
        { label: 'backfill s (rehearsal)', data: series('backfillSeconds'), backgroundColor: '#8250df', yAxisID: 'y' },
        { label: 'freeze s', data: series('freezeSeconds'), backgroundColor: '#bc4c00', yAxisID: 'y1' },
        { label: 'drill s', data: series('drillSeconds'), backgroundColor: '#0969da', yAxisID: 'y1' }
      ] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {
          y: { beginAtZero: true, position: 'left', title: { display: true, text: 'backfill seconds' } },
          y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'freeze and drill seconds' } }
        }
      }
    }));
  }
  window.ferryCharts = charts;
})();
`;
