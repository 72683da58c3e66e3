// Where sbuild keeps its own state: the `.sbuild/` folder at the workspace root, and every
// file and folder in it. Each is spelt here once; everything else asks for it by function.
// (sbuild.lock, the committed record, is at the workspace root, not in here.)
//
//   stat-cache.json   stat and content hash of each file hashed (hashing/file-hasher.ts)
//   builds/           one entry per build under way (engine/live-builds.ts): `<id>.json` what it
//                     may still write and read, `<id>.jsonl` its journal (targets finished, not
//                     yet folded into sbuild.lock), `<id>.jobs.jsonl` its command jobs
//                     (executors/jobs.ts)
//   build-seq         the number of the last build registered (orders the journals)
//   superseded.json   journal records of live builds that a later build's record replaced
//   journal.jsonl     the journal of an exclusive command (adopt, clean, …) or an older sbuild
//   noop.json         the stats of the last all-fresh build, to skip the next one's work
//                     (engine/noop-snapshot.ts)
//   writer.pid        the state lock: held while a build reads and writes the shared state
//                     (not while its jobs run), and by exclusive commands for their whole
//                     run; beside its `writer.pid.takeover-*` claims and `writer.pid.*.tmp`
//                     temp files (engine/writer-lock.ts)
//   jobs.jsonl        the command jobs of an exclusive command or an older sbuild
//   history.json      each target's last duration, to start the critical path first
//                     (engine/history.ts)
//   last-build.json   the last build's timeline, for the report (engine/timeline.ts)
//   logs/             one log per target, `<name>.log` (util/fs.ts logPath)
//   failed/           partial outputs of failed or interrupted targets (engine/failed.ts)
//   resume/           which fingerprint each resumable target's work folder holds (engine/resume.ts)
//   partial/          resumable partial work set aside, by target and fingerprint (engine/resume.ts)
//   cache/            the local content-addressed store: `cas/` blobs, `ac/` entries
//                     (cache/local-store.ts)
//   values/           large param values by content hash, for `explain` (engine/values.ts)
//   config/           the compiled tasks.config.ts bundles and their meta.json (config/load.ts)
//   mmconfig/         evaluated mmengine configs (rules/mmconfig.ts)
//   tmp/              private temp folders of in-process actions (executors/local.ts)
//   slurm/            the batch script of each Slurm job, and its exit code once it ends (executors/slurm.ts)
//   slurm-jobs/       Slurm jobs submitted and not yet recorded, one `<token>.json` each (executors/slurm-jobs.ts)
import path from 'node:path';

/** The state folder's name, at the workspace root. */
export const STATE_DIR = '.sbuild';

/**
 * A target name as one path segment (percent-encoded like a URI component: 'exp/a/train' →
 * 'exp%2Fa%2Ftrain'), so that no name owns another's folder or climbs out of its own.
 */
export function targetSegment(name: string): string {
  let seg = encodeURIComponent(name);
  if (seg === '' || seg === '.' || seg === '..') seg = seg.replace(/\./g, '%2E') || '%00';
  return seg;
}

/** `.sbuild/resume/<target>.json`: the fingerprint a resumable target's folder holds work of. */
export function resumeStampPath(root: string, name: string): string {
  return path.join(root, STATE_DIR, 'resume', `${targetSegment(name)}.json`);
}

/** `.sbuild/partial/`: partial work set aside (`<target>/<fingerprint>/`, or `<target>/old-<time>/`). */
export function partialDir(root: string): string {
  return path.join(root, STATE_DIR, 'partial');
}

/** `.sbuild/` itself. */
export function stateDir(root: string): string {
  return path.join(root, STATE_DIR);
}

/** `.sbuild/stat-cache.json`: the file hasher's stat cache. */
export function statCachePath(root: string): string {
  return path.join(root, STATE_DIR, 'stat-cache.json');
}

/** `.sbuild/journal.jsonl`: finished targets not yet folded into sbuild.lock. */
export function journalPath(root: string): string {
  return path.join(root, STATE_DIR, 'journal.jsonl');
}

/** `.sbuild/noop.json`: the no-op snapshot. */
export function noopSnapshotPath(root: string): string {
  return path.join(root, STATE_DIR, 'noop.json');
}

/** `.sbuild/noop-declared.json`: each target's declaration key for the snapshot's config (read only on a miss). */
export function noopDeclaredPath(root: string): string {
  return path.join(root, STATE_DIR, 'noop-declared.json');
}

/** `.sbuild/writer.pid`: the state lock (its claims and temp files are named after it). */
export function writerLockPath(root: string): string {
  return path.join(root, STATE_DIR, 'writer.pid');
}

/** `.sbuild/jobs.jsonl`: the record of a build's command jobs. */
export function jobsPath(root: string): string {
  return path.join(root, STATE_DIR, 'jobs.jsonl');
}

/** `.sbuild/history.json`: the last duration of each target. */
export function historyPath(root: string): string {
  return path.join(root, STATE_DIR, 'history.json');
}

/** `.sbuild/last-build.json`: the last build's timeline. */
export function timelinePath(root: string): string {
  return path.join(root, STATE_DIR, 'last-build.json');
}

/** `.sbuild/logs/`: target logs (a target's own path there is util/fs.ts logPath's). */
export function logsDir(root: string): string {
  return path.join(root, STATE_DIR, 'logs');
}

/**
 * `.sbuild/failed/<folder>`, one failed target's partial outputs, relative to the workspace
 * root and '/'-separated as messages show it (`path.join(root, …)` makes it absolute). The
 * folder name for a target is engine/failed.ts's.
 */
export function failedRel(folder: string): string {
  return `${STATE_DIR}/failed/${folder}`;
}

/** `.sbuild/cache/`: the local content-addressed store. */
export function localCacheDir(root: string): string {
  return path.join(root, STATE_DIR, 'cache');
}

/** `.sbuild/values/`: large param values by content hash. */
export function valuesDir(root: string): string {
  return path.join(root, STATE_DIR, 'values');
}

/** `.sbuild/config/`: the compiled-config cache. */
export function configCacheDir(root: string): string {
  return path.join(root, STATE_DIR, 'config');
}

/** `.sbuild/mmconfig/`: the mmengine config cache. */
export function mmconfigCacheDir(root: string): string {
  return path.join(root, STATE_DIR, 'mmconfig');
}

/** `.sbuild/tmp/`: where in-process actions get their private temp folders. */
export function actionTmpDir(root: string): string {
  return path.join(root, STATE_DIR, 'tmp');
}

/** `.sbuild/slurm-jobs/`: Slurm jobs submitted and not yet recorded, a file each (executors/slurm-jobs.ts). */
export function slurmJobsDir(root: string): string {
  return path.join(root, STATE_DIR, 'slurm-jobs');
}

/** `.sbuild/builds/`: the builds under way, their journals and job records (engine/live-builds.ts). */
export function buildsDir(root: string): string {
  return path.join(root, STATE_DIR, 'builds');
}

/** `.sbuild/build-seq`: the number of the last build registered. */
export function buildSeqPath(root: string): string {
  return path.join(root, STATE_DIR, 'build-seq');
}

/** `.sbuild/superseded.json`: journal records of live builds replaced by a later build's. */
export function supersededPath(root: string): string {
  return path.join(root, STATE_DIR, 'superseded.json');
}

/** `.sbuild/slurm/`: Slurm batch scripts, one path per target name. */
export function slurmScriptDir(root: string): string {
  return path.join(root, STATE_DIR, 'slurm');
}
