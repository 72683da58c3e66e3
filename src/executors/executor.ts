// The boundary between the scheduler and whatever runs a job (this machine, later Slurm).
import type { GraphNode } from '../graph/graph.js';
import { quoteArg } from '../hashing/fingerprint.js';

export interface Job {
  node: GraphNode;
  /** Absolute workspace root: the job's working directory. */
  root: string;
  /** Absolute path of the target's log file (truncated before the job starts). */
  logFile: string;
  /** Environment for the job (process env plus CUDA_VISIBLE_DEVICES etc.). */
  env: NodeJS.ProcessEnv;
  gpus: string[];
  /** Resolved input files, workspace-relative. */
  inputs: string[];
  signal: AbortSignal;
  /** The target's fingerprint in this build (a submitted Slurm job is journaled under it). */
  fingerprint?: string;
  /** Arguments appended to the target's command (a resumed run's `resume.args`). */
  args?: string[];
  /** Lines that say what sbuild did before the command started (set aside, resuming), for its log. */
  notes?: string[];
  /** What an in-process action's context adds about its inputs and provenance. */
  facts: Pick<import('../config/types.js').ActionContext, 'hashes' | 'fingerprint' | 'provenance' | 'lineage'>;
  /** Where an in-process action's progress goes (the build's renderer). */
  progress?: (text: string, line: boolean) => void;
}

/** The command a job runs: the target's, with the job's arguments appended (quoted for a shell string). */
export function jobCommand(run: string | string[], args: readonly string[] = []): string | string[] {
  if (args.length === 0) return run;
  return typeof run === 'string' ? `${run} ${args.map(quoteArg).join(' ')}` : [...run, ...args];
}

/** How a command is shown (and written atop its log). */
export function shownCommand(run: string | string[]): string {
  return typeof run === 'string' ? run : run.map(quoteArg).join(' ');
}

export type JobResult =
  | { ok: true }
  | { ok: false; reason: 'exit'; exitCode: number; command: string }
  | { ok: false; reason: 'signal'; signal: string; command: string }
  | { ok: false; reason: 'spawn'; message: string; command: string }
  | { ok: false; reason: 'threw'; message: string; command: string; badInput?: boolean }
  /** `--detach`: submitted (or found pending or running) and not waited for; a later build records it. */
  | { ok: false; reason: 'detached'; jobId: string; state: string; command: string };

export interface Executor {
  run(job: Job): Promise<JobResult>;
  /**
   * Whether this target's job of this fingerprint (of any, without one) was started by an
   * earlier build and not recorded (a detached Slurm job): the build attaches to it, and
   * leaves its outputs alone.
   */
  attachable?(root: string, node: GraphNode, fingerprint?: string): boolean;
  /** Waits for a job of another fingerprint of this target that an earlier build started; what to report instead of running, if anything. */
  waitForEarlier?(root: string, node: GraphNode, fingerprint: string, signal: AbortSignal): Promise<JobResult | undefined>;
  /** Forward a signal to every running job. */
  signalAll(signal: NodeJS.Signals): void;
  /** The build is over (no job runs): release what the executor held for it. */
  close?(): void;
}
