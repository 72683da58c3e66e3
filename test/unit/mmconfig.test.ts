import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readMmConfig, MmConfigError, parseConfig } from '../../rules/mmconfig.js';

/** Writes files into a fresh temp folder; returns its path. */
function workspace(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-mmconfig-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

function throwsStarting(fn: () => unknown, start: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MmConfigError, `expected an MmConfigError, got ${String(e)}`);
    assert.ok(e.message.startsWith(start), `message ${JSON.stringify(e.message)} should start with ${JSON.stringify(start)}`);
    return true;
  });
}

test('literals: numbers, strings, constants, lists, tuples, dicts, dict() calls, comments, continuation', () => {
  const { values } = parseConfig(
    [
      '# a comment',
      "a = 1  # trailing comment",
      'b = -2.5',
      'c = 1e-3',
      "d = 'it\\'s'",
      'e = "tab\\there"',
      "f = r'C:\\dir'",
      'g = (True, False, None,)',
      "h = [1, [2, 3], {'k': 'v', 'n': 4,},",
      '     dict(x=1, y=(2, 3)),',
      ']',
      "i = dict(type='CACFAR',  # inside brackets",
      '         pfa=1e-4)',
      "j = 'con' 'cat'",
      'k = 0x10',
      'l = .5',
      'm = 1_000',
      'n = \\',
      '    7',
      'o = """multi',
      'line"""',
    ].join('\n'),
    'x.py',
  );
  assert.deepEqual(values, {
    a: 1,
    b: -2.5,
    c: 0.001,
    d: "it's",
    e: 'tab\there',
    f: 'C:\\dir',
    g: [true, false, null],
    h: [1, [2, 3], { k: 'v', n: 4 }, { x: 1, y: [2, 3] }],
    i: { type: 'CACFAR', pfa: 1e-4 },
    j: 'concat',
    k: 16,
    l: 0.5,
    m: 1000,
    n: 7,
    o: 'multi\nline',
  });
});

test('three levels of inheritance with list bases: merge order, dict merge, _delete_, chain, weights', () => {
  const root = workspace({
    'configs/_base_/runtime.py': "seed = 0\nlog = dict(level='INFO', every=10)\nload_from = None\n",
    'configs/_base_/data.py': "_base_ = './runtime.py'\ndata_root = 'data/a/'\nlog = dict(every=5)\nshared = 'data'\n",
    'configs/_base_/model.py':
      "model = dict(type='CACFAR', guard=2, window=8, head=dict(a=1, b=2))\n" +
      "checkpoint = 'artifacts/weights/prior.json'\nshared = 'model'\n",
    'configs/exp/cfar.py':
      "_base_ = ['../_base_/data.py', '../_base_/model.py']\n" +
      "model = dict(window=12, head=dict(_delete_=True, c=3), backbone=dict(init_cfg=dict(checkpoint='torchvision://x')))\n" +
      "seed = 7\n",
  });
  const cfg = readMmConfig('configs/exp/cfar.py', root);
  assert.equal(cfg.file, 'configs/exp/cfar.py');
  assert.deepEqual(cfg.chain, [
    'configs/exp/cfar.py',
    'configs/_base_/data.py',
    'configs/_base_/runtime.py',
    'configs/_base_/model.py',
  ]);
  assert.deepEqual(cfg.values, {
    seed: 7, // the child overrides every base
    log: { level: 'INFO', every: 5 }, // dicts merge recursively down the chain
    load_from: null,
    data_root: 'data/a/',
    shared: 'model', // a later base overrides an earlier one
    model: {
      type: 'CACFAR',
      guard: 2,
      window: 12,
      head: { c: 3 }, // _delete_ replaces, and the key itself is dropped
      backbone: { init_cfg: { checkpoint: 'torchvision://x' } },
    },
    checkpoint: 'artifacts/weights/prior.json',
  });
  assert.deepEqual(cfg.weights, ['artifacts/weights/prior.json', 'torchvision://x']);
  assert.ok(!('_base_' in cfg.values));

  // Absolute paths work without a root; the chain then keeps them absolute.
  const abs = readMmConfig(path.join(root, 'configs/exp/cfar.py'));
  assert.equal(abs.chain[1], path.join(root, 'configs/_base_/data.py').split(path.sep).join('/'));
});

test('a base reached twice (diamond) is read once and is not a cycle', () => {
  const root = workspace({
    'a.py': "_base_ = ['b.py', 'c.py']\n",
    'b.py': "_base_ = 'd.py'\nx = 'b'\n",
    'c.py': "_base_ = 'd.py'\ny = 'c'\n",
    'd.py': "x = 'd'\ny = 'd'\nz = 'd'\n",
  });
  const cfg = readMmConfig('a.py', root);
  assert.deepEqual(cfg.chain, ['a.py', 'b.py', 'd.py', 'c.py']);
  // c's merged values (d's x included) come after b's: the later base wins, as everywhere.
  assert.deepEqual(cfg.values, { x: 'd', y: 'c', z: 'd' });
});

test('_delete_ at the top of a value and a dict replacing a non-dict', () => {
  const root = workspace({
    'base.py': "model = dict(type='A', p=1)\nopt = 'sgd'\n",
    'ok.py': "_base_ = 'base.py'\nmodel = dict(_delete_=True, type='B')\nopt = dict(_delete_=True, lr=0.1)\n",
    'bad.py': "_base_ = 'base.py'\nopt = dict(lr=0.1)\n",
  });
  assert.deepEqual(readMmConfig('ok.py', root).values, { model: { type: 'B' }, opt: { lr: 0.1 } });
  throwsStarting(() => readMmConfig('bad.py', root), "bad.py: 'opt' is a dict here but a string in its base; add _delete_=True");
});

test('errors: missing config, missing base, cycle, unsupported syntax', () => {
  const root = workspace({
    'configs/missing_base.py': "x = 1\n_base_ = ['../_base_/nope.py']\n",
    'configs/a.py': "_base_ = 'b.py'\n",
    'configs/b.py': "_base_ = ['c.py']\n",
    'configs/c.py': "_base_ = 'a.py'\n",
    'configs/self.py': "_base_ = 'self.py'\n",
    'configs/import.py': 'import os\n',
    'configs/expr.py': 'a = 1 + 2\n',
    'configs/ref.py': "x = 1\ny = dict(a=x)\n",
    'configs/call.py': "y = list((1, 2))\n",
    'configs/attr.py': "model.x = 1\n",
    'configs/unclosed.py': "model = dict(a=1,\n  b=[2, 3\n",
    'configs/badbase.py': '_base_ = 3\n',
    'configs/fstr.py': "x = f'{a}'\n",
    'configs/indent.py': 'x = 1\n  y = 2\n',
    'configs/repeat.py': 'x = dict(a=1, a=2)\n',
    'configs/mismatch.py': 'x = [1, 2)\n',
  });
  const read = (f: string) => () => readMmConfig(f, root);
  throwsStarting(read('configs/none.py'), 'config file not found: configs/none.py');
  throwsStarting(read('configs/missing_base.py'), "configs/missing_base.py:2:11: base config '../_base_/nope.py' not found (resolved to _base_/nope.py)");
  throwsStarting(read('configs/a.py'), 'config inheritance cycle: configs/a.py -> configs/b.py -> configs/c.py -> configs/a.py');
  throwsStarting(read('configs/self.py'), 'config inheritance cycle: configs/self.py -> configs/self.py');
  throwsStarting(read('configs/import.py'), "configs/import.py:1:1: unsupported syntax: imports are not supported (found 'import')");
  throwsStarting(read('configs/expr.py'), "configs/expr.py:1:7: unsupported syntax: expressions are not supported, only literal values (found '+')");
  throwsStarting(read('configs/ref.py'), "configs/ref.py:2:12: unsupported syntax: name 'x' refers to another variable");
  throwsStarting(read('configs/call.py'), "configs/call.py:1:5: unsupported syntax: call of 'list' (only dict(...) is supported)");
  throwsStarting(read('configs/attr.py'), "configs/attr.py:1:6: unsupported syntax: expected '=' after 'model'");
  throwsStarting(read('configs/unclosed.py'), "configs/unclosed.py:2:5: unsupported syntax: '[' is never closed");
  throwsStarting(read('configs/badbase.py'), 'configs/badbase.py:1:10: _base_ must be a string or a list of strings');
  throwsStarting(read('configs/fstr.py'), 'configs/fstr.py:1:5: unsupported syntax: f-strings are not supported');
  throwsStarting(read('configs/indent.py'), 'configs/indent.py:2:3: unsupported syntax: unexpected indentation');
  throwsStarting(read('configs/repeat.py'), "configs/repeat.py:1:15: keyword argument 'a' repeated in dict(...)");
  throwsStarting(read('configs/mismatch.py'), "configs/mismatch.py:1:10: unsupported syntax: expected ',' or ']' after a value, found ')'");
});
