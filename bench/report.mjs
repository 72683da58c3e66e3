#!/usr/bin/env node
// Load time of `sbuild report` in headless Chromium on a big generated workspace: the graph of
// bench/lib/generate.mjs (N experiments: train, eval-val, eval-test, smoke, vr, gradcam and a
// phony group each; dataset, table, bundle, release: 7N+4 targets), except that evaluations
// write real metrics JSONs (AP, AP50, AP75, per_class_AP) and the table is the paper table
// (artifacts/experiments/experiment_results.tsv, one row per experiment), so the report has
// a table and charts to show. Builds it, runs `sbuild report`, then opens the page --runs
// times (each in a fresh browser context) and prints, per run and as the median:
//   load   navigation start → the `load` event (loadEventStart)
//   graph  navigation start → the first frame painted with the graph's nodes in it (the
//          second animation frame after `#graph svg g.node` appears)
// plus the size of the HTML file and the time `sbuild report` took. Goal: under 2 s at N=1000.
// Needs `npm run build` and Debian's Chromium (/usr/bin/chromium); nothing is downloaded.
//
//   node bench/report.mjs [--n 1000] [--runs 5] [-j 2] [--dir DIR] [--keep] [--json FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeSources, write } from './lib/generate.mjs';
import { fmtS, median } from './lib/util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    jobs: { type: 'string', short: 'j', default: '2' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  process.stdout.write(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
const N = Number(a.n);
const RUNS = Number(a.runs);
const J = Number(a.jobs);
if (!Number.isInteger(N) || N < 1) fail('--n takes a whole number ≥ 1');
if (!Number.isInteger(RUNS) || RUNS < 1) fail('--runs takes a whole number ≥ 1');
if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing (apt-get install -y chromium)`);
const CLI = path.join(REPO, 'bin', 'sbuild.js');
if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'cli', 'main.js'))) fail('sbuild is not built: run `npm run build` first');
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  fail('playwright-core is not installed: run `npm ci` first');
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
class BenchError extends Error {}
const note = (s) => process.stderr.write(`[bench] ${s}\n`);

// ---------------------------------------------------------------------------------------------
// The workspace.

const CLASSES = ['ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor'];

const TABLE = `// The paper table (experiment_results.tsv columns) from the metrics JSONs.
import fs from 'node:fs';
import path from 'node:path';
const [out, ...files] = process.argv.slice(2);
const CLASSES = ${JSON.stringify(CLASSES)};
const splits = ['val', 'test'];
const rows = new Map();
for (const f of files.sort()) {
  const m = JSON.parse(fs.readFileSync(f, 'utf8'));
  const exp = path.basename(path.dirname(f));
  const row = rows.get(exp) ?? { experiment: exp, variant: 'full', detector: m.detector };
  row[m.split] = m;
  rows.set(exp, row);
}
const head = ['experiment', 'variant', 'detector', ...splits.flatMap((s) => [s + '_images', s + '_AP', s + '_AP50', s + '_AP75', ...CLASSES.map((c) => s + '_AP_' + c)])];
const cell = (m, k) => (m ? String(k(m) ?? '') : '');
const lines = [head.join('\\t')];
for (const r of rows.values()) {
  lines.push([r.experiment, r.variant, r.detector, ...splits.flatMap((s) => [cell(r[s], (m) => m.images), cell(r[s], (m) => m.AP), cell(r[s], (m) => m.AP50), cell(r[s], (m) => m.AP75), ...CLASSES.map((c) => cell(r[s], (m) => m.per_class_AP[c]))])].join('\\t'));
}
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, lines.join('\\n') + '\\n');
`;

function writeWorkspace(dir) {
  writeSources(dir, N);
  write(dir, 'tools/table.mjs', TABLE);
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.rmSync(path.join(dir, 'node_modules', 'sbuild'), { force: true, recursive: true });
  fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'sbuild'), 'dir');
  // As bench/lib/generate.mjs's sbuild config, with real metrics JSONs and the paper table.
  write(dir, 'tasks.config.ts', `// Generated by bench/report.mjs: ${N} experiments, ${7 * N + 4} targets.
import { defineConfig, type Target } from 'sbuild';

const N = ${N};
const ds = 'data/dataset.txt';
const table = 'artifacts/experiments/experiment_results.tsv';
const targets: Target[] = [
  { name: 'dataset', inputs: ['raw/data.txt'], outputs: [ds], run: 'cp raw/data.txt data/dataset.txt' },
];
const CLASSES = ${JSON.stringify(CLASSES)};
const r3 = (x: number) => Math.round(x * 1000) / 1000;
/** What experiment k's evaluation on a split measures (one line of JSON). */
function metricsJson(k: number, split: string): string {
  const ap = 0.12 + ((k * 37) % 97) / 300 + (split === 'val' ? 0.011 : 0);
  return JSON.stringify({
    detector: 'CFAR-' + ['CA', 'OS', 'GO', 'SO'][k % 4], split, images: 64, AP: r3(ap), AP50: r3(Math.min(0.99, ap * 1.9)), AP75: r3(ap * 0.8),
    per_class_AP: Object.fromEntries(CLASSES.map((c, j) => [c, r3(Math.max(0, Math.min(0.99, ap + 0.06 * Math.sin(k + j * 1.7))))])),
  });
}
const exps: string[] = [];
const metrics: string[] = [];
for (let k = 0; k < N; k++) {
  const e = 'exp' + String(k).padStart(4, '0');
  const cfg = \`configs/\${e}.py\`;
  const ckpt = \`work_dirs/\${e}/model.ckpt\`;
  exps.push(e);
  metrics.push(\`work_dirs/\${e}/val_metrics.json\`, \`work_dirs/\${e}/test_metrics.json\`);
  targets.push(
    { name: \`\${e}/train\`, inputs: [cfg, ds], outputs: [ckpt], tags: ['train'], run: \`cat \${cfg} \${ds} | sha256sum > \${ckpt}\` },
    ...['val', 'test'].map((split): Target => {
      const out = \`work_dirs/\${e}/\${split}_metrics.json\`;
      return { name: \`\${e}/eval-\${split}\`, inputs: [ckpt, ds], outputs: [out], tags: ['eval'],
        run: \`sha256sum \${ckpt} \${ds} > /dev/null && printf '%s\\\\n' '\${metricsJson(k, split)}' > \${out}\` };
    }),
    { name: \`\${e}/smoke\`, inputs: [cfg, ds], outputs: [\`work_dirs/\${e}/smoke.txt\`], tags: ['smoke'], run: \`sha256sum \${cfg} \${ds} > work_dirs/\${e}/smoke.txt\` },
    { name: \`\${e}/vr\`, inputs: [ckpt], outputs: [\`vis/\${e}/vr.txt\`], run: \`sha256sum \${ckpt} | cut -c1-16 > vis/\${e}/vr.txt\` },
    { name: \`\${e}/gradcam\`, inputs: [ckpt, ds], outputs: [\`vis/\${e}/gradcam.txt\`], run: \`sha256sum \${ds} \${ckpt} > vis/\${e}/gradcam.txt\` },
    { name: e, deps: ['train', 'eval-val', 'eval-test', 'smoke', 'vr', 'gradcam'].map((s) => \`\${e}/\${s}\`) },
  );
}
targets.push(
  { name: 'table', inputs: ['work_dirs/**/*_metrics.json', 'tools/table.mjs'], outputs: [table], tags: ['table'], run: ['node', 'tools/table.mjs', table, ...metrics] },
  { name: 'bundle', inputs: [table, 'work_dirs/**/*_metrics.json'], outputs: ['release/metrics.tar'],
    run: \`tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf release/metrics.tar \${table} work_dirs/*/*_metrics.json\` },
  { name: 'release', deps: ['table', 'bundle', ...exps] },
);

export default defineConfig({ default: 'release', targets });
`);
}

function sbuild(dir, args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 256 << 20 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new BenchError(`sbuild ${args.join(' ')} exited ${r.status}:\n${(r.stdout + r.stderr).slice(-3000)}`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The page: timings read from the page itself (the navigation entry's clock).

/** Before any of the page's scripts: note when a frame first shows the graph's nodes. */
function watchGraph() {
  const w = /** @type {any} */ (window);
  const check = () => {
    if (w.__graphSeen !== undefined || !document.querySelector('#graph svg g.node')) return false;
    w.__graphSeen = performance.now();
    // rAF callbacks run before the frame is painted; the next one runs after it was.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      w.__graphPainted = performance.now();
    }));
    return true;
  };
  const obs = new MutationObserver(() => {
    if (check()) obs.disconnect();
  });
  obs.observe(document, { childList: true, subtree: true });
}

async function measure(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, serviceWorkers: 'block' });
  const network = [];
  const errors = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file:')) return route.continue();
    network.push(u);
    return route.abort('blockedbyclient');
  });
  await context.addInitScript(watchGraph);
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
  await page.waitForFunction(() => /** @type {any} */ (window).__graphPainted !== undefined, undefined, { timeout: 120_000 });
  const t = await page.evaluate(() => {
    const nav = /** @type {PerformanceNavigationTiming} */ (performance.getEntriesByType('navigation')[0]);
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const w = /** @type {any} */ (window);
    return {
      domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventStart,
      loadEnd: nav.loadEventEnd,
      firstContentfulPaint: fcp ? fcp.startTime : null,
      graphInDom: w.__graphSeen,
      graphPainted: w.__graphPainted,
      nodes: document.querySelectorAll('#graph svg g.node').length,
      groups: document.querySelectorAll('#graph svg g.node.group').length,
      bars: document.querySelectorAll('#timeline svg rect.bar').length,
      rows: document.querySelectorAll('#results table#paper-table tbody tr').length,
    };
  });
  await context.close();
  return { ...t, network, errors };
}

// ---------------------------------------------------------------------------------------------

const base = a.dir ? path.resolve(a.dir) : fs.mkdtempSync(path.join(os.tmpdir(), `sbuild-report-bench-n${N}-`));
const ws = path.join(base, 'ws');
let browser;
try {
  note(`N=${N}: ${7 * N + 4} targets; workspace ${ws}`);
  // With --dir, a workspace built before is reused: rewritten (same content) and brought up to date.
  const cold = !fs.existsSync(path.join(ws, 'sbuild.lock'));
  if (cold) fs.rmSync(ws, { recursive: true, force: true });
  writeWorkspace(ws);
  note(`${cold ? 'cold build' : 'bringing the built workspace up to date'} (-j ${J}) ...`);
  note(`built in ${fmtS(sbuild(ws, ['-j', String(J), '--quiet']))}`);
  const out = path.join(base, 'report');
  const reportS = sbuild(ws, ['report', '--out', out]);
  const html = path.join(out, 'index.html');
  if (!fs.existsSync(html)) throw new BenchError(`sbuild report --out ${out} wrote no index.html`);
  const bytes = fs.statSync(html).size;
  const gz = zlib.gzipSync(fs.readFileSync(html)).length;
  const mb = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  note(`sbuild report: ${fmtS(reportS)}; ${path.relative(process.cwd(), html) || html}: ${mb(bytes)} (${mb(gz)} gzipped)`);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const url = pathToFileURL(html).href;
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await measure(browser, url);
    runs.push(r);
    note(`run ${i + 1}: load ${fmtS(r.load / 1000)}, graph painted ${fmtS(r.graphPainted / 1000)} (DOMContentLoaded ${fmtS(r.domContentLoaded / 1000)}, first paint ${fmtS((r.firstContentfulPaint ?? NaN) / 1000)}); ${r.nodes} graph nodes (${r.groups} groups), ${r.rows} table rows, ${r.bars} timeline bars`);
    if (r.errors.length) note(`  console/page errors: ${r.errors.slice(0, 5).join(' | ')}`);
    if (r.network.length) note(`  network requests (blocked): ${r.network.slice(0, 5).join(', ')}`);
  }
  const med = (k) => median(runs.map((r) => r[k]));
  const summary = {
    n: N,
    targets: 7 * N + 4,
    runs: RUNS,
    htmlBytes: bytes,
    htmlGzipBytes: gz,
    reportSeconds: reportS,
    medianMs: { load: med('load'), graphPainted: med('graphPainted'), domContentLoaded: med('domContentLoaded'), firstContentfulPaint: med('firstContentfulPaint') },
    chromium: browser.version(),
    errors: [...new Set(runs.flatMap((r) => r.errors))],
    network: [...new Set(runs.flatMap((r) => r.network))],
  };
  const goal = summary.medianMs.graphPainted < 2000 && summary.medianMs.load < 2000;
  console.log(`sbuild report at N=${N} (${7 * N + 4} targets): HTML ${mb(bytes)} (${mb(gz)} gzipped), generated in ${fmtS(reportS)}`);
  console.log(`page load, median of ${RUNS} (Chromium ${summary.chromium} headless): load event ${fmtS(summary.medianMs.load / 1000)}, graph painted ${fmtS(summary.medianMs.graphPainted / 1000)} (DOMContentLoaded ${fmtS(summary.medianMs.domContentLoaded / 1000)}) — goal < 2 s: ${goal ? 'met' : 'NOT met'}`);
  if (summary.errors.length || summary.network.length) console.log(`problems: ${summary.errors.length} console/page error(s), ${summary.network.length} network request(s)`);
  if (a.json) fs.writeFileSync(a.json, JSON.stringify({ ...summary, perRun: runs }, null, 2) + '\n');
} catch (err) {
  if (!(err instanceof BenchError)) throw err;
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 2;
} finally {
  await browser?.close();
  if (!a.keep && !a.dir) fs.rmSync(base, { recursive: true, force: true });
  else note(`kept ${base}`);
}
