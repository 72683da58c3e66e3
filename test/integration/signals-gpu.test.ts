// Interrupts (finished targets stay recorded, the rest reruns) and GPU pools
// (no device is ever handed to two running jobs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { sh, useRigs, waitFor } from '../helpers/rig.js';

const rig = useRigs();
const hasPython = spawnSync('python3', ['-c', '0']).status === 0;


for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} mid-build: children get the signal, finished targets stay recorded, exit 130; a rerun completes only the rest`, async () => {
    const r = rig();
    r.write('a.txt', 'a\n');
    r.config(`{
      default: 'all',
      targets: [
        { name: 'quick', inputs: ['a.txt'], outputs: ['o/quick'], run: ${JSON.stringify(sh('quick', 'cp a.txt o/quick'))} },
        { name: 'slow', inputs: ['o/quick'], outputs: ['o/slow'], run: ${JSON.stringify(sh('slow', 'echo started > o/slow.partial; sleep 30; cp o/quick o/slow'))} },
        { name: 'after', inputs: ['o/slow'], outputs: ['o/after'], run: ${JSON.stringify(sh('after', 'cp o/slow o/after'))} },
        { name: 'all', deps: ['after'] },
      ],
    }`);
    const child = r.spawn(['-j', '2']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await waitFor(() => r.exists('o/slow.partial'));
    const t0 = Date.now();
    child.kill(signal);
    const code = await exited;
    assert.equal(code, 130, out);
    assert.ok(Date.now() - t0 < 10_000, 'the sleeping child was stopped, not waited for');
    assert.match(out, /interrupted: 1 ran/);
    assert.deepEqual(r.takeRuns(), ['quick', 'slow']);
    const lock = JSON.parse(r.read('sbuild.lock'));
    assert.ok(lock.targets.quick, 'finished target recorded');
    assert.equal(lock.targets.slow, undefined, 'interrupted target not recorded');
    assert.ok(!r.exists('o/slow'));
    // Rerun with a fast command for the slow step: only the rest runs.
    r.write('tasks.config.ts', r.read('tasks.config.ts').replace('sleep 30; ', ''));
    const again = r.run([]);
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(r.takeRuns(), ['after', 'slow']);
  });
}

test('the GPU pool never hands one device to two running jobs; each job sees only its ids', () => {
  const r = rig();
  const jobs = Array.from({ length: 8 }, (_, i) => i);
  // Each job records "start <t> <ids>" and "end <t> <ids>" with its CUDA_VISIBLE_DEVICES.
  const cmd = (i: number, gpus: number) => ({
    name: `train/${i}`, outputs: [`o/${i}`], resources: { gpu: gpus },
    run: `echo train/${i} >> runs.log; echo "start $(date +%s%N) $CUDA_VISIBLE_DEVICES $SBUILD_GPU_IDS" > o/${i}; sleep 0.2; echo "end $(date +%s%N)" >> o/${i}`,
  });
  r.config(`{ targets: ${JSON.stringify([...jobs.map((i) => cmd(i, i % 3 === 0 ? 2 : 1)), { name: 'cpu', outputs: ['o/cpu'], run: 'echo cpu >> runs.log; echo "[$CUDA_VISIBLE_DEVICES]" > o/cpu' }])} }`);
  const res = r.run(['train/*', 'cpu', '-j', '8', '--gpus', '0,1,2']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(r.takeRuns().length, 9);
  assert.equal(r.read('o/cpu').trim(), '[]', 'a job without GPUs sees none');
  const spans = jobs.map((i) => {
    const [start, end] = r.read(`o/${i}`).trim().split('\n');
    const [, t0, ids, ids2] = start!.split(' ');
    assert.equal(ids, ids2, 'SBUILD_GPU_IDS equals CUDA_VISIBLE_DEVICES');
    const devs = ids!.split(',');
    assert.equal(devs.length, i % 3 === 0 ? 2 : 1, `job ${i} got exactly its GPU count`);
    return { i, devs, t0: BigInt(t0!), t1: BigInt(end!.split(' ')[1]!) };
  });
  let overlaps = 0;
  for (const a of spans) {
    for (const b of spans) {
      if (a.i >= b.i || a.t1 <= b.t0 || b.t1 <= a.t0) continue;
      overlaps++;
      assert.deepEqual(a.devs.filter((d) => b.devs.includes(d)), [], `jobs ${a.i} and ${b.i} ran at once on a shared device`);
    }
  }
  assert.ok(overlaps > 0, 'some jobs ran in parallel (the pool was exercised)');
});

test('a GPU job fails clearly when no GPU exists, unless cpuFallback allows the CPU; too wide a job fails', () => {
  const r = rig();
  r.config(`{ targets: [
    { name: 'gpu-only', outputs: ['o/g'], resources: { gpu: 1 }, run: 'echo gpu-only >> runs.log; touch o/g' },
    { name: 'fallback', outputs: ['o/f'], resources: { gpu: 1 }, cpuFallback: true, run: 'echo fallback >> runs.log; echo "[$CUDA_VISIBLE_DEVICES]" > o/f' },
    { name: 'wide', outputs: ['o/w'], resources: { gpu: 4 }, run: 'echo wide >> runs.log; touch o/w' },
  ] }`);
  const none = r.run(['gpu-only', 'fallback', '-k', '--gpus', 'none']);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /✖ gpu-only: target 'gpu-only' needs 1 GPU\(s\) but the pool has 0 \(none detected\)\. Run on a machine with a GPU, pass --gpus IDS, or set `cpuFallback: true`/);
  assert.deepEqual(r.takeRuns(), ['fallback']);
  assert.equal(r.read('o/f').trim(), '[]');
  const wide = r.run(['wide', '--gpus', '0,1']);
  assert.equal(wide.code, 1);
  assert.match(wide.stdout, /target 'wide' needs 4 GPU\(s\) but the pool has 2 \(0,1\)\. Lower its `resources.gpu`/);
  assert.deepEqual(r.takeRuns(), []);
  fs.rmSync(r.path('o'), { recursive: true, force: true });
});

test('a second build of a target under way waits (naming the target and the build) or, with --no-wait, exits 2; a dead state-lock holder is taken over; status never blocks', async () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  // The job holds its target until the test lets it go (o/go), however slow the machine.
  r.config(`{ default: 'slow', targets: [
    { name: 'slow', inputs: ['a.txt'], outputs: ['o/slow'], run: ${JSON.stringify(sh('slow', 'touch o/started; while [ ! -e o/go ]; do sleep 0.05; done; cp a.txt o/slow'))} },
  ] }`);
  const first = r.spawn([]);
  const firstExit = new Promise<number | null>((res) => first.on('exit', res));
  await waitFor(() => r.exists('o/started'));
  const reg = JSON.parse(r.read(r.buildFile('registration')!));
  assert.equal(reg.holder.pid, first.pid);
  assert.deepEqual(reg.claims, ['slow']);
  assert.ok(!r.exists('.sbuild/writer.pid'), 'the state lock is not held while a job runs');
  const busy = r.run(['--no-wait']);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, new RegExp(`^error: This build needs targets that another build in this workspace is building or reading: slow \\(in use by \`sbuild\`, pid ${first.pid}\\)\\. Let it finish, or run without --no-wait`));
  const status = r.run(['status']);
  assert.equal(status.code, 0, 'status does not block');
  // The second waits for the first, then finds everything fresh.
  const second = r.spawn([]);
  let secondOut = '';
  let secondErr = '';
  second.stdout.on('data', (d) => (secondOut += d));
  second.stderr.on('data', (d) => (secondErr += d));
  const secondExit = new Promise<number | null>((res) => second.on('exit', res));
  await waitFor(() => secondErr.includes(`waiting for slow (in use by \`sbuild\`, pid ${first.pid})…`));
  r.write('o/go', '');
  assert.equal(await firstExit, 0);
  assert.equal(await secondExit, 0, secondOut + secondErr);
  assert.match(secondOut, /0 ran, 1 fresh/);
  assert.deepEqual(r.takeRuns(), ['slow']);
  assert.ok(!r.exists('.sbuild/writer.pid'), 'released');
  assert.deepEqual(fs.readdirSync(r.path('.sbuild/builds')), [], 'both builds unregistered');
  // A lock left by a process that no longer exists is taken over.
  r.write('.sbuild/writer.pid', JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), since: 'earlier' }));
  r.write('a.txt', 'b\n');
  const taken = r.run(['--no-wait']);
  assert.equal(taken.code, 0, taken.stderr);
  assert.deepEqual(r.takeRuns(), ['slow']);
});

// A process in a job's group can miss the group's signal: a shell that catches SIGINT (dash
// under `sh -c`) and has just forked a command runs its handler in the child, which then
// execs with the default disposition. Here a job's process ignores SIGINT when it arrives and
// takes the default back a moment later, as that child does: Ctrl-C still stops it, without
// waiting out its 30 s. A job that handles SIGINT itself and starts a clean-up process after
// it is left to finish that clean-up.
test('Ctrl-C reaches a job process that missed the signal to its group, and spares what a job starts to clean up', { skip: hasPython ? undefined : 'needs python3' }, async () => {
  const r = rig();
  const missed = `import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); open('o/missed.partial', 'w').close(); time.sleep(0.6); signal.signal(signal.SIGINT, signal.SIG_DFL); time.sleep(30)`;
  const graceful = [
    'import signal, subprocess, time, sys',
    'def stop(*_):',
    "    subprocess.run(['sleep', '0.8'], check=True)",
    "    open('o/cleanup.txt', 'w').write('saved\\n')",
    '    sys.exit(130)',
    'signal.signal(signal.SIGINT, stop)',
    "open('o/graceful.partial', 'w').close()",
    'time.sleep(30)',
  ].join('\n');
  r.write('missed.py', missed + '\n');
  r.write('graceful.py', graceful + '\n');
  r.config(`{ targets: [
    { name: 'missed', outputs: ['o/missed'], run: ['python3', 'missed.py'] },
    { name: 'graceful', outputs: ['o/graceful'], run: ['python3', 'graceful.py'] },
  ] }`);
  const child = r.spawn(['missed', 'graceful', '-j', '2']);
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await waitFor(() => r.exists('o/missed.partial') && r.exists('o/graceful.partial'));
  const t0 = Date.now();
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.ok(Date.now() - t0 < 10_000, `stopped within 10 s, not after the job's 30 s (${Date.now() - t0} ms)`);
  // The graceful job's clean-up ran to its end.
  assert.equal(r.read('o/cleanup.txt'), 'saved\n');
});
