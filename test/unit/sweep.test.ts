// sweep(): one experiment per grid point, named NAME@key=value,…, its settings in every job's
// --cfg-options and in its fingerprint (the merged config param), read by Python as usual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/rig.js';
import { sweep, experiment, demoRunner } from '../../rules/index.js';

test('sweep over two keys: four experiments, each with its settings in its commands and params', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-sweep-'));
  try {
    fs.cpSync(path.join(REPO, 'configs'), path.join(root, 'configs'), { recursive: true });
    const base = { name: 'cfar_os', config: 'configs/sardet_mini/cfar_os.py', runner: demoRunner(), root };
    const exps = sweep(base, { 'model.pfa': [1e-3, 1e-2], 'model.guard': [4, 5] });
    assert.deepEqual(exps.map((e) => e.name), ['cfar_os@model.guard=4,model.pfa=0.001', 'cfar_os@model.guard=4,model.pfa=0.01', 'cfar_os@model.guard=5,model.pfa=0.001', 'cfar_os@model.guard=5,model.pfa=0.01']);
    const e = exps[1]!;
    assert.deepEqual(e.overrides, { 'model.guard': 4, 'model.pfa': 0.01 });
    const train = e.variants.full!.train;
    assert.equal(train.name, 'exp/cfar_os@model.guard=4,model.pfa=0.01/full/train');
    assert.deepEqual((train.run as string[]).slice(-3), ['--cfg-options', 'model.guard=4', 'model.pfa=0.01']);
    assert.equal(train.outputs![0], 'artifacts/work_dirs/cfar_os@model.guard=4,model.pfa=0.01/full/checkpoint.json');
    assert.deepEqual(train.params!.overrides, { 'model.guard': 4, 'model.pfa': 0.01 });
    // The merged config in the fingerprint holds the settings: each point has its own.
    const plain = experiment(base).variants.full!.train.params!.config;
    const configs = new Set([plain, ...exps.map((x) => x.variants.full!.train.params!.config)]);
    assert.equal(configs.size, 5);
    assert.throws(() => sweep(base, { 'model.pfa': [] }), /the grid must map each config key to a non-empty list of values/);
    assert.throws(() => sweep(base, { 'model.gaurd': [4] }).map((x) => x.variants.full!.train.run), /sets model\.gaurd, which the merged config of configs\/sardet_mini\/cfar_os\.py does not have/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
