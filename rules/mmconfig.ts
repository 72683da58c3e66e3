// MMEngine configs read by Python, the language they are written in. The evaluator
// (`rules/mmconfig/evaluate.py`, shipped with the package) runs in the interpreter the runner
// uses: with `mmengine.Config.fromfile` where mmengine imports there, else with MMEngine's
// documented rules (`_base_` chains, `{{_base_.x}}`, predefined variables, `_delete_`,
// `read_base()` configs, `package::` bases). Requests are batched: every config asked for
// while tasks.config.ts loads is evaluated by one Python process. Results are cached under
// `.sbuild/mmconfig/` by the content of every file the evaluation read, the environment
// variables it consulted and the interpreter's identity, so an unchanged tree costs no
// Python start at all.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
// Straight from their modules, not the package index: the demo's tool bundle (tools/) imports
// this file, and should not change whenever the index does.
import { canonicalJson } from '../src/hashing/sha256.js';
import { noteConfigListings, noteConfigReads, ownProcess } from '../src/config/reads.js';
import { mmconfigCacheDir } from '../src/engine/state-paths.js';

/** A Python value as JSON: tuples become arrays, dicts plain objects. */
export type PyValue = null | boolean | number | string | PyValue[] | { [k: string]: PyValue };

export interface MmConfig {
  /** The config as named by the caller (workspace-relative when inside the root, with `/`). */
  file: string;
  /** Every file the evaluation read, the config first: workspace-relative, or absolute when outside the root. */
  chain: string[];
  /** The merged config, as MMEngine sees it (without `_base_`). */
  values: Record<string, PyValue>;
  /** SHA-256 of the merged config's canonical JSON (keys sorted): what experiments fingerprint. */
  digest: string;
  /** Every string value of a key named `checkpoint` or `load_from`, anywhere; sorted, unique. */
  weights: string[];
  /** Module names in `custom_imports.imports`. */
  customImports: string[];
  /** Environment variables the config consulted, with the values it saw. */
  env: Record<string, string | null>;
  /** `mmengine X.Y.Z` or `builtin` (MMEngine's rules implemented by the evaluator). */
  evaluator: string;
}

/**
 * A config that cannot be evaluated. `location` is `file:line:col` in the user's config;
 * `missing` is set when a base (or imported) config file does not exist.
 */
export class MmConfigError extends Error {
  override name = 'MmConfigError';
  readonly badInput = true;
  constructor(message: string, readonly location?: string, readonly missing?: string) {
    super(message);
  }
}

export interface MmConfigOptions {
  /** Workspace root: config paths are relative to it, and the cache lives in its `.sbuild/`. Default: the current folder. */
  root?: string;
  /** The interpreter (default: `SBUILD_PYTHON`, else `python3`). */
  python?: string;
  /** `auto` (mmengine where it imports, else built in), `off` (always built in), `require` (mmengine or fail). */
  mmengine?: 'auto' | 'off' | 'require';
}

/** The interpreter a runner or rule uses when none is named: `SBUILD_PYTHON`, else `python3`. */
export function defaultPython(): string {
  return process.env.SBUILD_PYTHON || 'python3';
}

/** Reads one config now (a batch of one; cached). Throws MmConfigError. */
export function readMmConfig(file: string, root?: string, opts: Omit<MmConfigOptions, 'root'> = {}): MmConfig {
  const r = requestMmConfig(file, { ...opts, ...(root !== undefined ? { root } : {}) })();
  if (r instanceof MmConfigError) throw r;
  return r;
}

/** Reads many configs with at most one Python process. Each result is a config or its error. */
export function readMmConfigs(files: string[], opts: MmConfigOptions = {}): Array<MmConfig | MmConfigError> {
  const thunks = files.map((f) => requestMmConfig(f, opts));
  return thunks.map((t) => t());
}

/**
 * Asks for a config without evaluating it yet: the returned function evaluates every request
 * still pending for the same root and interpreter in one batch, then returns this one's result.
 */
export function requestMmConfig(file: string, opts: MmConfigOptions = {}): () => MmConfig | MmConfigError {
  const root = path.resolve(opts.root ?? process.cwd());
  const python = opts.python ?? defaultPython();
  const mode = opts.mmengine ?? 'auto';
  const abs = path.resolve(root, file);
  const key = `${root}\0${python}\0${mode}`;
  let batch = pending.get(key);
  if (!batch) pending.set(key, (batch = { key, root, python, mode, files: new Set(), results: new Map() }));
  batch.files.add(abs);
  const b = batch;
  return () => {
    if (!b.results.has(abs)) runBatch(b);
    return b.results.get(abs)!;
  };
}

interface Batch {
  key: string;
  root: string;
  python: string;
  mode: 'auto' | 'off' | 'require';
  files: Set<string>;
  results: Map<string, MmConfig | MmConfigError>;
}

const pending = new Map<string, Batch>();

// ---------------------------------------------------------------------------------------------
// The evaluator's protocol (see evaluate.py)

interface PyError {
  type: string;
  message: string;
  file?: string | null;
  line?: number | null;
  col?: number | null;
}

/**
 * What the evaluator saw of a path before reading it: a file's [size, mtimeNs, ino, ctimeNs],
 * null when absent, 'file' / 'dir' for an existence check, 'racy' when it cannot vouch.
 */
type Seen = [number, string, string, string] | null | 'file' | 'dir' | 'racy';

interface PyResult {
  file: string;
  ok: boolean;
  values?: Record<string, PyValue>;
  error?: PyError;
  missing?: string;
  read: string[];
  /** Paths an open or an existence check found absent: their appearance changes the result. */
  absent?: string[];
  /** Paths an existence check found (a file or a folder): their kind is what was read. */
  probed?: string[];
  /** Folders config code listed, with the SHA-256 of their sorted entry names then (null: could not be listed). */
  listed?: Record<string, string | null>;
  seen?: Record<string, Seen>;
  env: Record<string, string | null>;
}

interface PyResponse {
  python: { executable: string; seen?: Seen; version: string; path: string[] };
  mmengine: string | null;
  results: PyResult[];
}

/**
 * [path, size, mtimeNs, ino, ctimeNs, sha256, hashedAtMs] of a file the evaluation read; of a
 * path whose kind alone was read, [path, 0, '', '', '', kind, 0] with kind '' (absent),
 * 'file' or 'dir'.
 */
type ReadStamp = [string, number, string, string, string, string, number];

interface CacheEntry {
  format: number;
  identity: string;
  file: string;
  read: ReadStamp[];
  env: Record<string, string | null>;
  /** sys.path folders: a later mmengine install there makes a built-in result stale. */
  pythonPath: string[];
  mmengine: string | null;
  result: PyResult;
}

// 2: stamps vouch only for bytes the evaluation read, and record the absent paths it looked
// for (format 1 entries may pair a newer file with an older result).
const CACHE_FORMAT = 2;
/** Larger than any file system timestamp tick (see the stat cache): younger stats are re-hashed. */
const RACY_SLACK_MS = 50;

function runBatch(b: Batch): void {
  // Later requests start a new batch (and look at the disk cache again: files may have changed).
  if (pending.get(b.key) === b) pending.delete(b.key);
  const todo = [...b.files].filter((f) => !b.results.has(f));
  b.files.clear();
  const cacheDir = mmconfigCacheDir(b.root);
  const identity = interpreterIdentity(b.python, b.mode);
  // Configs share their bases (and the interpreter): each file is stat'ed and hashed once a batch.
  const stamps = new Stamps();
  const misses: string[] = [];
  for (const abs of todo) {
    const hit = readCache(cacheDir, abs, identity, b.mode, stamps);
    if (hit) {
      b.results.set(abs, toConfig(b.root, abs, hit.result, hit.mmengine));
      noteRead(abs, hit.result);
    } else misses.push(abs);
  }
  if (misses.length === 0) return;
  noteConfigReads(misses); // even when the evaluation fails: fixing the file is what reloads
  const res = evaluate(b, misses);
  for (const [i, abs] of misses.entries()) {
    const r = res.results[i];
    if (!r) {
      b.results.set(abs, new MmConfigError(`${show(b.root, abs)}: the evaluator (${b.python}) returned no result for this config; this is a bug in sbuild.`));
      continue;
    }
    writeCache(cacheDir, abs, identity, r, res, stamps);
    b.results.set(abs, toConfig(b.root, abs, r, res.mmengine));
    noteRead(abs, r);
  }
}

/**
 * The config, its bases, a missing base and the absent or checked paths it looked for:
 * `sbuild watch` reloads when one changes.
 */
function noteRead(abs: string, r: PyResult): void {
  noteConfigReads([abs, ...list(r.read), ...(r.missing ? [r.missing] : []), ...list(r.absent), ...list(r.probed)]);
  noteConfigListings(Object.keys(r.listed ?? {}));
}

function list(v: string[] | undefined): string[] {
  return Array.isArray(v) ? v : [];
}

/** The evaluator script, next to this module in the package's `rules/` (also from dist/ and bundles). */
function evaluatorPath(): string {
  const candidates = ['../../rules/mmconfig/evaluate.py', './mmconfig/evaluate.py', '../rules/mmconfig/evaluate.py'];
  for (const c of candidates) {
    const p = fileURLToPath(new URL(c, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  throw new MmConfigError(`sbuild's config evaluator (rules/mmconfig/evaluate.py) is missing from its package near ${fileURLToPath(import.meta.url)}; reinstall sbuild.`);
}

function evaluate(b: Batch, files: string[]): PyResponse {
  const script = evaluatorPath();
  // Every file the process reads is read after `started`: a stat taken later vouches for the
  // bytes read only if the file was older than the timestamp slack by then (evaluate.py).
  const request = JSON.stringify({ root: b.root, configs: files, mmengine: b.mode, started: Date.now() });
  // Its reads are noted (noteConfigReads below), so watch need not warn about the process.
  const r = ownProcess(() => spawnSync(b.python, [script], { input: request, cwd: b.root, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024, env: process.env }));
  const where = files.length === 1 ? show(b.root, files[0]!) : `${files.length} configs`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new MmConfigError(
      code === 'ENOENT'
        ? `cannot read ${where}: the Python interpreter '${b.python}' was not found. MMEngine configs are evaluated by Python: install python3, or name the interpreter with the runner's \`python\` option or SBUILD_PYTHON.`
        : `cannot read ${where}: starting '${b.python}' failed (${r.error.message}).`,
    );
  }
  try {
    const parsed = JSON.parse(r.stdout) as PyResponse;
    if (!Array.isArray(parsed.results)) throw new Error('no results');
    return parsed;
  } catch {
    const tail = (r.stderr || r.stdout || '').trim().split('\n').slice(-8).join('\n');
    throw new MmConfigError(`cannot read ${where}: the config evaluator exited with ${r.status ?? r.signal} under '${b.python}' without an answer. Its last output:\n${tail}`);
  }
}

function toConfig(root: string, abs: string, r: PyResult, mmengine: string | null): MmConfig | MmConfigError {
  if (!r.ok || !r.values) {
    const e = r.error ?? { type: 'Error', message: 'evaluation failed' };
    const file = e.file ? show(root, e.file) : show(root, abs);
    const loc = `${file}${e.line ? `:${e.line}${e.col ? `:${e.col}` : ''}` : ''}`;
    const missing = r.missing ? show(root, r.missing) : undefined;
    const via = e.file && path.resolve(e.file) !== abs ? ` (read while evaluating ${show(root, abs)})` : '';
    // Paths inside the workspace as the user writes them (workspace-relative).
    const message = e.message.split(root + path.sep).join('');
    return new MmConfigError(`${e.type}: ${message}${via}`, loc, missing);
  }
  const values = r.values;
  const weights = new Set<string>();
  collectWeights(values, weights);
  const imports = values.custom_imports;
  const customImports: string[] = [];
  if (isDict(imports)) {
    const list = imports.imports;
    for (const m of typeof list === 'string' ? [list] : Array.isArray(list) ? list : []) if (typeof m === 'string') customImports.push(m);
  }
  const chain = [abs, ...r.read.filter((p) => p !== abs)].map((p) => show(root, p));
  return {
    file: show(root, abs),
    chain,
    values,
    digest: createHash('sha256').update(canonicalJson(values)).digest('hex'),
    weights: [...weights].sort(),
    customImports,
    env: r.env ?? {},
    evaluator: mmengine ? `mmengine ${mmengine}` : 'builtin',
  };
}

/** Workspace-relative with `/` when inside the root, else absolute. */
function show(root: string, p: string): string {
  const rel = path.relative(root, p);
  if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  return p;
}

// ---------------------------------------------------------------------------------------------
// The cache

/**
 * Who evaluates, without starting Python: the interpreter file PATH resolves to (with its
 * stat) and the variables that choose what that interpreter imports.
 */
function interpreterIdentity(python: string, mode: string): string {
  const resolved = resolveCommand(python);
  const st = resolved ? fs.statSync(resolved, { throwIfNoEntry: false }) : undefined;
  const vars = ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'PYENV_VERSION'].map((v) => `${v}=${process.env[v] ?? ''}`);
  // The evaluator itself: another sbuild version may read configs differently.
  evaluatorHash ??= createHash('sha256').update(fs.readFileSync(evaluatorPath())).digest('hex');
  return [CACHE_FORMAT, mode, python, resolved ?? '-', st ? `${st.size}/${st.mtimeMs}/${st.ino}` : '-', evaluatorHash, ...vars].join('\0');
}

let evaluatorHash: string | undefined;

function resolveCommand(cmd: string): string | undefined {
  if (cmd.includes('/')) return path.resolve(cmd);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function cacheFile(cacheDir: string, abs: string, identity: string): string {
  return path.join(cacheDir, `${createHash('sha256').update(`${abs}\0${identity}`).digest('hex').slice(0, 32)}.json`);
}

function readCache(cacheDir: string, abs: string, identity: string, mode: string, stamps: Stamps): CacheEntry | undefined {
  let e: CacheEntry;
  try {
    e = JSON.parse(fs.readFileSync(cacheFile(cacheDir, abs, identity), 'utf8')) as CacheEntry;
  } catch {
    return undefined; // absent or corrupt: evaluate again
  }
  if (e.format !== CACHE_FORMAT || e.identity !== identity || e.file !== abs || !Array.isArray(e.read) || !e.read.every(isStamp) || typeof e.result !== 'object' || e.result === null) return undefined;
  for (const [name, value] of Object.entries(e.env ?? {})) if ((process.env[name] ?? null) !== value) return undefined;
  for (const stamp of e.read) if (!stamps.holds(stamp)) return undefined;
  // Evaluated without mmengine: installing it since then changes who evaluates.
  if (e.mmengine === null && mode !== 'off' && e.pythonPath.some((d) => fs.existsSync(path.join(d, 'mmengine')))) return undefined;
  return e;
}

/** A well-formed stamp: a damaged entry is evaluated again, never trusted (nor thrown on). */
function isStamp(s: unknown): s is ReadStamp {
  if (!Array.isArray(s) || s.length !== 7) return false;
  const [p, size, mtimeNs, ino, ctimeNs, hash, hashedAt] = s as unknown[];
  const ns = (v: unknown) => typeof v === 'string' && /^\d*$/.test(v);
  return typeof p === 'string' && typeof size === 'number' && ns(mtimeNs) && ns(ino) && ns(ctimeNs) && typeof hash === 'string' && typeof hashedAt === 'number';
}

/** Stamps of the files evaluations read, taken and checked once per file in a batch. */
class Stamps {
  private readonly taken = new Map<string, ReadStamp | undefined>();
  private readonly kinds = new Map<string, ReadStamp>();
  private readonly checked = new Map<string, boolean>();

  /** Whether the file still has the recorded content (stat first; hashed when its stat moved), or the path the recorded kind. */
  holds(s: ReadStamp): boolean {
    const key = JSON.stringify(s);
    let ok = this.checked.get(key);
    if (ok === undefined) this.checked.set(key, (ok = stampHolds(s)));
    return ok;
  }

  /** The file's stamp as it is now; undefined when it is no file, or moved while it was hashed. */
  of(p: string): ReadStamp | undefined {
    if (!this.taken.has(p)) this.taken.set(p, stampOf(p));
    return this.taken.get(p);
  }

  /** What the path is now: absent, a file or a folder. */
  kindOf(p: string): ReadStamp {
    let s = this.kinds.get(p);
    if (!s) this.kinds.set(p, (s = [p, 0, '', '', '', kindOf(statOf(p)), 0]));
    return s;
  }
}

interface FileStat {
  kind: '' | 'file' | 'dir' | 'other';
  size: number;
  mtimeNs: string;
  ino: string;
  ctimeNs: string;
}

/** The path's stat with exact nanoseconds (compared with Python's), or undefined when nothing is there. */
function statOf(p: string): FileStat | undefined {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR: a file where a folder was expected
  }
  if (!st) return undefined;
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  return { kind, size: Number(st.size), mtimeNs: String(st.mtimeNs), ino: String(st.ino), ctimeNs: String(st.ctimeNs) };
}

function kindOf(st: FileStat | undefined): string {
  return st ? st.kind : '';
}

function sameStat(a: FileStat, b: FileStat): boolean {
  return a.kind === b.kind && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino && a.ctimeNs === b.ctimeNs;
}

/** A stamp of a listed folder: its hash field is this prefix and the listing's digest. */
const LISTED = 'list:';

/** SHA-256 of a folder's entry names, sorted and joined by newlines (evaluate.py's listing_digest), or undefined when it cannot be listed. */
function listingDigest(p: string): string | undefined {
  try {
    const names = fs.readdirSync(p).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return createHash('sha256').update(names.join('\n')).digest('hex');
  } catch {
    return undefined;
  }
}

function stampHolds(s: ReadStamp): boolean {
  const [p, size, mtimeNs, ino, ctimeNs, hash, hashedAt] = s;
  if (hash.startsWith(LISTED)) return listingDigest(p) === hash.slice(LISTED.length); // a folder's entries
  const st = statOf(p);
  if (hash.length !== 64) return kindOf(st) === hash; // a kind: absent, a file, a folder
  if (!st || st.kind !== 'file') return false;
  const old = Number(BigInt(mtimeNs) / 1_000_000n) + RACY_SLACK_MS < hashedAt;
  if (old && st.size === size && st.mtimeNs === mtimeNs && st.ino === ino && st.ctimeNs === ctimeNs) return true;
  try {
    return createHash('sha256').update(fs.readFileSync(p)).digest('hex') === hash;
  } catch {
    return false;
  }
}

function stampOf(p: string): ReadStamp | undefined {
  const hashedAt = Date.now();
  const before = statOf(p);
  if (before?.kind !== 'file') return undefined;
  let hash: string;
  try {
    hash = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  } catch {
    return undefined;
  }
  // Written while it was hashed: the hash may be of bytes no stat describes.
  const after = statOf(p);
  if (!after || !sameStat(before, after)) return undefined;
  return [p, before.size, before.mtimeNs, before.ino, before.ctimeNs, hash, hashedAt];
}

/**
 * The stamps of everything the evaluation looked at, taken now, or undefined when one cannot
 * vouch for what the evaluation saw: each file must still have the stat the evaluator took
 * before reading it (old enough then that a later write moves it), each path the kind it had.
 * A config saved while Python evaluated it is so evaluated again on the next load, instead of
 * its new bytes being recorded with the old result.
 */
function vouchedStamps(abs: string, r: PyResult, res: PyResponse, stamps: Stamps): ReadStamp[] | undefined {
  const seen = r.seen ?? {};
  const read: ReadStamp[] = [];
  const content = (p: string, s: Seen | undefined): boolean => {
    const now = stamps.of(p);
    if (!Array.isArray(s) || !now || now[1] !== s[0] || now[2] !== s[1] || now[3] !== s[2] || now[4] !== s[3]) return false;
    read.push(now);
    return true;
  };
  const kind = (p: string, s: Seen | undefined): boolean => {
    const now = stamps.kindOf(p);
    if (now[5] !== (s === null ? '' : s)) return false;
    read.push(now);
    return true;
  };
  const absent = [...list(r.absent), ...(r.missing ? [r.missing] : [])];
  if (![...list(r.read), ...absent].includes(abs)) return undefined; // the config itself was not looked at
  for (const p of list(r.read)) if (!content(p, seen[p])) return undefined;
  for (const p of absent) if (!kind(p, seen[p] === null ? null : 'racy')) return undefined;
  for (const p of list(r.probed)) if (!kind(p, seen[p])) return undefined;
  // A folder config code listed: its entries now must be the ones the evaluation saw.
  for (const [p, digest] of Object.entries(r.listed ?? {})) {
    const now = listingDigest(p);
    if (digest === null || now !== digest) return undefined;
    read.push([p, 0, '', '', '', LISTED + now, 0]);
  }
  if (res.python.executable && !content(res.python.executable, res.python.seen)) return undefined;
  return read;
}

function writeCache(cacheDir: string, abs: string, identity: string, r: PyResult, res: PyResponse, stamps: Stamps): void {
  const read = vouchedStamps(abs, r, res, stamps);
  if (!read) return; // something changed while it was evaluated: the next load evaluates again
  const entry: CacheEntry = {
    format: CACHE_FORMAT,
    identity,
    file: abs,
    read,
    env: r.env ?? {},
    pythonPath: res.python.path ?? [],
    mmengine: res.mmengine,
    result: r,
  };
  const file = cacheFile(cacheDir, abs, identity);
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(tmp, JSON.stringify(entry));
    fs.renameSync(tmp, file);
  } catch {
    /* a cache that cannot be written only costs a Python start next time */
  }
}

// ---------------------------------------------------------------------------------------------
// Values

function isDict(v: PyValue | undefined): v is { [k: string]: PyValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const WEIGHT_KEYS = new Set(['checkpoint', 'load_from']);

function collectWeights(v: PyValue, into: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collectWeights(x, into);
  } else if (isDict(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (WEIGHT_KEYS.has(k) && typeof x === 'string') into.add(x);
      else collectWeights(x, into);
    }
  }
}

/** `a.b.c` of a merged config, or undefined. */
export function configValue(values: Record<string, PyValue>, dotted: string): PyValue | undefined {
  let cur: PyValue | undefined = values;
  for (const k of dotted.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(k)) cur = cur[Number(k)];
    else if (isDict(cur) && Object.prototype.hasOwnProperty.call(cur, k)) cur = cur[k];
    else return undefined;
  }
  return cur;
}
