// The demo's GPU jobs (evaluations, VR exports, saliency maps: tag gpu) on a real Slurm
// cluster while everything else runs here, as docs/CLUSTER.md describes: the release comes
// out the same as a local one, and a second run submits nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useClones } from '../helpers/clone.js';
import { REPO } from '../helpers/rig.js';
import { startSlurm, slurmAvailable, type SlurmCluster } from '../helpers/slurm.js';

const skip = slurmAvailable();
const freshClone = useClones();
let cluster: SlurmCluster;

before(async () => {
  if (!skip) cluster = await startSlurm({ gpus: 2 });
});
after(async () => {
  await cluster?.stop();
});

function release(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), 'release', '--json', ...args], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, ...cluster.env, CI: '1', SARDET_ROOT: '' }, timeout: 600_000,
  });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; name?: string; executor?: string });
  return { code: r.status, out: r.stdout + r.stderr, events };
}

test('npx sbuild release --slurm tag:gpu: GPU jobs on Slurm, the rest here, the same results', { skip, timeout: 900_000 }, () => {
  const dir = freshClone();
  let r = release(dir, ['--slurm', 'tag:gpu']);
  assert.equal(r.code, 0, r.out);
  const started = r.events.filter((e) => e.type === 'start');
  const onSlurm = started.filter((e) => e.executor === 'slurm').map((e) => e.name!);
  const here = started.filter((e) => e.executor !== 'slurm').map((e) => e.name!);
  // A fresh clone's evaluations match their committed metrics (fresh); its visualisations run, on Slurm.
  assert.ok(onSlurm.includes('vis/cfar_os/vr-val') && onSlurm.includes('vis/cfar_ca/gradcam-test'), onSlurm.join(' '));
  assert.ok(onSlurm.every((n) => /\/(eval|eval-val|eval-test|vr-\w+|gradcam-\w+)$/.test(n)), `only GPU-tagged jobs go to Slurm: ${onSlurm.join(' ')}`);
  assert.ok(here.includes('exp/cfar_ca/full/train') && here.includes('release/bundle'));
  // The job logs are Slurm's output files.
  assert.match(fs.readFileSync(path.join(dir, '.sbuild/logs/vis/cfar_os/vr-val.log'), 'utf8'), /# slurm job \d+ on /);
  // An evaluation asked for again runs on Slurm too, on the checkpoint trained here.
  const ev = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), 'exp/cfar_ca/full/eval-test', '-B', '--slurm', 'tag:gpu', '--json'], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, ...cluster.env, CI: '1', SARDET_ROOT: '' }, timeout: 600_000,
  });
  assert.equal(ev.status, 0, ev.stdout + ev.stderr);
  assert.ok(ev.stdout.split('\n').some((l) => l.startsWith('{') && JSON.parse(l).type === 'start' && JSON.parse(l).name === 'exp/cfar_ca/full/eval-test' && JSON.parse(l).executor === 'slurm'), ev.stdout);
  assert.match(fs.readFileSync(path.join(dir, '.sbuild/logs/exp/cfar_ca/full/eval-test.log'), 'utf8'), /# slurm job \d+ on /);
  // Same paper-facing results as the committed ones (built locally).
  for (const f of ['artifacts/experiments/experiment_results.tsv', 'artifacts/work_dirs/cfar_ca/full/test_metrics.json']) {
    assert.equal(fs.readFileSync(path.join(dir, f), 'utf8'), fs.readFileSync(path.join(REPO, f), 'utf8'), f);
  }
  const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.join(dir, 'artifacts/release/v0.1.0'), encoding: 'utf8' });
  assert.equal(sums.status, 0, sums.stdout + sums.stderr);
  r = release(dir, ['--slurm', 'tag:gpu']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.events.filter((e) => e.type === 'start'), [], 'nothing runs, nothing is submitted');
});
