// The Slurm test cluster itself (test/helpers/slurm.ts), before the executor relies on it:
// GRES GPUs set CUDA_VISIBLE_DEVICES, two one-GPU jobs run at once on different devices,
// `sbatch --wait` passes the job's exit code through, an impossible request is refused at
// submission, scancel empties the queue. Skips when Slurm is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { slurmAvailable, startSlurm, type SlurmCluster } from '../helpers/slurm.js';

const skip = slurmAvailable();
let cluster: SlurmCluster;
let out: string;

before(async () => {
  if (skip) return;
  out = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-slurm-out-')));
  // 4 CPUs whatever the machine has (the node line is trusted), so two jobs always fit at once.
  cluster = await startSlurm({ gpus: 2, cpus: 4 });
});
after(async () => {
  await cluster?.stop();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

interface Res {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function slurm(cmd: string, args: string[], timeout = 60_000): Promise<Res> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { env: cluster.env, cwd: out, encoding: 'utf8', timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function slurmSync(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { env: cluster.env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function until<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a gpu:1 job sees CUDA_VISIBLE_DEVICES and sbatch --wait exits 0', { skip }, async () => {
  const file = path.join(out, 'cvd.txt');
  const r = await slurm('sbatch', ['--parsable', '--wait', '--gres=gpu:1', `--output=${file}`, '--wrap', 'echo CVD=$CUDA_VISIBLE_DEVICES']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^\d+$/, 'the job id');
  assert.match(fs.readFileSync(file, 'utf8'), /^CVD=\S+$/m);
});

test('two gpu:1 jobs run at the same time on different devices', { skip }, async () => {
  const job = (name: string) =>
    slurm('sbatch', ['--parsable', '--wait', '--gres=gpu:1', `--output=${path.join(out, name)}`, '--wrap', 'echo "CVD=$CUDA_VISIBLE_DEVICES START=$(date +%s.%N)"; sleep 2']);
  const [a, b] = await Promise.all([job('a.txt'), job('b.txt')]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const parse = (name: string) => {
    const text = fs.readFileSync(path.join(out, name), 'utf8');
    const m = /CVD=(\S+) START=([\d.]+)/.exec(text);
    assert.ok(m, text);
    return { cvd: m[1]!, start: Number(m[2]) };
  };
  const ja = parse('a.txt');
  const jb = parse('b.txt');
  assert.notEqual(ja.cvd, jb.cvd, 'each job got its own GPU');
  assert.ok(Math.abs(ja.start - jb.start) < 1.5, `both ran at once (starts ${ja.start}, ${jb.start})`);
});

test("sbatch --wait exits with the job's exit code", { skip }, async () => {
  const r = await slurm('sbatch', ['--wait', `--output=${path.join(out, 'exit3.txt')}`, '--wrap', 'exit 3']);
  assert.equal(r.code, 3, r.stderr);
});

test('more GPUs than the node has is refused at submission', { skip }, async () => {
  const r = await slurm('sbatch', ['--parsable', '--gres=gpu:9', `--output=${path.join(out, 'gpu9.txt')}`, '--wrap', 'true']);
  assert.notEqual(r.code, 0);
  // Slurm 22.05 prints exactly:
  //   sbatch: error: Batch job submission failed: Requested node configuration is not available
  assert.match(r.stderr, /Batch job submission failed: Requested node configuration is not available/);
  assert.equal(r.stdout.trim(), '', 'no job id');
});

test('scancel of a running job empties the queue within seconds', { skip }, async () => {
  const id = slurmSync('sbatch', ['--parsable', `--output=${path.join(out, 'sleep.txt')}`, '--wrap', 'sleep 300']);
  await until('the job to run', () => (slurmSync('squeue', ['-h', '-j', id, '-o', '%T']) === 'RUNNING' ? true : undefined));
  const t0 = Date.now();
  slurmSync('scancel', [id]);
  await until('an empty queue', () => (slurmSync('squeue', ['-h']) === '' ? true : undefined), 10_000);
  console.log(`scancel -> empty squeue: ${Date.now() - t0} ms`);
});

test('overhead of a trivial sbatch --wait (measured, not asserted)', { skip }, async () => {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await slurm('sbatch', ['--wait', `--output=${path.join(out, 'true.txt')}`, '--wrap', 'true']);
    assert.equal(r.code, 0, r.stderr);
    times.push(r.ms);
  }
  times.sort((x, y) => x - y);
  console.log(`sbatch --wait --wrap true: median ${Math.round(times[2]!)} ms of 5 (${times.map((t) => Math.round(t)).join(', ')})`);
});
