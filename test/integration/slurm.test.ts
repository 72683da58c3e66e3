// The Slurm executor against a real single-node Slurm (slurmctld, slurmd and munged from
// Debian's packages, started by the test on 127.0.0.1, with two fake GPUs as GRES).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Rig, sh, useRigs, waitFor } from '../helpers/rig.js';
import { startSlurm, slurmAvailable, type SlurmCluster } from '../helpers/slurm.js';

const skip = slurmAvailable();
const rig = useRigs();
let cluster: SlurmCluster;

before(async () => {
  if (!skip) cluster = await startSlurm({ gpus: 2 });
});
after(async () => {
  await cluster?.stop();
});

const squeue = (): string => execFileSync('squeue', ['-h', '-o', '%i %j %T'], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' }).trim();

/** An evaluation that records where it ran: Slurm job id, GPU ids, start and end times (ms). */
const evalCmd = (name: string, input: string) =>
  sh(name, `s=$(date +%s%3N); sleep 2; printf 'job=%s gpus=%s sbuild_gpus=%s start=%s end=%s in=%s\\n' "$SLURM_JOB_ID" "$CUDA_VISIBLE_DEVICES" "$SBUILD_GPU_IDS" "$s" "$(date +%s%3N)" "$(cat ${input})" > out/${name.replace('/', '_')}.txt`);

function mixed(r: Rig, extra = ''): void {
  r.write('a.cfg', 'a1\n');
  r.write('b.cfg', 'b1\n');
  r.config(`{
    default: 'table',
    slurm: { select: ['tag:gpu'], settleSeconds: 5 ${extra} },
    targets: [
      { name: 'eval/a', inputs: ['a.cfg'], outputs: ['out/eval_a.txt'], resources: { gpu: 1 }, tags: ['gpu'], run: ${JSON.stringify(evalCmd('eval/a', 'a.cfg'))} },
      { name: 'eval/b', inputs: ['b.cfg'], outputs: ['out/eval_b.txt'], resources: { gpu: 1 }, tags: ['gpu'], run: ${JSON.stringify(evalCmd('eval/b', 'b.cfg'))} },
      { name: 'table', inputs: ['out/eval_a.txt', 'out/eval_b.txt'], outputs: ['out/table.txt'],
        run: ${JSON.stringify(sh('table', 'printf "job=%s\\n" "$SLURM_JOB_ID" > out/table.txt; cat out/eval_a.txt out/eval_b.txt >> out/table.txt'))} },
    ],
  }`);
}

const field = (text: string, key: string) => new RegExp(`${key}=(\\S*)`).exec(text)?.[1] ?? '';

test('GPU evaluations run on Slurm at the same time on different GPUs; the table runs here; rebuilds are incremental', { skip }, () => {
  const r = rig();
  mixed(r);
  let res = r.run([], cluster.env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['eval/a', 'eval/b', 'table']);
  assert.match(res.stdout, /▶ eval\/a \[slurm\]/);
  assert.doesNotMatch(res.stdout, /▶ table \[slurm\]/);
  const a = r.read('out/eval_a.txt');
  const b = r.read('out/eval_b.txt');
  assert.match(field(a, 'job'), /^\d+$/, 'eval/a ran as a Slurm job');
  assert.notEqual(field(a, 'job'), field(b, 'job'));
  assert.equal(field(r.read('out/table.txt'), 'job'), '', 'the table ran locally');
  assert.notEqual(field(a, 'gpus'), '');
  assert.notEqual(field(a, 'gpus'), field(b, 'gpus'), 'never the same GPU for two running jobs');
  assert.equal(field(a, 'sbuild_gpus'), field(a, 'gpus'));
  const [sa, ea, sb, eb] = [field(a, 'start'), field(a, 'end'), field(b, 'start'), field(b, 'end')].map(Number);
  assert.ok(sa! < eb! && sb! < ea!, `the two evaluations overlapped in time (${sa}-${ea} and ${sb}-${eb})`);
  // The job's output file is the target's log.
  assert.match(r.read('.sbuild/logs/eval/a.log'), /# slurm job \d+ on /);

  res = r.run([], cluster.env);
  assert.equal(res.code, 0);
  assert.deepEqual(r.takeRuns(), []);
  r.write('a.cfg', 'a2\n');
  res = r.run([], cluster.env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['eval/a', 'table']);
  assert.match(r.read('out/table.txt'), /in=a2/);
  assert.equal(squeue(), '');
});

test('--max-jobs 1 submits one job at a time; --executor local runs everything here', { skip }, () => {
  const r = rig();
  mixed(r);
  let res = r.run(['--max-jobs', '1'], cluster.env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const a = r.read('out/eval_a.txt');
  const b = r.read('out/eval_b.txt');
  const [sa, ea, sb, eb] = [field(a, 'start'), field(a, 'end'), field(b, 'start'), field(b, 'end')].map(Number);
  assert.ok(ea! <= sb! || eb! <= sa!, 'one after the other');
  r.takeRuns();
  res = r.run(['-B', 'eval/a', '--executor', 'local', '--gpus', 'none'], cluster.env);
  assert.equal(res.code, 1, 'a GPU job without GPUs and without cpuFallback fails here');
  assert.match(res.stdout + res.stderr, /needs 1 GPU\(s\) but the pool has 0/);
  res = r.run(['-B', 'eval/a', '--executor', 'local', '--gpus', '7'], cluster.env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(field(r.read('out/eval_a.txt'), 'job'), '');
  assert.equal(field(r.read('out/eval_a.txt'), 'gpus'), '7');
});

test('a failing job fails its target with the job id, exit code and the log tail', { skip }, () => {
  const r = rig();
  r.config(`{ targets: [
    { name: 'bad', executor: 'slurm', outputs: ['out/bad.txt'], run: ${JSON.stringify(sh('bad', 'echo oops-from-the-job; exit 3'))} },
  ] }`);
  const res = r.run(['bad'], cluster.env);
  assert.equal(res.code, 1);
  const out = res.stdout + res.stderr;
  assert.match(out, /✖ bad: command failed with exit code 3/);
  assert.match(out, /slurm job \d+: /);
  assert.match(out, /oops-from-the-job/);
  assert.ok(!r.exists('sbuild.lock') || !JSON.parse(r.read('sbuild.lock')).targets?.bad, 'never recorded');
});

test('a job the cluster cannot run is rejected at submission, naming the target', { skip }, () => {
  const r = rig();
  r.config(`{ targets: [
    { name: 'huge', executor: 'slurm', resources: { gpu: 9 }, outputs: ['out/h.txt'], run: ['true'] },
  ] }`);
  const res = r.run(['huge'], cluster.env);
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /sbatch could not submit 'huge' to Slurm: sbatch: error: Batch job submission failed: /);
});

test('an unreachable controller: a clear error naming the target', { skip }, () => {
  const r = rig();
  r.write('dead.conf', fs.readFileSync(cluster.conf, 'utf8').replace(/SlurmctldPort=\d+/, 'SlurmctldPort=1'));
  r.config(`{ targets: [
    { name: 'eval', executor: 'slurm', outputs: ['out/e.txt'], run: ['true'] },
  ] }`);
  const res = r.run(['eval'], { ...cluster.env, SLURM_CONF: r.path('dead.conf') });
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /sbatch could not submit 'eval' to Slurm: sbatch: error: Batch job submission failed: Unable to contact slurm controller/);
});

test('on Slurm, incremental rebuilds run exactly what they run locally, and record the same lock', { skip }, () => {
  const local = rig();
  const remote = rig();
  const setup = (r: Rig, flag: string) => {
    r.config(`{
      default: 'report',
      targets: [
        { name: 'prep', inputs: ['raw.txt'], outputs: ['work/prep.txt'], params: { flag: '${flag}' }, run: ${JSON.stringify(sh('prep', 'tr a-z A-Z < raw.txt > work/prep.txt'))} },
        { name: 'train', inputs: ['work/prep.txt', 'cfg.txt'], outputs: ['work/model.txt'], resources: { gpu: 1 }, cpuFallback: true, tags: ['gpu'],
          run: ${JSON.stringify(sh('train', 'cat work/prep.txt cfg.txt > work/model.txt'))} },
        { name: 'eval', inputs: ['work/model.txt'], outputs: ['work/metrics.txt'], resources: { gpu: 1 }, cpuFallback: true, tags: ['gpu'],
          run: ${JSON.stringify(sh('eval', 'wc -c < work/model.txt > work/metrics.txt'))} },
        { name: 'report', inputs: ['work/metrics.txt'], outputs: ['report.txt'], run: ${JSON.stringify(sh('report', 'cp work/metrics.txt report.txt'))} },
      ],
    }`);
  };
  for (const r of [local, remote]) {
    r.write('raw.txt', 'abc\n');
    r.write('cfg.txt', 'lr=1\n');
    setup(r, 'x');
  }
  const edits: Array<[string, (r: Rig) => void]> = [
    ['first build', () => {}],
    ['no-op', () => {}],
    ['content edit', (r) => r.write('cfg.txt', 'lr=2\n')],
    ['touch', (r) => fs.utimesSync(r.path('raw.txt'), new Date(), new Date())],
    ['same bytes upstream (early cutoff)', (r) => r.write('raw.txt', 'ABC\n')],
    ['param change', (r) => setup(r, 'y')],
    ['revert (restored from the cache)', (r) => r.write('cfg.txt', 'lr=1\n')],
    ['deleted output', (r) => fs.rmSync(r.path('work/metrics.txt'))],
  ];
  for (const [what, edit] of edits) {
    const outcome = (r: Rig, args: string[]) => {
      edit(r);
      const res = r.run(['--json', ...args], cluster.env);
      assert.equal(res.code, 0, `${what}: ${res.stdout}${res.stderr}`);
      const events = res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; name?: string; executor?: string });
      return { runs: r.takeRuns(), restored: events.filter((e) => e.type === 'restored').map((e) => e.name).sort(), onSlurm: events.filter((e) => e.type === 'start' && e.executor === 'slurm').map((e) => e.name).sort() };
    };
    const a = outcome(local, ['--gpus', 'none']);
    const b = outcome(remote, ['--slurm', 'tag:gpu']);
    assert.deepEqual({ runs: b.runs, restored: b.restored }, { runs: a.runs, restored: a.restored }, what);
    assert.deepEqual(b.onSlurm, b.runs.filter((n) => n === 'train' || n === 'eval'), `${what}: GPU targets ran on Slurm`);
    assert.deepEqual(a.onSlurm, []);
  }
  assert.equal(remote.read('sbuild.lock'), local.read('sbuild.lock'));
  assert.equal(remote.read('report.txt'), local.read('report.txt'));
});

test('without sbatch on PATH: a clear error naming the target', () => {
  const r = rig();
  r.config(`{ targets: [
    { name: 'eval', executor: 'slurm', outputs: ['out/e.txt'], run: ['true'] },
  ] }`);
  const res = r.run(['eval'], { PATH: '/nonexistent' });
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /'sbatch' was not found on PATH, so 'eval' cannot be submitted to Slurm/);
});

test('poll mode follows jobs with scontrol: success and failure', { skip }, () => {
  const r = rig();
  r.config(`{ slurm: { wait: 'poll', settleSeconds: 5 }, targets: [
    { name: 'ok', executor: 'slurm', outputs: ['out/ok.txt'], run: ${JSON.stringify(sh('ok', 'echo fine > out/ok.txt'))} },
    { name: 'fail', executor: 'slurm', outputs: ['out/f.txt'], run: ${JSON.stringify(sh('fail', 'exit 5'))} },
  ] }`);
  const res = r.run(['-k', 'ok', 'fail'], cluster.env);
  assert.equal(res.code, 1);
  assert.equal(r.read('out/ok.txt'), 'fine\n');
  assert.match(res.stdout + res.stderr, /✖ fail: command failed with exit code 5/);
  assert.deepEqual(r.takeRuns(), ['fail', 'ok']);
});

test('Ctrl-C cancels the submitted jobs: none is left in squeue', { skip }, async () => {
  const r = rig();
  r.config(`{ targets: [
    { name: 'long/a', executor: 'slurm', outputs: ['out/a.txt'], run: ${JSON.stringify(sh('long/a', 'sleep 60; touch out/a.txt'))} },
    { name: 'long/b', executor: 'slurm', outputs: ['out/b.txt'], run: ${JSON.stringify(sh('long/b', 'sleep 60; touch out/b.txt'))} },
  ] }`);
  const child = r.spawn(['long/a', 'long/b'], cluster.env);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await waitFor(() => squeue().split('\n').filter((l) => / RUNNING$/.test(l)).length === 2, 30_000);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 130, out);
  await waitFor(() => squeue() === '', 15_000);
  assert.ok(!fs.existsSync(r.path('out/a.txt')));
  assert.ok(!JSON.parse(fs.existsSync(r.path('sbuild.lock')) ? r.read('sbuild.lock') : '{}').targets?.['long/a']);
});
