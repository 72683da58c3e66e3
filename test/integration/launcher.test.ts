// A build that runs more than a handful of command jobs starts the rest through the launcher
// (src/executors/launcher.ts). Those jobs must look exactly like the ones sbuild starts itself:
// same records, logs, failures and process-group end; Ctrl-C reaches them; and a kill -9 of
// sbuild (and its watchdog) still leaves none of them running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, sh, useRigs, waitFor, type Rig } from '../helpers/rig.js';

const rig = useRigs();
const linux = process.platform === 'linux';
const skip = process.platform === 'win32' && 'no process groups';
const hasPython = spawnSync('python3', ['-c', '0']).status === 0;

/** Whether `pid` is the launcher (its process title). */
function isLauncher(pid: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sbuild-launcher');
  } catch {
    return false;
  }
}

/**
 * 20 quick targets first (the launcher starts after 16 jobs), then `gate`, which waits long
 * enough for the launcher to be up; `checks` depend on the gate, so they start through it.
 */
function launcherRig(checks: Record<string, { run: string | string[]; outputs?: string[] }>): Rig {
  const r = rig();
  const warm = Array.from({ length: 20 }, (_, i) => `w${i}`);
  const targets = [
    ...warm.map((n) => `{ name: '${n}', outputs: ['o/${n}'], run: ${JSON.stringify(sh(n, `echo ${n} > o/${n}`))} },`),
    `{ name: 'gate', deps: ${JSON.stringify(warm)}, outputs: ['o/gate'], run: ${JSON.stringify(sh('gate', 'sleep 1.5; echo > o/gate'))} },`,
    ...Object.entries(checks).map(([n, c]) => `{ name: '${n}', deps: ['gate'], outputs: ${JSON.stringify(c.outputs ?? [`o/${n}`])}, run: ${JSON.stringify(c.run)} },`),
    `{ name: 'all', deps: ${JSON.stringify(Object.keys(checks))} },`,
  ];
  r.config(`{ default: 'all', targets: [\n${targets.join('\n')}\n] }`);
  return r;
}

/** Whether any process of the group still runs (zombies run nothing). */
function groupAlive(pgid: number): boolean {
  if (!linux) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).some((pid) => {
    try {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return Number(f[2]) === pgid && !/^[ZX]/.test(f[0]!);
    } catch {
      return false;
    }
  });
}

/** The launchers a Linux build may use: Python's (posix_spawn) where python3 runs, and Node's. */
const KINDS: Array<{ kind: string; env: Record<string, string>; skip: string | false }> = [
  { kind: 'python', env: {}, skip: skip || (!linux && 'Linux only') || (!hasPython && 'needs python3') },
  { kind: 'node', env: { SBUILD_LAUNCHER_PYTHON: 'node' }, skip },
];

for (const { kind, env, skip } of KINDS) test(`jobs started through the ${kind} launcher: same records, logs, failures and group end as jobs sbuild starts`, { skip }, () => {
  const r = launcherRig({
    ok: { run: sh('ok', `echo "$SBUILD_TARGET" > o/ok; echo $PPID > o/ok.ppid; tr '\\000' ' ' < /proc/$PPID/cmdline > o/ok.parent 2>/dev/null; true`), outputs: ['o/ok', 'o/ok.ppid', 'o/ok.parent'] },
    argv: { run: ['sh', '-c', 'echo "two\nlines" > o/argv'] },
    fails: { run: sh('fails', 'echo partial > o/fails; exit 3') },
    killed: { run: sh('killed', 'kill -TERM $$') },
    missing: { run: ['no-such-program-sbuild-test', 'x'] },
    leaves: { run: sh('leaves', '(sleep 30 &); echo > o/leaves') },
  });
  const res = r.run(['-k', '-j', '2'], env);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout, /✖ fails: command failed with exit code 3; partial outputs moved to \.sbuild\/failed\/fails\//);
  assert.match(res.stdout, /✖ killed: command was killed by SIGTERM/);
  assert.match(res.stdout, /✖ missing: command could not start: spawn no-such-program-sbuild-test ENOENT/);
  assert.match(res.stdout, /sbuild: 24 ran, 0 fresh, 3 failed/);
  assert.equal(r.read('o/ok'), 'ok\n');
  assert.equal(r.read('o/argv'), 'two\nlines\n');
  if (linux) {
    assert.match(r.read('o/ok.parent'), /^sbuild-launcher\b/, 'ok was started by the launcher');
    assert.equal(r.read('o/ok.parent').includes(' -c import'), kind === 'python', `the ${kind} launcher`);
    assert.ok(!isLauncher(r.read('o/ok.ppid').trim()), 'the launcher exited with the build');
  }
  assert.equal(r.read('.sbuild/logs/fails.log').split('\n')[0], `$ ${sh('fails', 'echo partial > o/fails; exit 3')}`);
  assert.match(r.read('.sbuild/logs/leaves.log'), /sbuild: the command left processes running in its process group; they were killed\n$/);
  const lock = JSON.parse(r.read('sbuild.lock'));
  for (const n of ['ok', 'argv', 'leaves', 'gate', 'w19']) assert.ok(lock.targets[n], `${n} recorded`);
  for (const n of ['fails', 'killed', 'missing']) assert.equal(lock.targets[n], undefined);
  assert.ok(!r.exists('.sbuild/jobs.jsonl'), 'no jobs record left');
  assert.deepEqual(fs.readdirSync(r.path('.sbuild/builds')), [], 'the build unregistered, its jobs record gone');
  // And they are fresh afterwards, like any other.
  assert.match(r.run(['ok', 'argv', 'leaves'], env).stdout, /sbuild: 0 ran, 24 fresh/);
});

test('a python3 that cannot run the launcher: the Node launcher starts the jobs instead', { skip: skip || (!linux && 'Linux only') }, () => {
  const r = launcherRig({
    ok: { run: sh('ok', `tr '\\000' ' ' < /proc/$PPID/cmdline > o/ok 2>/dev/null; true`) },
  });
  r.write('old-python3', '#!/bin/sh\nexit 3\n');
  fs.chmodSync(r.path('old-python3'), 0o755);
  const res = r.run([], { SBUILD_LAUNCHER_PYTHON: r.path('old-python3') });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /sbuild: 22 ran, 0 fresh/);
  assert.match(r.read('o/ok'), /^sbuild-launcher\b/, 'started by a launcher');
  assert.ok(!r.read('o/ok').includes(' -c import'), 'the Node one');
});

test('Ctrl-C reaches a job the launcher started: exit 130 at once, the job stopped, finished targets kept', { skip }, async () => {
  const r = launcherRig({ slow: { run: sh('slow', 'echo $$ > o/slow.pid; sleep 30; echo > o/slow') } });
  const child = r.spawn(['-j', '2']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await waitFor(() => r.exists('o/slow.pid') && r.read('o/slow.pid').endsWith('\n'));
  const pid = Number(r.read('o/slow.pid'));
  const t0 = Date.now();
  child.kill('SIGINT');
  assert.equal(await exited, 130, out);
  assert.ok(Date.now() - t0 < 10_000, 'the job was stopped, not waited for');
  await waitFor(() => !groupAlive(pid), 5000);
  assert.match(out, /interrupted: 21 ran/);
  assert.ok(JSON.parse(r.read('sbuild.lock')).targets.gate, 'finished targets stay recorded');
});

test('kill -9 of sbuild and its watchdog while a launched job runs: the launcher stops the job', { skip: !linux && 'reads /proc' }, async () => {
  const r = launcherRig({ slow: { run: sh('slow', 'echo $$ > o/slow.pid; sleep 30; echo > o/slow') } });
  const child = spawn(process.execPath, [CLI, '-j', '2'], { cwd: r.dir, env: { ...process.env, CI: '1' }, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  await waitFor(() => r.exists('o/slow.pid') && r.read('o/slow.pid').endsWith('\n'));
  const pid = Number(r.read('o/slow.pid'));
  // The watchdog first: only the launcher is left to stop the job.
  for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.includes('sbuild-watchdog') && argv.includes(r.dir)) process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  const t0 = Date.now();
  await waitFor(() => !groupAlive(pid), 5000);
  assert.ok(Date.now() - t0 < 1500, 'stopped by SIGTERM, not after the grace period');
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace('sleep 30; ', ''));
  const again = r.run([]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.doesNotMatch(again.stdout, /stopped \d+ process/, 'nothing was left for the rerun to stop');
  assert.match(again.stdout, /sbuild: 1 ran, 21 fresh/);
});

// As for jobs sbuild starts itself (signals-gpu.test.ts): a process in a launched job's group
// that missed the group's SIGINT (it ignored it then, as a shell's just-forked child does, and
// takes the default back a moment later) gets it again, and a job that handles SIGINT and
// starts a clean-up after it is left to finish that clean-up.
test('Ctrl-C reaches a launched job\'s process that missed the signal to its group, and spares what a job starts to clean up', { skip: skip || (!hasPython && 'needs python3') }, async () => {
  const missed = [
    'import os, signal, time',
    "open('o/missed.parent', 'w').write(open('/proc/%d/cmdline' % os.getppid()).read().split('\\0')[0] if os.path.exists('/proc') else '')",
    "signal.signal(signal.SIGINT, signal.SIG_IGN); open('o/missed.partial', 'w').close(); time.sleep(0.6); signal.signal(signal.SIGINT, signal.SIG_DFL); time.sleep(30)",
  ].join('\n');
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
  const r = launcherRig({ missed: { run: ['python3', 'missed.py'] }, graceful: { run: ['python3', 'graceful.py'] } });
  r.write('missed.py', missed + '\n');
  r.write('graceful.py', graceful + '\n');
  const child = r.spawn(['-j', '2']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await waitFor(() => r.exists('o/missed.partial') && r.exists('o/graceful.partial'));
  if (linux) assert.equal(r.read('o/missed.parent'), 'sbuild-launcher', 'the job was started by the launcher');
  const t0 = Date.now();
  child.kill('SIGINT');
  assert.equal(await exited, 130, out);
  assert.ok(Date.now() - t0 < 10_000, `stopped within 10 s, not after the job's 30 s (${Date.now() - t0} ms)`);
  assert.equal(r.read('o/cleanup.txt'), 'saved\n');
});
