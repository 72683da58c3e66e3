// Runs commands as Slurm batch jobs. Each job is a small script under `.sbuild/slurm/` that
// `sbatch` submits with the target's resources mapped to Slurm options; the job's output
// file is the target's log and its exit code the target's result. By default `sbatch --wait`
// blocks until the job ends (one waiting process per job, no polling); `wait: 'poll'`
// submits and follows the job with `scontrol`/`sacct` instead. Ctrl-C cancels every job
// submitted (`scancel`). The cluster, not `-j`, decides how many run at once.
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import type { SlurmConfig, SlurmOptions, Target } from '../config/types.js';
import { quoteArg } from '../hashing/fingerprint.js';
import { writeFileAtomic } from '../util/fs.js';
import { randomBytes } from 'node:crypto';
import { jobCommand, shownCommand, type Executor, type Job, type JobResult } from './executor.js';
import type { GraphNode } from '../graph/graph.js';
import { forgetSubmitted, noteSubmitted, readSubmitted, type SubmittedJob } from './slurm-jobs.js';
import { slurmScriptDir } from '../engine/state-paths.js';

/** The `sbatch` options of a target: its own `slurm` over the config's, GPUs as GRES. */
export function sbatchOptions(t: Target, defaults: SlurmOptions = {}): string[] {
  const o: SlurmOptions = { ...defaults, ...t.slurm };
  const args: string[] = [];
  const gpu = t.resources?.gpu ?? 0;
  if (gpu > 0) args.push(`--gres=gpu:${gpu}`);
  const cpus = o.cpusPerTask ?? t.resources?.cpus;
  if (cpus) args.push(`--cpus-per-task=${cpus}`);
  if (o.mem) args.push(`--mem=${o.mem}`);
  if (o.time) args.push(`--time=${o.time}`);
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.account) args.push(`--account=${o.account}`);
  if (o.qos) args.push(`--qos=${o.qos}`);
  // Defaults' extra options first, the target's after them (sbatch lets the later win).
  args.push(...(defaults.extra ?? []), ...(t.slurm?.extra ?? []));
  return args;
}

/** A Slurm job name from a target name: `sbuild:` and the name, safe for squeue's columns. */
export function jobName(target: string): string {
  return `sbuild:${target.replace(/[^A-Za-z0-9._:/-]/g, '_')}`.slice(0, 128);
}

/** The batch script: the command (params substituted) as the local executor would run it, in the workspace. */
export function batchScript(run: string | string[], root: string, args: readonly string[] = [], notes: readonly string[] = [], exitFile?: string): { script: string; command: string } {
  const command = shownCommand(jobCommand(run, args));
  const script = [
    '#!/bin/sh',
    `cd ${quoteArg(root)} || exit 97`,
    // What the local executor hands a job: its GPU ids under sbuild's own name too.
    'SBUILD_GPU_IDS="${CUDA_VISIBLE_DEVICES:-}"; export SBUILD_GPU_IDS',
    `printf '%s\\n' ${quoteArg(`$ ${command}`)} "# slurm job \${SLURM_JOB_ID:-?} on $(hostname), CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES:-}"`,
    ...notes.map((n) => `printf '%s\\n' ${quoteArg(`sbuild: ${n}`)}`),
    // In a subshell, so that an `exit` in a shell command still leaves its code behind: a later
    // build reads it there once Slurm has forgotten the job (slurm-jobs.ts).
    ...(exitFile ? ['(', command, ')', 'code=$?', `printf '%s\\n' "$code" > ${quoteArg(exitFile)}`, 'exit $code'] : [command]),
    '',
  ].join('\n');
  return { script, command };
}

/** Where a job's batch script leaves its exit code (beside the script; the token names the submission). */
function exitFileOf(root: string, target: string, token: string): string {
  return path.join(slurmScriptDir(root), `${target}.${token}.exit`);
}

type Attached =
  | { kind: 'ended'; code: number; jobId: string }
  | { kind: 'detached'; jobId: string; state: string }
  | { kind: 'interrupted'; jobId: string }
  /** No job with that token is known to Slurm and none left an exit code: never submitted. */
  | { kind: 'gone' };

interface Running {
  child: ReturnType<typeof execFile>;
  jobId: string | undefined;
}

export class SlurmExecutor implements Executor {
  private readonly running = new Set<Running>();
  /** Jobs submitted without --wait and being followed (`wait: 'poll'`). */
  private readonly polled = new Set<string>();
  private readonly cancelled = new Set<string>();

  constructor(
    private readonly config: SlurmConfig = {},
    private readonly bin = { sbatch: 'sbatch', scancel: 'scancel', scontrol: 'scontrol', sacct: 'sacct', squeue: 'squeue' },
    /** `--detach`: submit and do not wait; a job still pending or running is left to a later build. */
    private readonly detach = false,
  ) {}

  /** A submitted job of this target and fingerprint that no build recorded: attached to, not submitted again. */
  attachable(root: string, node: GraphNode, fingerprint?: string): boolean {
    return readSubmitted(root).some((j) => j.target === node.name && (fingerprint === undefined || j.fingerprint === fingerprint));
  }

  /**
   * Before anything of this target is touched: a job of another fingerprint that an earlier
   * build submitted may still be writing its outputs (and its resume folder). It is waited for
   * (it is not this build's to cancel), and its result is not this fingerprint's. Undefined
   * when nothing is in the way; else what to report instead of running (detached, interrupted).
   */
  async waitForEarlier(root: string, node: GraphNode, fingerprint: string, signal: AbortSignal): Promise<JobResult | undefined> {
    const unresolved = await this.resolveIds(root, node);
    if (unresolved) return unresolved;
    for (const old of readSubmitted(root).filter((j) => j.target === node.name && j.fingerprint !== fingerprint)) {
      const r = await this.attach(root, old, signal);
      const label = `slurm job ${'jobId' in r ? r.jobId : '?'} of an earlier fingerprint of '${node.name}'`;
      if (r.kind === 'detached') return { ok: false, reason: 'detached', jobId: r.jobId, state: `${r.state}, of an earlier fingerprint: this one is submitted once it ends`, command: label };
      if (r.kind === 'interrupted') return { ok: false, reason: 'signal', signal: 'SIGINT', command: label };
      this.forget(root, old);
    }
    return undefined;
  }

  async run(job: Job): Promise<JobResult> {
    const root = job.root;
    const mine = readSubmitted(root).find((j) => j.target === job.node.name && j.fingerprint === job.fingerprint);
    if (mine) {
      const r = await this.attach(root, mine, job.signal);
      const label = `slurm job ${'jobId' in r ? r.jobId : '?'} (submitted by an earlier build, ${mine.submitted})`;
      if (r.kind === 'detached') return { ok: false, reason: 'detached', jobId: r.jobId, state: r.state, command: label };
      if (r.kind === 'interrupted') return { ok: false, reason: 'signal', signal: 'SIGINT', command: label };
      if (r.kind === 'ended') {
        this.forget(root, mine);
        if (r.code !== 0) return { ok: false, reason: 'exit', exitCode: r.code, command: label };
        await settle(root, job.node.outputs, (this.config.settleSeconds ?? 10) * 1000);
        return { ok: true };
      }
      this.forget(root, mine); // never submitted: submit it now
    }
    return this.submit(job);
  }

  /**
   * Entries of this target without a job id (sbuild killed between writing the entry and
   * sbatch's answer): the job is looked up by its comment. Found: its id is journaled. Not
   * found, and no exit code left: it was never submitted, and the entry goes (the target then
   * runs as usual, its resume folder settled). squeue not answering: a failure to report,
   * never a guess that could submit the same work twice.
   */
  private async resolveIds(root: string, node: GraphNode): Promise<JobResult | undefined> {
    for (const j of readSubmitted(root).filter((x) => x.target === node.name && x.jobId === undefined)) {
      if (this.exitCode(root, j) !== undefined) continue;
      const found = await findByComment(this.bin.squeue, `sbuild-${j.token}`);
      if (found === undefined) {
        return { ok: false, reason: 'spawn', message: `could not ask Slurm (squeue) whether the job submitted for '${node.name}' on ${j.submitted} exists, so it is neither attached to nor submitted again; run sbuild again once the controller answers`, command: 'squeue' };
      }
      if (found === null) this.forget(root, j);
      else noteSubmitted(root, { ...j, jobId: found });
    }
    return undefined;
  }

  /** Drops a journal entry and the exit code its job left. */
  private forget(root: string, j: SubmittedJob): void {
    forgetSubmitted(root, j.token);
    fs.rmSync(exitFileOf(root, j.target, j.token), { force: true });
  }

  /** The exit code a job's batch script left, if it ended. */
  private exitCode(root: string, j: SubmittedJob): number | undefined {
    try {
      const n = Number(fs.readFileSync(exitFileOf(root, j.target, j.token), 'utf8').trim());
      return Number.isInteger(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Follows a journaled job until it ends (with --detach: only looks once). */
  private async attach(root: string, j: SubmittedJob, signal: AbortSignal): Promise<Attached> {
    let jobId = j.jobId;
    if (jobId === undefined) {
      const code = this.exitCode(root, j);
      if (code !== undefined) return { kind: 'ended', code, jobId: '?' };
      return { kind: 'gone' }; // resolved (or dropped) by resolveIds before any attach
    }
    for (;;) {
      if (signal.aborted) return { kind: 'interrupted', jobId };
      const code = this.exitCode(root, j);
      if (code !== undefined) return { kind: 'ended', code, jobId };
      const st = await jobState(this.bin, jobId);
      // Forgotten by Slurm without an exit code (killed: time limit, node failure, scancel).
      if (st === 'forgotten') return { kind: 'ended', code: this.exitCode(root, j) ?? 1, jobId };
      if (st?.done) return { kind: 'ended', code: this.exitCode(root, j) ?? st.exitCode, jobId };
      // Pending, running, or Slurm did not answer: it may still be writing, so it is never given up on.
      if (this.detach) return { kind: 'detached', jobId, state: st?.state ?? 'state unknown: Slurm did not answer' };
      await new Promise((r) => setTimeout(r, st ? 1000 : 3000));
    }
  }

  private async submit(job: Job): Promise<JobResult> {
    const token = randomBytes(8).toString('hex');
    const entry: SubmittedJob = { target: job.node.name, fingerprint: job.fingerprint ?? '', token, submitted: new Date().toISOString() };
    const exitFile = exitFileOf(job.root, job.node.name, token);
    fs.mkdirSync(path.dirname(exitFile), { recursive: true });
    const { script, command } = batchScript(job.node.command ?? (job.node.target.run as string | string[]), job.root, job.args, job.notes, exitFile);
    // Laid out like the logs: one path per target name, so two targets never share a script.
    const scriptFile = path.join(slurmScriptDir(job.root), `${job.node.name}.sh`);
    writeFileAtomic(scriptFile, script);
    fs.mkdirSync(path.dirname(job.logFile), { recursive: true });
    // An old log must not pass for this job's: Slurm truncates it only once the job starts.
    fs.rmSync(job.logFile, { force: true });
    const poll = this.config.wait === 'poll' || this.detach;
    const args = [
      '--parsable', ...(poll ? [] : ['--wait']),
      `--job-name=${jobName(job.node.name)}`, `--output=${job.logFile}`, `--chdir=${job.root}`, `--comment=sbuild-${token}`,
      ...sbatchOptions(job.node.target, this.config), scriptFile,
    ];
    // Slurm gives the job its GPUs: the submitting environment must not name any.
    const env = { ...job.env };
    delete env.CUDA_VISIBLE_DEVICES;
    delete env.SBUILD_GPU_IDS;
    const where = `sbatch ${args.slice(0, -1).join(' ')}`;
    // Journaled before it exists, and again with its id the moment sbatch prints it: a build
    // killed at any point leaves enough for the next one to attach instead of submitting again.
    noteSubmitted(job.root, entry);
    const r = await this.sbatch(args, env, (jobId) => noteSubmitted(job.root, { ...entry, jobId }));
    // No id: not submitted, unless sbatch was stopped (Ctrl-C) before it answered; then the
    // next build looks the job up by its comment.
    if (r.jobId === undefined && !job.signal.aborted) forgetSubmitted(job.root, token);
    if (r.error) {
      const e = r.error as NodeJS.ErrnoException;
      const message = e.code === 'ENOENT'
        ? `'${this.bin.sbatch}' was not found on PATH, so '${job.node.name}' cannot be submitted to Slurm. Install Slurm's client commands (Debian: slurm-client) and point SLURM_CONF at the cluster's slurm.conf, or run the target locally (\`--executor local\`).`
        : `${this.bin.sbatch} could not start: ${e.message}`;
      return { ok: false, reason: 'spawn', message, command: where };
    }
    if (r.jobId === undefined) {
      const why = r.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' ') || `exit code ${r.code}`;
      return { ok: false, reason: 'spawn', message: `sbatch could not submit '${job.node.name}' to Slurm: ${why}`, command: where };
    }
    const label = `slurm job ${r.jobId}: ${command}`;
    if (this.detach) return { ok: false, reason: 'detached', jobId: r.jobId, state: 'submitted', command: label };
    let code = r.code;
    if (poll && !this.cancelled.has(r.jobId)) {
      // sbatch has exited: the job id stays known here so that Ctrl-C can still cancel it.
      this.polled.add(r.jobId);
      try {
        code = await this.follow(r.jobId, job.signal, job.root, { ...entry, jobId: r.jobId });
      } finally {
        this.polled.delete(r.jobId);
      }
    }
    if (this.cancelled.has(r.jobId)) {
      // Cancelled by this build: nothing left to attach to.
      this.forget(job.root, { ...entry, jobId: r.jobId });
      return { ok: false, reason: 'signal', signal: 'SIGINT', command: label };
    }
    // Interrupted while sbatch waited, but not cancelled: the job stays journaled for the next build.
    if (job.signal.aborted) return { ok: false, reason: 'signal', signal: 'SIGINT', command: label };
    this.forget(job.root, { ...entry, jobId: r.jobId });
    if (code !== 0) return { ok: false, reason: 'exit', exitCode: code ?? 1, command: label };
    await settle(job.root, job.node.outputs, (this.config.settleSeconds ?? 10) * 1000);
    return { ok: true };
  }

  /** Runs sbatch, noting the job id as soon as it is printed (so Ctrl-C can cancel it). */
  private sbatch(args: string[], env: NodeJS.ProcessEnv, onJobId: (id: string) => void): Promise<{ jobId: string | undefined; code: number | null; stderr: string; error?: Error }> {
    return new Promise((resolve) => {
      const child = execFile(this.bin.sbatch, args, { env, maxBuffer: 16 * 1024 * 1024 });
      const entry: Running = { child, jobId: undefined };
      this.running.add(entry);
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        // The id is whole once a separator follows it (`--parsable` prints `ID[;cluster]`).
        const m = /^(\d+)[;\s]/.exec(out);
        if (m && entry.jobId === undefined) {
          entry.jobId = m[1];
          onJobId(m[1]!);
        }
      });
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (error) => {
        this.running.delete(entry);
        resolve({ jobId: undefined, code: null, stderr: err, error });
      });
      child.on('close', (code) => {
        this.running.delete(entry);
        const jobId = entry.jobId ?? /^(\d+)/.exec(out)?.[1];
        if (jobId !== undefined && entry.jobId === undefined) onJobId(jobId);
        resolve({ jobId, code, stderr: err });
      });
    });
  }

  /** Polls a submitted job until it ends; its exit code (from the code its script left, else Slurm's). */
  private async follow(jobId: string, signal: AbortSignal, root: string, j: SubmittedJob): Promise<number> {
    for (;;) {
      if (signal.aborted || this.cancelled.has(jobId)) return 130;
      const code = this.exitCode(root, j);
      if (code !== undefined) return code;
      const state = await jobState(this.bin, jobId);
      if (state === 'forgotten') return this.exitCode(root, j) ?? 1;
      if (state && state.done) return this.exitCode(root, j) ?? state.exitCode;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  signalAll(_signal: NodeJS.Signals): void {
    const ids = [...[...this.running].map((r) => r.jobId).filter((x): x is string => x !== undefined), ...this.polled];
    for (const id of ids) this.cancelled.add(id);
    if (ids.length) {
      // Synchronous on purpose: sbuild may exit right after the interrupt.
      try {
        execFileSync(this.bin.scancel, ids, { stdio: 'ignore', timeout: 15_000 });
      } catch {
        /* the jobs may have ended already */
      }
    }
    for (const r of this.running) if (r.jobId === undefined) r.child.kill('SIGTERM');
  }
}

/** The id of the job (of this user) whose comment is `comment`; null when squeue lists none; undefined when squeue did not answer. */
async function findByComment(squeue: string, comment: string): Promise<string | null | undefined> {
  const out = await new Promise<string | undefined>((resolve) => execFile(squeue, ['-h', '--me', '-o', '%i %k'], { timeout: 30_000 }, (e, o) => resolve(e ? undefined : String(o))));
  if (out === undefined) return undefined;
  for (const line of out.split('\n')) {
    const [id, c] = line.trim().split(/\s+/);
    if (c === comment && id && /^\d+$/.test(id)) return id;
  }
  return null;
}

/**
 * A job's state from `scontrol` (while Slurm remembers it), else from `sacct`: `forgotten`
 * only on positive evidence (scontrol: "Invalid job id", and sacct without a record or
 * without accounting); undefined when Slurm did not answer (a controller timeout): unknown,
 * never taken for "ended".
 */
export async function jobState(bin: { scontrol: string; sacct: string }, jobId: string): Promise<{ done: boolean; exitCode: number; state: string } | 'forgotten' | undefined> {
  const run = (cmd: string, args: string[]) =>
    new Promise<{ ok: boolean; out: string; err: string }>((resolve) =>
      execFile(cmd, args, { timeout: 30_000 }, (e, out, err) => resolve({ ok: !e, out: String(out ?? ''), err: String(err ?? '') })));
  const sc = await run(bin.scontrol, ['show', 'job', '-o', jobId]);
  const st = sc.ok ? /JobState=(\S+)/.exec(sc.out)?.[1] : undefined;
  if (st) {
    const done = !/^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING)$/.test(st);
    const code = Number(/ExitCode=(\d+):/.exec(sc.out)?.[1] ?? (st === 'COMPLETED' ? 0 : 1));
    return { done, exitCode: st === 'COMPLETED' ? 0 : code || 1, state: st };
  }
  if (!/Invalid job id/i.test(sc.err + sc.out)) return undefined;
  const sa = await run(bin.sacct, ['-n', '-X', '-P', '-j', jobId, '-o', 'State,ExitCode']);
  const line = sa.ok ? sa.out.trim().split('\n')[0] : undefined;
  if (!line) return 'forgotten';
  const [state, exit] = line.split('|');
  const done = !/^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING)/.test(state ?? '');
  return { done, exitCode: state?.startsWith('COMPLETED') ? 0 : Number(exit?.split(':')[0] ?? 1) || 1, state: state ?? 'UNKNOWN' };
}

/** Waits (up to `ms`) for outputs written on another node to show on this one. */
async function settle(root: string, outputs: string[], ms: number): Promise<void> {
  const t0 = Date.now();
  while (outputs.some((o) => !fs.existsSync(path.join(root, o))) && Date.now() - t0 < ms) {
    await new Promise((r) => setTimeout(r, 200));
  }
}
