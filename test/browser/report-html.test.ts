// The HTML rehearsal report opened from disk in Chromium: it draws its four charts with no
// network, logs nothing, throws nothing, and shows the verdict. The full-page screenshot goes
// to test-artifacts/ for a person to look at (the test does not judge pixels).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtml } from '../../rehearsal/report/html';
import { reportFileName } from '../../rehearsal/report/index';
import { chromiumAvailable, chromiumMissing, openInChromium, type OpenedPage } from '../helpers/browser';
import { sampleHistory, sampleRecord } from '../helpers/rehearsal-fixture';
import { repoRoot } from '../helpers/stack';

const SCREENSHOT = join(repoRoot, 'test-artifacts', 'rehearsal-report-sample.png');
const CHART_IDS = ['chart-cdc-rate', 'chart-lag', 'chart-rows', 'chart-trend'];

describe('rehearsal report in Chromium', function () {
  let dir: string;
  let page: OpenedPage | undefined;

  before(async function () {
    if (!chromiumAvailable()) {
      // mocha's skip takes no reason and prints the tests as pending: say why first.
      console.warn(`skipping the HTML report's browser tests: ${chromiumMissing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'ferry-report-'));
    const record = sampleRecord();
    const file = join(dir, reportFileName(record, 'html'));
    writeFileSync(file, renderHtml(record, sampleHistory()));
    page = await openInChromium(file, { screenshot: SCREENSHOT });
  });

  after(async () => {
    await page?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs no error or warning and throws nothing', () => {
    assert.deepEqual(page!.pageErrors, []);
    assert.deepEqual(page!.consoleMessages.filter((m) => m.type === 'error' || m.type === 'warning'), []);
  });

  it('draws the four charts, each on its canvas, with a size', async () => {
    assert.equal(await page!.evaluate<number>('Array.isArray(window.ferryCharts) ? window.ferryCharts.length : -1'), 4);
    const drawn = await page!.evaluate<string[]>('window.ferryCharts.map(function (c) { return c.canvas.id; })');
    assert.deepEqual([...drawn].sort(), [...CHART_IDS].sort());
    for (const id of CHART_IDS) {
      const box = await page!.evaluate<{ w: number; h: number } | null>(`(function () { var c = document.getElementById(${JSON.stringify(id)}); if (!c) return null; var r = c.getBoundingClientRect(); return { w: r.width, h: r.height }; })()`);
      assert.ok(box, `no canvas #${id}`);
      assert.ok(box.w > 0 && box.h > 0, `#${id} is ${box.w}×${box.h}`);
    }
  });

  it('puts the figures on the charts (the samples and the three runs of the trend)', async () => {
    const counts = await page!.evaluate<Record<string, number[]>>('Object.fromEntries(window.ferryCharts.map(function (c) { return [c.canvas.id, c.data.datasets.map(function (d) { return d.data.length; })]; }))');
    assert.deepEqual(counts['chart-cdc-rate'], [60, 60]);
    assert.deepEqual(counts['chart-lag'], [60]);
    assert.deepEqual(counts['chart-rows'], [60]);
    assert.deepEqual(counts['chart-trend'], [3, 3, 3]);
  });

  it('shows the verdict banner', async () => {
    const banner = await page!.evaluate<{ text: string; cls: string; visible: boolean }>("(function () { var v = document.getElementById('verdict'); var r = v.getBoundingClientRect(); return { text: v.textContent, cls: v.className, visible: r.width > 0 && r.height > 0 }; })()");
    assert.equal(banner.cls, 'go');
    assert.equal(banner.text, 'GO: the rehearsal completed and all 6 criteria passed');
    assert.ok(banner.visible);
  });
});
