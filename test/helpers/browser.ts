// A real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser
// is downloaded) for the report's tests. One persistent context per test file, on an empty
// temp profile, torn down in an `after` hook. Only file:// pages: every other request is
// aborted and recorded, and each page records its console errors and uncaught exceptions, so
// a test asserts that a page loaded without either.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO } from './rig.js';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** undefined when Chromium is installed; otherwise why the browser tests skip. */
export function browserAvailable(): string | undefined {
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    return undefined;
  } catch {
    return `Chromium is not installed (${CHROMIUM} is missing; apt-get install -y chromium)`;
  }
}

/** Where tests leave screenshots: $SBUILD_TEST_LOGS, else dist/test-logs in the repository. */
export function testLogDir(sub = ''): string {
  const dir = path.join(process.env.SBUILD_TEST_LOGS ? path.resolve(process.env.SBUILD_TEST_LOGS) : path.join(REPO, 'dist', 'test-logs'), sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** URLs a page may load without the network. */
const LOCAL = /^(file|data|blob|about):/;

export interface OpenedPage {
  page: Page;
  /** console.error messages (including resources that failed to load). */
  consoleErrors: string[];
  /** Uncaught exceptions and unhandled rejections in the page. */
  pageErrors: string[];
  /** Non-local requests the page attempted (all were aborted). */
  network: string[];
  /** Asserts no console error, no page error and no network request since the page opened. */
  assertClean(what?: string): void;
  close(): Promise<void>;
}

export interface Browser {
  /** Opens a local file (or file:// URL) in a new page and waits for its `load` event. */
  open(file: string, opts?: { viewport?: { width: number; height: number } }): Promise<OpenedPage>;
  /** Opens a new blank page with the same recording (for pages set up by hand). */
  blank(opts?: { viewport?: { width: number; height: number } }): Promise<OpenedPage>;
  /** Every non-local request any page of the context attempted (all were aborted). */
  blocked: string[];
}

/** A maker of pages in one Chromium, started on first use and closed when the test file ends. */
export function useBrowser(): Browser {
  let started: Promise<BrowserContext> | undefined;
  let profile: string | undefined;
  const pages: OpenedPage[] = [];
  const blocked: string[] = [];

  after(async () => {
    for (const p of pages) await p.close().catch(() => {});
    if (started) await (await started.catch(() => undefined))?.close().catch(() => {});
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const context = (): Promise<BrowserContext> => {
    started ??= (async () => {
      const why = browserAvailable();
      if (why) throw new Error(why);
      profile = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-chromium-')));
      const ctx = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 800 },
        deviceScaleFactor: 1,
        serviceWorkers: 'block',
        timeout: 60_000,
      });
      await ctx.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        blocked.push(url);
        return route.abort('blockedbyclient');
      });
      // The persistent context opens with one blank tab; tests use their own pages.
      for (const p of ctx.pages()) await p.close();
      return ctx;
    })();
    return started;
  };

  const blank = async (opts: { viewport?: { width: number; height: number } } = {}): Promise<OpenedPage> => {
    const ctx = await context();
    const page = await ctx.newPage();
    if (opts.viewport) await page.setViewportSize(opts.viewport);
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const network: string[] = [];
    const blockedFrom = blocked.length;
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()}${m.location().url ? ` (${m.location().url}:${m.location().lineNumber})` : ''}`);
    });
    page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
    page.on('request', (r) => {
      if (!LOCAL.test(r.url())) network.push(r.url());
    });
    page.on('websocket', (w) => network.push(w.url()));
    const opened: OpenedPage = {
      page,
      consoleErrors,
      pageErrors,
      network,
      assertClean(what = page.url()) {
        assert.deepEqual(pageErrors, [], `${what}: uncaught errors in the page`);
        assert.deepEqual(consoleErrors, [], `${what}: console errors`);
        assert.deepEqual(network, [], `${what}: network requests (a report must be self-contained)`);
        assert.deepEqual(blocked.slice(blockedFrom), [], `${what}: network requests blocked in the browser`);
      },
      close: () => page.close(),
    };
    pages.push(opened);
    return opened;
  };

  return {
    blocked,
    blank,
    async open(file, opts = {}) {
      const p = await blank(opts);
      const url = file.startsWith('file:') ? file : pathToFileURL(path.resolve(file)).href;
      await p.page.goto(url, { waitUntil: 'load', timeout: 60_000 });
      return p;
    },
  };
}

/** A screenshot of the page as PNG bytes: the whole page, or the top `clip` of it. */
export async function screenshot(page: Page, file: string, opts: { fullPage?: boolean; clip?: { width: number; height: number } } = {}): Promise<Buffer> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const clip = opts.clip && { x: 0, y: 0, ...opts.clip };
  return page.screenshot({ path: file, type: 'png', animations: 'disabled', ...(clip ? { clip } : { fullPage: opts.fullPage ?? false }) });
}
