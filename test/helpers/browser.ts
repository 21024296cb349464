// Opens a file in the Debian Chromium through playwright-core (no bundled browser download),
// headless and cut off from every background service, and collects what the page said on its
// console and which errors it threw, for tests of the self-contained HTML reports.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export function chromiumPath(): string {
  return process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';
}

/** Whether a browser is there to run the browser tests (else they skip, saying how to get one). */
export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath());
}

export const chromiumMissing = `no Chromium at ${chromiumPath()}: apt-get install chromium (or set FERRY_CHROMIUM to a Chromium binary)`;

// No network, no updates, no sync: the page under test is the only thing the browser does.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface OpenedPage {
  /** Everything the page logged, in order (type: log, info, warning, error, …). */
  consoleMessages: Array<{ type: string; text: string }>;
  /** Uncaught exceptions thrown in the page. */
  pageErrors: string[];
  /** Evaluates a JavaScript expression in the page (a string, so the test's TypeScript does not need DOM types). */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

export async function openInChromium(file: string, opts: { screenshot?: string; viewport?: { width: number; height: number } } = {}): Promise<OpenedPage> {
  // A fresh profile each time: no state carried from an earlier run, removed on close.
  const profile = mkdtempSync(join(tmpdir(), 'ferry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
  });
  const consoleMessages: OpenedPage['consoleMessages'] = [];
  const pageErrors: string[] = [];
  const close = async () => {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => consoleMessages.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
    await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
    if (opts.screenshot) {
      mkdirSync(dirname(opts.screenshot), { recursive: true });
      await page.screenshot({ path: opts.screenshot, fullPage: true });
    }
    return { consoleMessages, pageErrors, evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>, close };
  } catch (e) {
    await close();
    throw e;
  }
}
