// Several sbuilds in one workspace at the same instant: one builds, the others wait and then
// find everything fresh; every action runs exactly once and the outputs are a clean build's.
// Processes are released together by a start barrier (bench/lib/barrier.mjs), within about a
// millisecond. And the writer lock's takeover rules: a provably dead holder is taken over (an
// exited pid; a live pid with another start time), a live one is waited for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { CLI, REPO, collect, sh, useRigs, waitFor, type Rig, type RunResult } from '../helpers/rig.js';
import { procStat } from '../../src/util/proc.js';

const rig = useRigs();
const BARRIER = path.join(REPO, 'bench', 'lib', 'barrier.mjs');
const PROC = fs.existsSync('/proc/self/stat');

const N = 8;
const names = Array.from({ length: N }, (_, i) => `t${i}`);

/** t0 copies in.txt; t_i copies t_{i-1} and appends its name: a double run shows in the bytes. */
function chain(r: Rig): void {
  r.config(`{
    default: 'all',
    targets: [
      ${names.map((n, i) => {
        const src = i === 0 ? 'in.txt' : `o/t${i - 1}`;
        return `{ name: '${n}', inputs: ['${src}'], outputs: ['o/${n}'], run: ${JSON.stringify(sh(n, `mkdir -p o; cat ${src} > o/${n}.part; echo ${n} >> o/${n}.part; mv o/${n}.part o/${n}`))} },`;
      }).join('\n      ')}
      { name: 'all', deps: ['t${N - 1}'] },
    ],
  }`);
}

function expected(input: string): Record<string, string> {
  const out: Record<string, string> = {};
  let text = input;
  for (const n of names) out[n] = text += `${n}\n`;
  return out;
}


/** Starts `procs` invocations, holds them at the barrier until all are up, then lets them go at once. */
async function together(r: Rig, procs: number, args: string[]): Promise<RunResult[]> {
  const barrier = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-barrier-'));
  try {
    const runs = Array.from({ length: procs }, () =>
      collect(spawn(process.execPath, ['--import', BARRIER, CLI, ...args], {
        cwd: r.dir,
        env: { ...process.env, CI: '1', SBUILD_BARRIER: barrier },
        stdio: ['ignore', 'pipe', 'pipe'],
      })));
    await waitFor(() => fs.readdirSync(barrier).filter((f) => f.startsWith('ready-')).length === procs, 60_000);
    fs.writeFileSync(path.join(barrier, 'go'), '');
    return await Promise.all(runs);
  } finally {
    fs.rmSync(barrier, { recursive: true, force: true });
  }
}

/** The identity fields sbuild records next to pid and start time (so only those differ). */
function here(): { host: string; boot?: string; pidns?: string } {
  const id: { host: string; boot?: string; pidns?: string } = { host: os.hostname() };
  try {
    id.boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    id.pidns = fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    /* not Linux */
  }
  return id;
}

/** A complete lock record of a process that has exited (its real pid and start time). */
async function deadHolder(): Promise<Record<string, unknown>> {
  const child = spawn('sleep', ['0.05'], { stdio: 'ignore' });
  const exited = new Promise((res) => child.on('exit', res));
  const start = procStat(child.pid!)?.start;
  await exited;
  return { pid: child.pid, ...here(), since: 'earlier', token: 'dead0001', ...(start ? { start } : {}) };
}

function writeLock(r: Rig, name: string, record: unknown): string {
  const text = typeof record === 'string' ? record : JSON.stringify(record);
  r.write(`.sbuild/${name}`, text);
  return text;
}

const lockLeftovers = (r: Rig) => (r.exists('.sbuild') ? fs.readdirSync(r.path('.sbuild')).filter((f) => f.startsWith('writer.pid')) : []);

test('simultaneous invocations: every action runs once, outputs equal a clean build\'s, the next run has nothing to do', async () => {
  const r = rig();
  chain(r);
  // 24 rounds of 4 and 4 of 8. Every 6th round starts from an empty .sbuild/ and no
  // sbuild.lock (all of them compile the config at once too); every 6th, 3 later, finds the
  // lock of a dead sbuild in place (all of them find it dead at once; one takes it over).
  const rounds = [...Array<number>(24).fill(4), ...Array<number>(4).fill(8)];
  for (const [i, procs] of rounds.entries()) {
    if (i % 6 === 0) for (const f of ['.sbuild', 'sbuild.lock', 'o']) fs.rmSync(r.path(f), { recursive: true, force: true });
    if (i % 6 === 3) writeLock(r, 'writer.pid', await deadHolder());
    const input = `round ${i} ${Math.random()}\n`;
    r.write('in.txt', input);
    const results = await together(r, procs, ['-j', '2', 'all']);
    const what = `round ${i} (${procs} at once)`;
    for (const res of results) assert.equal(res.code, 0, `${what}: ${res.stdout}${res.stderr}`);
    assert.deepEqual(r.takeRuns(), names, `${what}: every action ran exactly once`);
    const want = expected(input);
    for (const n of names) assert.equal(r.read(`o/${n}`), want[n], `${what}: o/${n}`);
    assert.equal(results.filter((res) => /\b8 ran\b/.test(res.stdout)).length, 1, `${what}: one built, the others found it done`);
    const next = r.run(['all']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /\b0 ran\b/, `${what}: the next run`);
    assert.deepEqual(r.takeRuns(), []);
    assert.deepEqual(lockLeftovers(r), [], `${what}: no lock or claim file left`);
  }
});

/** A workspace with one target 'a' that copies a.txt (which each build changes) to o/a. */
function oneTarget(): Rig {
  const r = rig();
  r.write('a.txt', 'a\n');
  r.config(`{ default: 'a', targets: [
    { name: 'a', inputs: ['a.txt'], outputs: ['o/a'], run: ${JSON.stringify(sh('a', 'mkdir -p o; cp a.txt o/a'))} },
  ] }`);
  return r;
}

test('a lock left by a dead sbuild is taken over: an exited pid, a live pid with another start time, an unreadable file; claims of dead claimants too', { skip: !PROC && 'needs /proc' }, async () => {
  const r = oneTarget();
  let v = 0;
  const build = (args: string[] = ['--no-wait']) => {
    r.write('a.txt', `${++v}\n`);
    const res = r.run(args);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(r.takeRuns(), ['a']);
    assert.equal(r.read('o/a'), `${v}\n`);
    assert.deepEqual(lockLeftovers(r), []);
    return res;
  };

  // The pid of a process that exited.
  writeLock(r, 'writer.pid', await deadHolder());
  build();

  // A live pid (reused, as far as the record can tell) whose start time is not the recorded one.
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const real = procStat(other.pid!)!.start;
    writeLock(r, 'writer.pid', { pid: other.pid, ...here(), since: 'earlier', token: 'reused01', start: String(Number(real) + 1) });
    build();
  } finally {
    other.kill();
  }

  // A claim whose claimant died inside its critical section: removed through a claim one level up.
  const stale = writeLock(r, 'writer.pid', await deadHolder());
  const id = createHash('sha256').update(stale).digest('hex').slice(0, 32);
  writeLock(r, `writer.pid.takeover-${id}`, await deadHolder());
  build();

  // An unreadable lock (an older sbuild killed between creating and writing it) is waited
  // out, even with --no-wait (a build holds the lock for moments), and taken over once it has
  // not changed for the grace period.
  writeLock(r, 'writer.pid', '');
  const res = build(['--no-wait']);
  assert.match(res.stderr, /warning: \.sbuild\/writer\.pid is unreadable and has not changed for 5 s; taking it over/);
});

test('a live exclusive holder is waited for (or --no-wait exits 2 naming it); a holder on another host is never taken over', { skip: !PROC && 'needs /proc' }, async () => {
  const r = oneTarget();
  const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
  const holderExit = new Promise((res) => holder.on('exit', res));
  try {
    writeLock(r, 'writer.pid', { pid: holder.pid, ...here(), since: 'earlier', token: 'alive001', start: procStat(holder.pid!)!.start, exclusive: 'clean' });
    const busy = r.run(['--no-wait']);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, new RegExp(`^error: Another sbuild clean \\(pid ${holder.pid}, since earlier\\) is working in this workspace \\(${r.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\\. Wait for it to finish`));
    assert.ok(!r.exists('runs.log'));
    const waiter = r.spawn([]);
    const done = collect(waiter);
    let err = '';
    waiter.stderr.on('data', (d) => (err += d));
    await waitFor(() => err.includes(`waiting for sbuild clean (pid ${holder.pid}, since earlier) to finish in this workspace`));
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(!r.exists('runs.log'), 'nothing runs while the holder lives');
    holder.kill();
    await holderExit;
    const res = await done;
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(r.takeRuns(), ['a'], 'the holder died (without releasing): taken over');
  } finally {
    holder.kill();
  }
  // Another host: whether that pid lives cannot be told from here.
  writeLock(r, 'writer.pid', { ...(await deadHolder()), host: 'elsewhere.example', exclusive: 'adopt' });
  const busy = r.run(['--no-wait']);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, /error: Another sbuild adopt \(pid \d+ on elsewhere\.example, since earlier\) is working/);
  fs.rmSync(r.path('.sbuild/writer.pid'));
});
