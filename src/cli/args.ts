// argv → options. Unknown flags and bad values are usage errors (exit 2) with a hint.
import { parseArgs } from 'node:util';
import { SbuildError, didYouMean } from '../errors.js';
import { parseSize } from '../cache/gc.js';

export const COMMANDS = ['build', 'status', 'explain', 'list', 'graph', 'clean', 'gc', 'push', 'pull', 'merge-lock', 'init', 'adopt', 'materialize', 'check', 'metrics', 'results', 'variants', 'report', 'watch', 'publish', 'fetch', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

export interface Options {
  command: Command;
  targets: string[];
  jobs: number | undefined;
  dryRun: boolean;
  keepGoing: boolean;
  force: boolean;
  gpus: string | undefined;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  config: string | undefined;
  /** --root DIR: the workspace root (config/locate.ts); default the folder holding the config. */
  root: string | undefined;
  exitCode: boolean;
  format: 'dot' | 'mermaid' | 'json';
  version: boolean;
  wait: boolean;
  maxSize: number;
  remoteCache: string | undefined;
  remoteUpload: boolean;
  /** --executor: run every command target here or on Slurm, whatever the config says. */
  executor: 'local' | 'slurm' | undefined;
  /** --slurm SELECTORS: run these targets (names, globs, tag:NAME) on Slurm too. */
  slurm: string[];
  /** --max-jobs N: at most N Slurm jobs submitted at once. */
  maxJobs: number | undefined;
  /** --md: (metrics diff) a Markdown table. */
  md: boolean;
  /** --out DIR: (report) where index.html goes. */
  out: string | undefined;
  /** --inputs: (list) each target's inputs, params and command too. */
  inputs: boolean;
  /** --detach: submit Slurm jobs and do not wait for them (a later build records them). */
  detach: boolean;
  /** --debounce MS: (watch) how long changes settle before a build; undefined: SBUILD_WATCH_DEBOUNCE_MS or 30. */
  debounceMs: number | undefined;
  /** -S key=value: build (status, explain, list) a variant of the selected experiments with these settings. */
  settings: string[];
  /** --name NAME: (-S) the variant's name instead of NAME@key=value,…. */
  variantName: string | undefined;
  /** --across A..B: (results) each commit from A to B instead of the work tree. */
  across: string | undefined;
  /** --all-variants: (results) also experiments the config no longer declares. */
  allVariants: boolean;
  /** --token-env NAME: (fetch) the environment variable holding an HTTP source's bearer token. */
  tokenEnv: string | undefined;
  /** --overwrite: (fetch) replace local files that differ from the fetched ones. */
  overwrite: boolean;
  /** --any-commit: (fetch) also unpack files of targets whose published fingerprint differs from sbuild.lock's. */
  anyCommit: boolean;
}

const FLAGS = {
  jobs: { type: 'string', short: 'j' },
  'dry-run': { type: 'boolean', short: 'n' },
  'keep-going': { type: 'boolean', short: 'k' },
  force: { type: 'boolean', short: 'B' },
  gpus: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  config: { type: 'string', short: 'c' },
  root: { type: 'string' },
  'exit-code': { type: 'boolean' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  'max-size': { type: 'string' },
  'remote-cache': { type: 'string' },
  'remote-upload': { type: 'boolean' },
  executor: { type: 'string' },
  slurm: { type: 'string', multiple: true },
  'max-jobs': { type: 'string' },
  md: { type: 'boolean' },
  out: { type: 'string' },
  inputs: { type: 'boolean' },
  debounce: { type: 'string' },
  detach: { type: 'boolean' },
  set: { type: 'string', short: 'S', multiple: true },
  name: { type: 'string' },
  across: { type: 'string' },
  'all-variants': { type: 'boolean' },
  overwrite: { type: 'boolean' },
  'token-env': { type: 'string' },
  'any-commit': { type: 'boolean' },
} as const;

export function parseCli(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    const m = /'(-{1,2}[^']+)'/.exec((err as Error).message);
    const flag = m?.[1] ?? '';
    const known = Object.keys(FLAGS).map((f) => `--${f}`);
    throw new SbuildError('usage', `${(err as Error).message.replace(/\. To specify.*$/s, '')}.${flag ? didYouMean(flag, known) : ''} Run \`sbuild help\` for the flags.`);
  }
  const v = parsed.values;
  let positionals = parsed.positionals;
  let command: Command = 'build';
  // `metrics` is a command only as `metrics diff`: a target may well be named `metrics`.
  const isCommand = (w: string, next: string | undefined) => (COMMANDS as readonly string[]).includes(w) && (w !== 'metrics' || next === 'diff');
  if (positionals.length && isCommand(positionals[0]!, positionals[1])) {
    command = positionals[0] as Command;
    positionals = positionals.slice(1);
  }
  if (v.help) command = 'help';
  let jobs: number | undefined;
  if (v.jobs !== undefined) {
    jobs = Number(v.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new SbuildError('usage', `-j/--jobs takes a whole number ≥ 1, got '${v.jobs}'. Example: -j 4.`);
  }
  const format = (v.format ?? 'dot') as Options['format'];
  if (!['dot', 'mermaid', 'json'].includes(format)) throw new SbuildError('usage', `--format must be dot, mermaid or json, got '${v.format}'.`);
  if (v.gpus !== undefined && !/^(none|\s*[\w-]+(\s*,\s*[\w-]+)*\s*)$/.test(v.gpus)) {
    throw new SbuildError('usage', `--gpus takes a comma-separated list of device ids (e.g. --gpus 0,1) or 'none', got '${v.gpus}'.`);
  }
  let maxSize = 5 * 1024 ** 3;
  if (v['max-size'] !== undefined) {
    const n = parseSize(v['max-size']);
    if (n === undefined) throw new SbuildError('usage', `--max-size takes a size such as 500MB or 5GB, got '${v['max-size']}'.`);
    maxSize = n;
  }
  if (v['remote-cache'] !== undefined && !/^https?:\/\/[^\s/]+/.test(v['remote-cache'])) {
    throw new SbuildError('usage', `--remote-cache takes an http:// or https:// URL, got '${v['remote-cache']}'.`);
  }
  if (v.executor !== undefined && v.executor !== 'local' && v.executor !== 'slurm') {
    throw new SbuildError('usage', `--executor takes 'local' or 'slurm', got '${v.executor}'.`);
  }
  let maxJobs: number | undefined;
  if (v['max-jobs'] !== undefined) {
    maxJobs = Number(v['max-jobs']);
    if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new SbuildError('usage', `--max-jobs takes a whole number ≥ 1 (Slurm jobs submitted at once), got '${v['max-jobs']}'.`);
  }
  let debounceMs: number | undefined;
  if (v.debounce !== undefined) {
    debounceMs = Number(v.debounce);
    if (v.debounce.trim() === '' || !Number.isFinite(debounceMs) || debounceMs < 0) throw new SbuildError('usage', `--debounce takes milliseconds ≥ 0 (how long changes settle before a build), got '${v.debounce}'. Example: --debounce 50.`);
  }
  if (v.across !== undefined && command !== 'results' && command !== 'report' && command !== 'help') {
    throw new SbuildError('usage', `--across A..B chooses the commits \`sbuild results\` and \`sbuild report\` read; \`sbuild ${command}\` takes no --across. Example: sbuild results --across HEAD~3..HEAD.`);
  }
  const fetchFlags = { overwrite: 'replace local files that differ from the fetched ones', 'any-commit': "also unpack files of targets whose published fingerprint differs from sbuild.lock's", 'token-env': "the environment variable holding an HTTP source's bearer token" } as const;
  for (const flag of Object.keys(fetchFlags) as Array<keyof typeof fetchFlags>) {
    if (v[flag] !== undefined && v[flag] !== false && command !== 'fetch' && command !== 'help') {
      throw new SbuildError('usage', `--${flag} is a flag of \`sbuild fetch\` (${fetchFlags[flag]}); \`sbuild ${command}\` takes none.`);
    }
  }
  if (v['token-env'] !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v['token-env'])) {
    throw new SbuildError('usage', `--token-env takes the name of an environment variable (letters, digits, '_'), got '${v['token-env']}'. Example: --token-env HF_TOKEN.`);
  }
  if (command === 'fetch' && positionals.length !== 1) {
    throw new SbuildError('usage', `\`sbuild fetch\` takes one source, the published bundle: rclone:REMOTE:PATH, gh:OWNER/REPO@TAG, or the http(s) URL of its folder${positionals.length ? ` (got ${positionals.length}: ${positionals.join(' ')})` : ''}.`);
  }
  if (v['all-variants'] && command !== 'results' && command !== 'help') {
    throw new SbuildError('usage', `--all-variants is a flag of \`sbuild results\` (rows for experiments the config no longer declares); \`sbuild ${command}\` takes none.`);
  }
  if (v.name !== undefined && !(v.set ?? []).length) throw new SbuildError('usage', `--name names the variant that -S settings make; give it with -S key=value (e.g. sbuild 'exp/cfar_os/**' -S model.pfa=0.01 --name cfar_os_pfa2).`);
  return {
    settings: v.set ?? [],
    across: v.across,
    allVariants: v['all-variants'] ?? false,
    overwrite: v.overwrite ?? false,
    tokenEnv: v['token-env'],
    anyCommit: v['any-commit'] ?? false,
    variantName: v.name,
    detach: v.detach ?? false,
    debounceMs,
    executor: v.executor as Options['executor'],
    slurm: (v.slurm ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean),
    maxJobs,
    md: v.md ?? false,
    out: v.out,
    inputs: v.inputs ?? false,
    remoteCache: v['remote-cache'],
    remoteUpload: v['remote-upload'] ?? false,
    maxSize,
    command,
    targets: positionals,
    jobs,
    dryRun: v['dry-run'] ?? false,
    keepGoing: v['keep-going'] ?? false,
    force: v.force ?? false,
    gpus: v.gpus,
    json: v.json ?? false,
    quiet: v.quiet ?? false,
    verbose: v.verbose ?? false,
    config: v.config,
    root: v.root,
    exitCode: v['exit-code'] ?? false,
    format,
    version: v.version ?? false,
    wait: !(v['no-wait'] ?? false),
  };
}

export const HELP = `sbuild — content-hashed incremental builds for ML research artifacts

Usage: sbuild [targets…] [flags]        build targets (default: the config's \`default\`)
       sbuild status [targets…]         fresh / stale / missing, with reasons (--exit-code)
       sbuild explain <target> [--json] why a target would run (old → new), its inputs and params
       sbuild list [--inputs]           targets with tags and descriptions (and inputs, params, command)
       sbuild graph [--format dot|mermaid|json] [targets…]
       sbuild clean [targets…]          delete declared outputs (sbuild.lock is kept)
       sbuild gc [--max-size 5GB]       prune the local cache, least recently used first
       sbuild init                      a tasks.config.ts for a repository of MMEngine configs;
                                        make git merge sbuild.lock target by target
       sbuild check [--json]            git policy: paper-facing files tracked, outputs ignored, size limit
       sbuild push [targets…]           upload outputs (e.g. checkpoints) to the remote cache
       sbuild pull [targets…]           download recorded outputs from the remote cache
       sbuild publish [targets…] [-n|-B] build the releasePublish targets: upload the bundle's
                                        files a destination lacks (rclone, gh, HTTP PUT), verified
       sbuild fetch SOURCE [-n] [--overwrite] [--any-commit] [--token-env NAME]
                                        download a published bundle, verify it against SHA256SUMS,
                                        and put its files (checkpoints, logs…) where the graph expects them
       sbuild adopt <targets…>          record existing results as fresh without running (migration)
       sbuild materialize [targets…]    write missing outputs from committed results (e.g. the table)
       sbuild metrics diff [REV] [REV2] metrics JSONs vs a revision (default HEAD), or REV vs REV2
       sbuild results [--across A..B] [--all-variants] [--md|--json]
                                        every experiment run's metrics in one table, with the
                                        params that set runs apart; --across: at each commit
       sbuild variants [drop NAME…]     the experiment variants recorded in sbuild.variants.json (-S)
       sbuild report [--out DIR]        one HTML page: graph by state, results, last build, metrics vs HEAD
       sbuild watch [targets…]          build, then rebuild the selection whenever one of its inputs changes
       sbuild launch [--nproc N] -- CMD  (in a target's command) start a distributed job's ranks on a free MASTER_PORT

Targets: exact names, globs over names ('exp/*/full/**'), or tags (tag:smoke).

Flags:
  -j, --jobs N        parallel jobs (default: number of cores)
  -n, --dry-run       print what would run and why; run nothing
  -k, --keep-going    keep building independent targets after a failure
  -B, --force         rerun the selected targets even when fresh
      --gpus IDS      GPU ids to hand out (e.g. 0,1), or 'none'
      --json          one JSON event per line
      --inputs        (list) show each target's inputs, params and command
      --md            (metrics diff) a Markdown table for a pull request
      --out DIR       (report) write DIR/index.html (default artifacts/report/)
      --debounce MS   (watch) let changes settle this long before a build (default 30)
  -q, --quiet         only failures and the summary
  -v, --verbose       also list fresh targets (metrics diff: unchanged values too)
  -S, --set KEY=VALUE a variant of the selected experiments with this config setting
                      (repeatable; MMEngine's --cfg-options syntax; +KEY=VALUE adds a key):
                      its own targets and work dir, recorded in sbuild.variants.json
      --name NAME     (-S) the variant's name (default EXPERIMENT@KEY=VALUE,…)
  -c, --config FILE   use this config instead of searching upwards; the workspace root is its
                      folder, unless the current folder is in another workspace (then say --root)
      --root DIR      the workspace root: the config's paths start there, and .sbuild/ and
                      sbuild.lock live there (default: the folder holding the config)
      --exit-code     (status) exit 1 when anything selected is not fresh
      --no-wait       exit 2 instead of waiting for targets another build holds here
      --remote-cache URL  Bazel HTTP cache (nginx WebDAV, bazel-remote); read-only unless
      --remote-upload     upload what this build produces (CI)
      --executor local|slurm  run every command target here, or submit them all to Slurm
      --detach        submit Slurm jobs and exit without waiting; any later sbuild records them
      --slurm SELECTORS   also run these on Slurm, e.g. --slurm tag:gpu (names, globs, tag:NAME)
      --max-jobs N        at most N Slurm jobs submitted at once (the cluster queues the rest)

Exit codes: 0 ok, 1 build failed, 2 usage or config error, 130 interrupted.`;
