// The job launcher (src/executors/launcher.ts) on its own, both of them (Python's where Linux
// has python3, and Node's): jobs start as the local executor starts them (own process group,
// log begun with its header, environment and folder as given, the program looked up in the
// job's PATH, every signal at its default), report their pid and exit; ending its input stops
// what still runs; its death fails its jobs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Launcher, type Exited, type Started } from '../../src/executors/launcher.js';
import { launcherPython } from '../../src/executors/launcher-python.js';

const linux = process.platform === 'linux';
const skip = process.platform === 'win32' && 'no process groups';
const KINDS = [
  { kind: 'python' as const, skip: skip || (!linux && 'Linux only') || (!launcherPython() && 'needs python3') },
  { kind: 'node' as const, skip },
];
const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-launcher-')));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function ready(l: Launcher): Promise<void> {
  const t0 = Date.now();
  while (!l.usable) {
    if (Date.now() - t0 > 20_000) throw new Error('the launcher did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether the process group is gone within `ms`. */
async function groupGone(pgid: number, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 10))) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

function pidOf(s: Started): number {
  assert.ok(!('error' in s), JSON.stringify(s));
  return s.pid;
}

for (const { kind, skip } of KINDS) {
  test(`${kind}: jobs run in their own process group, with their log, environment and folder; pid, start time and exit are reported`, { skip }, async () => {
    const l = new Launcher(kind);
    await ready(l);
    fs.mkdirSync(path.join(dir, 'w'), { recursive: true });
    const log = path.join(dir, 'logs', 'sub', 'a.log'); // its folder is made
    const job = l.launch({
      command: 'echo "$GREETING from $(pwd)"; echo oops >&2; cat /proc/$$/stat 2>/dev/null | sed "s/.*) //" | cut -d" " -f3; exit 3',
      cwd: path.join(dir, 'w'), env: { PATH: process.env.PATH, GREETING: 'hello' }, log, header: '$ the command\n',
    });
    const pid = pidOf(await job.started);
    const started = (await job.started) as { start: string | null };
    assert.deepEqual(await job.exited, { code: 3, signal: null });
    l.groupEnded(pid); // as the executor does once the group is gone: the launcher lets it go
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    assert.deepEqual(lines.slice(0, 3), ['$ the command', `hello from ${path.join(dir, 'w')}`, 'oops']);
    if (linux) {
      assert.equal(Number(lines[3]), pid, 'the job leads its own process group');
      assert.match(String(started.start), /^\d+$/);
    }
    // An argv job: no shell between sbuild and the program.
    const argv = l.launch({ file: process.execPath, args: ['-e', 'process.kill(process.pid, "SIGTERM")'], cwd: dir, env: {}, log: path.join(dir, 'b.log'), header: '$ b\n' });
    const argvPid = pidOf(await argv.started);
    assert.deepEqual(await argv.exited, { code: null, signal: 'SIGTERM' });
    l.groupEnded(argvPid);
    const missing = l.launch({ file: 'no-such-program-sbuild-test', args: [], cwd: dir, env: { PATH: '/nonexistent' }, log: path.join(dir, 'c.log'), header: '$ c\n' });
    const s = await missing.started;
    assert.ok('error' in s && /ENOENT/.test(s.error), JSON.stringify(s));
    assert.equal(fs.readFileSync(path.join(dir, 'c.log'), 'utf8'), '$ c\n');
    l.close();
  });

  test(`${kind}: when its input ends (sbuild died), the launcher stops every group sbuild had not ended, finished jobs' leftovers too`, { skip }, async () => {
    const l = new Launcher(kind);
    await ready(l);
    const env = { PATH: process.env.PATH };
    const job = l.launch({ command: 'sleep 30', cwd: dir, env, log: path.join(dir, 'd.log'), header: '' });
    pidOf(await job.started);
    // A job whose command exited but left a process in its group that sbuild has not ended yet.
    const left = l.launch({ command: 'sleep 30 & echo $! > left.pid', cwd: dir, env, log: path.join(dir, 'd2.log'), header: '' });
    const leftPgid = pidOf(await left.started);
    assert.deepEqual(await left.exited, { code: 0, signal: null });
    const t0 = Date.now();
    l.close();
    const e: Exited = await job.exited;
    assert.deepEqual(e, { code: null, signal: 'SIGTERM' });
    assert.ok(await groupGone(leftPgid, 5000), 'the leftover was stopped too');
    assert.ok(Date.now() - t0 < 10_000);
  });

  test(`${kind}: a launcher that dies fails its jobs and stops them`, { skip }, async () => {
    const l = new Launcher(kind);
    await ready(l);
    const job = l.launch({ command: 'sleep 30', cwd: dir, env: { PATH: process.env.PATH }, log: path.join(dir, 'e.log'), header: '' });
    const pid = pidOf(await job.started);
    (l as unknown as { child: { kill(s: string): void } }).child.kill('SIGKILL');
    const e = await job.exited;
    assert.ok('error' in e && /job launcher was killed by SIGKILL/.test(e.error), JSON.stringify(e));
    assert.equal(l.usable, false);
    assert.ok(await groupGone(pid, 2000), 'the job was stopped');
    // A job handed to a dead launcher fails at once.
    const late = l.launch({ command: 'true', cwd: dir, env: {}, log: path.join(dir, 'f.log'), header: '' });
    const s = await late.started;
    assert.ok('error' in s, JSON.stringify(s));
  });

  test(`${kind}: a program is looked up in the job's PATH, and the job starts with every signal at its default`, { skip }, async () => {
    const l = new Launcher(kind);
    await ready(l);
    const bin = path.join(dir, `bin-${kind}`);
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'only-here'), '#!/bin/sh\necho "found in $1"\n', { mode: 0o755 });
    const log = path.join(dir, `path-${kind}.log`);
    const found = l.launch({ file: 'only-here', args: ['the job PATH'], cwd: dir, env: { PATH: `${bin}:${process.env.PATH}` }, log, header: '' });
    l.groupEnded(pidOf(await found.started));
    assert.deepEqual(await found.exited, { code: 0, signal: null });
    assert.equal(fs.readFileSync(log, 'utf8'), 'found in the job PATH\n');
    // Python and Node ignore SIGPIPE themselves; a job must not: \`yes\` ends by it, silently.
    const pipeLog = path.join(dir, `pipe-${kind}.log`);
    const pipe = l.launch({ command: 'yes | head -n 2; grep -E "^(SigIgn|SigBlk)" /proc/self/status', cwd: dir, env: { PATH: process.env.PATH }, log: pipeLog, header: '' });
    l.groupEnded(pidOf(await pipe.started));
    assert.deepEqual(await pipe.exited, { code: 0, signal: null });
    const text = fs.readFileSync(pipeLog, 'utf8');
    assert.ok(text.startsWith('y\ny\n') && !/Broken pipe/.test(text), text);
    if (linux) assert.match(text, /SigBlk:\t0+\nSigIgn:\t0+\n$/, 'nothing ignored or blocked');
    l.close();
  });
}
