// An Executor whose jobs the test controls, for driving the scheduler without processes (as
// Ninja's tests do with a virtual file system). Each job is recorded when it starts (target,
// GPU ids, CUDA_VISIBLE_DEVICES, order) and ends when the test says: `finish(name)` writes the
// target's declared outputs in this process and reports success, `fail(name, code)` reports an
// exit code. `signalAll` records the signal and ends every running job as killed by it. In
// auto mode every job ends by itself one microtask after it starts, as `outcome()` says.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Executor, Job, JobResult } from '../../src/executors/executor.js';

export interface Start {
  name: string;
  gpus: string[];
  /** CUDA_VISIBLE_DEVICES as the job's environment had it. */
  cuda: string | undefined;
  /** 0 for the first job this executor started, then 1, 2, … */
  seq: number;
  /** The other jobs running when this one started. */
  alongside: string[];
}

/** How a job ends. `write: false` (or a list of the outputs to write): a success that leaves outputs out. */
export type Outcome =
  | { ok: true; write?: boolean | string[] }
  | { ok: false; exitCode: number; partial?: boolean };

/** What a target writes: one text for every declared output, or a function of the job. */
export type Content = string | ((job: Job) => string);

interface Running {
  job: Job;
  resolve: (r: JobResult) => void;
}

export class FakeExecutor implements Executor {
  readonly starts: Start[] = [];
  /** Every start and end, in order: 'start:a', 'end:a'. */
  readonly log: string[] = [];
  readonly signals: NodeJS.Signals[] = [];
  /** The most jobs that ever ran at once. */
  maxRunning = 0;
  closed = 0;
  private readonly running = new Map<string, Running>();
  private readonly contents = new Map<string, Content>();
  private readonly outcomes = new Map<string, Outcome>();
  private readonly waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];

  constructor(private readonly opts: { auto?: boolean } = {}) {}

  /** Names of the jobs running now, in start order. */
  get runningNow(): string[] {
    return [...this.running.keys()];
  }

  /** Names of the jobs started so far, in start order. */
  get started(): string[] {
    return this.starts.map((s) => s.name);
  }

  /** What the target writes into its outputs (default: derived from its name and its inputs' bytes). */
  content(name: string, c: Content): this {
    this.contents.set(name, c);
    return this;
  }

  /** How the target's job ends in auto mode (default: success, outputs written). */
  outcome(name: string, o: Outcome): this {
    this.outcomes.set(name, o);
    return this;
  }

  run(job: Job): Promise<JobResult> {
    const name = job.node.name;
    if (this.running.has(name)) throw new Error(`fake executor: '${name}' started while it was running`);
    this.starts.push({ name, gpus: [...job.gpus], cuda: job.env.CUDA_VISIBLE_DEVICES, seq: this.starts.length, alongside: this.runningNow });
    this.log.push(`start:${name}`);
    const done = new Promise<JobResult>((resolve) => this.running.set(name, { job, resolve }));
    this.maxRunning = Math.max(this.maxRunning, this.running.size);
    if (this.opts.auto) queueMicrotask(() => this.end(name, this.outcomes.get(name) ?? { ok: true }));
    this.wake();
    return done;
  }

  /** Ends a running job successfully, writing its outputs first. */
  finish(name: string, o: { write?: boolean | string[] } = {}): void {
    this.end(name, { ok: true, ...o });
  }

  /** Ends a running job with an exit code; `partial` writes its outputs first (a job that died halfway). */
  fail(name: string, exitCode: number, partial = false): void {
    this.end(name, { ok: false, exitCode, partial });
  }

  signalAll(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    for (const name of this.runningNow) this.settle(name, { ok: false, reason: 'signal', signal, command: commandOf(this.running.get(name)!.job) });
  }

  close(): void {
    this.closed++;
  }

  /** Resolves once `name` has started (at once if it has). */
  waitStart(name: string): Promise<void> {
    return this.until(() => this.starts.some((s) => s.name === name), `'${name}' to start`);
  }

  /** Resolves once `n` jobs are running at the same time. */
  waitRunning(n: number): Promise<void> {
    return this.until(() => this.running.size >= n, `${n} running jobs`);
  }

  /** Writes the outputs the job would write on success (all of them, or those listed). */
  writeOutputs(job: Job, only?: string[]): void {
    const c = this.contents.get(job.node.name);
    const text = typeof c === 'function' ? c(job) : c ?? derived(job);
    for (const o of job.node.outputs) {
      if (only && !only.includes(o)) continue;
      const abs = path.join(job.root, o);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, text);
    }
  }

  private end(name: string, o: Outcome): void {
    const r = this.running.get(name);
    if (!r) throw new Error(`fake executor: '${name}' is not running (running: ${this.runningNow.join(', ') || 'none'})`);
    if (o.ok) {
      if (o.write !== false) this.writeOutputs(r.job, Array.isArray(o.write) ? o.write : undefined);
      this.settle(name, { ok: true });
    } else {
      if (o.partial) this.writeOutputs(r.job);
      this.settle(name, { ok: false, reason: 'exit', exitCode: o.exitCode, command: commandOf(r.job) });
    }
  }

  private settle(name: string, result: JobResult): void {
    const r = this.running.get(name)!;
    this.running.delete(name);
    this.log.push(`end:${name}`);
    r.resolve(result);
  }

  private until(pred: () => boolean, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // A test that waits for something that never happens fails instead of hanging.
      const timer = setTimeout(() => reject(new Error(`fake executor: timed out waiting for ${what} (started: ${this.started.join(', ') || 'none'})`)), 5000);
      this.waiters.push({ pred, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.pred()) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

/** The default output text: the target's name and a hash of its input files' bytes, in order. */
function derived(job: Job): string {
  const h = createHash('sha256');
  for (const f of [...job.inputs].sort()) {
    h.update(f + '\0');
    try {
      h.update(fs.readFileSync(path.resolve(job.root, f)));
    } catch {
      h.update('(unreadable)');
    }
  }
  return `${job.node.name} ${h.digest('hex').slice(0, 16)}\n`;
}

function commandOf(job: Job): string {
  const run = job.node.command ?? job.node.target.run;
  return typeof run === 'string' ? run : Array.isArray(run) ? run.join(' ') : job.node.name;
}
