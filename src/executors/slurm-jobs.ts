// The Slurm jobs a build submitted and no build has recorded yet: `.sbuild/slurm-jobs.json`.
// With `--detach` sbuild submits and exits; a build killed while it waited leaves its jobs
// running in Slurm. Either way a later build finds them here and attaches to them instead of
// submitting the same work again: it follows a job still pending or running, and records one
// that finished (its batch script leaves its exit code beside it, so this works after Slurm
// has forgotten the job). A job of an older fingerprint of the target is waited for, never
// cancelled (sbuild cancels only jobs it submitted in the same run, on Ctrl-C), before the
// target is submitted again.
//
// Each entry is written before `sbatch` runs, with a token that the job carries as its
// `--comment`; the job id is added as soon as sbatch prints it. A build killed between the two
// leaves an entry without a job id, which the next build resolves through `squeue` (a job
// with that comment) or, if there is none, drops: the job was never submitted, or has ended
// and left its exit code.
import fs from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { slurmJobsPath } from '../engine/state-paths.js';

export interface SubmittedJob {
  target: string;
  fingerprint: string;
  /** Carried by the job as `--comment=sbuild-<token>`, and names its exit-code file. */
  token: string;
  jobId?: string;
  /** ISO time of submission. */
  submitted: string;
}

export function readSubmitted(root: string): SubmittedJob[] {
  try {
    const list = JSON.parse(fs.readFileSync(slurmJobsPath(root), 'utf8')) as { jobs?: unknown };
    if (!Array.isArray(list.jobs)) return [];
    return list.jobs.filter(
      (j): j is SubmittedJob =>
        typeof j?.target === 'string' && typeof j.fingerprint === 'string' && typeof j.token === 'string' && /^[0-9a-f]{16,64}$/.test(j.token) &&
        (j.jobId === undefined || (typeof j.jobId === 'string' && /^\d+$/.test(j.jobId))) && typeof j.submitted === 'string',
    );
  } catch {
    return [];
  }
}

function write(root: string, jobs: SubmittedJob[]): void {
  if (jobs.length === 0) fs.rmSync(slurmJobsPath(root), { force: true });
  else writeFileAtomic(slurmJobsPath(root), JSON.stringify({ jobs }, null, 1) + '\n');
}

/** Adds or updates the entry with this token (synchronously: it must outlive a kill -9 right after). */
export function noteSubmitted(root: string, job: SubmittedJob): void {
  write(root, [...readSubmitted(root).filter((j) => j.token !== job.token), job]);
}

export function forgetSubmitted(root: string, token: string): void {
  const jobs = readSubmitted(root);
  if (jobs.some((j) => j.token === token)) write(root, jobs.filter((j) => j.token !== token));
}

export function hasSubmitted(root: string): boolean {
  return fs.existsSync(slurmJobsPath(root));
}
