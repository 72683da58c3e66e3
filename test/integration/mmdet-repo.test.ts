// sbuild on a repository laid out like real MMDetection research code: configs that are
// ordinary Python, evaluated by Python; fingerprints of the merged config's values (a comment
// reruns nothing, a value reruns exactly its heirs); pretrain → fine-tune edges through
// `load_from`; weights outside the workspace; missing files that block only their users;
// Python errors at the user's line; smoke runs made small with --cfg-options; `sbuild init`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

// Fakes of tools/train.py and tools/test.py: log each run, write what the real ones would.
// The checkpoint depends on the config's bytes, the weights it loads and the cfg-options.
const TRAIN_PY = `import sys, hashlib, os
cfg = sys.argv[1]; wd = sys.argv[sys.argv.index('--work-dir') + 1]
opts = sys.argv[sys.argv.index('--cfg-options') + 1:] if '--cfg-options' in sys.argv else []
epochs = 12
for o in opts:
    if o.startswith('train_cfg.max_epochs='): epochs = int(o.split('=')[1])
open('runs.log', 'a').write('train %s %s\\n' % (os.path.basename(cfg), ' '.join(opts)))
src = open(cfg, 'rb').read()
for line in src.decode().splitlines():
    if line.startswith('load_from = '):
        w = os.path.expanduser(eval(line.split('=', 1)[1]))
        src += open(w, 'rb').read()
os.makedirs(wd, exist_ok=True)
open(os.path.join(wd, 'epoch_%d.pth' % epochs), 'w').write(hashlib.sha256(src + repr(opts).encode()).hexdigest())
`;

const TEST_PY = `import sys, json, os
cfg, ckpt = sys.argv[1], sys.argv[2]
out = sys.argv[sys.argv.index('--out-metrics') + 1]; split = sys.argv[sys.argv.index('--split') + 1]
open('runs.log', 'a').write('test %s %s\\n' % (os.path.basename(cfg), split))
h = int(open(ckpt).read()[:4], 16)
json.dump({'AP': (h % 97) / 97, 'split': split}, open(out, 'w'))
`;

const CONFIG = `import { defineConfig } from 'sbuild';
import { experiment, mmdetRunner } from 'sbuild/rules';
const runner = mmdetRunner({ checkpoint: 'epoch_{train_cfg.max_epochs}.pth' });
const workDir = { full: 'work_dirs/{name}', smoke: 'work_dirs/smoke/{name}' };
const names = ['pretrain_sar', 'finetune_sar', 'frcnn_a', 'frcnn_b', 'retina'];
const exps = names.map((name) => experiment({ name, config: \`configs/sar/\${name}.py\`, runner, workDir }));
export default defineConfig({ targets: [...exps.flatMap((e) => e.targets), { name: 'all', deps: exps.flatMap((e) => e.targets.map((t) => t.name)) }], default: 'all' });
`;

function workspace(): { r: Rig; ext: string } {
  const r = rig();
  const ext = fs.mkdtempSync(path.join(os.tmpdir(), 'shared-storage-'));
  fs.writeFileSync(path.join(ext, 'epoch_100.pth'), 'weights trained elsewhere');
  r.write('tools/train.py', TRAIN_PY);
  r.write('tools/test.py', TEST_PY);
  r.write('configs/_base_/default_runtime.py', "default_scope = 'mmdet'\nload_from = None\nbackend_args = None\n");
  r.write('configs/_base_/schedule_1x.py', "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)\n");
  r.write(
    'configs/_base_/models/faster-rcnn_r50_fpn.py',
    [
      'num_stages = 1',
      'model = dict(',
      "    type='FasterRCNN',",
      "    backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN', requires_grad=True)),",
      "    roi_head=dict(bbox_head=[dict(type='Shared2FCBBoxHead', num_classes=80, idx=i) for i in range(num_stages)]))",
    ].join('\n') + '\n',
  );
  r.write(
    'configs/_base_/datasets/sar.py',
    [
      "data_root = 'data/SAR/'",
      "train_dataloader = dict(batch_size=2, dataset=dict(type='CocoDataset', data_root=data_root, ann_file=data_root + 'train.json', backend_args={{_base_.backend_args}}))",
      "val_dataloader = dict(dataset=dict(type='CocoDataset', data_root=data_root, ann_file=data_root + 'val.json'))",
      'test_dataloader = val_dataloader',
    ].join('\n') + '\n',
  );
  // The datasets base reads backend_args from its own base.
  r.write('configs/_base_/datasets/sar.py', "_base_ = '../default_runtime.py'\n" + r.read('configs/_base_/datasets/sar.py'));
  const frcnn = (extra: string) =>
    `_base_ = ['../_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/sar.py', '../_base_/schedule_1x.py']\nnum_class = 6\nmodel = dict(roi_head=dict(bbox_head=[dict(num_classes=num_class)]))\n${extra}`;
  r.write('configs/sar/pretrain_sar.py', frcnn(''));
  r.write('configs/sar/finetune_sar.py', frcnn("load_from = 'work_dirs/pretrain_sar/epoch_12.pth'\n"));
  r.write('configs/sar/frcnn_a.py', frcnn(`load_from = '${path.join(ext, 'epoch_100.pth')}'\n`));
  r.write('configs/sar/frcnn_b.py', frcnn("optim_wrapper = dict(optimizer=dict(lr=0.02 * 2))\n"));
  r.write('configs/sar/retina.py', "_base_ = ['../_base_/datasets/sar.py', '../_base_/schedule_1x.py']\nmodel = dict(type='RetinaNet', bbox_head=dict(num_classes=6))\n");
  r.write('tasks.config.ts', CONFIG);
  return { r, ext };
}

/** The five jobs of one experiment, as the fakes log them (sorted like takeRuns). */
const jobs = (cfg: string) =>
  [`test ${cfg}.py test`, `test ${cfg}.py val`, `test ${cfg}.py val`, `train ${cfg}.py `, `train ${cfg}.py train_cfg.max_epochs=1 train_dataloader.dataset.indices=16 val_dataloader.dataset.indices=16`];
const all = (...cfgs: string[]) => cfgs.flatMap(jobs).sort();

test('value-level fingerprints: a comment reruns nothing, a value reruns exactly the heirs, explain names the key', () => {
  const { r } = workspace();
  let res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), all('pretrain_sar', 'finetune_sar', 'frcnn_a', 'frcnn_b', 'retina'));
  assert.ok(r.exists('work_dirs/pretrain_sar/epoch_12.pth') && r.exists('work_dirs/smoke/retina/epoch_1.pth'));
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), []);

  // Comments, blank lines and reordered keys in a base that four experiments inherit: no training.
  r.write('configs/_base_/models/faster-rcnn_r50_fpn.py', '# ResNet-50 FPN\n\n' + r.read('configs/_base_/models/faster-rcnn_r50_fpn.py').replace("type='ResNet', depth=50", "depth=50,  type='ResNet'").replace('num_stages = 1', 'num_stages = 1  # one head'));
  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), []);

  // A value moved from one file into another that every user also reads, unchanged: nothing either.
  r.write('configs/_base_/default_runtime.py', "default_scope = 'mmdet'\nload_from = None\n");
  r.write('configs/_base_/datasets/sar.py', r.read('configs/_base_/datasets/sar.py').replace("data_root = 'data/SAR/'", "data_root = 'data/SAR/'\nbackend_args = None").replace('{{_base_.backend_args}}', 'backend_args'));
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), []);

  // A value: the depth of the backbone. Exactly the four Faster R-CNN heirs retrain; retina does not.
  r.write('configs/_base_/models/faster-rcnn_r50_fpn.py', r.read('configs/_base_/models/faster-rcnn_r50_fpn.py').replace('depth=50', 'depth=101'));
  res = r.run(['explain', 'exp/frcnn_b/full/train']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /config changed: model\.backbone\.depth: 50 → 101/);
  assert.match(res.stdout, /config = "values:[0-9a-f]{64}"  \(the merged config, by content\)/);
  assert.match(res.stdout, /inputs \(1\):\n\s+[0-9a-f]{12}\s+tools\/train\.py/);
  const json = JSON.parse(r.run(['explain', 'exp/frcnn_b/full/train', '--json']).stdout);
  assert.deepEqual(json.reasons[0].changes, [{ key: 'model.backbone.depth', old: 50, new: 101 }]);
  assert.deepEqual(Object.keys(json.inputs), ['tools/train.py']);
  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), all('pretrain_sar', 'finetune_sar', 'frcnn_a', 'frcnn_b'));
});

test('pretrain → fine-tune: load_from naming another experiment\'s checkpoint is an edge', () => {
  const { r } = workspace();
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  const g = JSON.parse(r.run(['graph', '--format', 'json']).stdout) as { edges: Array<{ from: string; to: string }>; nodes: Array<{ name: string; inputs: string[]; params: Record<string, unknown> }> };
  assert.ok(g.edges.some((e) => e.from === 'exp/pretrain_sar/full/train' && e.to === 'exp/finetune_sar/full/train'));
  assert.ok(g.edges.some((e) => e.from === 'exp/pretrain_sar/full/train' && e.to === 'exp/finetune_sar/smoke/train'));
  const ft = g.nodes.find((n) => n.name === 'exp/finetune_sar/full/train')!;
  assert.deepEqual(ft.inputs, ['tools/train.py', 'work_dirs/pretrain_sar/epoch_12.pth']);
  assert.match(String(ft.params.config), /^values:[0-9a-f]{64}$/);

  // The pretrain's config: both retrain (the fine-tune loads the new checkpoint).
  r.write('configs/sar/pretrain_sar.py', r.read('configs/sar/pretrain_sar.py') + 'train_cfg = dict(val_interval=2)\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), all('pretrain_sar', 'finetune_sar'));
  // The fine-tune's config: only it.
  r.write('configs/sar/finetune_sar.py', r.read('configs/sar/finetune_sar.py') + 'train_cfg = dict(val_interval=3)\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), all('finetune_sar'));
});

test('weights outside the workspace: their bytes retrain their users; deleted, they block only them', () => {
  const { r, ext } = workspace();
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  const weights = path.join(ext, 'epoch_100.pth');
  fs.writeFileSync(weights, 'weights trained elsewhere, v2');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), all('frcnn_a'));

  let res = r.run(['list', '--inputs']);
  assert.equal(res.code, 0);
  assert.ok(res.stdout.includes(`    input  ${weights}  (outside the workspace)`));

  fs.rmSync(weights);
  r.write('configs/sar/frcnn_b.py', r.read('configs/sar/frcnn_b.py') + 'seed = 3\n');
  res = r.run(['list']);
  assert.equal(res.code, 0, res.stderr);
  res = r.run(['status']);
  assert.match(res.stdout, new RegExp(`blocked exp/frcnn_a/full/train — missing input ${weights.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(nothing produces it\\)`));
  assert.match(res.stdout, /, 2 blocked/);
  res = r.run(['exp/frcnn_a/full/train']);
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /blocked: missing input '.*epoch_100\.pth' of target 'exp\/frcnn_a\/full\/train'/);
  assert.deepEqual(r.takeRuns(), []);
  res = r.run(['-k']);
  assert.equal(res.code, 1);
  assert.deepEqual(r.takeRuns(), all('frcnn_b'), 'with -k everything else builds');
});

test('errors point at the user\'s config: a NameError is exit 2 with file:line; a missing base blocks only its experiment', () => {
  const { r } = workspace();
  r.write('configs/sar/frcnn_b.py', "_base_ = ['../_base_/models/faster-rcnn_r50_fpn.py']\nmodel = dict(\n    roi_head=dict(num_classes=num_class))\n");
  let res = r.run(['list']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^configs\/sar\/frcnn_b\.py:3(:\d+)?: error: NameError: name 'num_class' is not defined \(the config of experiment 'frcnn_b', evaluated by python3\)\. Fix the config at the location shown\.\n$/);
  assert.doesNotMatch(res.stderr, /dist\/|at .*\.js/);

  r.write('configs/sar/frcnn_b.py', "_base_ = ['../_base_/models/gone.py']\n");
  res = r.run(['list']);
  assert.equal(res.code, 0, res.stderr);
  res = r.run(['status', 'exp/frcnn_b/full/train']);
  assert.match(res.stdout, /blocked exp\/frcnn_b\/full\/train — missing input configs\/_base_\/models\/gone\.py/);
  res = r.run(['-k']);
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /blocked: missing input 'configs\/_base_\/models\/gone\.py'/);
  assert.deepEqual(r.takeRuns(), all('pretrain_sar', 'finetune_sar', 'frcnn_a', 'retina'));
});

test('train jobs read the train script, evaluations the test script', () => {
  const { r } = workspace();
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  r.write('tools/test.py', TEST_PY + '# faster\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['pretrain_sar', 'finetune_sar', 'frcnn_a', 'frcnn_b', 'retina'].flatMap((c) => jobs(c).filter((j) => j.startsWith('test'))).sort());
});

test('sbuild init writes a tasks.config.ts of every leaf config in the repository layout, and never overwrites it', () => {
  const { r } = workspace();
  fs.rmSync(r.path('tasks.config.ts'));
  let res = r.run(['init']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /wrote tasks\.config\.ts: 5 experiment\(s\) from configs\//);
  const text = r.read('tasks.config.ts');
  for (const n of ['pretrain_sar', 'finetune_sar', 'frcnn_a', 'frcnn_b', 'retina']) assert.ok(text.includes(`${n}: "configs/sar/${n}.py"`), n);
  assert.doesNotMatch(text, /default_runtime|schedule_1x/);
  res = r.run(['list']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /exp\/finetune_sar\/full\/train/);
  const g = JSON.parse(r.run(['graph', '--format', 'json']).stdout) as { edges: Array<{ from: string; to: string }> };
  assert.ok(g.edges.some((e) => e.from === 'exp/pretrain_sar/full/train' && e.to === 'exp/finetune_sar/full/train'), 'the repository layout makes the fine-tune edge');
  const before = r.read('tasks.config.ts');
  res = r.run(['init']);
  assert.match(res.stdout, /already exists; left as it is/);
  assert.equal(r.read('tasks.config.ts'), before);
});

test('custom_imports: repository modules the config imports are inputs by content; installed packages are not', () => {
  const { r } = workspace();
  r.write('sar_ext/__init__.py', '');
  r.write('sar_ext/necks.py', 'class SARFPN:\n    pass\n');
  r.write('configs/sar/retina.py', r.read('configs/sar/retina.py') + "custom_imports = dict(imports=['sar_ext.necks', 'mmdet.models'], allow_failed_imports=False)\n");
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  const g = JSON.parse(r.run(['graph', '--format', 'json']).stdout) as { nodes: Array<{ name: string; inputs: string[] }> };
  assert.deepEqual(g.nodes.find((n) => n.name === 'exp/retina/full/train')!.inputs, ['tools/train.py', 'sar_ext/__init__.py', 'sar_ext/necks.py']);
  r.write('sar_ext/necks.py', 'class SARFPN:\n    out_channels = 256\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), all('retina'));
});
