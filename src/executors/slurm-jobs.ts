// The Slurm jobs a build submitted and no build has recorded yet: `.sbuild/slurm-jobs/`, a
// file per job named by its token (so builds side by side never rewrite each other's list).
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
import path from 'node:path';
import { namesIn, writeFileAtomic } from '../util/fs.js';
import { slurmJobsDir } from '../engine/state-paths.js';

export interface SubmittedJob {
  target: string;
  fingerprint: string;
  /** Carried by the job as `--comment=sbuild-<token>`, and names its exit-code file. */
  token: string;
  jobId?: string;
  /** ISO time of submission. */
  submitted: string;
}

const TOKEN = /^[0-9a-f]{16,64}$/;

/** Every job journaled, oldest submission first. */
export function readSubmitted(root: string): SubmittedJob[] {
  const out: SubmittedJob[] = [];
  for (const n of namesIn(slurmJobsDir(root))) {
    if (!n.endsWith('.json') || !TOKEN.test(n.slice(0, -5))) continue;
    try {
      const j = JSON.parse(fs.readFileSync(path.join(slurmJobsDir(root), n), 'utf8')) as SubmittedJob;
      const ok = typeof j?.target === 'string' && typeof j.fingerprint === 'string' && j.token === n.slice(0, -5) &&
        (j.jobId === undefined || (typeof j.jobId === 'string' && /^\d+$/.test(j.jobId))) && typeof j.submitted === 'string';
      if (ok) out.push(j);
    } catch {
      /* removed meanwhile, or not ours */
    }
  }
  return out.sort((a, b) => (a.submitted < b.submitted ? -1 : a.submitted > b.submitted ? 1 : 0));
}

/** The file of the job with this token. */
export function submittedFile(root: string, token: string): string {
  return path.join(slurmJobsDir(root), `${token}.json`);
}

/** Adds or updates the entry with this token (synchronously: it must outlive a kill -9 right after). */
export function noteSubmitted(root: string, job: SubmittedJob): void {
  if (!TOKEN.test(job.token)) throw new Error(`bad Slurm job token ${job.token}`);
  writeFileAtomic(submittedFile(root, job.token), JSON.stringify(job, null, 1) + '\n');
}

export function forgetSubmitted(root: string, token: string): void {
  if (TOKEN.test(token)) fs.rmSync(submittedFile(root, token), { force: true });
}

export function hasSubmitted(root: string): boolean {
  try {
    return fs.readdirSync(slurmJobsDir(root)).some((n) => n.endsWith('.json'));
  } catch {
    return false;
  }
}
