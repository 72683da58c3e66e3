// `sbuild report` in a real headless Chromium (test/helpers/browser.ts): the page loads from
// file:// with no console error and no network request, and its DOM keeps the report's
// contract — the graph (one node per target, or collapsed groups in a big workspace that
// expand on click, details on click), the sortable paper table, the AP charts drawn on their
// canvases, the last build's timeline with its critical path, and the metrics diff against
// HEAD. Screenshots go to dist/test-logs/report-browser/ (or $SBUILD_TEST_LOGS); with
// SBUILD_UPDATE_SCREENSHOT=1 the demo-like report's full page also replaces docs/report.png:
//   npm run build && SBUILD_UPDATE_SCREENSHOT=1 node --test dist/test/integration/report-browser.test.js
// Skips without Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, useRigs, type Rig } from '../helpers/rig.js';
import { browserAvailable, screenshot, testLogDir, useBrowser, type OpenedPage } from '../helpers/browser.js';
import { resultsHistory } from '../helpers/results-history.js';

const skip = browserAvailable();
const rig = useRigs();
const browser = useBrowser();
const LOGS = skip ? '' : testLogDir('report-browser');

// ---------------------------------------------------------------------------------------------
// The workspace: per experiment a train and a val and test evaluation that write metrics JSONs
// (AP, AP50, AP75, per_class_AP), a dataset every train reads, and the paper table over all
// metrics. No phony targets, so "one graph node per target" has one meaning.

const CLASSES = ['ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor'];

interface Exp {
  name: string;
  detector: string;
  /** test AP; the other numbers derive from it. */
  ap: number;
}

// The paper table: one row per experiment from the metrics JSONs (the only node job; the
// experiments' jobs are shell one-liners so a few hundred of them build quickly).
const TABLE = fs.readFileSync(path.join(REPO, 'test/fixtures/metrics-table.mjs'), 'utf8');

const round = (x: number) => Math.round(x * 1000) / 1000;

function splitMetrics(ap: number, k: number) {
  return {
    AP: round(ap),
    AP50: round(Math.min(0.99, ap * 1.9)),
    AP75: round(ap * 0.8),
    per_class_AP: Object.fromEntries(CLASSES.map((c, i) => [c, round(Math.max(0, Math.min(0.99, ap + 0.06 * Math.sin(k + i * 1.7))))])),
  };
}

/** The metrics JSON an evaluation of `e` on `split` writes (its "config" holds the numbers). */
function metricsOf(e: Exp, k: number, split: 'val' | 'test'): string {
  return JSON.stringify({ detector: e.detector, split, images: 64, ...splitMetrics(split === 'test' ? e.ap : e.ap + 0.011, k) }, null, 2) + '\n';
}

interface Workspace {
  rig: Rig;
  exps: Exp[];
  targets: string[];
}

/**
 * Writes the workspace. Each experiment's train reads its configs/<exp>/{val,test}.json and the
 * dataset; each evaluation reads the checkpoint and writes its split's numbers as the metrics
 * JSON. `sleep` (seconds) slows the jobs down so the timeline has lengths and overlaps.
 */
function workspace(name: string, exps: Exp[], sleep: { train: number; eval: number; other: number }): Workspace {
  const r = rig(name);
  r.write('tools/table.mjs', TABLE);
  r.write('raw/data.txt', Array.from({ length: 32 }, (_, i) => `img_${String(i).padStart(5, '0')} ship`).join('\n') + '\n');
  r.write('.gitignore', 'node_modules/\n.sbuild/\nreport/\n');
  const nap = (s: number) => (s ? `sleep ${s}; ` : '');
  const targets: object[] = [
    { name: 'dataset', inputs: ['raw/data.txt'], outputs: ['data/dataset.txt'], run: `${nap(sleep.other)}mkdir -p data && cp raw/data.txt data/dataset.txt`, description: 'the dataset every experiment reads' },
  ];
  const metrics: string[] = [];
  exps.forEach((e, k) => {
    const cfg = (split: string) => `configs/${e.name}/${split}.json`;
    for (const split of ['val', 'test'] as const) r.write(cfg(split), metricsOf(e, k, split));
    const ckpt = `work_dirs/${e.name}/model.ckpt`;
    targets.push({
      name: `exp/${e.name}/train`, inputs: [cfg('val'), cfg('test'), 'data/dataset.txt'], outputs: [ckpt], tags: ['train'],
      run: `${nap(sleep.train)}cat ${cfg('val')} ${cfg('test')} data/dataset.txt > ${ckpt}`,
    });
    for (const split of ['val', 'test']) {
      const out = `work_dirs/${e.name}/${split}_metrics.json`;
      metrics.push(out);
      targets.push({
        name: `exp/${e.name}/eval-${split}`, inputs: [ckpt], outputs: [out], tags: ['eval'],
        run: `${nap(sleep.eval)}grep -q ship ${ckpt} && cp ${cfg(split)} ${out}`,
      });
    }
  });
  targets.push({
    name: 'results/table', inputs: [...metrics, 'tools/table.mjs'], outputs: ['artifacts/experiments/experiment_results.tsv'], tags: ['table'],
    run: `${nap(sleep.other)}node tools/table.mjs artifacts/experiments/experiment_results.tsv ${metrics.join(' ')}`, description: 'the paper table',
  });
  r.write('tasks.config.ts', `import { defineConfig } from 'sbuild';\n\nexport default defineConfig({ default: 'results/table', targets: ${JSON.stringify(targets, null, 2)} });\n`);
  return { rig: r, exps, targets: targets.map((t) => (t as { name: string }).name) };
}

function git(r: Rig, args: string[]): string {
  const res = spawnSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd: r.dir, encoding: 'utf8' });
  assert.equal(res.status, 0, `git ${args.join(' ')}: ${res.stdout}${res.stderr}`);
  return res.stdout;
}

function build(r: Rig, args: string[] = []): void {
  const res = r.run(['-j', '4', ...args]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
}

/** Runs `sbuild report --out <dir>` and returns the HTML file it wrote. */
function report(r: Rig): string {
  const out = r.path('report');
  const res = r.run(['report', '--out', out]);
  assert.equal(res.code, 0, `sbuild report: ${res.stdout}${res.stderr}`);
  const html = path.join(out, 'index.html');
  assert.ok(fs.existsSync(html), `sbuild report --out ${out} wrote no index.html (stdout: ${res.stdout})`);
  return html;
}

interface TimelineEntry {
  name: string;
  start: number;
  end: number;
  outcome: string;
}

// ---------------------------------------------------------------------------------------------
// Page probes (run in the browser).

/** data-target of every graph node, in document order. */
const graphTargets = (p: OpenedPage) => p.page.$$eval('#graph svg g.node[data-target]', (els) => els.map((e) => e.getAttribute('data-target') ?? ''));

const STATES = ['state-fresh', 'state-stale', 'state-missing', 'state-failed'];

/** The state classes of every g.node (targets and groups). */
const nodeStates = (p: OpenedPage) =>
  p.page.$$eval('#graph svg g.node', (els, states) => els.map((e) => ({
    id: e.getAttribute('data-target') ?? `group ${e.getAttribute('data-group')}`,
    states: [...e.classList].filter((c) => states.includes(c)),
  })), STATES);

interface CanvasProbe {
  found: boolean;
  tag?: string;
  classes?: string;
  width?: number;
  height?: number;
  /** toDataURL differs from a blank canvas of the same size. */
  differsFromBlank?: boolean;
  /** Pixels whose colour differs from the top-left pixel. */
  inked?: number;
  colours?: number;
}

async function probeCanvas(p: OpenedPage, selector: string): Promise<CanvasProbe> {
  return p.page.evaluate((sel) => {
    const c = document.querySelector(sel);
    if (!c) return { found: false };
    if (!(c instanceof HTMLCanvasElement)) return { found: true, tag: c.tagName, classes: c.className };
    const w = c.width;
    const h = c.height;
    const base = { found: true, tag: c.tagName, classes: c.className, width: w, height: h };
    if (!w || !h) return { ...base, differsFromBlank: false, inked: 0, colours: 0 };
    const blank = document.createElement('canvas');
    blank.width = w;
    blank.height = h;
    const scratch = document.createElement('canvas');
    scratch.width = w;
    scratch.height = h;
    const x = scratch.getContext('2d')!;
    x.drawImage(c, 0, 0);
    const d = x.getImageData(0, 0, w, h).data;
    const colours = new Set<number>();
    let inked = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) inked++;
      if (colours.size < 64) colours.add(((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0);
    }
    return { ...base, differsFromBlank: c.toDataURL() !== blank.toDataURL(), inked, colours: colours.size };
  }, selector);
}

/** The cells of column `col` (0-based) of the paper table, each with its whole row's text. */
const tableColumn = (p: OpenedPage, col: number) =>
  p.page.$$eval('#results table#paper-table tbody tr', (rows, i) => rows.map((r) => ({
    key: (r.textContent ?? '').replace(/\s+/g, ' ').trim(),
    cell: (r.children[i]?.textContent ?? '').trim(),
  })), col);

const num = (s: string) => Number.parseFloat(s.replace(/[^0-9.eE+-]/g, ''));

// ---------------------------------------------------------------------------------------------

test('the browser harness: a static page loads clean; errors and network requests are caught', { skip }, async () => {
  const dir = rig();
  dir.write('clean.html', `<!doctype html><meta charset="utf-8"><title>clean</title>
<div id="graph"><svg width="200" height="60"><g class="node state-fresh" data-target="a"><rect width="80" height="30"/><text y="20">a</text></g></svg></div>
<canvas class="chart" id="c" width="100" height="50"></canvas>
<script>const x = document.getElementById('c').getContext('2d'); x.fillStyle = '#36c'; x.fillRect(10, 10, 40, 30);</script>`);
  const clean = await browser.open(dir.path('clean.html'));
  clean.assertClean();
  assert.deepEqual(await graphTargets(clean), ['a']);
  const c = await probeCanvas(clean, 'canvas.chart#c');
  assert.equal(c.differsFromBlank, true);
  assert.equal(c.inked, 40 * 30);
  const blankCanvas = await clean.page.evaluate(() => {
    const b = document.createElement('canvas');
    b.id = 'b';
    b.width = 30;
    b.height = 30;
    document.body.append(b);
  }).then(() => probeCanvas(clean, '#b'));
  assert.equal(blankCanvas.differsFromBlank, false);
  assert.equal(blankCanvas.inked, 0);

  dir.write('dirty.html', `<!doctype html><meta charset="utf-8"><title>dirty</title>
<img src="https://example.invalid/pixel.png"><script>fetch('http://127.0.0.1:9/x').catch(() => {}); console.error('explicit'); setTimeout(() => { throw new Error('thrown later'); });</script>`);
  const dirty = await browser.open(dir.path('dirty.html'));
  await dirty.page.waitForTimeout(300);
  assert.ok(dirty.network.includes('https://example.invalid/pixel.png'), dirty.network.join(', '));
  assert.ok(dirty.network.includes('http://127.0.0.1:9/x'), dirty.network.join(', '));
  assert.ok(browser.blocked.includes('https://example.invalid/pixel.png'));
  assert.ok(dirty.consoleErrors.some((e) => e.startsWith('explicit')), dirty.consoleErrors.join('\n'));
  assert.ok(dirty.pageErrors.some((e) => e.includes('thrown later')), dirty.pageErrors.join('\n'));
  assert.throws(() => dirty.assertClean());
  // A page opened afterwards is judged on its own requests only.
  const again = await browser.open(dir.path('clean.html'));
  again.assertClean();
});

// ---------------------------------------------------------------------------------------------
// The demo-like workspace: four detectors, built, committed, one metric changed, rebuilt.

const DEMO: Exp[] = [
  { name: 'global_threshold', detector: 'GlobalThreshold', ap: 0.214 },
  { name: 'cfar_ca', detector: 'CFAR-CA', ap: 0.371 },
  { name: 'cfar_os', detector: 'CFAR-OS', ap: 0.318 },
  { name: 'cfar_go', detector: 'CFAR-GO', ap: 0.289 },
];
const CHANGED = { exp: 'cfar_os', file: 'work_dirs/cfar_os/test_metrics.json', before: 0.318, after: 0.347 };

let demo: Workspace;
let timeline: TimelineEntry[];
let demoPage: Promise<OpenedPage> | undefined;

/** Builds the demo-like workspace and opens its report, once for all tests that need it. */
function openDemo(): Promise<OpenedPage> {
  demoPage ??= (async () => {
    demo = workspace('sardet-mini', DEMO, { train: 0.4, eval: 0.15, other: 0.1 });
    const r = demo.rig;
    git(r, ['init', '-q']);
    build(r);
    git(r, ['add', '-A']);
    git(r, ['commit', '-q', '-m', 'baseline']);
    // One metric changes: cfar_os's test AP. The dataset changes too (no metric depends on
    // it), so the last build reruns every target and the timeline has parallel lanes.
    const cfg = JSON.parse(r.read(`configs/${CHANGED.exp}/test.json`));
    assert.equal(cfg.AP, CHANGED.before);
    r.write(`configs/${CHANGED.exp}/test.json`, JSON.stringify({ ...cfg, AP: CHANGED.after }, null, 2) + '\n');
    r.write('raw/data.txt', r.read('raw/data.txt') + 'img_99999 ship\n');
    build(r);
    assert.equal(JSON.parse(r.read(CHANGED.file)).AP, CHANGED.after);
    timeline = (JSON.parse(r.read('.sbuild/last-build.json')) as { entries: TimelineEntry[] }).entries;
    assert.equal(timeline.length, demo.targets.length, 'the last build ran every target');
    return browser.open(report(r), { viewport: { width: 1280, height: 800 } });
  })();
  return demoPage;
}

test('the report loads from file:// without console errors, page errors or network requests', { skip }, async () => {
  const page = await openDemo();
  // Give deferred work (charts, layout on animation frames) a moment to run and fail.
  await page.page.waitForTimeout(500);
  page.assertClean('report');
  const data = await page.page.$eval('script#report-data', (s) => s.textContent ?? '');
  assert.doesNotThrow(() => JSON.parse(data), 'script#report-data holds JSON');
  await screenshot(page.page, path.join(LOGS, 'demo-full.png'), { fullPage: true });
});

test('the graph has one node per target, each with one state class; all fresh after the build', { skip }, async () => {
  const page = await openDemo();
  await page.page.waitForSelector('#graph svg g.node', { timeout: 10_000 });
  assert.equal(await page.page.locator('#graph svg g.node.group').count(), 0, 'a small graph is not collapsed');
  const names = await graphTargets(page);
  assert.deepEqual([...names].sort(), [...demo.targets].sort(), '#graph svg g.node[data-target] are the targets');
  for (const n of await nodeStates(page)) {
    assert.equal(n.states.length, 1, `${n.id} has exactly one of ${STATES.join(', ')}: ${n.states.join(' ')}`);
    assert.equal(n.states[0], 'state-fresh', `${n.id} is fresh after a successful build`);
  }
});

test('clicking a node shows its name in #details h3', { skip }, async () => {
  const page = await openDemo();
  for (const name of ['exp/cfar_ca/train', 'results/table', 'exp/cfar_os/eval-test']) {
    await page.page.locator(`#graph svg g.node[data-target="${name}"]`).click();
    await page.page.waitForFunction((n) => (document.querySelector('#details h3')?.textContent ?? '').includes(n), name, { timeout: 5_000 }).catch(() => {});
    const h3 = (await page.page.locator('#details h3').first().textContent())?.trim() ?? '';
    assert.ok(h3.includes(name), `after clicking ${name}, #details h3 reads ${JSON.stringify(h3)}`);
  }
  page.assertClean('report after clicks');
});

test('clicking a sortable header sorts the paper table by that column, ascending then descending', { skip }, async () => {
  const page = await openDemo();
  const table = page.page.locator('#results table#paper-table');
  assert.equal(await table.count(), 1, '#results table#paper-table');
  const rows = await page.page.locator('#results table#paper-table tbody tr').count();
  assert.ok(rows >= DEMO.length, `one row per experiment at least (${rows} rows)`);
  const heads = await page.page.$$eval('#results table#paper-table thead th', (ths) => ths.map((th) => ({ text: (th.textContent ?? '').trim(), sort: th.getAttribute('data-sort') })));
  assert.ok(heads.some((h) => h.sort !== null), 'thead has th[data-sort]');
  // The first sortable column whose cells are all numbers and not already in order.
  let col = -1;
  for (let i = 0; i < heads.length && col < 0; i++) {
    if (heads[i]!.sort === null) continue;
    const cells = (await tableColumn(page, i)).map((c) => num(c.cell));
    if (cells.every(Number.isFinite) && new Set(cells).size > 2) {
      const asc = cells.every((v, j) => j === 0 || cells[j - 1]! <= v);
      const desc = cells.every((v, j) => j === 0 || cells[j - 1]! >= v);
      if (!asc && !desc) col = i;
    }
  }
  assert.ok(col >= 0, `a sortable numeric column not already sorted; headers: ${JSON.stringify(heads)}`);
  const before = await tableColumn(page, col);
  const cellOf = new Map(before.map((r) => [r.key, r.cell]));
  const th = page.page.locator('#results table#paper-table thead th').nth(col);
  for (const [click, dir] of [['first', 1], ['second', -1]] as const) {
    await th.click();
    const now = await tableColumn(page, col);
    const values = now.map((r) => num(r.cell));
    assert.ok(values.every((v, j) => j === 0 || dir * (v - values[j - 1]!) >= 0), `${click} click on "${heads[col]!.text}" sorts ${dir > 0 ? 'ascending' : 'descending'}: ${now.map((r) => r.cell).join(', ')}`);
    assert.deepEqual([...now.map((r) => r.key)].sort(), [...cellOf.keys()].sort(), 'the same rows');
    for (const r of now) assert.equal(r.cell, cellOf.get(r.key), 'whole rows move');
  }
  page.assertClean('report after sorting');
});

test('both AP charts draw on their canvases', { skip }, async () => {
  const page = await openDemo();
  for (const sel of ['canvas.chart#chart-ap', 'canvas.chart#chart-class']) {
    const loc = page.page.locator(sel);
    assert.equal(await loc.count(), 1, `${sel} exists`);
    await loc.scrollIntoViewIfNeeded();
    let probe = await probeCanvas(page, sel);
    for (let i = 0; i < 50 && !(probe.differsFromBlank && (probe.inked ?? 0) >= 200); i++) {
      await page.page.waitForTimeout(100);
      probe = await probeCanvas(page, sel);
    }
    assert.ok(probe.width && probe.height, `${sel} has a size: ${JSON.stringify(probe)}`);
    assert.equal(probe.differsFromBlank, true, `${sel} differs from a blank canvas: ${JSON.stringify(probe)}`);
    assert.ok((probe.inked ?? 0) >= 200 && (probe.colours ?? 0) >= 2, `${sel} has drawn content: ${JSON.stringify(probe)}`);
  }
});

test("the timeline has one bar per entry of the last build, with the critical path marked", { skip }, async () => {
  const page = await openDemo();
  const bars = await page.page.$$eval('#timeline svg rect.bar[data-target]', (els) => els.map((e) => ({ target: e.getAttribute('data-target') ?? '', critical: e.classList.contains('critical') })));
  assert.equal(bars.length, timeline.length, `one bar per entry of .sbuild/last-build.json (${timeline.length})`);
  assert.deepEqual(bars.map((b) => b.target).sort(), timeline.map((e) => e.name).sort());
  assert.ok(bars.some((b) => b.critical), 'at least one bar is .critical');
  // The critical path ends with the job that finished last.
  const last = timeline.reduce((a, b) => (b.end > a.end ? b : a));
  assert.ok(bars.find((b) => b.target === last.name)?.critical, `the last job to finish (${last.name}) is on the critical path`);
});

test('the metrics diff against HEAD shows the changed metric with both values', { skip }, async () => {
  const page = await openDemo();
  const text = ((await page.page.locator('#metrics-diff').textContent()) ?? '').replace(/\s+/g, ' ');
  assert.ok(text.includes(CHANGED.exp), `#metrics-diff names ${CHANGED.exp}: ${text.slice(0, 600)}`);
  assert.match(text, /\bAP\b/, '#metrics-diff names the metric AP');
  const shown = (x: number) => new RegExp(`${x.toFixed(3).replace('.', '\\.')}|${(x * 100).toFixed(1).replace('.', '\\.')}`);
  assert.match(text, shown(CHANGED.before), `#metrics-diff shows the old AP ${CHANGED.before}`);
  assert.match(text, shown(CHANGED.after), `#metrics-diff shows the new AP ${CHANGED.after}`);
  for (const e of DEMO.filter((x) => x.name !== CHANGED.exp)) {
    assert.ok(!text.includes(`${e.name}/test_metrics.json`) && !text.includes(`${e.name}/val_metrics.json`), `#metrics-diff lists no unchanged file of ${e.name}: ${text.slice(0, 600)}`);
  }
});

test('screenshots of the demo-like report at 1280×800 (with SBUILD_UPDATE_SCREENSHOT=1 also docs/report.png)', { skip }, async () => {
  const page = await openDemo();
  await page.page.setViewportSize({ width: 1280, height: 800 });
  // A target selected, so the details pane is filled as a reader would see it.
  await page.page.locator('#graph svg g.node[data-target="exp/cfar_os/eval-test"]').click();
  await page.page.evaluate(() => window.scrollTo(0, 0));
  const top = await screenshot(page.page, path.join(LOGS, 'demo.png'), { clip: { width: 1280, height: 800 } });
  assert.equal(top.subarray(1, 4).toString(), 'PNG');
  const full = await screenshot(page.page, path.join(LOGS, 'demo-selected-full.png'), { fullPage: true });
  if (process.env.SBUILD_UPDATE_SCREENSHOT === '1') {
    assert.ok(full.length < 300 * 1024, `docs/report.png would be ${Math.round(full.length / 1024)} KB (limit 300 KB)`);
    fs.writeFileSync(path.join(REPO, 'docs', 'report.png'), full);
  }
  page.assertClean('report');
});

// ---------------------------------------------------------------------------------------------
// A big workspace: more targets than the graph shows one by one.

const BIG_EXPERIMENTS = 100; // 3 targets each, plus dataset and table: 302 targets

test('a big graph starts collapsed into groups; clicking a group expands it into its members', { skip }, async () => {
  const exps: Exp[] = Array.from({ length: BIG_EXPERIMENTS }, (_, k) => ({ name: `e${String(k).padStart(3, '0')}`, detector: `CFAR-${k % 7}`, ap: 0.15 + ((k * 37) % 61) / 200 }));
  const big = workspace('sweep', exps, { train: 0, eval: 0, other: 0 });
  const res = big.rig.run(['-j', '8']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const html = report(big.rig);
  const p = await browser.open(html, { viewport: { width: 1280, height: 800 } });
  await p.page.waitForSelector('#graph svg g.node', { timeout: 10_000 });
  const groups = () => p.page.$$eval('#graph svg g.node.group', (els) => els.map((e) => ({ group: e.getAttribute('data-group') ?? '', count: Number(e.getAttribute('data-count')) })));
  const before = await groups();
  assert.ok(before.length > 0, `${big.targets.length} targets start as g.node.group nodes`);
  for (const g of before) assert.ok(g.group && Number.isInteger(g.count) && g.count > 0, `group node with data-group and data-count: ${JSON.stringify(g)}`);
  const singles = await graphTargets(p);
  assert.equal(before.reduce((s, g) => s + g.count, 0) + singles.length, big.targets.length, 'groups (data-count) and single nodes cover every target');
  for (const n of await nodeStates(p)) assert.equal(n.states.length, 1, `${n.id} has exactly one state class: ${n.states.join(' ')}`);

  const first = before[0]!;
  await p.page.locator(`#graph svg g.node.group[data-group="${first.group}"]`).click();
  await p.page.waitForFunction((n) => document.querySelectorAll('#graph svg g.node[data-target]').length >= n, singles.length + first.count, { timeout: 10_000 }).catch(() => {});
  const after = await graphTargets(p);
  assert.equal(after.length, singles.length + first.count, `clicking group ${first.group} adds its ${first.count} members`);
  assert.equal(await p.page.locator(`#graph svg g.node.group[data-group="${first.group}"]`).count(), 0, `group ${first.group} is no longer collapsed`);
  const added = after.filter((t) => !singles.includes(t));
  assert.equal(added.length, first.count);
  for (const t of added) assert.ok(big.targets.includes(t), `${t} is a target`);
  p.assertClean('big report');
  await screenshot(p.page, path.join(LOGS, 'big.png'), { clip: { width: 1280, height: 900 } });
});

test('across commits: the line chart draws, follows the chosen metric, and the runs table sorts', { skip }, async () => {
  const { r } = resultsHistory(rig());
  const page = await browser.open(report(r), { viewport: { width: 1280, height: 800 } });
  const sel = 'canvas.chart#chart-runs';
  await page.page.locator(sel).scrollIntoViewIfNeeded();
  let probe = await probeCanvas(page, sel);
  for (let i = 0; i < 50 && !(probe.differsFromBlank && (probe.inked ?? 0) >= 200); i++) {
    await page.page.waitForTimeout(100);
    probe = await probeCanvas(page, sel);
  }
  assert.ok((probe.inked ?? 0) >= 200 && (probe.colours ?? 0) >= 2, `${sel} has drawn content: ${JSON.stringify(probe)}`);
  const image = () => page.page.$eval(sel, (c) => (c as HTMLCanvasElement).toDataURL());
  const before = await image();
  await page.page.selectOption('#runs-metric', 'val.AP');
  await page.page.waitForFunction((b) => (document.querySelector('canvas#chart-runs') as HTMLCanvasElement).toDataURL() !== b, before, { timeout: 5_000 });
  assert.notEqual(await image(), before, 'another metric draws another chart');
  // Sorting by test.AP (column 6: experiment, run, commit, params, val.AP, val.AP50, test.AP).
  const column = () => page.page.$$eval('#runs-table tbody tr', (rows) => rows.map((row) => Number(row.children[6]?.textContent)));
  const th = page.page.locator('#runs-table thead th').nth(6);
  assert.equal((await th.textContent())?.trim(), 'test.AP');
  await th.click();
  assert.deepEqual(await column(), [0.2, 0.4, 0.4, 0.6, 0.6, 0.6, 0.8]);
  await th.click();
  assert.deepEqual(await column(), [0.8, 0.6, 0.6, 0.6, 0.4, 0.4, 0.2]);
  page.assertClean('runs across commits');
});
