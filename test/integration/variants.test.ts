// Experiment variants on the demo (`sbuild exp/NAME/** -S key=value`): the variant runs once,
// with the setting reaching its jobs; the same request again runs nothing, and restores from the
// cache what was deleted; the results table and ledger get its rows; `explain` shows the
// setting; a typo in a key is refused before anything is recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useClones } from '../helpers/clone.js';

const freshClone = useClones();

interface Events {
  code: number;
  ran: string[];
  restored: string[];
  stdout: string;
  stderr: string;
}

function sbuild(dir: string, args: string[]): Events {
  const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', SARDET_ROOT: '' } });
  const events = args.includes('--json') ? r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; name?: string }) : [];
  return {
    code: r.status ?? -1,
    ran: events.filter((e) => e.type === 'done').map((e) => e.name!).sort(),
    restored: events.filter((e) => e.type === 'restored').map((e) => e.name!).sort(),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

const V = 'cfar_os@model.guard=4';
const variantTargets = ['full/eval-test', 'full/eval-val', 'full/train', 'smoke/eval', 'smoke/train'].map((t) => `exp/${V}/${t}`);

test('-S on the demo: a variant runs once, restores when asked again, has its table row, and explain shows the setting', () => {
  const dir = freshClone();
  const p = (rel: string) => path.join(dir, rel);
  // The upstream (tool bundle, dataset, prior) and the experiment as configured, first.
  let r = sbuild(dir, ['exp/cfar_os/**', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);

  r = sbuild(dir, ['exp/cfar_os/**', '-S', 'model.guard=4', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.ran, variantTargets);
  assert.deepEqual(JSON.parse(fs.readFileSync(p('sbuild.variants.json'), 'utf8')), { variants: [{ name: V, experiment: 'cfar_os', set: { 'model.guard': 4 } }] });
  // The setting reached the jobs: the checkpoint was calibrated with it, the base's without.
  const ckpt = (e: string) => JSON.parse(fs.readFileSync(p(`artifacts/work_dirs/${e}/full/checkpoint.json`), 'utf8')) as { params: { guard: number } };
  assert.equal(ckpt(V).params.guard, 4);
  assert.equal(ckpt('cfar_os').params.guard, 5);
  const metrics = (e: string) => fs.readFileSync(p(`artifacts/work_dirs/${e}/full/val_metrics.json`), 'utf8');
  assert.notEqual(metrics(V), metrics('cfar_os'));

  // The same request: nothing to do. Its outputs deleted: restored from the cache, nothing run.
  r = sbuild(dir, ['exp/cfar_os/**', '-S', 'model.guard=4', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual([r.ran, r.restored], [[], []]);
  const before = metrics(V);
  fs.rmSync(p(`artifacts/work_dirs/${V}`), { recursive: true });
  r = sbuild(dir, ['exp/cfar_os/**', '-S', 'model.guard=4', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.ran, []);
  assert.deepEqual(r.restored, variantTargets);
  assert.equal(metrics(V), before);
  // By its own name, without -S, it is a target like any other.
  r = sbuild(dir, [`exp/${V}/**`, '--json']);
  assert.deepEqual([r.code, r.ran, r.restored], [0, [], []]);

  // The table and the ledger: the variant's rows under its experiment, numbers from its metrics.
  r = sbuild(dir, ['results/table', 'results/ledger', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const rows = fs.readFileSync(p('artifacts/experiments/experiment_results.tsv'), 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(rows.map((c) => `${c[0]}/${c[1]}`).slice(1), ['global_threshold/smoke', 'global_threshold/full', 'cfar_ca/smoke', 'cfar_ca/full', 'cfar_os/smoke', 'cfar_os/full', `${V}/smoke`, `${V}/full`]);
  const m = JSON.parse(before) as { AP: number; AP50: number };
  const head = rows[0]!;
  const full = rows.find((c) => c[0] === V && c[1] === 'full')!;
  assert.deepEqual([full[head.indexOf('val_AP')], full[head.indexOf('val_AP50')]], [String(m.AP), String(m.AP50)]);
  const ledger = fs.readFileSync(p('artifacts/experiments/experiment.md'), 'utf8');
  assert.match(ledger, new RegExp(`^## ${V.replace(/[.@=]/g, '\\$&')}$`, 'm'));
  assert.match(ledger, /--cfg-options model\.guard=4$/m);

  // explain names the setting, in the params and in the command.
  r = sbuild(dir, ['explain', `exp/${V}/full/train`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ {2}overrides = \{"model\.guard":4\}$/m);
  assert.match(r.stdout, /^command: exec: node dist\/demo\/sardet\.mjs calibrate .* --cfg-options model\.guard=4$/m);

  // A typo in a key: exit 2, the keys the config has, nothing recorded or run.
  const file = fs.readFileSync(p('sbuild.variants.json'), 'utf8');
  r = sbuild(dir, ['exp/cfar_os/full/**', '-S', 'model.gaurd=4', '--json']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /the variant 'cfar_os@model\.gaurd=4' of experiment 'cfar_os' sets model\.gaurd, which the merged config of configs\/sardet_mini\/cfar_os\.py does not have \(model has type, test_cell, guard, window, rank, pfa, min_area, max_area, dilate\)\. Fix the key/);
  assert.equal(fs.readFileSync(p('sbuild.variants.json'), 'utf8'), file);
  assert.equal(fs.existsSync(p('artifacts/work_dirs/cfar_os@model.gaurd=4')), false);
  // Not an experiment's target: refused, naming it.
  r = sbuild(dir, ['results/table', '-S', 'model.guard=3']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /the selection 'results\/table' names 'results\/table', which is not an experiment's target/);
});

test('-S on one run of an experiment: the variant has that run only, and --name names it', () => {
  const dir = freshClone();
  let r = sbuild(dir, ['exp/cfar_os/full/**', '-S', 'model.guard=4', '--name', 'os_g4', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.ran.filter((n) => n.startsWith('exp/')), ['exp/cfar_os/full/eval-test', 'exp/cfar_os/full/eval-val', 'exp/cfar_os/full/train'].map((n) => n.replace('cfar_os', 'os_g4')));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'sbuild.variants.json'), 'utf8')), { variants: [{ name: 'os_g4', experiment: 'cfar_os', set: { 'model.guard': 4 }, only: ['full'] }] });
  // The same settings without --name: the recorded variant again, not a second copy of its work.
  r = sbuild(dir, ['exp/cfar_os/full/**', '-S', 'model.guard=4', '--json']);
  assert.deepEqual([r.code, r.ran, r.restored], [0, [], []]);
  // The smoke run added later: the variant now has both runs.
  r = sbuild(dir, ['exp/cfar_os/smoke/**', '-S', 'model.guard=4', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.ran.filter((n) => n.startsWith('exp/')), ['exp/os_g4/smoke/eval', 'exp/os_g4/smoke/train']);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'sbuild.variants.json'), 'utf8')).variants[0].only, undefined);
  // A name taken by other settings is refused.
  r = sbuild(dir, ['exp/cfar_os/full/**', '-S', 'model.guard=3', '--name', 'os_g4']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--name os_g4: sbuild\.variants\.json has a variant of that name with other settings \(cfar_os with model\.guard=4\)/);
});
