// The public shape of a workspace config. `tasks.config.ts` default-exports
// `defineConfig({...})`; everything here is plain data except `run` functions.

/** JSON values accepted in `params`; hashed canonically (sorted keys). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What an in-process action receives. */
export interface ActionContext {
  /** Target name. */
  name: string;
  /** Absolute workspace root; commands also run with it as cwd. */
  root: string;
  /** Resolved input files (workspace-relative, sorted). */
  inputs: string[];
  /** Declared outputs (workspace-relative). */
  outputs: string[];
  /** The target's params, as declared. */
  params: { [key: string]: Json };
  /** GPU ids handed to this job (empty when none). */
  gpus: string[];
  /** Appends a line to the target's log. */
  log: (line: string) => void;
  /** Aborted on Ctrl-C / SIGTERM; long actions should stop. */
  signal: AbortSignal;
  /** A fresh private temp dir inside `.sbuild/tmp`, removed afterwards. */
  tmpDir: string;
  /** Absolute path of a workspace-relative path. */
  path: (rel: string) => string;
  /**
   * Writes a file atomically (temp file + rename), creating parent folders,
   * so an interrupted action never leaves a half-written output.
   */
  writeFile: (rel: string, data: string | Uint8Array) => Promise<void>;
  /**
   * SHA-256 (hex) of each input as fingerprinted, keyed like `inputs`; a folder input
   * has its tree hash. Read from the stat cache: no file is hashed twice.
   */
  hashes: { [input: string]: string };
  /** This target's fingerprint (as it will be recorded in sbuild.lock). */
  fingerprint: string;
  /** The target whose declared output is or contains `rel`, with its fingerprint in this build. */
  provenance: (rel: string) => { target: string; fingerprint: string } | undefined;
  /** Every target this one depends on, transitively, with its fingerprint; sorted by name. */
  lineage: () => Array<{ target: string; fingerprint: string }>;
  /**
   * Says how a long action is getting on (bytes sent, rate): shown beside the running target on
   * a terminal, not logged. With `{ line: true }` it is a milestone (a file sent) and is also
   * printed as a line where there is no terminal (CI); log it too with `log` to keep it.
   */
  progress: (text: string, opts?: { line?: boolean }) => void;
}

/**
 * Thrown by an action (or a rule) for bad input it found: the build reports the message
 * as it is, without a stack, and exits with code 2.
 */
export class BadInputError extends Error {
  readonly badInput = true;
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

/** What a `materialize` hook receives: enough to write the target's outputs. */
export type MaterializeContext = Pick<ActionContext, 'name' | 'root' | 'outputs' | 'params' | 'log' | 'path' | 'writeFile'>;

export type Action = string | string[] | ((ctx: ActionContext) => unknown | Promise<unknown>);

export interface Resources {
  /** Number of GPUs this job needs; each gets its own device ids. */
  gpu?: number;
  /** Other named pools (e.g. `mem`, `io`); capacities come from `pools` in the config. */
  [pool: string]: number | undefined;
}

/** Slurm options of a job; a target's own override the config's `slurm` defaults. */
export interface SlurmOptions {
  partition?: string;
  account?: string;
  qos?: string;
  /** Wall-time limit as Slurm writes it, e.g. `2:00:00` or `1-00:00:00`. */
  time?: string;
  /** Memory per node as Slurm writes it, e.g. `16G`. */
  mem?: string;
  cpusPerTask?: number;
  /** Further `sbatch` options, e.g. `['--constraint=a100', '--exclusive']`. */
  extra?: string[];
}

/** How sbuild submits to Slurm (the config's `slurm`). */
export interface SlurmConfig extends SlurmOptions {
  /** Targets that run on Slurm without `executor: 'slurm'`: names, globs or `tag:NAME` (e.g. `['tag:gpu']`). */
  select?: string[];
  /** At most this many jobs submitted at once (default: no limit; the cluster queues them). */
  maxJobs?: number;
  /** `sbatch --wait` (default) or `poll`: submit, then follow the job with `scontrol`/`sacct`. */
  wait?: 'sbatch' | 'poll';
  /** Seconds to wait for a finished job's outputs to appear on a shared file system (NFS attribute caching; default 10). */
  settleSeconds?: number;
}

/** See `Target.resume` and docs/LONG_JOBS.md. */
export interface ResumeOptions {
  /**
   * The folder (workspace-relative) where the command keeps its partial work: checkpoints,
   * MMEngine's `last_checkpoint`. Other targets' declared outputs inside it are left alone.
   */
  dir: string;
  /** Appended to the command when it resumes, e.g. `['--resume']` (MMEngine: resume from `last_checkpoint`). */
  args?: string[];
  /** A file in `dir` whose presence means there is something to resume from (e.g. `last_checkpoint`); default: any file there. */
  marker?: string;
}

export interface Target {
  /** Unique, `/`-separated name, e.g. `exp/cfar_ca/full/eval-test`. */
  name: string;
  /** Files, directories or fast-glob globs, workspace-relative. */
  inputs?: string[];
  /** Names of targets whose outputs become inputs (a group lists only deps). */
  deps?: string[];
  /** Files or directories inside the workspace (never globs). */
  outputs?: string[];
  /** JSON values, part of the fingerprint and handed to the action. */
  params?: { [key: string]: Json };
  /** Names of environment variables whose values are part of the fingerprint. */
  env?: string[];
  /** Array: exec without a shell; string: shell; function: in-process. No run: a group. */
  run?: Action;
  /**
   * Identity of an in-process action (defaults to the target name) and its version:
   * bump `version` when the action's behaviour changes in a way its source text does not show.
   */
  rule?: {
    id: string;
    version?: number | string;
    /** The module that defines the action (pass `import.meta.url`): its content is fingerprinted. */
    module?: string;
  };
  /** Resource needs, e.g. `{ gpu: 1 }`. */
  resources?: Resources;
  /**
   * Outputs that hold metrics (JSON objects of numbers) for `sbuild metrics diff` and the
   * report. Outputs named `metrics.json` or `*_metrics.json` count without being listed.
   */
  metrics?: string[];
  /** Where the command runs: this machine (default) or a Slurm cluster (`sbatch`). */
  executor?: 'local' | 'slurm';
  /** Slurm options of this target (over the config's `slurm`). */
  slurm?: SlurmOptions;
  /** When the machine has no GPU, run anyway without one (instead of failing). */
  cpuFallback?: boolean;
  tags?: string[];
  description?: string;
  /** Store outputs in the content-addressed cache (default true). */
  cache?: boolean;
  /**
   * A long job that can continue where an interrupted run of it stopped (a training that
   * writes checkpoints). Its partial work belongs to one fingerprint: a rerun of the same
   * fingerprint keeps it and is told to resume; a changed fingerprint never sees it.
   */
  resume?: ResumeOptions;
  /**
   * Folders in which each run of the command creates folders of its own (MMEngine's
   * timestamped `work_dir/20240101_120000/`, holding the run's log and curves): the folders
   * that the run that built the target created there are recorded as its outputs too, cached
   * and restored with it, and checked like the declared ones.
   */
  runFolders?: string[];
  /**
   * Fingerprint the fingerprints of every target upstream too, so this target reruns when
   * any of them changes even if its outputs come out byte-identical. For targets that record
   * provenance (a release manifest listing `ctx.lineage()`); others want early cutoff.
   */
  lineage?: boolean;
  /**
   * Writes this target's missing outputs from results committed elsewhere (e.g. a metrics
   * JSON from its row of the paper table), without running it: `sbuild materialize`.
   */
  materialize?: (ctx: MaterializeContext) => unknown | Promise<unknown>;
}

export interface Config {
  /** Target (or group) built by a bare `sbuild`. */
  default?: string;
  targets: Target[];
  /** Capacities of named resource pools other than `gpu`, e.g. `{ mem: 64 }`. */
  pools?: { [pool: string]: number };
  /** Slurm defaults and which targets run there (see docs/CLUSTER.md). */
  slurm?: SlurmConfig;
  /** GPU ids to use when neither `--gpus` nor `CUDA_VISIBLE_DEVICES` says. */
  gpus?: string[];
  /**
   * Workspace folders that are links to storage elsewhere on purpose (`['work_dirs']`, with
   * work_dirs → /scratch/me/work_dirs): outputs below them are deleted and written where the
   * link leads. Any other output that resolves outside the workspace fails its target.
   */
  linkedFolders?: string[];
  /**
   * The local cache (`.sbuild/cache`). `mode: 'copy'` (default) copies outputs in and out as
   * copy-on-write clones where the file system has them (XFS, btrfs: no extra disk), else as
   * plain copies. `'hardlink'`: the cache and the workspace share one copy of each file (no
   * extra disk on any file system), and cached outputs are made read-only so that an in-place
   * write fails instead of corrupting the cache (root ignores that; see README).
   */
  localCache?: { mode?: 'copy' | 'hardlink' };
  /** A remote cache speaking Bazel's HTTP cache protocol (`--remote-cache` overrides the URL). */
  remoteCache?: {
    url: string;
    /** Name of the environment variable holding the Authorization header value's token (sent as `Bearer <token>`). */
    tokenEnv?: string;
    /** Upload what this machine builds (CI); otherwise read-only unless `--remote-upload`. */
    upload?: boolean;
  };
  /**
   * The repository's git policy, checked by `sbuild check` (globs are workspace-relative;
   * a file matching both lists counts as `tracked`).
   */
  policy?: {
    /** Globs of small paper-facing files that must be tracked in git (tables, ledger, metrics JSONs, sbuild.lock). */
    tracked?: string[];
    /** Globs of run outputs that must be neither tracked nor addable: git-ignored (checkpoints, logs, image dumps, data). */
    ignored?: string[];
    /** Size limit in MB (MiB) for every tracked file; default 100, GitHub's per-file limit. */
    maxFileMB?: number;
  };
}

/** Identity function that gives `tasks.config.ts` its types. */
export function defineConfig(config: Config): Config {
  return config;
}

