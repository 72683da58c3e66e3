// Detached Slurm on a real single-node Slurm (Debian's slurm-wlm, started by the test on
// 127.0.0.1): `--detach` submits and exits; `status` shows the job; a second `--detach`
// submits nothing; any later sbuild attaches to the job, records it and builds what depends
// on it. A build killed while it waits loses nothing either. Each job appends its name to
// runs.log, so "ran once" is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { sh, useRigs, waitFor, type Rig } from '../helpers/rig.js';
import { useSlurmCluster } from '../helpers/slurm.js';

const rig = useRigs();
const { skip, cluster: slurm } = useSlurmCluster();

const squeue = (): string[] => execFileSync('squeue', ['-h', '-o', '%i %j'], { env: { ...process.env, ...slurm().env }, encoding: 'utf8' }).trim().split('\n').filter(Boolean);

/** The journaled jobs, `.sbuild/slurm-jobs/<token>.json`, oldest first. */
function journaled(r: Rig): Array<{ target: string; jobId?: string; token: string; submitted: string }> {
  if (!r.exists('.sbuild/slurm-jobs')) return [];
  return fs.readdirSync(r.path('.sbuild/slurm-jobs')).filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(r.read(`.sbuild/slurm-jobs/${n}`)))
    .sort((a, b) => (a.submitted < b.submitted ? -1 : 1));
}

function workspace(): Rig {
  const r = rig();
  r.write('cfg', 'lr=0.01\n');
  r.config(`{
    default: 'all',
    slurm: { settleSeconds: 5 },
    targets: [
      { name: 'train', inputs: ['cfg'], outputs: ['out/model'], executor: 'slurm', run: ${JSON.stringify(sh('train', 'sleep 4; cat cfg > out/model'))} },
      { name: 'table', inputs: ['out/model'], outputs: ['out/table'], run: ${JSON.stringify(sh('table', 'cat out/model > out/table'))} },
      { name: 'all', deps: ['table'] },
    ],
  }`);
  return r;
}

test('--detach submits and exits; status shows the job; nothing is submitted twice; a later build records it', { skip, timeout: 120_000 }, () => {
  const r = workspace();
  const t0 = Date.now();
  let res = r.run(['--detach'], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(Date.now() - t0 < 4000, 'did not wait for the 4-s job');
  const id = /⇢ train: Slurm job (\d+) \(submitted\), not waited for \(--detach\)/.exec(res.stdout)?.[1];
  assert.ok(id, res.stdout);
  assert.match(res.stdout, /- table: not run, dependency train is on Slurm, not waited for/);
  assert.match(res.stdout, /0 ran, 0 fresh, 1 submitted to Slurm, not waited for \(the next sbuild records them\), 2 not run \(dependency submitted or failed\)/);
  assert.deepEqual(journaled(r).map((j) => [j.target, j.jobId]), [['train', id]]);

  res = r.run(['status', '--exit-code'], slurm().env);
  assert.equal(res.code, 1);
  assert.match(res.stdout, new RegExp(`slurm   train — Slurm job ${id} (PENDING|RUNNING|CONFIGURING) \\(submitted [^)]+\\); the next sbuild records it`));
  assert.match(res.stdout, /1 on Slurm/);

  // Asked again while it runs: the same job is reported, none submitted.
  res = r.run(['--detach'], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`⇢ train: Slurm job ${id} \\((PENDING|RUNNING|CONFIGURING)\\)`));
  assert.deepEqual(squeue().filter((l) => l.endsWith('sbuild:train')), [`${id} sbuild:train`]);

  // A build that waits attaches to it, records it and builds what depends on it.
  res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /✔ train/);
  assert.match(res.stdout, /✔ table/);
  assert.deepEqual(r.takeRuns(), ['table', 'train'], 'the training ran once');
  assert.equal(r.read('out/table'), 'lr=0.01\n');
  assert.deepEqual(journaled(r), []);
  res = r.run([], slurm().env);
  assert.equal(res.code, 0);
  assert.match(res.stdout, /0 ran, 2 fresh/);
});

test('a build killed while it waits for its Slurm job loses nothing: the next one attaches to the job', { skip, timeout: 120_000 }, async () => {
  const r = workspace();
  const child = r.spawn([], slurm().env);
  const exited = new Promise((res) => child.on('exit', res));
  await waitFor(() => journaled(r)[0]?.jobId !== undefined);
  child.kill('SIGKILL');
  await exited;
  const id = journaled(r)[0]!.jobId as string;
  const res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['table', 'train'], 'the training ran once');
  assert.match(r.read('.sbuild/logs/train.log'), new RegExp(`# slurm job ${id} `));
  assert.equal(r.read('out/table'), 'lr=0.01\n');
});

test('a job whose id was never journaled (killed between sbatch and the journal) is found by its comment', { skip, timeout: 120_000 }, () => {
  const r = workspace();
  let res = r.run(['--detach'], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  // As if sbuild died before sbatch printed the id: the entry keeps only its token.
  const entry = journaled(r)[0]!;
  const id = entry.jobId as string;
  delete entry.jobId;
  r.write(`.sbuild/slurm-jobs/${entry.token}.json`, JSON.stringify(entry));
  res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['table', 'train'], 'the training ran once');
  assert.match(r.read('.sbuild/logs/train.log'), new RegExp(`# slurm job ${id} `));
});

test('a config edited while its job runs: that job is waited for, never cancelled, and the new fingerprint is submitted after it', { skip, timeout: 120_000 }, () => {
  const r = workspace();
  let res = r.run(['--detach'], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const first = journaled(r)[0]!.jobId as string;
  r.write('cfg', 'lr=0.02\n');
  res = r.run(['--detach'], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`⇢ train: Slurm job ${first} \\((PENDING|RUNNING|CONFIGURING), of an earlier fingerprint: this one is submitted once it ends\\)`));
  assert.deepEqual(squeue().filter((l) => l.endsWith('sbuild:train')), [`${first} sbuild:train`], 'not cancelled, nothing else submitted');
  res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['table', 'train', 'train'], 'the old job finished; the new fingerprint ran once after it');
  assert.equal(r.read('out/table'), 'lr=0.02\n');
  assert.doesNotMatch(r.read('.sbuild/logs/train.log'), new RegExp(`# slurm job ${first} `));
});

test('Slurm not answering is never taken for a job that ended: the entry stays, and a later build records the job', { skip, timeout: 120_000 }, () => {
  const r = workspace();
  let res = r.run(['--detach'], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const id = journaled(r)[0]!.jobId as string;
  // An scontrol that times out, as a loaded controller does.
  r.write('fakebin/scontrol', '#!/bin/sh\necho "slurm_load_jobs error: Socket timed out on send/recv operation" >&2\nexit 1\n');
  fs.chmodSync(r.path('fakebin/scontrol'), 0o755);
  res = r.run(['--detach'], { ...slurm().env, PATH: `${r.path('fakebin')}:${slurm().env.PATH ?? process.env.PATH}` });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`⇢ train: Slurm job ${id} \\(state unknown: Slurm did not answer\\)`));
  assert.equal(journaled(r)[0]!.jobId, id, 'still journaled');
  res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['table', 'train'], 'the training ran once');
});

test('a job of an older fingerprint is waited for, then the current fingerprint comes from the cache, not from a new training', { skip, timeout: 120_000 }, () => {
  const r = workspace();
  let res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['table', 'train']);
  r.write('cfg', 'lr=0.02\n');
  assert.equal(r.run(['--detach'], slurm().env).code, 0);
  r.write('cfg', 'lr=0.01\n');
  res = r.run([], slurm().env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /↺ train restored from cache/);
  assert.deepEqual(r.takeRuns(), ['train'], 'only the older fingerprint\'s job ran (to its end); nothing trained again');
  assert.equal(r.read('out/table'), 'lr=0.01\n');
  assert.deepEqual(journaled(r), []);
});
