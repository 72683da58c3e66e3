// The boundary between the scheduler and whatever runs a job (this machine, later Slurm).
import type { GraphNode } from '../graph/graph.js';

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
  /** What an in-process action's context adds about its inputs and provenance. */
  facts: Pick<import('../config/types.js').ActionContext, 'hashes' | 'fingerprint' | 'provenance' | 'lineage'>;
}

export type JobResult =
  | { ok: true }
  | { ok: false; reason: 'exit'; exitCode: number; command: string }
  | { ok: false; reason: 'signal'; signal: string; command: string }
  | { ok: false; reason: 'spawn'; message: string; command: string }
  | { ok: false; reason: 'threw'; message: string; command: string; badInput?: boolean };

export interface Executor {
  run(job: Job): Promise<JobResult>;
  /** Forward a signal to every running job. */
  signalAll(signal: NodeJS.Signals): void;
  /** The build is over (no job runs): release what the executor held for it. */
  close?(): void;
}
