// Inputs that change while their job runs (engine/input-guard.ts): the result is used by the
// build but not recorded nor cached, so the next build runs the target again instead of taking
// outputs made from other bytes as fresh; and a folder a sibling target writes in does not count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { collect, sh, useRigs, waitFor } from '../helpers/rig.js';

const rig = useRigs();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an input edited and reverted while the job read it: not recorded, run again by the next build', async () => {
  const r = rig();
  r.write('cfg.txt', 'lr=1\n');
  r.config(`{
    default: 'train',
    targets: [
      { name: 'train', inputs: ['cfg.txt'], outputs: ['out/model.txt'], run: ${JSON.stringify(sh('train', 'sleep 0.6; cat cfg.txt > out/model.txt; sleep 0.6'))} },
    ],
  }`);
  const child = r.spawn([]);
  const done = collect(child);
  await waitFor(() => r.exists('runs.log'));
  r.write('cfg.txt', 'lr=9\n'); // read by the job at 0.6 s
  await sleep(900);
  r.write('cfg.txt', 'lr=1\n'); // back as it was judged, before the job ends
  const res = await done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout + res.stderr, /train: cfg\.txt changed while it ran, so its outputs may not be what sbuild\.lock would record them as made from; they are not recorded nor cached, and the next build runs it again/);
  assert.equal(r.read('out/model.txt'), 'lr=9\n');
  assert.deepEqual(r.takeRuns(), ['train']);
  assert.ok(!r.exists('sbuild.lock') || JSON.parse(r.read('sbuild.lock')).targets.train === undefined, 'no lock entry vouches for it');
  // The next build: run again (nothing in the cache claims these bytes), right bytes, then fresh.
  const next = r.run([]);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(r.takeRuns(), ['train']);
  assert.equal(r.read('out/model.txt'), 'lr=1\n');
  assert.doesNotMatch(next.stdout + next.stderr, /changed while it ran/);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), []);
});

test('a file added to a globbed source folder and removed while the job ran: run again by the next build', async () => {
  const r = rig();
  r.write('m/a_metrics.json', '1\n');
  r.config(`{
    default: 'table',
    targets: [
      { name: 'table', inputs: ['m/*_metrics.json'], outputs: ['out/table.txt'], run: ${JSON.stringify(sh('table', 'sleep 0.6; cat m/*_metrics.json > out/table.txt; sleep 0.6'))} },
    ],
  }`);
  r.run([]);
  r.takeRuns();
  r.write('m/a_metrics.json', '2\n');
  const child = r.spawn([]);
  const done = collect(child);
  await waitFor(() => r.exists('runs.log'));
  r.write('m/b_metrics.json', '3\n');
  await sleep(900);
  fs.rmSync(r.path('m/b_metrics.json'));
  const res = await done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout + res.stderr, /table: m changed while it ran/);
  assert.equal(r.read('out/table.txt'), '2\n3\n');
  r.takeRuns();
  const next = r.run([]);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(r.takeRuns(), ['table']);
  assert.equal(r.read('out/table.txt'), '2\n');
});

test('a sibling writing its output into a folder a glob lists does not make the globbing target unrecorded', () => {
  const r = rig();
  r.write('res/a.json', '1\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'collect', inputs: ['res/*.json'], outputs: ['out/all.txt'], run: ${JSON.stringify(sh('collect', 'sleep 0.8; cat res/*.json > out/all.txt'))} },
      { name: 'log', inputs: [], outputs: ['res/run.log'], run: ${JSON.stringify(sh('log', 'sleep 0.2; echo hi > res/run.log'))} },
      { name: 'all', deps: ['collect', 'log'] },
    ],
  }`);
  const res = r.run(['-j', '2']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.doesNotMatch(res.stdout + res.stderr, /changed while it ran/);
  assert.deepEqual(r.takeRuns(), ['collect', 'log']);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), [], 'both recorded: nothing runs again');
});

test("an upstream's output edited by hand while a dependent's job read it: the dependent runs again once the output is restored", async () => {
  const r = rig();
  r.write('data.txt', 'clean\n');
  r.config(`{
    default: 'train',
    targets: [
      { name: 'prep', inputs: ['data.txt'], outputs: ['out/prep.txt'], run: ${JSON.stringify(sh('prep', 'cp data.txt out/prep.txt'))} },
      { name: 'train', inputs: ['out/prep.txt'], outputs: ['out/model.txt'], run: ${JSON.stringify(sh('train', 'sleep 0.6; cat out/prep.txt > out/model.txt; sleep 0.3'))} },
    ],
  }`);
  const child = r.spawn([]);
  const done = collect(child);
  await waitFor(() => r.exists('runs.log') && r.read('runs.log').includes('train'));
  fs.rmSync(r.path('out/prep.txt'));
  r.write('out/prep.txt', 'hand edit\n');
  const res = await done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout + res.stderr, /train: out\/prep\.txt changed while it ran/);
  assert.equal(r.read('out/model.txt'), 'hand edit\n');
  r.takeRuns();
  // prep's output comes back from the cache; train, made from the hand edit, runs again.
  const next = r.run([]);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.match(next.stdout, /↺ prep restored from cache/);
  assert.deepEqual(r.takeRuns(), ['train']);
  assert.equal(r.read('out/model.txt'), 'clean\n');
});
