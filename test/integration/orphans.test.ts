// Jobs die with the build that started them: a `kill -9` of sbuild's whole process group
// leaves no job running (the watchdog stops them; if it was killed too, the next build does,
// before it runs anything), so a rerun never runs beside them and never records bytes they
// interleaved. A failed or interrupted target's partial outputs go to .sbuild/failed/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, REPO, sh, useRigs, waitFor, type Rig } from '../helpers/rig.js';
import { failedDir } from '../../src/engine/failed.js';

const rig = useRigs();
const linux = process.platform === 'linux';

/** The brief's reproduction: a target that writes its output in steps and reads its input last. */
function slowRig(): Rig {
  const r = rig();
  r.write('package.json', '{"type":"module"}\n');
  r.write('in.txt', 'one\n');
  const run = ['sh', '-c', 'echo begin > o/slow.txt; for i in 1 2 3 4 5 6; do sleep 0.25; echo step$i >> o/slow.txt; done; cat in.txt >> o/slow.txt; echo end >> o/slow.txt'];
  r.config(`{ default: 'slow', targets: [ { name: 'slow', inputs: ['in.txt'], outputs: ['o/slow.txt'], run: ${JSON.stringify(run)} } ] }`);
  return r;
}

const slowBytes = (input: string) => `begin\nstep1\nstep2\nstep3\nstep4\nstep5\nstep6\n${input}end\n`;

/** Whether a process runs (a zombie nobody reaped runs nothing). */
function running(pid: number): boolean {
  if (!linux) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(s.slice(s.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Members of a process group that still run. */
function groupRunning(pgid: number): number[] {
  if (!linux) return running(pgid) ? [pgid] : [];
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return Number(f[2]) === pgid && !/^[ZX]/.test(f[0]!);
    } catch {
      return false;
    }
  });
}

/** Starts `sbuild ARGS` in its own process group (as `setsid sbuild`), waits until its job runs. */
async function startDetached(r: Rig, args: string[]) {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, ...args], { cwd: r.dir, env: { ...process.env, CI: '1' }, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  // This build's output (the last build's ends with 'end').
  await waitFor(() => r.buildFile('jobs') !== undefined && /^begin\nstep1\n/.test(r.read('o/slow.txt')) && !r.read('o/slow.txt').includes('end'));
  // The job's process group, as sbuild recorded it.
  const rec = r.read(r.buildFile('jobs')!).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pgid?: number });
  const pgid = rec.find((x) => x.pgid !== undefined)!.pgid!;
  return { child, exited, pgid };
}

function watchdogsOf(r: Rig): number[] {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('sbuild-watchdog') && argv.includes(r.dir) && running(pid);
    } catch {
      return false;
    }
  });
}

test('kill -9 of sbuild and its watchdog mid-job: the rerun stops the surviving job first, then writes the right bytes, and they stay fresh', { skip: !linux && 'reads /proc' }, async () => {
  const r = slowRig();
  assert.equal(r.run([]).code, 0);
  r.write('in.txt', 'two\n');
  const { child, exited, pgid } = await startDetached(r, ['slow']);
  // The watchdog too: the next build alone has to find the job and stop it.
  const dogs = watchdogsOf(r);
  assert.equal(dogs.length, 1, 'one watchdog holds the running job');
  process.kill(dogs[0]!, 'SIGKILL');
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  assert.ok(groupRunning(pgid).length > 0, 'the job outlived sbuild and its watchdog');
  const again = r.run([]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /warning: stopped \d+ process\(es\) left running by a killed sbuild \(pid \d+\) before building; partial outputs of slow moved to \.sbuild\/failed\//);
  assert.match(again.stdout, /sbuild: 1 ran, 0 fresh/, 'the interrupted target reran');
  assert.deepEqual(groupRunning(pgid), [], 'the old job is gone');
  assert.equal(r.read('o/slow.txt'), slowBytes('two\n'));
  assert.match(r.run([]).stdout, /sbuild: 0 ran, 1 fresh/);
  assert.equal(r.read('o/slow.txt'), slowBytes('two\n'), 'no old job wrote after the rerun');
  assert.equal(r.buildFile('jobs'), undefined);
});

test('kill -9 of sbuild\'s process group: its watchdog stops the job at once, with no rerun', { skip: !linux && 'reads /proc' }, async () => {
  const r = slowRig();
  assert.equal(r.run([]).code, 0);
  r.write('in.txt', 'three\n');
  const { child, exited, pgid } = await startDetached(r, ['slow']);
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  const t0 = Date.now();
  await waitFor(() => groupRunning(pgid).length === 0, 3000);
  assert.ok(Date.now() - t0 < 1000, 'stopped by SIGTERM, not after the grace period');
  const before = r.read('o/slow.txt');
  await new Promise((res) => setTimeout(res, 400));
  assert.equal(r.read('o/slow.txt'), before, 'nothing writes the output any more');
  const again = r.run([]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.doesNotMatch(again.stdout, /stopped \d+ process/, 'nothing was left for the rerun to stop');
  assert.match(again.stdout, /partial outputs of slow moved to \.sbuild\/failed\//);
  assert.match(again.stdout, /sbuild: 1 ran, 0 fresh/);
  assert.equal(r.read('o/slow.txt'), slowBytes('three\n'));
});

test('randomized: kill -9 at random moments, maybe an edit, rerun: clean-build bytes, then a no-op, and no process left', { skip: !linux && 'reads /proc' }, async () => {
  const r = rig();
  const { killRounds } = (await import(pathToFileURL(path.join(REPO, 'bench', 'lib', 'kill-rounds.mjs')).href)) as {
    killRounds: (o: { dir: string; cli: string; rounds: number }) => Promise<Record<string, number> & { seed: number; problems: string[] }>;
  };
  const rounds = Number(process.env.SBUILD_KILL_ROUNDS ?? 8);
  const s = await killRounds({ dir: r.dir, cli: CLI, rounds });
  const seen = `seed ${s.seed}: ${JSON.stringify({ ...s, problems: undefined })}`;
  assert.deepEqual(s.problems, [], seen);
  assert.equal(s.wrongBytes, 0, seen);
  assert.equal(s.wrongFresh, 0, seen);
  assert.equal(s.survivors, 0, seen);
  assert.ok(s.killsWithJobsRunning! >= Math.floor(rounds / 4), `jobs ran at a good share of the kills (${seen})`);
});

test('a failed or interrupted target\'s partial outputs move to .sbuild/failed/<name>/; a later success clears them', async () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  const body = (tail: string) => sh('exp/bad', `mkdir -p out/dir; echo partial > out/bad.txt; echo x > out/dir/x; ${tail}`);
  r.config(`{ targets: [
    { name: 'exp/bad', inputs: ['a.txt'], outputs: ['out/bad.txt', 'out/dir', 'out/never.txt'], run: ${JSON.stringify(body('exit 3'))} },
  ] }`);
  const res = r.run(['exp/bad']);
  assert.equal(res.code, 1);
  const dir = '.sbuild/failed/exp%2Fbad';
  assert.equal(failedDir('exp/bad'), dir);
  assert.match(res.stdout, /✖ exp\/bad: command failed with exit code 3; partial outputs moved to \.sbuild\/failed\/exp%2Fbad\//);
  assert.ok(!r.exists('out/bad.txt') && !r.exists('out/dir'), 'the declared output paths are absent');
  assert.equal(r.read(`${dir}/out/bad.txt`), 'partial\n');
  assert.equal(r.read(`${dir}/out/dir/x`), 'x\n');
  // A second failure replaces the first one's copy.
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace('echo x > out/dir/x', 'echo y > out/dir/y'));
  assert.equal(r.run(['exp/bad']).code, 1);
  assert.ok(r.exists(`${dir}/out/bad.txt`) && r.exists(`${dir}/out/dir/y`) && !r.exists(`${dir}/out/dir/x`));
  // Succeeding but not writing every declared output is a failure too.
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace('exit 3', 'true'));
  const lazy = r.run(['exp/bad']);
  assert.match(lazy.stdout, /did not produce the declared output\(s\) 'out\/never.txt'\. Make it write them, or fix `outputs`\. Partial outputs moved to \.sbuild\/failed\/exp%2Fbad\/\./);
  assert.ok(!r.exists('out/bad.txt'));
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace('true', 'touch out/never.txt'));
  assert.equal(r.run(['exp/bad']).code, 0);
  assert.ok(!r.exists(dir), 'a success clears the failed copy');
  // Interrupted (SIGINT) while running: the same.
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace('touch out/never.txt', 'sleep 30'));
  r.write('a.txt', 'b\n');
  r.takeRuns();
  const child = r.spawn(['exp/bad']);
  const code = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  await waitFor(() => r.exists('runs.log') && r.exists('out/bad.txt'));
  child.kill('SIGINT');
  assert.equal(await code, 130);
  assert.ok(!r.exists('out/bad.txt') && r.exists(`${dir}/out/bad.txt`));
});

test('the failed folder is one path segment: no name climbs out of .sbuild/failed/ or into another target\'s folder', () => {
  assert.equal(failedDir('slow'), '.sbuild/failed/slow');
  assert.equal(failedDir('exp/a/train'), '.sbuild/failed/exp%2Fa%2Ftrain');
  assert.equal(failedDir('..'), '.sbuild/failed/%2E%2E');
  assert.equal(failedDir('.'), '.sbuild/failed/%2E');
  assert.equal(failedDir('../../etc'), '.sbuild/failed/..%2F..%2Fetc');
  assert.equal(failedDir('a%2Fb'), '.sbuild/failed/a%252Fb', 'distinct from a/b');
});
