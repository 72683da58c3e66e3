// The metrics of two states of a repository, value by value: the work tree (or a revision)
// against a revision, read from git objects without checking anything out. The CLI's
// `sbuild metrics diff` renders this; the HTML report reuses it.
import fs from 'node:fs';
import path from 'node:path';
import type { Graph } from '../graph/graph.js';
import { SbuildError } from '../errors.js';
import { metricsFiles, experimentOf } from './files.js';
import { openRepo, resolveCommit, readAtCommit, type GitRepo } from './git.js';

/** A leaf value of a metrics JSON. */
export type MetricScalar = number | string | boolean | null;

/** How one value differs: `added`/`removed` when one side has no value (absent, or null). */
export type ValueChange = 'changed' | 'unchanged' | 'added' | 'removed';

export interface MetricValueDiff {
  /** Dotted path of the value: `AP`, `per_class_AP.ship`, `curve[0]`, `["mAP@0.5"]` (keys holding `.`, `[` or `]`). */
  key: string;
  /** The value on the `from` side; undefined when the key (or the whole file) is not there. */
  old: MetricScalar | undefined;
  /** The value on the `to` side; undefined when the key (or the whole file) is not there. */
  new: MetricScalar | undefined;
  /** new − old when both are numbers (rounded to the decimals the two are written with); else null. */
  delta: number | null;
  /** (new − old) / |old| when both are numbers and old ≠ 0; else null. */
  relative: number | null;
  change: ValueChange;
  /**
   * `number`: numbers (or no value) on both sides; `text`: strings or booleans (or no value)
   * on both sides; `mixed`: a number on one side and a string or boolean on the other.
   */
  kind: 'number' | 'text' | 'mixed';
}

/** `added`: only on the `to` side; `removed`: only on the `from` side. */
export type FileStatus = 'changed' | 'unchanged' | 'added' | 'removed';

export interface MetricsFileDiff {
  /** Workspace-relative path. */
  path: string;
  /** The target that declares it. */
  target: string;
  /** The folder under `work_dirs/` or `VR/` (else the path): files are sorted by it first. */
  experiment: string;
  status: FileStatus;
  /** Every value of either side (unchanged ones too), sorted by key. */
  values: MetricValueDiff[];
}

export interface MetricsDiff {
  /** The revision compared from, as given (`HEAD` by default). */
  from: string;
  /** The revision compared to, as given, or `worktree`. */
  to: string;
  /** Full commit hash of `from`. */
  fromCommit: string;
  /** Full commit hash of `to`; null for the work tree. */
  toCommit: string | null;
  /** Metrics files present on at least one side, sorted by experiment, then path. */
  files: MetricsFileDiff[];
  /** Declared metrics files present on neither side (not built, not committed). */
  absent: Array<{ path: string; target: string }>;
  summary: {
    /** Values whose change is not `unchanged`, over all files. */
    changedValues: number;
    /** Files whose status is not `unchanged` (added and removed ones included). */
    changedFiles: number;
    unchangedFiles: number;
    addedFiles: number;
    removedFiles: number;
  };
}

/** The label of the work tree in `MetricsDiff.to`. */
export const WORKTREE = 'worktree';

/**
 * Compares every metrics file the graph declares between `from` (default `HEAD`) and `to`
 * (default: the work tree). Throws SbuildError (exit 2) outside a git repository, for a
 * revision that names no commit, and for a file that is not valid JSON on one side; a file
 * missing on one side is reported as `added` or `removed`.
 */
export async function metricsDiff(root: string, graph: Graph, from?: string, to?: string): Promise<MetricsDiff> {
  const fromRev = from ?? 'HEAD';
  const repo = await openRepo(root);
  const fromCommit = await resolveCommit(repo, fromRev);
  const toCommit = to === undefined ? null : await resolveCommit(repo, to);
  const declared = metricsFiles(graph);
  const paths = declared.map((d) => d.path);
  const oldSide = await readAtCommit(repo, fromCommit, paths);
  const newSide = toCommit === null ? readWorkTree(root, paths) : await readAtCommit(repo, toCommit, paths);
  const fromLabel = sideLabel(fromRev, fromCommit);
  const toLabel = toCommit === null ? 'the work tree' : sideLabel(to!, toCommit);

  const files: MetricsFileDiff[] = [];
  const absent: MetricsDiff['absent'] = [];
  for (const d of declared) {
    const a = oldSide.get(d.path);
    const b = newSide.get(d.path);
    if (a === undefined && b === undefined) {
      absent.push(d);
      continue;
    }
    const oldValues = a === undefined ? undefined : flatten(parse(a, d, fromLabel, repo, true));
    const newValues = b === undefined ? undefined : flatten(parse(b, d, toLabel, repo, toCommit !== null));
    const values = compareValues(oldValues ?? new Map(), newValues ?? new Map());
    const status: FileStatus = oldValues === undefined ? 'added' : newValues === undefined ? 'removed' : values.some((v) => v.change !== 'unchanged') ? 'changed' : 'unchanged';
    files.push({ path: d.path, target: d.target, experiment: experimentOf(d.path), status, values });
  }
  files.sort((x, y) => cmp(x.experiment, y.experiment) || cmp(x.path, y.path));
  const changed = files.filter((f) => f.status !== 'unchanged');
  return {
    from: fromRev,
    to: to ?? WORKTREE,
    fromCommit,
    toCommit,
    files,
    absent,
    summary: {
      changedValues: files.reduce((n, f) => n + f.values.filter((v) => v.change !== 'unchanged').length, 0),
      changedFiles: changed.length,
      unchangedFiles: files.length - changed.length,
      addedFiles: files.filter((f) => f.status === 'added').length,
      removedFiles: files.filter((f) => f.status === 'removed').length,
    },
  };
}

/** How a revision is named in messages: `HEAD (1a2b3c4)`, or just the short hash when it was given as one. */
export function sideLabel(rev: string, commit: string): string {
  return /^[0-9a-f]{4,64}$/i.test(rev) && commit.startsWith(rev.toLowerCase()) ? commit.slice(0, 7) : `${rev} (${commit.slice(0, 7)})`;
}

function readWorkTree(root: string, paths: string[]): Map<string, Buffer | undefined> {
  const found = new Map<string, Buffer | undefined>();
  for (const p of paths) {
    try {
      found.set(p, fs.readFileSync(path.join(root, p)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') found.set(p, undefined);
      else throw err;
    }
  }
  return found;
}

function parse(data: Buffer, file: { path: string; target: string }, side: string, repo: GitRepo, committed: boolean): unknown {
  let text = data.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message;
    const where = committed ? `at ${side}` : 'in the work tree';
    const fix = committed
      ? `That version cannot be compared; compare another revision (\`git log --oneline -- ${repo.prefix}${file.path}\` lists the commits that changed it).`
      : `Fix the file or rebuild it (\`sbuild ${file.target}\`), then run \`sbuild metrics diff\` again.`;
    throw new SbuildError('usage', `The metrics file '${file.path}' ${where} is not valid JSON (${why}). ${fix}`);
  }
}

/** Leaf values of a JSON document by dotted key; empty objects and arrays have none. */
export function flatten(doc: unknown): Map<string, MetricScalar> {
  const out = new Map<string, MetricScalar>();
  const walk = (v: unknown, key: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${key}[${i}]`));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const part = /[.[\]]/.test(k) || k === '' ? `[${JSON.stringify(k)}]` : k;
        walk(x, key === '' || part.startsWith('[') ? key + part : `${key}.${part}`);
      }
    } else {
      out.set(key, v as MetricScalar);
    }
  };
  walk(doc, '');
  return out;
}

function compareValues(a: Map<string, MetricScalar>, b: Map<string, MetricScalar>): MetricValueDiff[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort(naturalCompare);
  return keys.map((key) => compareOne(key, a.get(key), b.get(key)));
}

function compareOne(key: string, old: MetricScalar | undefined, neu: MetricScalar | undefined): MetricValueDiff {
  const hasOld = old !== undefined && old !== null;
  const hasNew = neu !== undefined && neu !== null;
  const isNum = (x: unknown) => typeof x === 'number';
  const kind: MetricValueDiff['kind'] = (hasOld && !isNum(old)) || (hasNew && !isNum(neu)) ? ((hasOld && isNum(old)) || (hasNew && isNum(neu)) ? 'mixed' : 'text') : 'number';
  let change: ValueChange;
  if (!hasOld && !hasNew) change = 'unchanged';
  else if (!hasOld) change = 'added';
  else if (!hasNew) change = 'removed';
  else change = old === neu ? 'unchanged' : 'changed';
  let delta: number | null = null;
  let relative: number | null = null;
  if (typeof old === 'number' && typeof neu === 'number') {
    delta = roundDelta(old, neu);
    relative = old !== 0 ? (neu - old) / Math.abs(old) : null;
  }
  return { key, old, new: neu, delta, relative, change, kind };
}

/** Decimals a number is written with in JSON; undefined for exponent notation. */
export function decimalsOf(x: number): number | undefined {
  const s = String(x);
  if (/e/i.test(s)) return undefined;
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/** new − old without float noise: 0.2749 − 0.2626 is 0.0123, not 0.012299999999999978. */
function roundDelta(old: number, neu: number): number {
  const a = decimalsOf(old);
  const b = decimalsOf(neu);
  const d = neu - old;
  if (a === undefined || b === undefined) return d;
  return Number(d.toFixed(Math.min(Math.max(a, b), 20)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders keys with runs of digits compared as numbers (`x[2]` before `x[10]`). */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const n = Number(x) - Number(y);
      if (n !== 0) return n;
      return cmp(x, y);
    }
    return cmp(x, y);
  }
  return pa.length - pb.length;
}
