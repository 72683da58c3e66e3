// The launcher: a small process that starts command jobs for the local executor. On Linux
// with a python3 it is the Python program of launcher-python.ts (a vfork, cheaper still
// than a small Node process's fork); elsewhere, or if that one cannot start, the Node program
// below. Both speak the same protocol and do the same duties.
//
// Starting a process from Node costs its parent a copy of its page tables (fork), the child
// their teardown (exec), and the parent a page fault per page it writes afterwards: all in
// proportion to the parent's memory. sbuild's grows with the workspace (graph, lock, stat
// cache), so in a large cold build starting a short job cost more than running it, and more
// per job the larger the build. A build that runs more than a handful of command jobs starts
// the rest through the launcher instead: started once, with a few megabytes of memory, it
// spawns each job exactly as the executor does (its own process group, stdout and stderr on
// its log, the environment as given, the shell for a command string) and reports the job's
// pid with the start time of that process, then its exit.
//
// The jobs record (jobs.ts) works as for jobs sbuild starts itself: the job is recorded before
// it is asked for, its pid when it is known, its end after its group is gone. Signals (Ctrl-C)
// go from sbuild to the job's group directly, as for any other job. The launcher is the
// watchdog of the jobs it starts: it holds each one's process group from its start (before
// sbuild even knows the pid) until sbuild says the group ended, and if sbuild dies (its end of
// the launcher's stdin closes) it stops every group it holds, as the watchdog would (SIGTERM,
// SIGKILL 2 s later). If the launcher dies, the jobs it had started are stopped and fail;
// later jobs start directly. (Unrelated to `sbuild launch`, which starts a distributed job's ranks.)
import { spawn, type ChildProcess } from 'node:child_process';
import { launcherPython, PYTHON_PROGRAM } from './launcher-python.js';

/** The Node launcher's program (CommonJS, run with `node -e`): JSON lines in, JSON lines out. */
const PROGRAM = String.raw`'use strict';
// Named like the watchdog: ps and pgrep show this, not the program's text.
process.title = 'sbuild-launcher';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
// Groups of the jobs started, until sbuild says it ended them (what it must stop if sbuild dies).
const held = new Set();
const pause = new Int32Array(new SharedArrayBuffer(4));
const send = (m) => {
  const b = Buffer.from(JSON.stringify(m) + '\n');
  for (let off = 0; off < b.length; ) {
    try {
      off += fs.writeSync(1, b, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') return; // sbuild is gone: stdin ends too
      Atomics.wait(pause, 0, 0, 1);
    }
  }
};
const startOf = (pid) => {
  try {
    const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] || null;
  } catch { return null; }
};
function start(j) {
  let fd;
  try {
    try {
      fd = fs.openSync(j.log, 'w');
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
      fs.mkdirSync(path.dirname(j.log), { recursive: true });
      fd = fs.openSync(j.log, 'w');
    }
    fs.writeSync(fd, j.header);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    return send({ id: j.id, error: 'could not write its log ' + j.log + ': ' + e.message });
  }
  let child;
  try {
    const o = { cwd: j.cwd, env: j.env, stdio: ['ignore', fd, fd], detached: true };
    child = j.command !== undefined ? spawn(j.command, { ...o, shell: true }) : spawn(j.file, j.args, o);
  } catch (e) {
    return send({ id: j.id, error: e.message });
  } finally {
    fs.closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) return void child.once('error', (e) => send({ id: j.id, error: e.message }));
  held.add(pid);
  // Read before the exit can be reaped, so the start time is this process's.
  send({ id: j.id, pid, start: startOf(pid) });
  child.on('error', () => undefined);
  child.once('exit', (code, signal) => send({ id: j.id, code, signal }));
}
let buf = '';
let stopping = false;
function stopAll() {
  if (stopping) return;
  stopping = true;
  const groups = [...held];
  if (!groups.length) process.exit(0);
  const signal = (sig) => groups.filter((g) => { try { process.kill(-g, sig); return true; } catch { return false; } });
  signal('SIGTERM');
  const t0 = Date.now();
  setInterval(() => {
    if (!signal(0).length) process.exit(0);
    if (Date.now() - t0 > 2000) { signal('SIGKILL'); process.exit(0); }
  }, 50);
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let n; (n = buf.indexOf('\n')) >= 0; ) {
    const line = buf.slice(0, n);
    buf = buf.slice(n + 1);
    if (!line || stopping) continue;
    const m = JSON.parse(line);
    for (const g of m.ended ?? []) held.delete(g);
    if (m.id !== undefined) start(m);
  }
});
process.stdin.on('end', stopAll);
process.stdin.on('error', stopAll);
send({ ready: true });
`;

/** One job for the launcher: a shell command string or an argv. */
export interface LaunchSpec {
  command?: string;
  file?: string;
  args?: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The job's log, truncated and begun with `header` before the job starts. */
  log: string;
  header: string;
}

export type Started = { pid: number; start: string | null } | { error: string };
export type Exited = { code: number | null; signal: NodeJS.Signals | null } | { error: string };

interface Pending {
  pid?: number;
  started: (s: Started) => void;
  exited: (e: Exited) => void;
}

export class Launcher {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  /** Groups sbuild ended since the last message: they ride on the next one. */
  private ended: number[] = [];
  private flushing = false;
  /** It said it was ready (once; it stays so after it dies). */
  private ready = false;
  private dead = false;
  private buf = '';
  /** Told when it goes, and whether it had been ready. */
  onDeath?: (wasReady: boolean) => void;
  /** Which program runs: the Python one of launcher-python.ts where launcherPython() finds a python3, else the Node one. */
  readonly kind: 'node' | 'python';

  /** `prefer: 'node'`: the Node launcher even where a python3 is found. */
  constructor(prefer: 'node' | 'python' = 'python') {
    const python = prefer === 'python' ? launcherPython() : undefined;
    this.kind = python ? 'python' : 'node';
    const [file, args] = python ? [python, ['-I', '-S', '-c', PYTHON_PROGRAM]] : [process.execPath, ['--max-semi-space-size=1', '-e', PROGRAM]];
    this.child = spawn(file, args, {
      // Detached: a Ctrl-C at the terminal is for sbuild, which forwards it to the jobs.
      // Not the build's environment (each job gets its own): nothing should take the launcher
      // for one of them, and NODE_OPTIONS (or PYTHONPATH, site-packages) must not load anything into it.
      // Named like the watchdog: ps and pgrep show this, not the program's text.
      cwd: '/', detached: true, stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, argv0: 'sbuild-launcher',
    });
    this.child.on('error', () => this.died('could not start'));
    // 'close', not 'exit': what it wrote before it went is read first.
    this.child.on('close', (code, signal) => this.died(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    this.child.stdin!.on('error', () => undefined); // its exit says it
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.read(d));
    this.idle();
  }

  /** Started, and not dead: jobs may be handed to it. */
  get usable(): boolean {
    return this.ready && !this.dead;
  }

  launch(spec: LaunchSpec): { started: Promise<Started>; exited: Promise<Exited> } {
    const id = this.next++;
    let p!: Pending;
    const started = new Promise<Started>((res) => (p = { started: res, exited: () => undefined }));
    const exited = new Promise<Exited>((res) => (p.exited = res));
    if (this.dead) {
      p.started({ error: 'the job launcher is gone' });
      return { started, exited };
    }
    if (this.pending.size === 0) this.busy();
    this.pending.set(id, p);
    const ended = this.ended.length ? this.ended : undefined;
    this.ended = [];
    this.child.stdin!.write(JSON.stringify({ id, ...spec, ended }) + '\n');
    return { started, exited };
  }

  /**
   * A job's group is gone (sbuild killed and waited for what the command left in it): the
   * launcher no longer stops it if sbuild dies. Told with the next job asked for, or at the
   * end of this turn of the event loop, so a finished job and the next one cost one write.
   */
  groupEnded(pgid: number): void {
    if (this.dead) return;
    this.ended.push(pgid);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      this.flush();
    });
  }

  /**
   * No job runs any more: the launcher exits, and sbuild waits for that (milliseconds), so it
   * leaves no process behind and its CPU time counts with sbuild's.
   */
  close(): void {
    this.flush();
    if (!this.dead) this.child.ref();
    this.child.stdin!.end();
  }

  private flush(): void {
    if (!this.ended.length || this.dead) return;
    this.child.stdin!.write(JSON.stringify({ ended: this.ended }) + '\n');
    this.ended = [];
  }

  private read(d: string): void {
    this.buf += d;
    for (let n; (n = this.buf.indexOf('\n')) >= 0; ) {
      const m = JSON.parse(this.buf.slice(0, n)) as { ready?: true; id: number; pid?: number; start?: string | null; code?: number | null; signal?: NodeJS.Signals | null; error?: string };
      this.buf = this.buf.slice(n + 1);
      if (m.ready) {
        this.ready = true;
        continue;
      }
      const p = this.pending.get(m.id);
      if (!p) continue;
      if (m.pid !== undefined) {
        p.pid = m.pid;
        p.started({ pid: m.pid, start: m.start ?? null });
        continue;
      }
      this.settle(m.id);
      if (m.error !== undefined) p.started({ error: m.error });
      else p.exited({ code: m.code ?? null, signal: m.signal ?? null });
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.idle();
  }

  /** The launcher is gone: what it had started is stopped, and fails. */
  private died(how: string): void {
    if (this.dead) return;
    this.dead = true;
    this.onDeath?.(this.ready);
    const error = `the job launcher ${how}`;
    for (const [id, p] of this.pending) {
      this.settle(id);
      if (p.pid === undefined) {
        p.started({ error });
        continue;
      }
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      p.exited({ error });
    }
  }

  // While jobs run, the launcher's pipe keeps sbuild waiting for them; idle, it keeps nothing alive.
  private busy(): void {
    this.child.ref();
    (this.child.stdout as unknown as { ref(): void }).ref();
  }

  private idle(): void {
    this.child.unref();
    (this.child.stdout as unknown as { unref(): void }).unref();
    (this.child.stdin as unknown as { unref?(): void }).unref?.();
  }
}
