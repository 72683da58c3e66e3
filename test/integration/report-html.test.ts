// `sbuild report` without a browser: the HTML file it writes is self-contained (no URL, no
// external script or stylesheet), its graph has one `g.node` per target with the state
// `sbuild status` gives (failed for a target that failed in the last build), big graphs start
// as collapsed groups, the timeline has one bar per entry of the last build with the critical
// path marked, the paper table and chart data come from the table or the metrics JSONs, and
// the metrics diff against HEAD is a table, or a `p.empty` line outside git.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Rig, useRigs } from '../helpers/rig.js';
import { resultsHistory } from '../helpers/results-history.js';
import { groupOf, worstState, type State } from '../../src/report/group.js';
import { assignLanes } from '../../src/report/lanes.js';
import { compose } from '../../src/report/compose.js';
import type { ReportData } from '../../src/report/types.js';
import type { TimelineEntry } from '../../src/engine/timeline.js';

const rig = useRigs();

const CLASSES = ['ship', 'car'];

// Fake jobs: train copies its config, eval writes a metrics JSON from it (or fails when
// fail.flag names its experiment), table gathers the metrics into the paper table.
const FAKE = `import fs from 'node:fs';
import path from 'node:path';
const [cmd, ...a] = process.argv.slice(2);
const write = (f, s) => { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, s); };
if (cmd === 'train') write(a[1], fs.readFileSync(a[0], 'utf8'));
else if (cmd === 'eval') {
  const exp = path.basename(path.dirname(a[1]));
  if (fs.existsSync('fail.flag') && fs.readFileSync('fail.flag', 'utf8').trim() === exp) { console.error('evaluation crashed'); process.exit(1); }
  const c = JSON.parse(fs.readFileSync(a[0], 'utf8'));
  write(a[1], JSON.stringify({ detector: c.detector, split: 'val', images: 8, AP: c.ap, AP50: c.ap50, AP75: c.ap / 2, per_class_AP: { ship: c.ap, car: c.ap / 3 } }, null, 2) + '\\n');
} else if (cmd === 'table') {
  const [out, ...files] = a;
  const head = ['experiment', 'variant', 'detector', 'val_images', 'val_AP', 'val_AP50', 'val_AP75', ...${JSON.stringify(CLASSES)}.map((c) => 'val_AP_' + c)];
  const rows = files.map((f) => {
    const m = JSON.parse(fs.readFileSync(f, 'utf8'));
    return [path.basename(path.dirname(f)), 'full', m.detector, m.images, m.AP, m.AP50, m.AP75, m.per_class_AP.ship, m.per_class_AP.car].join('\\t');
  });
  write(out, [head.join('\\t'), ...rows].join('\\n') + '\\n');
} else process.exit(2);
`;

const EXPS = [
  { name: 'alpha', ap: 0.41, ap50: 0.7 },
  { name: 'beta', ap: 0.29, ap50: 0.55 },
  { name: 'gamma', ap: 0.35, ap50: 0.61 },
];

/** dataset → exp/<e>/{train,eval} → results/table, plus the phony group `all` (not drawn). */
function workspace(withTable = true): Rig {
  const r = rig();
  r.write('tools/fake.mjs', FAKE);
  r.write('raw.txt', 'images\n');
  r.write('.gitignore', 'node_modules/\n.sbuild/\nreport/\nartifacts/report/\n');
  const targets: object[] = [{ name: 'dataset', inputs: ['raw.txt'], outputs: ['data/ds.txt'], run: 'cp raw.txt data/ds.txt', description: 'the dataset' }];
  const metrics: string[] = [];
  for (const e of EXPS) {
    r.write(`configs/${e.name}.json`, JSON.stringify({ detector: `D-${e.name}`, ap: e.ap, ap50: e.ap50 }) + '\n');
    targets.push({ name: `exp/${e.name}/train`, inputs: [`configs/${e.name}.json`, 'data/ds.txt'], outputs: [`work/${e.name}/model.json`], run: ['node', 'tools/fake.mjs', 'train', `configs/${e.name}.json`, `work/${e.name}/model.json`] });
    targets.push({ name: `exp/${e.name}/eval`, inputs: [`work/${e.name}/model.json`], outputs: [`work/${e.name}/val_metrics.json`], run: ['node', 'tools/fake.mjs', 'eval', `work/${e.name}/model.json`, `work/${e.name}/val_metrics.json`] });
    metrics.push(`work/${e.name}/val_metrics.json`);
  }
  if (withTable) {
    targets.push({ name: 'results/table', inputs: metrics, outputs: ['artifacts/experiments/experiment_results.tsv'], run: ['node', 'tools/fake.mjs', 'table', 'artifacts/experiments/experiment_results.tsv', ...metrics] });
  }
  targets.push({ name: 'all', deps: targets.map((t) => (t as { name: string }).name) });
  r.config(`{ default: 'all', targets: ${JSON.stringify(targets, null, 2)} }`);
  return r;
}

const NAMES = ['dataset', ...EXPS.flatMap((e) => [`exp/${e.name}/train`, `exp/${e.name}/eval`]), 'results/table'];

function git(r: Rig, args: string[]): void {
  const res = spawnSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd: r.dir, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
}

interface Report {
  html: string;
  data: ReportData;
  graph: string;
  stdout: string;
}

function report(r: Rig, args: string[] = ['--out', 'report'], env: NodeJS.ProcessEnv = {}): Report {
  const res = r.run(['report', ...args], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const outDir = args[0] === '--out' ? r.path(args[1]!) : r.path('artifacts/report');
  const html = fs.readFileSync(path.join(outDir, 'index.html'), 'utf8');
  assert.deepEqual(fs.readdirSync(outDir), ['index.html'], 'written atomically: no temp file left');
  const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(json, 'the page holds script#report-data');
  const data = JSON.parse(json[1]!) as ReportData;
  return { html, data, graph: section(html, '<div id="graph">', '</svg>'), stdout: res.stdout };
}

function section(html: string, start: string, end: string): string {
  const i = html.indexOf(start);
  assert.ok(i >= 0, `the page has ${start}`);
  const j = html.indexOf(end, i);
  assert.ok(j >= 0, `${start} ends with ${end}`);
  return html.slice(i, j + end.length);
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Every g.node of the graph: its classes and data attributes. */
function nodes(graph: string): Array<{ classes: string[]; target?: string; group?: string; count?: number }> {
  const out = [];
  for (const m of graph.matchAll(/<g class="(node[^"]*)"([^>]*)>/g)) {
    const attrs = m[2]!;
    const attr = (k: string) => {
      const a = new RegExp(` ${k}="([^"]*)"`).exec(attrs);
      return a ? unescape(a[1]!) : undefined;
    };
    const count = attr('data-count');
    out.push({ classes: m[1]!.split(' '), target: attr('data-target'), group: attr('data-group'), count: count === undefined ? undefined : Number(count) });
  }
  return out;
}

const stateClass = (classes: string[]) => classes.filter((c) => /^state-(fresh|stale|missing|failed)$/.test(c));

function statusStates(r: Rig): Map<string, string> {
  const res = r.run(['status', '--json']);
  assert.equal(res.code, 0, res.stderr);
  return new Map(res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; state: string }).map((x) => [x.name, x.state]));
}

function timelineOf(r: Rig): TimelineEntry[] {
  return (JSON.parse(r.read('.sbuild/last-build.json')) as { entries: TimelineEntry[] }).entries;
}

function bars(html: string): Array<{ target: string; classes: string[] }> {
  const tl = section(html, '<div id="timeline">', '</div>');
  return [...tl.matchAll(/<rect class="(bar[^"]*)" data-target="([^"]*)"/g)].map((m) => ({ target: unescape(m[2]!), classes: m[1]!.split(' ') }));
}

test('the page is one self-contained file: no URL, no external script or stylesheet', () => {
  const r = workspace();
  assert.equal(r.run(['-j', '2']).code, 0);
  const { html, data, stdout } = report(r);
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /https?:\/\//, 'no http:// or https:// anywhere');
  assert.doesNotMatch(html, /<script[^>]+src=/i, 'no <script src>');
  assert.doesNotMatch(html, /<link\b/i, 'no <link>');
  assert.doesNotMatch(html, /\b(src|href)="(?!#)/i, 'no src or href other than in-page anchors');
  assert.doesNotMatch(html, /@import|url\((?!#)/, 'no CSS import or url() other than in-page references');
  // Exactly two scripts: the data and the page's code (with Chart.js inlined).
  assert.equal((html.match(/<script\b/g) ?? []).length, 2);
  assert.ok(/Chart\.js/.test(html), 'Chart.js is inlined with its notice');
  assert.equal(data.format, 1);
  assert.match(stdout, /wrote report\/index\.html \(8 targets: 8 fresh; \d+ KB\)/);
});

test('one g.node per target with the state `sbuild status` gives; groups are boxed, not collapsed; phony groups are not drawn', () => {
  const r = workspace();
  assert.equal(r.run(['-j', '2']).code, 0);
  // beta's config changes (stale), gamma's metrics are deleted (missing).
  r.write('configs/beta.json', JSON.stringify({ detector: 'D-beta', ap: 0.3, ap50: 0.56 }) + '\n');
  fs.rmSync(r.path('work/gamma/val_metrics.json'));
  const { data, graph } = report(r);
  const drawn = nodes(graph);
  assert.equal(drawn.filter((n) => n.classes.includes('group')).length, 0, 'a small graph is not collapsed');
  assert.deepEqual(drawn.map((n) => n.target).sort(), [...NAMES].sort(), 'one g.node[data-target] per target, the phony `all` left out');
  assert.deepEqual(Object.keys(data.targets).sort(), [...NAMES].sort());
  const status = statusStates(r);
  for (const n of drawn) {
    const cls = stateClass(n.classes);
    assert.equal(cls.length, 1, `${n.target}: one state class`);
    assert.equal(cls[0], `state-${status.get(n.target!)}`, `${n.target} as sbuild status says`);
    assert.equal(data.targets[n.target!]!.state, status.get(n.target!));
  }
  assert.equal(status.get('exp/beta/train'), 'stale');
  assert.equal(status.get('exp/gamma/eval'), 'missing');
  assert.equal(status.get('exp/beta/eval'), 'stale', 'upstream will run');
  assert.deepEqual(data.counts, { failed: 0, stale: 3, missing: 1, fresh: 4 });
  // Reasons as `sbuild explain` words them.
  const explain = r.run(['explain', 'exp/beta/train']).stdout;
  for (const reason of data.targets['exp/beta/train']!.reasons) assert.ok(explain.includes(reason), `${reason} in:\n${explain}`);
  assert.match(data.targets['exp/beta/train']!.reasons[0]!, /^input configs\/beta\.json changed: [0-9a-f]+ → [0-9a-f]+$/);
  // Experiment groups are drawn as boxes around their members.
  const clusters = [...graph.matchAll(/<g class="cluster [^"]*" data-cluster="([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(clusters.sort(), ['exp/alpha', 'exp/beta', 'exp/gamma']);
  assert.deepEqual(data.expanded.sort(), ['exp/alpha', 'exp/beta', 'exp/gamma']);
  // Details: outputs with size and hash from sbuild.lock, inputs with their producers, fingerprint, duration.
  const lock = JSON.parse(r.read('sbuild.lock')) as { targets: Record<string, { fingerprint: string; outputs: Record<string, { hash: string; size: number }> }> };
  const t = data.targets['exp/alpha/eval']!;
  assert.equal(t.fingerprint, lock.targets['exp/alpha/eval']!.fingerprint);
  assert.deepEqual(t.outputs, [['work/alpha/val_metrics.json', lock.targets['exp/alpha/eval']!.outputs['work/alpha/val_metrics.json']!.size, lock.targets['exp/alpha/eval']!.outputs['work/alpha/val_metrics.json']!.hash, null]]);
  assert.deepEqual(t.inputs.map(([p, , from]) => [p, from]), [['work/alpha/model.json', 'exp/alpha/train']]);
  assert.equal(typeof t.duration, 'number');
  assert.equal(t.lastBuild?.executor, 'local');
  assert.equal(t.group, 'exp/alpha');
  assert.equal(data.targets['dataset']!.group, '');
  assert.equal(data.targets['dataset']!.description, 'the dataset');
});

test('a target that failed in the last build is failed; the timeline has one bar per entry and the critical path marked', () => {
  const r = workspace();
  r.write('fail.flag', 'beta\n');
  const b = r.run(['-k', '-j', '2']);
  assert.equal(b.code, 1, b.stdout + b.stderr);
  const { html, data, graph } = report(r);
  const byTarget = new Map(nodes(graph).map((n) => [n.target, stateClass(n.classes)]));
  assert.deepEqual(byTarget.get('exp/beta/eval'), ['state-failed']);
  assert.equal(data.targets['exp/beta/eval']!.state, 'failed');
  assert.equal(data.targets['exp/beta/eval']!.lastBuild?.outcome, 'failed');
  assert.deepEqual(byTarget.get('exp/alpha/eval'), ['state-fresh']);
  assert.equal(data.targets['results/table']!.state, statusStates(r).get('results/table'), 'blocked by the failure: as sbuild status says');
  assert.equal(data.counts.failed, 1);

  const entries = timelineOf(r);
  const drawn = bars(html);
  assert.equal(drawn.length, entries.length, 'one rect.bar per entry');
  assert.deepEqual(drawn.map((x) => x.target).sort(), entries.map((e) => e.name).sort());
  assert.ok(drawn.find((x) => x.target === 'exp/beta/eval')!.classes.includes('failed'));
  const critical = drawn.filter((x) => x.classes.includes('critical')).map((x) => x.target);
  assert.ok(critical.length >= 1);
  assert.deepEqual(new Set(critical), new Set(data.timeline!.critical));
  // The critical path is a chain of dependencies, each link in the build.
  const chain = data.timeline!.critical;
  assert.equal(chain[0], 'dataset');
  assert.match(chain[1]!, /^exp\/\w+\/train$/);
  assert.ok(data.timeline!.lanes.every((l) => /^local \d+$/.test(l)), data.timeline!.lanes.join(', '));

  // After a full build the critical path ends with the job that finished last (the table).
  fs.rmSync(r.path('fail.flag'));
  assert.equal(r.run(['-j', '2']).code, 0);
  const again = report(r);
  const last = timelineOf(r).reduce((a, e) => (e.end > a.end ? e : a));
  assert.equal(last.name, 'results/table');
  assert.ok(bars(again.html).find((x) => x.target === last.name)!.classes.includes('critical'));
  assert.equal(again.data.targets['exp/beta/eval']!.state, 'fresh');
});

test('the paper table comes from experiment_results.tsv when a target writes it, else from the metrics JSONs', () => {
  const r = workspace();
  assert.equal(r.run(['-j', '2']).code, 0);
  const { html, data } = report(r);
  const table = section(html, '<table id="paper-table"', '</table>');
  const heads = [...table.matchAll(/<th data-sort="(\d+)" data-type="(num|text)">([^<]*)<\/th>/g)].map((m) => [Number(m[1]), m[2], m[3]]);
  assert.deepEqual(heads.map((h) => h[2]), ['experiment', 'variant', 'detector', 'val_images', 'val_AP', 'val_AP50', 'val_AP75', 'val_AP_ship', 'val_AP_car']);
  assert.deepEqual(heads.map((h) => h[0]), heads.map((_, i) => i));
  assert.equal(heads[4]![1], 'num');
  assert.equal(heads[0]![1], 'text');
  const rows = [...section(table, '<tbody>', '</tbody>').matchAll(/<tr>/g)];
  assert.equal(rows.length, EXPS.length);
  assert.equal(data.results.source, 'table');
  // AP/AP50 per experiment, best first; per-class AP per experiment.
  assert.deepEqual(data.results.ap!.labels, ['alpha full', 'gamma full', 'beta full']);
  assert.deepEqual(data.results.ap!.series.map((s) => s.label), ['val AP', 'val AP50']);
  assert.deepEqual(data.results.ap!.series[0]!.values, [0.41, 0.35, 0.29]);
  assert.deepEqual(data.results.perClass!.labels, CLASSES);
  assert.deepEqual(data.results.perClass!.series[0], { label: 'alpha full', values: [0.41, 0.41 / 3] });
  assert.match(html, /<canvas class="chart" id="chart-ap"><\/canvas>/);
  assert.match(html, /<canvas class="chart" id="chart-class"><\/canvas>/);

  const m = workspace(false);
  assert.equal(m.run(['-j', '2']).code, 0);
  const fromJson = report(m);
  assert.equal(fromJson.data.results.source, 'metrics');
  const t2 = section(fromJson.html, '<table id="paper-table"', '</table>');
  assert.equal([...section(t2, '<tbody>', '</tbody>').matchAll(/<tr>/g)].length, EXPS.length, 'one row per metrics JSON');
  assert.match(t2, /<th data-sort="0" data-type="text">target<\/th><th data-sort="1" data-type="text">metrics file<\/th>/);
  assert.match(t2, /data-type="num">per_class_AP\.ship</);
  assert.deepEqual(fromJson.data.results.ap!.labels, ['exp/alpha/eval', 'exp/gamma/eval', 'exp/beta/eval']);
  assert.deepEqual(fromJson.data.results.perClass!.labels, CLASSES);
});

test('more than 150 targets start as collapsed groups whose counts cover every target', () => {
  const r = rig();
  r.write('raw.txt', 'x\n');
  const n = 52; // 3 targets each: 156, plus the dataset
  const targets: object[] = [{ name: 'dataset', inputs: ['raw.txt'], outputs: ['data/ds.txt'], run: 'cp raw.txt data/ds.txt' }];
  for (let k = 0; k < n; k++) {
    const e = `exp/e${String(k).padStart(3, '0')}`;
    targets.push(
      { name: `${e}/train`, inputs: ['data/ds.txt'], outputs: [`w/${k}/m.txt`], run: `cp data/ds.txt w/${k}/m.txt` },
      { name: `${e}/eval-val`, inputs: [`w/${k}/m.txt`], outputs: [`w/${k}/val_metrics.json`], run: `echo '{"AP": 0.${k % 10}}' > w/${k}/val_metrics.json` },
      { name: `${e}/eval-test`, inputs: [`w/${k}/m.txt`], outputs: [`w/${k}/test_metrics.json`], run: `echo '{"AP": 0.${k % 7}}' > w/${k}/test_metrics.json` },
    );
  }
  r.config(`{ default: 'dataset', targets: ${JSON.stringify(targets)} }`);
  // Build a few: e000 fresh, e001 stale (an output edited after the build), the rest missing.
  assert.equal(r.run(['exp/e000/**', 'exp/e001/**']).code, 0);
  fs.writeFileSync(r.path('w/1/val_metrics.json'), '{"AP": 0.99}\n');
  const { data, graph } = report(r);
  const drawn = nodes(graph);
  const groups = drawn.filter((x) => x.classes.includes('group'));
  const singles = drawn.filter((x) => x.target !== undefined);
  assert.equal(groups.length, n);
  assert.deepEqual(singles.map((x) => x.target), ['dataset']);
  assert.equal(groups.reduce((s, g) => s + g.count!, 0) + singles.length, 3 * n + 1, 'data-count and single nodes cover every target');
  for (const g of groups) {
    assert.match(g.group!, /^exp\/e\d{3}$/);
    assert.equal(g.count, 3);
    assert.equal(stateClass(g.classes).length, 1);
  }
  const cls = (name: string) => stateClass(groups.find((g) => g.group === name)!.classes)[0];
  assert.equal(cls('exp/e000'), 'state-fresh');
  assert.equal(cls('exp/e001'), 'state-stale', 'the worst state of its members');
  const status = statusStates(r);
  // Never built, their upstream not built either: nothing changed, the outputs are just not there.
  assert.deepEqual(['train', 'eval-val', 'eval-test'].map((t) => status.get(`exp/e002/${t}`)), ['missing', 'missing', 'missing'], 'never built; upstream not built yet');
  assert.equal(cls('exp/e002'), 'state-missing');
  for (const g of groups) assert.equal(stateClass(g.classes)[0], `state-${worstState(['train', 'eval-val', 'eval-test'].map((t) => status.get(`${g.group}/${t}`) as State))}`);
  assert.deepEqual(data.expanded, []);
  assert.equal(data.collapseAbove, 150);
  assert.equal(Object.keys(data.targets).length, 3 * n + 1);
  assert.equal(data.targets['exp/e005/train']!.group, 'exp/e005');
  // Expanding a group (as the page does) places its members' box where the group was and moves the rest apart.
  const layout = data.graph;
  const before = compose(layout, new Set());
  const after = compose(layout, new Set(['exp/e010']));
  const i = layout.units.findIndex((u) => u.name === 'exp/e010');
  assert.deepEqual(after.units[i]!.w, layout.groups['exp/e010']!.full[0]);
  assert.equal(after.units[i]!.top, before.units[i]!.top);
  assert.ok(after.height >= before.height + layout.groups['exp/e010']!.full[1] - layout.groups['exp/e010']!.compact[1] - 1);
  for (let a = 0; a < after.units.length; a++) {
    for (let b = a + 1; b < after.units.length; b++) {
      const x = after.units[a]!;
      const y = after.units[b]!;
      const overlap = x.left < y.left + y.w && y.left < x.left + x.w && x.top < y.top + y.h && y.top < x.top + x.h;
      assert.ok(!overlap, `units ${layout.units[a]!.name} and ${layout.units[b]!.name} do not overlap after expanding`);
    }
  }
});

test('the metrics diff against HEAD: a table of changed values in git, a p.empty line without git', () => {
  const r = workspace();
  git(r, ['init', '-q']);
  assert.equal(r.run(['-j', '2']).code, 0);
  git(r, ['add', '-A']);
  git(r, ['commit', '-q', '-m', 'baseline']);
  let rep = report(r);
  let diff = section(rep.html, '<div id="metrics-diff">', '</section>');
  assert.match(diff, /<p class="empty">No metrics changed since HEAD \([0-9a-f]{7}\) \(3 metrics file\(s\) compared\)\.<\/p>/);
  assert.equal(rep.data.diff.ok, true);

  r.write('configs/beta.json', JSON.stringify({ detector: 'D-beta', ap: 0.33, ap50: 0.55 }) + '\n');
  assert.equal(r.run(['-j', '2']).code, 0);
  rep = report(r);
  diff = section(rep.html, '<div id="metrics-diff">', '</section>');
  assert.match(diff, /<table class="diff">/);
  assert.match(diff, /work\/beta\/val_metrics\.json/);
  assert.match(diff, /<td>AP<\/td> <td class="num">0\.29<\/td> <td class="num">0\.33<\/td> <td class="up">\+0\.04 \(\+13\.8%\)<\/td>/);
  assert.doesNotMatch(diff, /alpha|gamma/, 'unchanged files are not listed');
  assert.doesNotMatch(diff, /<td>AP50<\/td>/, 'unchanged values are not listed');
  assert.equal(rep.data.diff.changedFiles, 1);

  // Not a git repository: the section says so, the report still succeeds.
  const plain = workspace();
  assert.equal(plain.run(['-j', '2']).code, 0);
  const noRepo = report(plain, ['--out', 'report'], { GIT_CEILING_DIRECTORIES: path.dirname(plain.dir) });
  assert.match(section(noRepo.html, '<div id="metrics-diff">', '</section>'), /<p class="empty">No metrics diff: the workspace is not inside a git repository/);
  assert.equal(noRepo.data.diff.ok, false);
  // No git program at all.
  const noGit = report(r, ['--out', 'report'], { PATH: path.join(r.dir, 'no-such-bin') });
  assert.match(section(noGit.html, '<div id="metrics-diff">', '</section>'), /<p class="empty">No metrics diff: git is not installed/);
});

test('default folder artifacts/report, --out relative to the cwd, and the htmlReport rule builds it as a target', () => {
  const r = workspace();
  assert.equal(r.run(['-j', '2']).code, 0);
  const d = report(r, []);
  assert.match(d.stdout, /wrote artifacts\/report\/index\.html/);
  // No build recorded for a fresh workspace: the timeline says so.
  const fresh = workspace();
  const none = report(fresh);
  assert.match(section(none.html, '<div id="timeline">', '</div>'), /<p class="empty">No build recorded yet/);
  assert.equal(none.data.timeline, null);
  const status = statusStates(fresh);
  for (const [name, t] of Object.entries(none.data.targets)) assert.equal(t.state, status.get(name), name);
  assert.equal(none.data.targets['dataset']!.state, 'missing');

  const withRule = workspace();
  const cfg = withRule.read('tasks.config.ts')
    .replace("import { defineConfig } from 'sbuild';", "import { defineConfig } from 'sbuild';\nimport { htmlReport } from 'sbuild/rules';")
    .replace(/targets: \[/, "targets: [htmlReport({ out: 'site', deps: ['results/table'] }),");
  withRule.write('tasks.config.ts', cfg);
  const list = withRule.run(['list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /report\/html/);
  const b = withRule.run(['build', 'report/html', '-j', '2']);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const html = withRule.read('site/index.html');
  assert.match(html, /<div id="graph">/);
  assert.match(html, /data-target="results\/table"/);
  const lock = JSON.parse(withRule.read('sbuild.lock')) as { targets: Record<string, { action: string }> };
  assert.match(lock.targets['report/html']!.action, /^exec: node node_modules\/sbuild\/bin\/sbuild\.js report --out site$/, 'the command names sbuild relative to the workspace');
});

test('grouping, worst state and timeline lanes', () => {
  assert.equal(groupOf('exp/cfar_ca/full/eval-test'), 'exp/cfar_ca');
  assert.equal(groupOf('exp0001/train'), 'exp0001');
  assert.equal(groupOf('dataset'), 'dataset');
  const worst = (s: State[]) => worstState(s);
  assert.equal(worst(['fresh', 'missing', 'stale']), 'stale');
  assert.equal(worst(['fresh', 'failed', 'stale']), 'failed');
  assert.equal(worst(['fresh', 'missing']), 'missing');
  assert.equal(worst(['fresh']), 'fresh');
  const e = (name: string, start: number, end: number, executor: 'local' | 'slurm' = 'local', gpus: string[] = []): TimelineEntry => ({ name, start, end, outcome: 'ran', executor, gpus });
  const lanes = assignLanes([e('a', 0, 10), e('b', 2, 5), e('c', 6, 9), e('d', 10, 12), e('g', 0, 8, 'local', ['1']), e('s1', 0, 50, 'slurm'), e('s2', 1, 3, 'slurm', ['0']), e('h', 9, 10, 'local', ['0'])]);
  const laneOf = (i: number) => lanes.names[lanes.of[i]!];
  assert.deepEqual(lanes.names, ['local 1', 'local 2', 'GPU 0', 'GPU 1', 'slurm 1', 'slurm 2']);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(laneOf), ['local 1', 'local 2', 'local 2', 'local 1', 'GPU 1', 'slurm 1', 'slurm 2', 'GPU 0']);
});

test('the report shows experiment runs across the last commits: the rows and numbers of `sbuild results --across`, a sortable table and the chart\'s metrics', () => {
  const { r, c } = resultsHistory(rig());
  const { html, data } = report(r);
  const cli = JSON.parse(r.run(['results', '--across', `${c[0]}..HEAD`, '--json']).stdout) as { rows: Array<{ experiment: string; run: string; side: number; metrics: Record<string, number> }> };
  assert.equal(data.runs.range, 'HEAD~2..HEAD');
  assert.deepEqual(data.runs.sides.map((s) => [s.label, s.subject]), [[c[0]!.slice(0, 7), 'a at lr 1, b at lr 3'], [c[1]!.slice(0, 7), 'a: lr 2'], [c[2]!.slice(0, 7), 'variant a@lr=4; b val edited']]);
  assert.deepEqual(data.runs.columns, ['val.AP', 'val.AP50', 'test.AP', 'test.AP50']);
  assert.deepEqual(
    data.runs.rows.map((x) => [x.experiment, x.side, x.params, x.values, x.unrecorded]),
    cli.rows.map((x) => [x.experiment, x.side, x.experiment.startsWith('a') ? `lr=${x.experiment === 'a@lr=4' ? 4 : x.side === 0 ? 1 : 2}` : '', data.runs.columns.map((k) => x.metrics[k]), x.experiment === 'b' && x.side === 2]),
  );
  const runs = section(html, '<section id="runs-section">', '</section>');
  assert.match(runs, /<table id="runs-table" class="data"><thead><tr><th data-sort="0" data-type="text">experiment<\/th>/);
  assert.equal((runs.match(/<tr><td>/g) ?? []).length, 7);
  assert.match(runs, new RegExp(`<tr><td>b \\*</td><td>full</td><td><span title="variant a@lr=4; b val edited">${c[2]!.slice(0, 7)}</span></td><td></td><td class="num">0\\.99</td>`));
  assert.match(runs, /<select id="runs-metric"><option value="val\.AP">val\.AP<\/option><option value="val\.AP50">val\.AP50<\/option><option value="test\.AP" selected>test\.AP<\/option>/);
  // --across picks the commits.
  const one = report(r, ['--out', 'report', '--across', 'HEAD']).data;
  assert.deepEqual([one.runs.range, one.runs.sides.length, one.runs.rows.length], ['HEAD', 1, 3]);
});

test('outside a git repository the runs section says why it is empty, and the report is still written', () => {
  const r = rig();
  r.write('x.txt', 'x\n');
  r.config(`{ targets: [{ name: 'exp/a/full/eval', inputs: ['x.txt'], outputs: ['w/val_metrics.json'], run: ['node', '-e', ${JSON.stringify(`require('fs').writeFileSync('w/val_metrics.json', '{"AP": 1}')`)}] }] }`);
  const built = r.run(['exp/a/full/eval']);
  assert.equal(built.code, 0, built.stdout + built.stderr);
  const { html, data } = report(r);
  assert.equal(data.runs.message, 'No runs across commits: the workspace is not inside a git repository.');
  assert.match(section(html, '<section id="runs-section">', '</section>'), /<p class="empty">No runs across commits: the workspace is not inside a git repository\.<\/p>/);
});
