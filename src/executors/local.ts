// Runs jobs on this machine: commands through node:child_process (argv without a shell, or a
// shell string), in-process actions as async functions. Each job gets its own process group so
// a signal reaches the whole tree it started; stdout and stderr share one log file. A job's
// group never outlives sbuild, nor the job's own command (jobs.ts).
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { ActionContext } from '../config/types.js';
import { writablePath, writeFileAtomicAsync } from '../util/fs.js';
import { jobCommand, shownCommand, type Executor, type Job, type JobResult } from './executor.js';
import { outputsToSetAside } from '../engine/resume.js';
import { JobTracker, endGroup } from './jobs.js';
import { allProcs, exited, procStat, unsignalled, type Proc } from '../util/proc.js';
import { actionTmpDir, jobsPath } from '../engine/state-paths.js';
import { Launcher } from './launcher.js';

/** Command jobs a build starts itself before it starts the rest through the launcher (launcher.ts). */
const LAUNCH_AFTER = 16;

export class LocalExecutor implements Executor {
  /** Process groups of the running command jobs (each job's pid). */
  private readonly running = new Set<number>();
  private tracker: JobTracker | undefined;
  /** The launcher: undefined until LAUNCH_AFTER jobs were started here; false where not used. */
  private launcher: Launcher | false | undefined = process.platform === 'win32' ? false : undefined;
  private startedHere = 0;
  /** The signal last forwarded to every job (the build was interrupted): a job whose pid arrives later gets it too. */
  private forwarded: NodeJS.Signals | undefined;

  /** `jobsFile`: where this build records its jobs (engine/live-builds.ts); default the workspace's `.sbuild/jobs.jsonl`. */
  constructor(private readonly jobsFile?: string) {}

  async run(job: Job): Promise<JobResult> {
    const run = job.node.target.run;
    if (typeof run === 'function') {
      fs.mkdirSync(path.dirname(job.logFile), { recursive: true });
      return this.runFunction(job, run);
    }
    // The command as validated: its params substituted (config/params-template.ts).
    const line = jobCommand(job.node.command ?? run!, job.args);
    const command = shownCommand(line);
    const header = `$ ${command}\n${(job.notes ?? []).map((n) => `sbuild: ${n}\n`).join('')}`;
    // Recorded before it starts, so that nothing this job does can outlive sbuild unnoticed (jobs.ts).
    const tracker = (this.tracker ??= new JobTracker(this.jobsFile ?? jobsPath(job.root), job.root));
    const launcher = this.launcherFor();
    if (launcher) return this.runLaunched(job, line, command, header, tracker, launcher);
    // One descriptor for stdout and stderr keeps their lines in order (and is the cheapest spawn).
    const fd = openLog(job.logFile);
    fs.writeSync(fd, header);
    const id = tracker.starting(job.node.name, outputsToSetAside(job.node));
    let pid: number | undefined;
    try {
      if (job.signal.aborted) return { ok: false, reason: 'signal', signal: 'SIGINT', command };
      // node:child_process directly: a wrapper's option handling per spawn is a large share of
      // a short job's cost, and nothing here needs more than the exit status.
      const opts: SpawnOptions = { cwd: job.root, env: job.env, stdio: ['ignore', fd, fd], detached: true };
      let child: ChildProcess;
      try {
        child = typeof line === 'string' ? spawn(line, { ...opts, shell: true }) : spawn(line[0]!, line.slice(1), opts);
      } catch (err) {
        // Arguments spawn() refuses outright (a NUL byte): the command could not start.
        return { ok: false, reason: 'spawn', message: (err as Error).message || 'unknown error', command };
      }
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        // 'error' also reports a failed kill and the like; only one without a process is a failed start.
        child.on('error', (error) => {
          if (child.pid === undefined) resolve({ code: null, signal: null, error });
        });
      });
      pid = child.pid;
      if (pid !== undefined) {
        this.running.add(pid);
        tracker.spawned(id, pid);
      }
      const res = await done;
      if (pid !== undefined) {
        this.running.delete(pid);
        // The job is its process group: what it left running is stopped before its outputs are read.
        if (await endGroup(pid)) fs.writeSync(fd, LEFT_RUNNING);
      }
      if (res.error) return { ok: false, reason: 'spawn', message: res.error.message || 'unknown error', command };
      return outcome(res, command);
    } finally {
      tracker.ended(id, pid);
      fs.closeSync(fd);
    }
  }

  /** The launcher, once this build has started enough jobs itself and it is up (else undefined). */
  private launcherFor(): Launcher | undefined {
    if (this.launcher === false) return undefined;
    if (this.launcher === undefined) {
      if (++this.startedHere > LAUNCH_AFTER) this.launcher = this.startLauncher();
      return undefined;
    }
    return this.launcher.usable ? this.launcher : undefined;
  }

  private startLauncher(): Launcher {
    const l = new Launcher();
    // A python3 that could not run the launcher (too old, broken): the Node one takes over at once.
    if (l.kind === 'python') l.onDeath = (wasReady) => {
      if (!wasReady && this.launcher === l) this.launcher = new Launcher('node');
    };
    return l;
  }

  /** A command job the launcher starts: the same record, log, signals and group end as one started here. */
  private async runLaunched(job: Job, line: string | string[], command: string, header: string, tracker: JobTracker, launcher: Launcher): Promise<JobResult> {
    const id = tracker.starting(job.node.name, outputsToSetAside(job.node));
    let pid: number | undefined;
    try {
      if (job.signal.aborted) return { ok: false, reason: 'signal', signal: 'SIGINT', command };
      const how = typeof line === 'string' ? { command: line } : { file: line[0]!, args: line.slice(1) };
      const { started, exited } = launcher.launch({ ...how, cwd: job.root, env: job.env, log: job.logFile, header });
      const s = await started;
      if ('error' in s) return { ok: false, reason: 'spawn', message: s.error, command };
      pid = s.pid;
      this.running.add(pid);
      tracker.spawned(id, pid, { start: s.start });
      // Interrupted while it was being started: it gets the signal the others got, and the
      // same second look for a process that missed it.
      if (this.forwarded) this.deliver([pid], this.forwarded);
      const res = await exited;
      this.running.delete(pid);
      if ('error' in res) {
        // The launcher died; its jobs were killed (their exit status is unknown without it).
        await endGroup(pid);
        fs.appendFileSync(job.logFile, `sbuild: ${res.error} while the command ran; the command was killed\n`);
        return { ok: false, reason: 'signal', signal: 'SIGKILL', command };
      }
      // The job is its process group: what it left running is stopped before its outputs are read.
      if (await endGroup(pid)) fs.appendFileSync(job.logFile, LEFT_RUNNING);
      launcher.groupEnded(pid);
      return outcome(res, command);
    } finally {
      tracker.ended(id, pid, true);
    }
  }

  private async runFunction(job: Job, fn: (ctx: ActionContext) => unknown): Promise<JobResult> {
    const t = job.node.target;
    const command = `in-process action ${t.rule?.id ?? t.name}`;
    const log = fs.createWriteStream(job.logFile);
    const tmpRoot = actionTmpDir(job.root);
    fs.mkdirSync(tmpRoot, { recursive: true });
    const tmpDir = fs.mkdtempSync(path.join(tmpRoot, `${job.node.name.replace(/\//g, '_')}-`));
    const ctx: ActionContext = {
      name: job.node.name,
      root: job.root,
      inputs: job.inputs,
      outputs: [...job.node.outputs],
      params: t.params ?? {},
      gpus: job.gpus,
      log: (line) => log.write(line.endsWith('\n') ? line : line + '\n'),
      signal: job.signal,
      tmpDir,
      path: (rel) => path.resolve(job.root, rel),
      writeFile: async (rel, data) => writeFileAtomicAsync(writablePath(job.root, rel, job.node.name), data),
      progress: (text, opts) => job.progress?.(text, opts?.line === true),
      ...job.facts,
    };
    try {
      await fn(ctx);
      return { ok: true };
    } catch (err) {
      const e = err as Error & { badInput?: boolean };
      const badInput = e?.badInput === true;
      // Bad input and expected failures (a refused upload) are said by their message; a bug by its stack.
      const plain = badInput || (e as { expected?: unknown })?.expected === true;
      log.write(`${plain ? e.message : e?.stack ?? String(err)}\n`);
      return { ok: false, reason: 'threw', message: e?.message ?? String(err), command, ...(badInput ? { badInput } : {}) };
    } finally {
      await new Promise<void>((r) => log.end(r));
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  }

  close(): void {
    // No job runs: the launcher exits (and is waited for), the next build starts its own.
    if (this.launcher) this.launcher.close();
    if (this.launcher !== false) this.launcher = undefined;
    this.startedHere = 0;
    this.forwarded = undefined;
    this.tracker?.close();
    this.tracker = undefined;
  }

  signalAll(signal: NodeJS.Signals): void {
    this.forwarded = signal;
    this.deliver([...this.running], signal);
  }

  /** Sends `signal` to these jobs' process groups, and later again to a member that missed it. */
  private deliver(groups: number[], signal: NodeJS.Signals): void {
    if (!groups.length) return;
    // Who is there before the signal goes out: a process started after it (a clean-up) is not.
    const before = signal !== 'SIGKILL' && process.platform === 'linux' ? this.members(groups) : undefined;
    for (const pgid of groups) {
      try {
        process.kill(-pgid, signal);
      } catch {
        /* already gone */
      }
    }
    if (before) this.redeliverLater(signal, before);
  }

  /** The live processes of these process groups. */
  private members(pgids: number[]): Proc[] {
    const groups = new Set(pgids);
    return allProcs().filter((p) => groups.has(p.pgid) && !exited(p));
  }

  /**
   * A signal sent to a job's process group can miss a process: a shell that catches it (dash
   * catches SIGINT under `sh -c`) and has just forked a command runs its handler in the child,
   * which then execs with the default disposition, never having seen the signal, and the shell
   * waits for it (a `sleep 30` ran its 30 s after Ctrl-C, about once in 60 tries). So the
   * processes in the jobs' groups just before the signal went out are looked at again shortly after:
   * one still alive that neither catches, ignores, blocks nor has pending the signal did not
   * get it, and gets it again. Processes started later (a training's clean-up) are left alone,
   * as is every process that handles the signal itself.
   */
  private redeliverLater(signal: NodeJS.Signals, targets: Proc[]): void {
    for (const ms of [100, 500, 1500]) {
      setTimeout(() => {
        for (const p of targets) {
          if (!this.running.has(p.pgid) || procStat(p.pid)?.start !== p.start || !unsignalled(p.pid, signal)) continue;
          try {
            process.kill(p.pid, signal);
          } catch {
            /* gone */
          }
        }
      }, ms).unref();
    }
  }
}

const LEFT_RUNNING = 'sbuild: the command left processes running in its process group; they were killed\n';

/** What a command's exit status means for its job. */
function outcome(res: { code: number | null; signal: NodeJS.Signals | null }, command: string): JobResult {
  if (res.signal) return { ok: false, reason: 'signal', signal: res.signal, command };
  if (res.code !== 0) return { ok: false, reason: 'exit', exitCode: res.code ?? -1, command };
  return { ok: true };
}

/** Opens (truncates) a log for writing; its folder is made only when missing (once per folder, not per job). */
function openLog(file: string): number {
  try {
    return fs.openSync(file, 'w');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, 'w');
  }
}

export function defaultJobs(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}
