// MMEngine configs evaluated by Python (rules/mmconfig/evaluate.py through rules/mmconfig.ts):
// every form real repositories use, MMEngine's merge rules, errors at the user's line, one
// Python start per batch, and the cache that makes an unchanged tree cost no Python start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readMmConfig, readMmConfigs, MmConfigError, type MmConfig, type PyValue } from '../../rules/mmconfig.js';
import { mmconfigCacheDir } from '../../src/engine/state-paths.js';
import { recordConfigReads } from '../../src/config/reads.js';

/** Writes files into a fresh temp folder; returns its path. */
function workspace(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-mmconfig-'));
  for (const [rel, text] of Object.entries(files)) write(root, rel, text);
  return root;
}

function write(root: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

/** An interpreter that logs each start to `<root>/python-starts.log`, then runs python3. */
function countingPython(root: string): { python: string; starts: () => number } {
  const log = path.join(root, 'python-starts.log');
  const python = path.join(root, 'counting-python');
  fs.writeFileSync(python, `#!/bin/sh\necho start >> '${log}'\nexec python3 "$@"\n`, { mode: 0o755 });
  return { python, starts: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

/**
 * Each change makes the next read evaluate once more (its values as `want` says), and the
 * read after that is cached again. Python has started once before the first step.
 */
function eachEvaluatedOnce(steps: Array<[string, () => void, Record<string, PyValue>]>, read: () => Record<string, PyValue>, starts: () => number): void {
  let expected = 1;
  for (const [what, change, want] of steps) {
    change();
    const got = read();
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${what}: ${k}`);
    assert.equal(starts(), ++expected, `${what}: evaluated again`);
    read();
    assert.equal(starts(), expected, `${what}: then cached`);
  }
}

function fails(fn: () => unknown, check: { message: RegExp; location?: string | RegExp; missing?: string }): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MmConfigError, `expected an MmConfigError, got ${String(e)}`);
    assert.match(e.message, check.message);
    if (check.location instanceof RegExp) assert.match(e.location ?? '', check.location);
    else if (check.location !== undefined) assert.equal(e.location, check.location);
    assert.equal(e.missing, check.missing);
    return true;
  });
}

test('ordinary Python: variables, arithmetic, concatenation, [x] * n, comprehensions, dict(**a), f-strings, imports', () => {
  const root = workspace({
    'configs/py.py': [
      'import os.path as osp',
      'num_class = 6',
      "data_root = 'data/SARDet/'",
      'num_stages = 3',
      'backend_args = None',
      'common = dict(type="Norm", eps=1e-5)',
      'model = dict(',
      "    type='CascadeRCNN',",
      '    roi_head=dict(',
      '        num_stages=num_stages,',
      '        stage_loss_weights=[1] * num_stages,',
      "        bbox_head=[dict(type='Head', num_classes=num_class, idx=i) for i in range(num_stages)]),",
      '    norm=dict(**common, requires_grad=True),',
      '    scale=1.0 / 9.0)',
      "train = dict(ann_file=data_root + 'train/', img=osp.join(data_root, 'img'), backend_args=backend_args)",
      "name = f'frcnn_{num_class}cls'",
      'del common',
    ].join('\n'),
  });
  const c = readMmConfig('configs/py.py', root);
  assert.deepEqual(c.values.model, {
    type: 'CascadeRCNN',
    roi_head: {
      num_stages: 3,
      stage_loss_weights: [1, 1, 1],
      bbox_head: [0, 1, 2].map((idx) => ({ type: 'Head', num_classes: 6, idx })),
    },
    norm: { type: 'Norm', eps: 1e-5, requires_grad: true },
    scale: 1 / 9,
  });
  assert.deepEqual(c.values.train, { ann_file: 'data/SARDet/train/', img: 'data/SARDet/img', backend_args: null });
  assert.equal(c.values.name, 'frcnn_6cls');
  assert.ok(!('osp' in c.values), 'a module imported at the top is not a config value');
  assert.deepEqual(c.chain, ['configs/py.py']);
});

test('three levels of _base_ (string, list, tuple), {{_base_.x}}, {{fileDirname}}, _delete_, weights', () => {
  const root = workspace({
    'configs/_base_/runtime.py': "seed = 0\nlog = dict(level='INFO', every=10)\nload_from = None\n",
    'configs/_base_/data.py': "_base_ = ('./runtime.py',)\ndata_root = 'data/a/'\nlog = dict(every=5)\ntrain_pipeline = [dict(type='Load'), dict(type='Flip', p=0.5)]\n",
    'configs/_base_/model.py': "model = dict(type='CACFAR', guard=2, window=8, head=dict(a=1, b=2))\ncheckpoint = 'artifacts/weights/prior.json'\n",
    'configs/exp/cfar.py': [
      "_base_ = ['../_base_/data.py', '../_base_/model.py']",
      "model = dict(window=12, head=dict(_delete_=True, c=3), backbone=dict(init_cfg=dict(checkpoint='torchvision://x')))",
      'pipeline = {{_base_.train_pipeline}}',
      "here = '{{fileDirname}}'",
      "stem = '{{fileBasenameNoExtension}}'",
      'seed = 7',
    ].join('\n'),
  });
  const c = readMmConfig('configs/exp/cfar.py', root);
  assert.equal(c.file, 'configs/exp/cfar.py');
  assert.deepEqual([...c.chain].sort(), ['configs/_base_/data.py', 'configs/_base_/model.py', 'configs/_base_/runtime.py', 'configs/exp/cfar.py']);
  assert.equal(c.chain[0], 'configs/exp/cfar.py');
  assert.equal(c.values.seed, 7);
  assert.deepEqual(c.values.log, { level: 'INFO', every: 5 });
  assert.deepEqual(c.values.model, { type: 'CACFAR', guard: 2, window: 12, head: { c: 3 }, backbone: { init_cfg: { checkpoint: 'torchvision://x' } } });
  assert.deepEqual(c.values.pipeline, [{ type: 'Load' }, { type: 'Flip', p: 0.5 }]);
  assert.equal(c.values.here, path.join(root, 'configs/exp'));
  assert.equal(c.values.stem, 'cfar');
  assert.deepEqual(c.weights, ['artifacts/weights/prior.json', 'torchvision://x']);
  assert.ok(!('_base_' in c.values));
});

test('new-style configs: read_base() imports of other configs, lazy third-party imports, .update() merging', () => {
  const root = workspace({
    'configs/_base_/__init__.py': '',
    'configs/__init__.py': '',
    'configs/_base_/schedule.py': 'max_epochs = 12\ntrain_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=1)\n',
    'configs/_base_/model.py': 'from mmdet.models import FasterRCNN\nmodel = dict(type=FasterRCNN, roi_head=dict(num_classes=80, loss=dict(w=1.0)))\n',
    'configs/frcnn_sar.py': [
      'from mmengine.config import read_base',
      'with read_base():',
      '    from ._base_.schedule import *',
      '    from ._base_.model import *',
      'from torch.optim import SGD',
      'model.update(dict(roi_head=dict(num_classes=6)))',
      'optim_wrapper = dict(optimizer=dict(type=SGD, lr=0.02))',
      'train_cfg.update(max_epochs=24)',
    ].join('\n'),
  });
  const c = readMmConfig('configs/frcnn_sar.py', root);
  assert.deepEqual(c.values.model, { type: 'mmdet.models.FasterRCNN', roi_head: { num_classes: 6, loss: { w: 1 } } });
  assert.deepEqual(c.values.optim_wrapper, { optimizer: { type: 'torch.optim.SGD', lr: 0.02 } });
  assert.equal((c.values.train_cfg as Record<string, unknown>).max_epochs, 24);
  assert.ok(c.chain.includes('configs/_base_/schedule.py') && c.chain.includes('configs/_base_/model.py'));
});

test('errors: the Python error at the user line; a missing base is reported as missing; dict over a non-dict', () => {
  const root = workspace({
    'configs/name.py': "num_classes = 6\nmodel = dict(\n    head=dict(num_classes=num_class))\n",
    'configs/syntax.py': 'model = dict(a=1,,)\n',
    'configs/missing_base.py': "x = 1\n_base_ = ['../_base_/nope.py']\n",
    'configs/base.py': "opt = 'sgd'\n",
    'configs/over.py': "_base_ = 'base.py'\nopt = dict(lr=0.1)\n",
    'configs/ok.py': "_base_ = 'base.py'\nopt = dict(_delete_=True, lr=0.1)\n",
  });
  const read = (f: string) => () => readMmConfig(f, root);
  fails(read('configs/name.py'), { message: /^NameError: name 'num_class' is not defined/, location: /^configs\/name\.py:3(:\d+)?$/ });
  fails(read('configs/syntax.py'), { message: /^SyntaxError: /, location: /^configs\/syntax\.py:1(:\d+)?$/ });
  fails(read('configs/missing_base.py'), { message: /nope\.py/, location: /^configs\/missing_base\.py:2/, missing: '_base_/nope.py' });
  fails(read('configs/over.py'), { message: /^TypeError: .*opt.*_delete_=True/ });
  assert.deepEqual(readMmConfig('configs/ok.py', root).values, { opt: { lr: 0.1 } });
  fails(read('configs/none.py'), { message: /none\.py/, missing: 'configs/none.py' });
  // A package base whose package is not installed in the interpreter: the package, the interpreter, the fix.
  write(root, 'configs/pkg.py', "_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'\n");
  fails(read('configs/pkg.py'), { message: /^ModuleNotFoundError: the base config 'mmdet::_base_\/models\/faster-rcnn_r50_fpn\.py' names the package 'mmdet', which is not installed in .*; install it there or copy the base config into the repository/, location: /^configs\/pkg\.py:1/ });
});

test('a batch is one Python start; an unchanged tree is none; an edit re-evaluates only what read the file', () => {
  const root = workspace({
    'configs/_base_/model.py': "model = dict(type='A', depth=50)\n",
    'configs/a.py': "_base_ = '_base_/model.py'\n",
    'configs/b.py': "_base_ = '_base_/model.py'\nmodel = dict(depth=18)\n",
    'configs/c.py': "model = dict(type='C')\n",
  });
  const { python, starts } = countingPython(root);
  const files = ['configs/a.py', 'configs/b.py', 'configs/c.py'];
  const load = () => readMmConfigs(files, { root, python }) as MmConfig[];
  const first = load();
  assert.equal(starts(), 1, 'three configs, one Python process');
  assert.deepEqual(first.map((c) => c.values.model), [{ type: 'A', depth: 50 }, { type: 'A', depth: 18 }, { type: 'C' }]);
  const again = load();
  assert.equal(starts(), 1, 'nothing changed: answered from .sbuild/mmconfig without Python');
  assert.deepEqual(again.map((c) => c.digest), first.map((c) => c.digest));

  // A comment in the base: re-evaluated (its bytes changed), same values, same digests.
  fs.appendFileSync(path.join(root, 'configs/_base_/model.py'), '# a comment\n');
  const commented = load();
  assert.equal(starts(), 2);
  assert.deepEqual(commented.map((c) => c.digest), first.map((c) => c.digest));
  // A value in the base: a and b change, c (which does not read it) keeps its digest.
  write(root, 'configs/_base_/model.py', "model = dict(type='A', depth=101)\n");
  const edited = load();
  assert.equal(starts(), 3);
  assert.notEqual(edited[0]!.digest, first[0]!.digest);
  assert.equal(edited[1]!.digest, first[1]!.digest, 'b overrides depth itself');
  assert.equal(edited[2]!.digest, first[2]!.digest);
  // Key order does not matter to the digest.
  write(root, 'configs/c.py', "model = dict(type='C')\n\n\n");
  assert.equal((load()[2] as MmConfig).digest, first[2]!.digest);
});

test('an environment variable the config consults is part of the cache key', () => {
  const root = workspace({ 'configs/env.py': "data_root = '{{$SBUILD_TEST_DATA:data/default/}}'\n" });
  const { python, starts } = countingPython(root);
  const read = () => readMmConfig('configs/env.py', root, { python });
  delete process.env.SBUILD_TEST_DATA;
  assert.equal(read().values.data_root, 'data/default/');
  assert.equal(read().values.data_root, 'data/default/');
  assert.equal(starts(), 1);
  process.env.SBUILD_TEST_DATA = '/mnt/sar/';
  try {
    assert.equal(read().values.data_root, '/mnt/sar/');
    assert.equal(starts(), 2);
  } finally {
    delete process.env.SBUILD_TEST_DATA;
  }
});

test('a missing interpreter is one clear error', () => {
  const root = workspace({ 'a.py': 'x = 1\n' });
  fails(() => readMmConfig('a.py', root, { python: 'no-such-python-3.99' }), { message: /the Python interpreter 'no-such-python-3\.99' was not found/ });
});

test('a cache entry that is truncated, random or empty is evaluated again, never trusted', () => {
  const root = workspace({ 'configs/_base_/m.py': "model = dict(depth=50)\n", 'configs/a.py': "_base_ = '_base_/m.py'\n" });
  const { python, starts } = countingPython(root);
  const read = () => readMmConfig('configs/a.py', root, { python });
  const want = read();
  const dir = mmconfigCacheDir(root);
  const [entry] = fs.readdirSync(dir);
  const file = path.join(dir, entry!);
  const good = fs.readFileSync(file);
  const damage: Array<[string, Buffer]> = [
    ['truncated', good.subarray(0, Math.floor(good.length / 2))],
    ['random', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 256))],
    ['empty', Buffer.alloc(0)],
    // Well-formed JSON whose recorded hash does not match the file once its stat moved (touch):
    // the file is hashed again and the entry is not trusted.
    ['lying', Buffer.from(good.toString().replace(/"[0-9a-f]{64}"/, `"${'0'.repeat(64)}"`))],
    // Well-formed JSON with a stamp whose stat is not numbers.
    ['malformed', Buffer.from(good.toString().replace(/,"\d+",/, ',"soon",'))],
  ];
  let expected = starts();
  for (const [what, bytes] of damage) {
    fs.writeFileSync(file, bytes);
    if (what === 'lying') {
      const t = new Date(Date.now() - 5000);
      fs.utimesSync(path.join(root, 'configs/a.py'), t, t);
    }
    const again = read();
    assert.equal(again.digest, want.digest, what);
    assert.equal(starts(), ++expected, `${what}: evaluated again`);
  }
});

test('a config saved while Python evaluates it is evaluated again: the cache never pairs the new bytes with the old result', () => {
  // The config rewrites itself while it is evaluated, as an editor saving during a build would.
  const rewrite = "open('configs/x.py', 'w').write('lr = 0.2\\n')\n";
  const root = workspace({ 'configs/x.py': `lr = 0.1\n${rewrite}` });
  const { python, starts } = countingPython(root);
  const read = () => readMmConfig('configs/x.py', root, { python });
  assert.equal(read().values.lr, 0.1, 'what the evaluation read');
  assert.equal(fs.readFileSync(path.join(root, 'configs/x.py'), 'utf8'), 'lr = 0.2\n');
  assert.equal(read().values.lr, 0.2, 'the saved config, not the result of the bytes it replaced');
  assert.equal(starts(), 2);
  assert.equal(read().values.lr, 0.2);
  assert.equal(starts(), 2, 'evaluated undisturbed: cached');
});

test('a file the config tried to open, missing then, makes the result stale when it appears; so do paths it checked', async () => {
  const root = workspace({
    'configs/x.py': [
      'import os',
      'from pathlib import Path',
      'try:',
      "    extra = open('configs/extra.txt').read().strip()",
      'except FileNotFoundError:',
      "    extra = 'none'",
      "local = os.path.exists('configs/local.py')",
      "has_data = os.path.isdir('data')",
      "has_split = Path('data/split.json').is_file()",
    ].join('\n'),
    'data/keep': '',
  });
  const { python, starts } = countingPython(root);
  const read = () => readMmConfig('configs/x.py', root, { python }).values;
  const reads = new Set<string>();
  const first = await recordConfigReads(reads, async () => read());
  assert.deepEqual(first, { extra: 'none', local: false, has_data: true, has_split: false, Path: 'pathlib.Path' });
  for (const p of ['configs/extra.txt', 'configs/local.py', 'data', 'data/split.json']) assert.ok(reads.has(path.join(root, p)), `watch is told about ${p}`);
  assert.equal(read().extra, 'none');
  assert.equal(starts(), 1, 'nothing appeared: cached');

  const steps: Array<[string, () => void, Record<string, PyValue>]> = [
    ['the opened file appears', () => write(root, 'configs/extra.txt', 'yes\n'), { extra: 'yes' }],
    ['an existence check turns true', () => write(root, 'configs/local.py', ''), { local: true }],
    ['a checked folder goes', () => fs.rmSync(path.join(root, 'data'), { recursive: true }), { has_data: false }],
    ['a checked file appears', () => write(root, 'data/split.json', '{}'), { has_data: true, has_split: true }],
  ];
  eachEvaluatedOnce(steps, read, starts);
});

test('a folder the config lists makes the result stale when its entries change, not when a file in it does', async () => {
  const root = workspace({
    'configs/x.py': [
      'import glob',
      'import os',
      'from pathlib import Path',
      "classes = sorted(os.listdir('data/classes'))",
      "splits = sorted(os.path.basename(p) for p in glob.glob('data/splits/*.json'))",
      "runs = sorted(p.name for p in Path('runs').iterdir())",
    ].join('\n'),
    'data/classes/ship': '',
    'data/splits/train.json': '{}',
    'runs/r1/x': '',
  });
  const { python, starts } = countingPython(root);
  const read = () => readMmConfig('configs/x.py', root, { python }).values;
  const reads = new Set<string>();
  const listed = new Set<string>();
  const first = await recordConfigReads(reads, async () => read(), listed);
  assert.deepEqual([first.classes, first.splits, first.runs], [['ship'], ['train.json'], ['r1']]);
  assert.deepEqual([...listed].sort(), ['data/classes', 'data/splits', 'runs'].map((p) => path.join(root, p)), 'watch is told which folders were listed');
  read();
  assert.equal(starts(), 1, 'nothing changed: cached');
  // New bytes in a listed folder's file: the listing is the same.
  write(root, 'data/splits/train.json', '{"a": 1}');
  read();
  assert.equal(starts(), 1, 'a file edited in a listed folder: still cached');
  const steps: Array<[string, () => void, string, PyValue]> = [
    ['an entry added to a listed folder', () => write(root, 'data/classes/plane', ''), 'classes', ['plane', 'ship']],
    ['a file matching the glob added', () => write(root, 'data/splits/val.json', '{}'), 'splits', ['train.json', 'val.json']],
    ['a folder removed from an iterated one', () => fs.rmSync(path.join(root, 'runs/r1'), { recursive: true }), 'runs', []],
  ];
  eachEvaluatedOnce(steps.map(([what, change, key, want]) => [what, change, { [key]: want }]), read, starts);
});

test('a file the evaluation writes and reads back is its own, not an input: the result is cached', () => {
  const root = workspace({ 'configs/x.py': "import os\nopen('scratch.txt', 'w').write('7')\nn = int(open('scratch.txt').read())\nos.remove('scratch.txt')\n" });
  const { python, starts } = countingPython(root);
  assert.equal(readMmConfig('configs/x.py', root, { python }).values.n, 7);
  assert.equal(readMmConfig('configs/x.py', root, { python }).values.n, 7);
  assert.equal(starts(), 1);
});

test('a file whose stat cannot vouch for what was read (dated in the future) is evaluated each time, never cached', () => {
  const root = workspace({ 'configs/x.py': 'lr = 0.1\n' });
  const { python, starts } = countingPython(root);
  const file = path.join(root, 'configs/x.py');
  const read = () => readMmConfig('configs/x.py', root, { python }).values.lr;
  // A write within the same timestamp tick would leave such a stat unchanged.
  const future = new Date(Date.now() + 60_000);
  fs.utimesSync(file, future, future);
  assert.equal(read(), 0.1);
  assert.equal(read(), 0.1);
  assert.equal(starts(), 2, 'not cached');
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(file, past, past);
  read();
  read();
  assert.equal(starts(), 3, 'old enough: cached');
});
