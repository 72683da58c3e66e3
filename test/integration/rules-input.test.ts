// The SARDet rules on bad input, through the real CLI with fake tools (small node scripts that
// write what the real programs would, and log each run to runs.log): every case exits 2 with
// one clear message naming the file, target or option and the fix, and leaves no output
// behind. Also the exact bytes of the table and the ledger on a two-experiment study.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, useRigs, type Rig, type RunResult } from '../helpers/rig.js';

const rig = useRigs();

/** A SARDet-style dataset generator: `node tools/gen.mjs DIR [MODE]`. */
const GEN = `import fs from 'node:fs';
import path from 'node:path';
const [dir, mode = 'ok'] = process.argv.slice(2);
fs.appendFileSync('runs.log', 'gen ' + mode + '\\n');
const counts = { train: 2, val: 2, test: 3 };
for (const [split, n] of Object.entries(counts)) {
  fs.mkdirSync(path.join(dir, 'JPEGImages', split), { recursive: true });
  const images = [];
  for (let id = 1; id <= n; id++) {
    images.push({ id, file_name: split + '_' + id + '.png', width: 8, height: 8 });
    fs.writeFileSync(path.join(dir, 'JPEGImages', split, split + '_' + id + '.png'), 'pixels ' + split + ' ' + id);
  }
  const annotations = images.map((im) => ({ id: im.id, image_id: im.id, category_id: 1, bbox: [1, 1, 3, 3], area: 9, iscrowd: 0 }));
  let text = JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'ship' }] });
  if (split === 'test' && mode === 'corrupt-test') text = '{"images": [';
  if (split === 'test' && mode === 'no-images') text = JSON.stringify({ annotations: [], categories: [] });
  if (split === 'test' && mode === 'null-json') text = 'null';
  if (split === 'test' && mode === 'null-entries') text = JSON.stringify({ images: [null, ...images], annotations: [...annotations, null], categories: [null] });
  fs.mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Annotations', split + '.json'), text);
}
`;

/**
 * The detector: \`train CONFIG CKPT\` and \`test CONFIG CKPT VARIANT SPLIT METRICS DATA\`. What
 * the evaluation writes is steered by the config (an input), so a bad metrics JSON is what the
 * evaluation itself produced, and the evaluation stays fresh.
 */
const FAKE = `import fs from 'node:fs';
import path from 'node:path';
const [cmd, config, ckpt, ...rest] = process.argv.slice(2);
const text = fs.readFileSync(config, 'utf8');
fs.appendFileSync('runs.log', cmd + ' ' + path.basename(config) + (cmd === 'test' ? ' ' + rest[0] + ' ' + rest[1] : '') + '\\n');
if (cmd === 'train') {
  fs.mkdirSync(path.dirname(ckpt), { recursive: true });
  fs.writeFileSync(ckpt, 'trained on ' + text.length + ' bytes of config');
} else {
  const [variant, split, metrics, data] = rest;
  const mode = (/^fake_metrics = '([a-z_]+)'/m.exec(text) || [])[1] || 'good';
  const ap = Number((/^fake_ap = ([0-9.]+)/m.exec(text) || [])[1] || '0.5') / (variant === 'smoke' ? 2 : 1);
  const images = JSON.parse(fs.readFileSync(path.join(data, 'Annotations', split + '.json'), 'utf8')).images.length;
  const m = { detector: 'fake', split, images, AP: ap, AP50: 0.75, AP75: 0.125,
    per_class_AP: { ship: ap, aircraft: null, car: 0.0625, tank: null, bridge: null, harbor: null } };
  if (mode === 'no_ap') delete m.AP;
  if (mode === 'no_per_class') delete m.per_class_AP;
  const out = mode === 'corrupt' ? '{"AP": 0.5,' : mode === 'null' ? 'null\\n' : JSON.stringify(m, null, 2) + '\\n';
  fs.writeFileSync(metrics, out);
}
`;

/** The visualisations: \`vr DATA SPLIT OUTDIR METRICS [SKIP]\` and \`saliency LIST OUTDIR\`. */
const VIS = `import fs from 'node:fs';
import path from 'node:path';
const [cmd, ...a] = process.argv.slice(2);
fs.appendFileSync('runs.log', cmd + '\\n');
if (cmd === 'vr') {
  const [data, split, outDir, metrics, skip] = a;
  const coco = JSON.parse(fs.readFileSync(path.join(data, 'Annotations', split + '.json'), 'utf8'));
  fs.mkdirSync(outDir, { recursive: true });
  for (const im of coco.images) {
    const stem = path.basename(im.file_name, path.extname(im.file_name));
    if (stem !== skip) fs.writeFileSync(path.join(outDir, stem + '.png'), 'boxes on ' + stem);
  }
  fs.writeFileSync(metrics, JSON.stringify({ images: coco.images.length }) + '\\n');
} else {
  const [list, outDir] = a;
  fs.mkdirSync(outDir, { recursive: true });
  for (const s of fs.readFileSync(list, 'utf8').split('\\n').filter(Boolean)) fs.writeFileSync(path.join(outDir, s + '.png'), 'heat of ' + s);
}
`;

interface Setup {
  /** Experiments as [name, config path]. */
  exps?: Array<[string, string]>;
  /** Generator mode (see GEN). */
  gen?: string;
  /** Extra lines after the experiments are made (may push to `targets`). */
  extra?: string;
  /** Replaces the dataset() call. */
  data?: string;
  /** Options added to every experiment() call. */
  expOpts?: string;
}

/** tasks.config.ts: a generated dataset, the fake runner, the experiments, table and ledger. */
function configText(s: Setup = {}): string {
  const exps = s.exps ?? [['a', 'configs/a.py'], ['b', 'configs/b.py']];
  return `import { defineConfig, type Target } from 'sbuild';
import { dataset, experiment, resultsTable, ledger, vrExport, subset, sample500, gradcam, type Runner, type VisCommand } from 'sbuild/rules';
const data = ${s.data ?? `dataset({ generate: { dir: 'data/mini', command: ['node', 'tools/gen.mjs', 'data/mini', ${JSON.stringify(s.gen ?? 'ok')}], inputs: ['tools/gen.mjs'] } })`};
const runner: Runner = {
  id: 'fake',
  inputs: ['tools/fake.mjs'],
  checkpoint: 'model.ckpt',
  train: (j) => ['node', 'tools/fake.mjs', 'train', j.config, j.checkpoint],
  test: (j) => ['node', 'tools/fake.mjs', 'test', j.config, j.checkpoint, j.variant, j.split, j.metrics, j.dataRoot],
};
const vr = (skip?: string): VisCommand => (j) => ['node', 'tools/vis.mjs', 'vr', j.dataRoot, j.split, j.outDir, j.metrics!, ...(skip ? [skip] : [])];
const saliency: VisCommand = (j) => ['node', 'tools/vis.mjs', 'saliency', j.images!, j.outDir];
const exps = ${JSON.stringify(exps)}.map(([name, config]) => experiment({ name, config, dataset: data, runner${s.expOpts ? `, ${s.expOpts}` : ''} }));
const targets: Target[] = [...data.targets, ...exps.flatMap((e) => e.targets), resultsTable({ experiments: exps }), ledger({ experiments: exps })];
targets.push({ name: 'release', deps: ['results/table', 'results/ledger'] });
${s.extra ?? ''}
export default defineConfig({ default: 'release', targets });
`;
}

function workspace(s: Setup = {}): Rig {
  const r = rig();
  r.write('tools/gen.mjs', GEN);
  r.write('tools/fake.mjs', FAKE);
  r.write('tools/vis.mjs', VIS);
  r.write('configs/_base_/runtime.py', "seed = 0\nfake_ap = 0.5\n");
  r.write('configs/a.py', "_base_ = './_base_/runtime.py'\nmodel = dict(type='CFAR', pfa=1e-3)\n");
  r.write('configs/b.py', "_base_ = ['_base_/runtime.py']\nfake_ap = 0.25\n");
  r.write('tasks.config.ts', configText(s));
  return r;
}

/** SARDET_ROOT is cleared so the dataset is always generated. */
const ENV = { SARDET_ROOT: '' };

function run(r: Rig, args: string[]): RunResult {
  return r.run(args, ENV);
}

function ok(r: Rig, args: string[]): RunResult {
  const res = run(r, args);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  return res;
}

/** Exit code 2, the message, no "bug" report; in a build, no stack trace either. */
function bad(res: RunResult, pattern: RegExp, stackAllowed = false): string {
  const text = res.stdout + res.stderr;
  assert.equal(res.code, 2, `exit code for ${pattern}:\n${text}`);
  assert.match(text, pattern);
  assert.doesNotMatch(text, /bug in sbuild|action threw/, 'no crash');
  if (!stackAllowed) assert.doesNotMatch(text, /\n\s+at .*\.js:\d+/, 'no stack trace');
  return text;
}

/**
 * A config-load failure: exit 2, the message, nothing ran, no lock written. (Whether a rule's
 * error shows a stack and where it points is the subject of its own test below.)
 */
function badConfig(r: Rig, pattern: RegExp, args: string[] = []): string {
  const text = bad(run(r, args), pattern, true);
  assert.ok(!r.exists('runs.log'), 'nothing ran');
  assert.ok(!r.exists('sbuild.lock'), 'no lock written');
  return text;
}

const TABLE = 'artifacts/experiments/experiment_results.tsv';
const TABLE_MD = 'artifacts/experiments/experiment_results.md';

// ---------------------------------------------------------------------------------------------
// The table and the ledger, byte for byte

const T = '\t';
const cells = (...c: Array<string | number>) => c.join(T);
const noSplit = Array(10).fill('').join(T);

test('resultsTable and ledger: the exact bytes of a two-experiment study', () => {
  const r = workspace();
  ok(r, []);
  assert.deepEqual(r.takeRuns(), [
    'gen ok',
    'test a.py full test', 'test a.py full val', 'test a.py smoke val',
    'test b.py full test', 'test b.py full val', 'test b.py smoke val',
    'train a.py', 'train a.py', 'train b.py', 'train b.py',
  ]);
  const classes = ['ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor'];
  const head = ['experiment', 'variant', 'detector', ...['val', 'test'].flatMap((s) => [`${s}_images`, `${s}_AP`, `${s}_AP50`, `${s}_AP75`, ...classes.map((c) => `${s}_AP_${c}`)])];
  assert.equal(head.length, 23);
  const split = (images: number, ap: number) => cells(images, ap, 0.75, 0.125, ap, '', 0.0625, '', '', '');
  assert.equal(
    r.read(TABLE),
    [
      head.join(T),
      cells('a', 'smoke', 'fake', split(2, 0.25), noSplit),
      cells('a', 'full', 'fake', split(2, 0.5), split(3, 0.5)),
      cells('b', 'smoke', 'fake', split(2, 0.125), noSplit),
      cells('b', 'full', 'fake', split(2, 0.25), split(3, 0.25)),
    ].join('\n') + '\n',
  );
  assert.equal(
    r.read(TABLE_MD),
    '<!-- Generated by sbuild from the metrics JSONs; edit tasks.config.ts, not this file. -->\n' +
      '\n' +
      '| Experiment | Variant | Detector | val AP | val AP50 | val AP75 | test AP | test AP50 | test AP75 |\n' +
      '|---|---|---|---:|---:|---:|---:|---:|---:|\n' +
      '| a | smoke | fake | 25.0 | 75.0 | 12.5 | – | – | – |\n' +
      '| a | full | fake | 50.0 | 75.0 | 12.5 | 50.0 | 75.0 | 12.5 |\n' +
      '| b | smoke | fake | 12.5 | 75.0 | 12.5 | – | – | – |\n' +
      '| b | full | fake | 25.0 | 75.0 | 12.5 | 25.0 | 75.0 | 12.5 |\n' +
      '\n' +
      'AP is COCO-style mAP@[.50:.95] in percent; AP50 and AP75 at IoU 0.50 and 0.75.\n',
  );
  const jobs = (e: string) => {
    const wd = `artifacts/work_dirs/${e}`;
    const test = (v: string, split: string, m: string) => `node tools/fake.mjs test configs/${e}.py ${wd}/${v}/model.ckpt ${v} ${split} ${wd}/${v}/${m} data/mini`;
    return [
      `## ${e}`,
      '',
      `- config: \`configs/${e}.py\``,
      '- inherits: `configs/_base_/runtime.py`',
      '',
      '### Smoke',
      '',
      `\`npx sbuild 'exp/${e}/smoke/**'\`, or by hand:`,
      '',
      '```bash',
      `node tools/fake.mjs train configs/${e}.py ${wd}/smoke/model.ckpt`,
      test('smoke', 'val', 'smoke_metrics.json'),
      '```',
      '',
      'Expected outputs:',
      '',
      `- \`${wd}/smoke/model.ckpt\` (exp/${e}/smoke/train)`,
      `- \`${wd}/smoke/smoke_metrics.json\` (exp/${e}/smoke/eval, 1 GPU)`,
      '',
      '### Full',
      '',
      `\`npx sbuild 'exp/${e}/full/**'\`, or by hand:`,
      '',
      '```bash',
      `node tools/fake.mjs train configs/${e}.py ${wd}/full/model.ckpt`,
      test('full', 'val', 'val_metrics.json'),
      test('full', 'test', 'test_metrics.json'),
      '```',
      '',
      'Expected outputs:',
      '',
      `- \`${wd}/full/model.ckpt\` (exp/${e}/full/train)`,
      `- \`${wd}/full/val_metrics.json\` (exp/${e}/full/eval-val, 1 GPU)`,
      `- \`${wd}/full/test_metrics.json\` (exp/${e}/full/eval-test, 1 GPU)`,
      '',
    ];
  };
  assert.equal(
    r.read('artifacts/experiments/experiment.md'),
    [
      '# Experiment ledger',
      '',
      '<!-- Generated by sbuild from tasks.config.ts; never edit by hand. -->',
      '',
      'Each experiment runs smoke first (a quick check on a subset), then full. `npx sbuild release` runs',
      'whatever is stale; the commands below are what it runs, for running one by hand.',
      '',
      ...jobs('a'),
      ...jobs('b'),
    ].join('\n'),
  );

  // A base edit that changes no metric reruns the jobs, but the table and ledger stay as they are (early cutoff).
  r.write('configs/_base_/runtime.py', "seed = 1\nfake_ap = 0.5\n");
  const res = ok(r, []);
  assert.deepEqual(r.takeRuns().filter((l) => l.startsWith('train')), ['train a.py', 'train a.py', 'train b.py', 'train b.py']);
  assert.match(res.stdout, /sbuild: 10 ran, 4 fresh/);
  assert.doesNotMatch(res.stdout, /results\//, 'the table and the ledger are fresh');
  assert.match(ok(r, []).stdout, /0 ran/);
});

// ---------------------------------------------------------------------------------------------
// The results table over bad metrics JSONs

test('resultsTable refuses a metrics JSON that is corrupt, lacks "AP", lacks per_class_AP or is null: exit 2, no table written', () => {
  const r = workspace();
  const FIX = 'Fix the evaluation that wrote it \\(a metrics JSON holds detector, split, images, AP, AP50, AP75 and per_class_AP\\), then rebuild it with `sbuild -B` on that evaluation\\.';
  const cases: Array<[string, string]> = [
    ['corrupt', 'is not a readable metrics JSON \\([^)]*JSON[^)]*\\)\\. '],
    ['no_ap', 'has no numeric "AP"\\. '],
    ['no_per_class', 'has no "per_class_AP" object\\. '],
    ['null', 'holds null, not a metrics object\\. '],
  ];
  for (const [mode, problem] of cases) {
    r.write('configs/b.py', `_base_ = ['_base_/runtime.py']\nfake_ap = 0.25\nfake_metrics = '${mode}'\n`);
    const text = bad(run(r, ['results/table']), new RegExp(`✖ results/table: artifacts/work_dirs/b/smoke/smoke_metrics\\.json ${problem}${FIX}\\n`));
    assert.match(text, /sbuild: \d+ ran, \d+ fresh, 1 failed/, mode);
    assert.ok(!r.exists(TABLE) && !r.exists(TABLE_MD), `${mode}: no table written`);
    assert.deepEqual(fs.readdirSync(r.path('artifacts/experiments')), [], `${mode}: nothing in the table's folder`);
    // The evaluations that wrote the files succeeded and are recorded; only the table is not.
    const lock = JSON.parse(r.read('sbuild.lock')).targets as Record<string, unknown>;
    assert.ok(lock['exp/b/smoke/eval'] && !lock['results/table'], mode);
  }
  // Fixed at the source: the evaluations rerun and the table is written.
  r.write('configs/b.py', "_base_ = ['_base_/runtime.py']\nfake_ap = 0.25\n");
  ok(r, ['results/table']);
  assert.match(r.read(TABLE), /^b\tfull\tfake\t2\t0\.25\t/m);
});

// ---------------------------------------------------------------------------------------------
// Visualisations

const SAMPLE = (skip = '') => `const sub = subset({ dataset: data, split: 'test', count: 2 });
const v = vrExport({ experiment: exps[0]!, dataset: data, split: 'test', command: vr(${JSON.stringify(skip)}) });
targets.push(sub.target, v.target, sample500({ experiment: exps[0]!, vr: v, split: 'test', subset: sub, count: 2 }));`;

test('sample500: a VR folder lacking an image of the subset is refused, naming both and the image; no folder left', () => {
  const r = workspace({ extra: SAMPLE() });
  ok(r, ['vis/a/sample2-test']);
  assert.equal(r.read('artifacts/visualizations/sample2/subsets/test.txt'), 'test_1\ntest_2\n');
  assert.deepEqual(fs.readdirSync(r.path('artifacts/visualizations/sample2/a/test')), ['test_1.png', 'test_2.png']);
  assert.equal(r.read('artifacts/visualizations/sample2/a/test/test_1.png'), 'boxes on test_1');

  // The VR export now skips one image of the subset.
  r.write('tasks.config.ts', configText({ extra: SAMPLE('test_1') }));
  const text = bad(
    run(r, ['vis/a/sample2-test']),
    /✖ vis\/a\/sample2-test: artifacts\/visualizations\/VR\/a\/test\/images lacks 1 image\(s\) of the subset artifacts\/visualizations\/sample2\/subsets\/test\.txt \(first: test_1\.png\); the VR export and the subset disagree about the split\. Make the VR export draw every image of the split \(then rebuild it\), or build the subset from the same split\.\n/,
  );
  assert.match(text, /1 ran, \d+ fresh, 1 failed/);
  assert.deepEqual(fs.readdirSync(r.path('artifacts/visualizations/sample2/a')), [], 'no half-made or stale sample folder');
  assert.deepEqual(fs.readdirSync(r.path('.sbuild/tmp')), [], 'no temp folder left behind');
  assert.match(run(r, ['status', 'vis/a/sample2-test']).stdout, /^stale +vis\/a\/sample2-test — /m, 'not recorded as fresh');
});

test('subset: unreadable annotations, annotations without images, and a bad count or split are refused', () => {
  const corrupt = workspace({ gen: 'corrupt-test', extra: "targets.push(subset({ dataset: data, split: 'test' }).target);" });
  bad(
    run(corrupt, ['vis/subset-test']),
    /✖ vis\/subset-test: data\/mini\/Annotations\/test\.json is not readable JSON \(Unexpected end of JSON input\)\. Fix the annotations \(COCO format: an "images" array whose entries have a "file_name"\), or rebuild the dataset that wrote them\.\n/,
  );
  assert.ok(!corrupt.exists('artifacts/visualizations/sample500/subsets/test.txt'), 'no subset list');

  const empty = workspace({ gen: 'no-images', extra: "targets.push(subset({ dataset: data, split: 'test' }).target);" });
  bad(run(empty, ['vis/subset-test']), /✖ vis\/subset-test: data\/mini\/Annotations\/test\.json has no images to choose a subset from \(no non-empty "images" array\)\. Fix the annotations/);
  assert.ok(!empty.exists('artifacts/visualizations/sample500/subsets/test.txt'), 'an empty subset is not written');

  badConfig(workspace({ extra: "targets.push(subset({ dataset: data, split: 'test', count: 0 }).target);" }), /subset\(test\): `count` must be a whole number ≥ 1 \(got 0\); it is how many images the subset holds\./);
  badConfig(workspace({ extra: "targets.push(subset({ dataset: data, split: 'tset' }).target);" }), /subset\(\): the dataset has no split 'tset' \(it has 'train', 'val', 'test'\)\. Pass one of those as `split`, or add 'tset' to the dataset's `splits`\./);
});

test('vrExport and gradcam naming a variant or split the experiment or dataset lacks: config errors naming both', () => {
  badConfig(
    workspace({ extra: "targets.push(vrExport({ experiment: exps[0]!, dataset: data, split: 'val', variant: 'long', command: vr() }).target);" }),
    /vrExport\(a, val\): experiment 'a' has no variant 'long' \(it has 'smoke', 'full'\)\. Pass one of those as `variant`, or add 'long' to the experiment's `variants`\./,
  );
  badConfig(
    workspace({ extra: "const s = subset({ dataset: data, split: 'test' }); targets.push(...gradcam({ experiment: exps[1]!, dataset: data, split: 'test', variant: 'smok', command: saliency, subset: s }).targets);" }),
    /gradcam\(b, test\): experiment 'b' has no variant 'smok' \(it has 'smoke', 'full'\)\. Pass one of those as `variant`/,
  );
  // A split without a manifest would leave the export fresh when the split's images change.
  badConfig(
    workspace({ extra: "targets.push(vrExport({ experiment: exps[0]!, dataset: data, split: 'trainval', command: vr() }).target);" }),
    /vrExport\(a, trainval\): the dataset has no split 'trainval' \(it has 'train', 'val', 'test'\)\. Pass one of those as `split`/,
  );
});

// ---------------------------------------------------------------------------------------------
// experiment() and dataset() while the config loads

test('experiment(): a bad name, a bad variant or evaluation name, a split the dataset lacks', () => {
  badConfig(
    workspace({ exps: [['bad/name', 'configs/a.py']] }),
    /tasks\.config\.ts:\d+:\d+: error: experiment\(\): name "bad\/name" must be one path segment of letters, digits, '\.', '_' or '-', starting with a letter or digit \(it names artifacts\/work_dirs\/<name>\/ and the exp\/<name>\/… targets\); e\.g\. 'cfar_ca'\./,
  );
  badConfig(workspace({ exps: [['.hidden', 'configs/a.py']] }), /experiment\(\): name "\.hidden" must be one path segment/);
  badConfig(
    workspace({ expOpts: "variants: { '../b/full': { evals: [] } }" }),
    /experiment\(a\): the variant name "\.\.\/b\/full" must be one path segment of letters, digits, '\.', '_' or '-' \(it names artifacts\/work_dirs\/a\/<variant>\/\); e\.g\. 'smoke' or 'full'\./,
  );
  badConfig(
    workspace({ expOpts: "variants: { full: { evals: [{ name: 'eval', split: 'val', metrics: '../../b/full/val_metrics.json' }] } }" }),
    /experiment\(a\): an evaluation of variant 'full' has name "eval" and metrics "\.\.\/\.\.\/b\/full\/val_metrics\.json"; each must be one path segment/,
  );
  // Without the split's manifest as an input, the evaluation would stay fresh when its images change.
  badConfig(
    workspace({ expOpts: "variants: { full: { evals: [{ name: 'eval-trainval', split: 'trainval', metrics: 'trainval_metrics.json' }] } }" }),
    /experiment\(a\): the full evaluation 'eval-trainval' reads the split 'trainval', which the dataset does not have \(it has 'train', 'val', 'test'\)\. Use one of those, or add 'trainval' to the dataset's `splits`\./,
  );
  badConfig(
    workspace({ data: "dataset({ splits: ['val', 'test'], generate: { dir: 'data/mini', command: ['node', 'tools/gen.mjs', 'data/mini'] } })" }),
    /experiment\(a\): smoke training reads the split 'train', which the dataset does not have \(it has 'val', 'test'\)/,
  );
});

test('experiment(): a _base_ cycle and a syntax error in a config are config errors at the config\'s file:line:col', () => {
  const cycle = workspace();
  cycle.write('configs/_base_/runtime.py', "_base_ = '../b.py'\nseed = 0\n");
  badConfig(cycle, /^configs\/[^:]+\.py: error: RecursionError: config inheritance cycle: configs\/(b|_base_\/runtime)\.py -> configs\/(b|_base_\/runtime)\.py -> configs\/(b|_base_\/runtime)\.py/m);
  const self = workspace();
  self.write('configs/b.py', "_base_ = ['_base_/runtime.py', 'b.py']\n");
  badConfig(self, /config inheritance cycle: configs\/b\.py -> configs\/b\.py/);

  const syntax = workspace();
  syntax.write('configs/b.py', "_base_ = ['_base_/runtime.py']\nmodel = dict(type='X' depth=3)\n");
  const text = badConfig(syntax, /^configs\/b\.py:2:\d+: error: SyntaxError: .*\(the config of experiment 'b', evaluated by python3\)\. Fix the config at the location shown\.$/m);
  assert.doesNotMatch(text, /dist\/|\.js:\d+/, 'no sbuild frames');
  const inBase = workspace();
  inBase.write('configs/_base_/runtime.py', 'seed = 0\nfake_ap = [0.5\n');
  badConfig(inBase, /^configs\/_base_\/runtime\.py:2:\d+: error: SyntaxError: /m);
  // A backslash as the very last character, inside a string: an error, not a hang.
  const tail = workspace();
  tail.write('configs/b.py', "_base_ = ['_base_/runtime.py']\nwork_dir = 'runs\\");
  badConfig(tail, /^configs\/b\.py:2:\d+: error: SyntaxError: /m);
});

test('dataset: annotations that are null, or hold null entries, are listed as layout problems (no crash), nothing written', () => {
  for (const [mode, problems] of [
    ['null-json', ['Annotations/test\\.json lacks the COCO arrays images, annotations and categories']],
    ['null-entries', ['test: image undefined has a bad file_name undefined', 'test: an annotation is null, not an object']],
  ] as const) {
    const r = workspace({ gen: mode });
    const text = bad(run(r, ['dataset']), /✖ dataset: The dataset at data\/mini does not have the SARDet-100K layout \(Annotations\/<split>\.json in COCO format, JPEGImages\/<split>\/ holding every image they name\):\n/);
    for (const p of problems) assert.match(text, new RegExp(`\n {2}- ${p}\n`), mode);
    assert.deepEqual(r.exists('data/mini.manifest') ? fs.readdirSync(r.path('data/mini.manifest')) : [], [], `${mode}: no manifest written`);
  }
});

test('dataset(): neither SARDET_ROOT nor `generate` is a config error saying which to set', () => {
  badConfig(
    workspace({ data: 'dataset()' }),
    /tasks\.config\.ts:\d+:\d+: error: dataset\(\): \$SARDET_ROOT is not set and no `generate` command was given\. Set SARDET_ROOT to the folder holding Annotations\/ and JPEGImages\/, or pass `generate`\./,
  );
  badConfig(workspace({ data: "dataset({ envVar: 'MY_DATA' })" }), /dataset\(\): \$MY_DATA is not set and no `generate` command was given\. Set MY_DATA to the folder/);
});

// BadInputError's contract: "thrown by an action (or a rule) for bad input it found: the build
// reports the message as it is, without a stack". While the config loads, the place to fix is
// the config's line that called the rule, not a line of the rule library.
test('a rule\'s BadInputError while the config loads points at the config line that called it, without a stack', () => {
  const r = workspace({ data: 'dataset()' });
  const res = run(r, ['list']);
  assert.equal(res.code, 2);
  // The dataset() call is on line 3 of tasks.config.ts.
  assert.match(res.stderr, /^tasks\.config\.ts:3:\d+: error: /);
  assert.match(res.stderr, /dataset\(\): \$SARDET_ROOT is not set and no `generate` command was given\. Set SARDET_ROOT to the folder holding Annotations\/ and JPEGImages\/, or pass `generate`\./);
  assert.doesNotMatch(res.stderr, /\.\. /, 'one full stop');
  assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
});

/** A SARDet-100K-style dataset folder (outside the workspace). */
function externalDataset(dir: string, tag: string): void {
  for (const split of ['train', 'val', 'test']) {
    fs.mkdirSync(path.join(dir, 'JPEGImages', split), { recursive: true });
    fs.writeFileSync(path.join(dir, 'JPEGImages', split, 'x.png'), `${tag} ${split}`);
    fs.mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'Annotations', `${split}.json`), JSON.stringify({ images: [{ id: 1, file_name: 'x.png' }], annotations: [], categories: [{ id: 1, name: 'ship' }] }));
  }
}

test('dataset(): a real folder where the link goes is refused before anything runs (never deleted); relinking keeps both datasets', () => {
  const r = workspace({ data: 'dataset()' });
  const ext1 = r.path('../' + path.basename(r.dir) + '-ds1');
  const ext2 = r.path('../' + path.basename(r.dir) + '-ds2');
  externalDataset(ext1, 'one');
  externalDataset(ext2, 'two');
  try {
    // A copied dataset where the link would go.
    r.write('data/SARDet-100K/JPEGImages/train/precious.png', 'only copy');
    const text = bad(r.run(['dataset'], { SARDET_ROOT: ext1 }), /dataset\(\): data\/SARDet-100K already exists and is not a link, so linking \$SARDET_ROOT there would delete what it holds\. Move it out of the way \(e\.g\. `mv data\/SARDet-100K data\/SARDet-100K\.orig`\) and point SARDET_ROOT at it, or pass another `link` path\./, true);
    assert.doesNotMatch(text, /✔|▶/, 'nothing ran');
    assert.equal(r.read('data/SARDet-100K/JPEGImages/train/precious.png'), 'only copy', 'the folder is untouched');

    fs.rmSync(r.path('data'), { recursive: true });
    const res = r.run(['dataset'], { SARDET_ROOT: ext1 });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.equal(fs.readlinkSync(r.path('data/SARDet-100K')), ext1);
    const m1 = r.read('data/SARDet-100K.manifest/train.json');
    // Another dataset: the link is replaced, the first dataset keeps its files.
    const res2 = r.run(['dataset'], { SARDET_ROOT: ext2 });
    assert.equal(res2.code, 0, res2.stdout + res2.stderr);
    assert.equal(fs.readlinkSync(r.path('data/SARDet-100K')), ext2);
    assert.equal(fs.readFileSync(path.join(ext1, 'JPEGImages/train/x.png'), 'utf8'), 'one train');
    assert.notEqual(r.read('data/SARDet-100K.manifest/train.json'), m1, 'the manifests describe the new images');
  } finally {
    fs.rmSync(ext1, { recursive: true, force: true });
    fs.rmSync(ext2, { recursive: true, force: true });
  }
});

test('sbuild run from a subfolder reads the configs from the workspace root', () => {
  const r = workspace();
  const sub = (args: string[]) => {
    const x = spawnSync(process.execPath, [CLI, ...args], { cwd: r.path('configs/_base_'), encoding: 'utf8', env: { ...process.env, CI: '1', ...ENV } });
    return { code: x.status, stdout: x.stdout, stderr: x.stderr };
  };
  let res = sub(['list']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /exp\/a\/full\/train/);
  res = sub([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(r.exists(TABLE));
  r.takeRuns();
  // The same graph as from the root: nothing to do.
  assert.match(ok(r, []).stdout, /0 ran/);
});

// ---------------------------------------------------------------------------------------------
// materialize

test('materialize: a non-numeric cell, a missing row or table are refused per target, nothing written; CRLF tables read the same', () => {
  const r = workspace();
  ok(r, []);
  r.takeRuns();
  const val = 'artifacts/work_dirs/a/full/val_metrics.json';
  const original = r.read(val);
  const table = r.read(TABLE);
  fs.rmSync(r.path(val));

  // A CRLF checkout of the table (git autocrlf): the same bytes come back.
  r.write(TABLE, table.replace(/\n/g, '\r\n'));
  let res = run(r, ['materialize', 'exp/a/full/eval-val']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(r.read(val), original, 'byte-identical to what the evaluation wrote');
  fs.rmSync(r.path(val));

  r.write(TABLE, table.replace(/^(a\tfull\tfake\t2\t)0\.5\t/m, '$1n/a\t'));
  res = run(r, ['materialize', 'exp/a/**']);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stdout, /^not materialized {2}exp\/a\/full\/eval-val: artifacts\/experiments\/experiment_results\.tsv: the val_AP of a\/full is 'n\/a', not a number\. Fix that cell \(numbers as the table writes them, or empty\), or restore the table from git\.$/m);
  assert.match(res.stdout, /sbuild: materialized 0 target\(s\), 1 could not be/);
  assert.ok(!r.exists(val), 'nothing written');

  r.write(TABLE, table.replace(/^(a\tfull\tfake\t)2\t/m, '$1\t'));
  res = run(r, ['materialize', 'exp/a/full/eval-val']);
  assert.equal(res.code, 2);
  assert.match(res.stdout, /not materialized {2}exp\/a\/full\/eval-val: artifacts\/experiments\/experiment_results\.tsv has no val results for a\/full \(its val_images or val_AP cell is empty\)\. Build the evaluation instead: `sbuild exp\/a\/full\/eval-val`\./);

  fs.rmSync(r.path(TABLE));
  res = run(r, ['materialize', 'exp/a/full/eval-val']);
  assert.equal(res.code, 2);
  assert.match(res.stdout, /not materialized {2}exp\/a\/full\/eval-val: the results table artifacts\/experiments\/experiment_results\.tsv does not exist, so there is nothing to materialize artifacts\/work_dirs\/a\/full\/val_metrics\.json from\. Restore the committed table \(`git checkout -- artifacts\/experiments\/experiment_results\.tsv`\), or build the evaluation instead: `sbuild exp\/a\/full\/eval-val`\./);
  assert.ok(!r.exists(val), 'nothing written');
});
