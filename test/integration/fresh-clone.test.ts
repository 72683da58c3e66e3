// DESIGN "Staleness 5": a clone with sbuild.lock and the tracked small outputs but no
// checkpoints (and no .sbuild/) runs nothing whose recorded inputs still match; a missing
// intermediate is produced only when something that must run needs it, or when asked for.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Rig, sh, useRigs } from '../helpers/rig.js';

const rig = useRigs();

/** data → {a,b}/train (checkpoint, untracked) → {a,b}/eval (metrics, tracked) → table (tracked). */
function workspace(): Rig {
  const r = rig();
  r.write('raw.txt', 'raw\n');
  r.write('configs/a.py', 'lr=1\n');
  r.write('configs/b.py', 'lr=2\n');
  const exp = (e: string) => `
      { name: '${e}/train', inputs: ['configs/${e}.py', 'data/ds.txt'], outputs: ['work_dirs/${e}/model.ckpt'], resources: { gpu: 1 }, cpuFallback: true,
        run: ${JSON.stringify(sh(`${e}/train`, `cat configs/${e}.py data/ds.txt > work_dirs/${e}/model.ckpt`))} },
      { name: '${e}/eval', inputs: ['work_dirs/${e}/model.ckpt'], outputs: ['work_dirs/${e}/val_metrics.json'],
        run: ${JSON.stringify(sh(`${e}/eval`, `wc -c < work_dirs/${e}/model.ckpt > work_dirs/${e}/val_metrics.json`))} },`;
  r.config(`{
    default: 'release',
    targets: [
      { name: 'data', inputs: ['raw.txt'], outputs: ['data/ds.txt'], run: ${JSON.stringify(sh('data', 'cp raw.txt data/ds.txt'))} },
      ${exp('a')}
      ${exp('b')}
      { name: 'table', inputs: ['work_dirs/**/*_metrics.json'], outputs: ['results.tsv'], run: ${JSON.stringify(sh('table', 'cat work_dirs/*/val_metrics.json > results.tsv'))} },
      { name: 'release', deps: ['table'] },
    ],
  }`);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['a/eval', 'a/train', 'b/eval', 'b/train', 'data', 'table']);
  // The clone: keep what git tracks (lock, configs, metrics, table); drop data, checkpoints, .sbuild.
  for (const p of ['.sbuild', 'data', 'work_dirs/a/model.ckpt', 'work_dirs/b/model.ckpt']) fs.rmSync(r.path(p), { recursive: true });
  return r;
}

test('nothing runs for release in a clone whose recorded inputs match', () => {
  const r = workspace();
  const dry = r.run(['--dry-run']);
  assert.match(dry.stdout, /dry run: 0 would run/);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), []);
  assert.match(res.stdout, /0 ran, 6 fresh/);
  assert.ok(!r.exists('work_dirs/a/model.ckpt'), 'no checkpoint was recreated');
  assert.match(r.run(['status']).stdout, /^missing a\/train — output work_dirs\/a\/model\.ckpt is missing$/m);
  // The CI guard: what the release needs matches its record; absent checkpoints do not fail it.
  const guard = r.run(['status', '--exit-code', 'release']);
  assert.equal(guard.code, 0, guard.stdout);
  assert.match(guard.stdout, /6 fresh, 0 stale, 0 missing/);
  r.write('configs/a.py', 'lr=9\n');
  assert.equal(r.run(['status', '--exit-code', 'release']).code, 1, 'a changed config fails the guard');
  r.write('configs/a.py', 'lr=1\n');
});

test('a changed config retrains only its experiment (producing the missing dataset it needs first)', () => {
  const r = workspace();
  r.write('configs/b.py', 'lr=33\n');
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['b/eval', 'b/train', 'data', 'table']);
  assert.match(res.stdout, /▶ data — output data\/ds\.txt is missing \(\+1 more\)/);
  assert.ok(!r.exists('work_dirs/a/model.ckpt'), 'experiment a was not retrained');
  assert.equal(r.read('results.tsv'), '9\n10\n');
});

test('a missing intermediate is produced when asked for by name, or needed by a dependent that must run', () => {
  const r = workspace();
  r.run(['a/train']);
  assert.deepEqual(r.takeRuns(), ['a/train', 'data']);
  assert.equal(r.read('work_dirs/a/model.ckpt'), 'lr=1\nraw\n');
  fs.rmSync(r.path('work_dirs/a/val_metrics.json'));
  r.run([]);
  assert.deepEqual(r.takeRuns(), [], 'release does not need the deleted metrics: the table still matches its record');
  r.run(['a/eval']);
  assert.deepEqual(r.takeRuns(), ['a/eval'], 'asked for by name, it is rebuilt from the existing checkpoint');
  // A rerun that needs a missing checkpoint gets it from the cache when the cache has it.
  fs.rmSync(r.path('work_dirs/a/model.ckpt'));
  r.write('work_dirs/a/val_metrics.json', 'tampered\n');
  const res = r.run(['a/eval']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), []);
  assert.match(res.stdout, /↺ a\/eval restored from cache/);
  fs.rmSync(r.path('.sbuild/cache'), { recursive: true });
  fs.rmSync(r.path('work_dirs/a/model.ckpt'), { force: true });
  r.write('configs/a.py', 'lr=11\n');
  const res2 = r.run(['b/eval', 'a/eval']);
  assert.equal(res2.code, 0, res2.stdout + res2.stderr);
  assert.deepEqual(r.takeRuns(), ['a/eval', 'a/train']);
});
