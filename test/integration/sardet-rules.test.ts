// The SARDet rules driving MMDetection-style scripts (fakes that write what the real ones
// would, and log each run), on a linked dataset with the SARDet-100K layout: discovery of the
// `_base_` chain, per-split dataset manifests, the table and ledger, adoption, materialize,
// and each bad-input case of the dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

const TRAIN_PY = `import sys, hashlib, os
cfg = sys.argv[1]; wd = sys.argv[sys.argv.index('--work-dir') + 1]
open('runs.log', 'a').write('train %s %s\\n' % (os.path.basename(cfg), wd.split('/')[-1]))
os.makedirs(wd, exist_ok=True)
open(os.path.join(wd, 'latest.pth'), 'w').write(hashlib.sha256(open(cfg, 'rb').read()).hexdigest())
`;

const TEST_PY = `import sys, json, os
cfg, ckpt = sys.argv[1], sys.argv[2]
out = sys.argv[sys.argv.index('--out-metrics') + 1]; split = sys.argv[sys.argv.index('--split') + 1]
open('runs.log', 'a').write('test %s %s\\n' % (os.path.basename(cfg), split))
h = int(open(ckpt).read()[:4], 16)
images = len(json.load(open('data/SARDet-100K/Annotations/%s.json' % split))['images'])
ap = (h % 97 + 1) / 128
m = {'detector': 'fake', 'split': split, 'images': images, 'AP': ap, 'AP50': 0.5, 'AP75': 0.25,
     'per_class_AP': {'ship': ap, 'aircraft': None, 'car': 0.125, 'tank': None, 'bridge': None, 'harbor': None}}
open(out, 'w').write(json.dumps(m, indent=2) + '\\n')
`;

const CONFIG = `import { defineConfig } from 'sbuild';
import { dataset, experiment, mmdetRunner, resultsTable, ledger } from 'sbuild/rules';
const data = dataset();
const runner = mmdetRunner({ python: 'python3' });
const exps = ['a', 'b', 'c'].map((n) => experiment({ name: n, config: \`configs/exp_\${n}.py\`, dataset: data, runner }));
export default defineConfig({
  default: 'release',
  targets: [
    ...data.targets, ...exps.flatMap((e) => e.targets),
    resultsTable({ experiments: exps }), ledger({ experiments: exps }),
    { name: 'release', deps: ['results/table', 'results/ledger'] },
  ],
});
`;

/** A SARDet-100K-style dataset outside the workspace. */
function makeDataset(dir: string): void {
  for (const split of ['train', 'val', 'test']) {
    fs.mkdirSync(path.join(dir, 'JPEGImages', split), { recursive: true });
    const images = [1, 2].map((id) => ({ id, file_name: `${split}_${id}.png`, width: 8, height: 8 }));
    for (const im of images) fs.writeFileSync(path.join(dir, 'JPEGImages', split, im.file_name), `pixels of ${im.file_name}`);
    const annotations = images.map((im, i) => ({ id: i + 1, image_id: im.id, category_id: 1, bbox: [1, 1, 3, 3], area: 9, iscrowd: 0 }));
    fs.mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'Annotations', `${split}.json`), JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'ship' }] }));
  }
}

function workspace(): { r: Rig; ds: string; env: NodeJS.ProcessEnv } {
  const r = rig();
  const ds = fs.mkdtempSync(path.join(os.tmpdir(), 'sardet-'));
  makeDataset(ds);
  r.write('tools/train.py', TRAIN_PY);
  r.write('tools/test.py', TEST_PY);
  r.write('configs/_base_/default_runtime.py', "seed = 0\nlog_level = 'INFO'\n");
  r.write('configs/_base_/models/det.py', "_base_ = '../default_runtime.py'\nmodel = dict(type='Det', depth=50)\nload_from = 'weights/backbone.pth'\n");
  r.write('configs/exp_a.py', "_base_ = ['_base_/models/det.py']\nmodel = dict(depth=18)\n");
  r.write('configs/exp_b.py', "_base_ = '_base_/models/det.py'\n");
  r.write('configs/exp_c.py', "model = dict(type='Other')\n");
  r.write('weights/backbone.pth', 'pretrained');
  r.write('tasks.config.ts', CONFIG);
  return { r, ds, env: { SARDET_ROOT: ds } };
}

const jobs = (exp: string) => [`test exp_${exp}.py test`, `test exp_${exp}.py val`, `test exp_${exp}.py val`, `train exp_${exp}.py full`, `train exp_${exp}.py smoke`];

test('an MMDetection-style study: build, no-op, base edits stale exactly the heirs, data edits stale the evaluations', () => {
  const { r, ds, env } = workspace();
  let res = r.run([], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), [...jobs('a'), ...jobs('b'), ...jobs('c')].sort());
  assert.ok(fs.lstatSync(r.path('data/SARDet-100K')).isSymbolicLink());
  const manifest = JSON.parse(r.read('data/SARDet-100K.manifest/val.json'));
  assert.equal(manifest.images, 2);
  assert.match(manifest.images_tree_sha256, /^[0-9a-f]{64}$/);
  const tsv = r.read('artifacts/experiments/experiment_results.tsv').trimEnd().split('\n');
  assert.equal(tsv.length, 7);
  assert.deepEqual(tsv[0]!.split('\t').slice(0, 5), ['experiment', 'variant', 'detector', 'val_images', 'val_AP']);
  assert.deepEqual(tsv.slice(1).map((l) => l.split('\t').slice(0, 2).join('/')), ['a/smoke', 'a/full', 'b/smoke', 'b/full', 'c/smoke', 'c/full']);
  const md = r.read('artifacts/experiments/experiment_results.md');
  assert.match(md, /\| a \| full \| fake \|/);
  const book = r.read('artifacts/experiments/experiment.md');
  assert.match(book, /python3 tools\/train\.py configs\/exp_a\.py --work-dir artifacts\/work_dirs\/a\/smoke\n/);
  assert.match(book, /inherits: `configs\/_base_\/models\/det\.py`, `configs\/_base_\/default_runtime\.py`/);
  assert.match(book, /weights: `weights\/backbone\.pth`/);
  assert.ok(book.indexOf('### Smoke') < book.indexOf('### Full'));

  res = r.run([], env);
  assert.equal(res.code, 0);
  assert.deepEqual(r.takeRuns(), []);

  // The grandparent base: a and b inherit it, c does not.
  r.write('configs/_base_/default_runtime.py', "seed = 1\nlog_level = 'INFO'\n");
  res = r.run([], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), [...jobs('a'), ...jobs('b')].sort());

  // The pretrained weights named by load_from are an input of training (evaluations read the
  // checkpoint; these fakes' checkpoints do not depend on the weights, so they are cut off).
  r.write('weights/backbone.pth', 'pretrained v2');
  assert.equal(r.run([], env).code, 0);
  assert.deepEqual(r.takeRuns(), ['train exp_a.py full', 'train exp_a.py smoke', 'train exp_b.py full', 'train exp_b.py smoke']);

  // One val image changes: every evaluation on val reruns, no training, no test evaluation.
  fs.writeFileSync(path.join(ds, 'JPEGImages', 'val', 'val_1.png'), 'other pixels');
  res = r.run([], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['test exp_a.py val', 'test exp_a.py val', 'test exp_b.py val', 'test exp_b.py val', 'test exp_c.py val', 'test exp_c.py val']);

  // Same bytes written again: nothing.
  fs.writeFileSync(path.join(ds, 'JPEGImages', 'val', 'val_1.png'), 'other pixels');
  assert.equal(r.run([], env).code, 0);
  assert.deepEqual(r.takeRuns(), []);
});

test('a migrated repository adopts its results; then only what changes reruns', () => {
  const { r, env } = workspace();
  assert.equal(r.run([], env).code, 0);
  r.takeRuns();
  // As if the results had been made by hand-run scripts: no lock, no cache.
  fs.rmSync(r.path('sbuild.lock'));
  fs.rmSync(r.path('.sbuild'), { recursive: true });
  let res = r.run(['-n'], env);
  assert.match(res.stdout, /exp\/a\/full\/train/);
  res = r.run(['adopt', 'release'], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /^adopted  exp\/a\/full\/train$/m);
  assert.match(res.stdout, /adopted 19, already fresh 0, not adopted 0/);
  res = r.run(['-n'], env);
  assert.equal(res.code, 0);
  assert.doesNotMatch(res.stdout + res.stderr, /train|eval/);
  assert.equal(r.run([], env).code, 0);
  assert.deepEqual(r.takeRuns(), []);
  r.write('configs/exp_b.py', "_base_ = '_base_/models/det.py'\nmodel = dict(depth=34)\n");
  assert.equal(r.run([], env).code, 0);
  assert.deepEqual(r.takeRuns(), jobs('b').sort());
});

test('adopt refuses targets whose outputs are not on disk, naming them', () => {
  const { r, env } = workspace();
  const res = r.run(['adopt', 'exp/a/full/eval-val'], env);
  assert.equal(res.code, 2);
  assert.match(res.stdout, /^not adopted  dataset\/source: output 'data\/SARDet-100K' is missing$/m);
  assert.match(res.stdout, /^not adopted  exp\/a\/full\/eval-val: input 'artifacts\/work_dirs\/a\/full\/latest\.pth', 'data\/SARDet-100K\.manifest\/val\.json' are missing$/m);
  assert.match(res.stderr, /could not be adopted because files they read or write do not exist/);
});

test('materialize writes missing metrics JSONs back from the table, byte for byte', () => {
  const { r, env } = workspace();
  assert.equal(r.run([], env).code, 0);
  r.takeRuns();
  const files = ['artifacts/work_dirs/a/smoke/smoke_metrics.json', 'artifacts/work_dirs/a/full/val_metrics.json', 'artifacts/work_dirs/a/full/test_metrics.json'];
  const before = files.map((f) => r.read(f));
  for (const f of files) fs.rmSync(r.path(f));
  let res = r.run(['materialize'], env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /materialized  exp\/a\/full\/eval-val → artifacts\/work_dirs\/a\/full\/val_metrics\.json/);
  assert.match(res.stdout, /materialized 3 target\(s\)/);
  assert.deepEqual(files.map((f) => r.read(f)), before);
  res = r.run(['status', '--exit-code'], env);
  assert.equal(res.code, 0, res.stdout);
  assert.equal(r.run([], env).code, 0);
  assert.deepEqual(r.takeRuns(), []);

  // A row the table does not have: a clear message, exit 2, nothing written.
  fs.rmSync(r.path(files[1]!));
  r.write('artifacts/experiments/experiment_results.tsv', r.read('artifacts/experiments/experiment_results.tsv').split('\n').filter((l) => !l.startsWith('a\tfull')).join('\n'));
  res = r.run(['materialize', 'exp/a/**'], env);
  assert.equal(res.code, 2);
  assert.match(res.stdout, /not materialized  exp\/a\/full\/eval-val: artifacts\/experiments\/experiment_results\.tsv has no row for experiment 'a', variant 'full'\./);
  assert.ok(!r.exists(files[1]!));
});

test('a bad dataset layout is reported with its first problems, exit 2', () => {
  const { r, ds, env } = workspace();
  fs.rmSync(path.join(ds, 'Annotations', 'test.json'));
  fs.writeFileSync(path.join(ds, 'Annotations', 'val.json'), '{"images": [');
  fs.rmSync(path.join(ds, 'JPEGImages', 'train', 'train_2.png'));
  const res = r.run(['dataset'], env);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  const out = res.stdout + res.stderr;
  assert.match(out, /The dataset at data\/SARDet-100K \(SARDET_ROOT=.*\) does not have the SARDet-100K layout/);
  assert.match(out, /- train: image 2 points at JPEGImages\/train\/train_2\.png, which does not exist/);
  assert.match(out, /- Annotations\/val\.json is not readable JSON/);
  assert.match(out, /- missing Annotations\/test\.json/);
  assert.ok(!r.exists('data/SARDet-100K.manifest/train.json'));
  assert.ok(!r.exists('data/SARDet-100K'), 'a broken dataset is not linked');
});

test('SARDET_ROOT that is not a folder, and a config whose base is missing (it blocks only its experiment)', () => {
  const { r, ds } = workspace();
  let res = r.run(['dataset'], { SARDET_ROOT: path.join(ds, 'nope') });
  assert.equal(res.code, 2);
  assert.match(res.stdout + res.stderr, /\$SARDET_ROOT is '.*nope', which is not a folder\. Point SARDET_ROOT at the SARDet-100K folder/);
  r.write('configs/exp_c.py', "_base_ = '_base_/missing.py'\n");
  res = r.run(['list'], { SARDET_ROOT: ds });
  assert.equal(res.code, 0, res.stderr);
  res = r.run(['exp/c/full/train'], { SARDET_ROOT: ds });
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /blocked: missing input 'configs\/_base_\/missing\.py' of target 'exp\/c\/full\/train'/);
});
