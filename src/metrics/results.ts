// `sbuild results`: one table of every experiment run's metrics, a row per experiment × run ×
// side (the work tree, or each commit of a range), with the params that set rows of one
// experiment apart. Each side is read as that side recorded it: its sbuild.lock says which
// targets wrote which metrics files and with which params, and the metrics files come from
// the same commit's git objects (nothing is checked out), or from disk for the work tree.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Graph } from '../graph/graph.js';
import type { Json } from '../config/types.js';
import { SbuildError } from '../errors.js';
import { isMetricsName, metricsFiles } from './files.js';
import { openRepo, resolveCommit, readAtCommit, commitsBetween, commitInfo, type GitRepo } from './git.js';
import { readValues } from '../engine/values.js';
import { naturalCompare } from './diff.js';

export interface ResultsSide {
  /** `worktree`, or the short commit hash. */
  label: string;
  commit: string | null;
  subject?: string;
  date?: string;
  /** False when that side has no sbuild.lock (nothing recorded there). */
  recorded: boolean;
}

export interface ResultsRow {
  /** The experiment (`cfar_os`, a variant `cfar_os@model.guard=4`), or the target's folder for other metrics targets. */
  experiment: string;
  /** The experiment it varies (itself for an experiment as configured). */
  base: string;
  /** `smoke`, `full`, … (empty for a target not named exp/EXPERIMENT/RUN/JOB). */
  run: string;
  /** Index into `sides`. */
  side: number;
  /** `split.key` (the metrics JSON's `split`, else the job's name) → value; nested keys dotted. */
  metrics: Record<string, number | string | boolean | null>;
  /** The params that differ between rows of the same base experiment (dotted; config keys without `config.`). */
  params: Record<string, Json>;
  /** Declared by the current config (false: found only in a side's lock, with --all-variants). */
  declared: boolean;
  /** Metrics files whose bytes are not what that side's sbuild.lock recorded (edited by hand, or stale). */
  unrecorded: string[];
}

export interface ResultsTable {
  sides: ResultsSide[];
  rows: ResultsRow[];
  /** Metric columns in order: per split, the keys in the order the files give them. */
  columns: string[];
  /** Param keys shown, sorted. */
  paramKeys: string[];
}

export interface ResultsOptions {
  /** `A..B` (A and each commit after it on B's first-parent line), `A..` (to HEAD), or one revision. */
  across?: string;
  /** Also rows that the current config no longer declares (a side's lock has them). */
  allVariants?: boolean;
  /** Experiments' variants as the current config declares them: name → the experiment it varies. */
  variantOf?: Map<string, string>;
}

interface LockTarget {
  params?: { [k: string]: Json };
  outputs?: { [p: string]: { hash?: string } };
}

const EXP = /^exp\/([^/]+)\/([^/]+)\/([^/]+)$/;

export async function resultsTable(root: string, graph: Graph, lockNow: Map<string, LockTarget>, opts: ResultsOptions = {}): Promise<ResultsTable> {
  const sides: ResultsSide[] = [];
  const locks: Array<Map<string, LockTarget>> = [];
  const readers: Array<(paths: string[]) => Promise<Map<string, Buffer | undefined>>> = [];
  if (opts.across === undefined) {
    sides.push({ label: 'worktree', commit: null, recorded: true });
    locks.push(lockNow);
    readers.push(async (paths) => new Map(paths.map((p) => [p, readFile(path.join(root, p))])));
  } else {
    const repo = await openRepo(root, 'sbuild results');
    const commits = await rangeCommits(repo, opts.across);
    const info = await commitInfo(repo, commits);
    for (const c of commits) {
      const lockText = (await readAtCommit(repo, c, ['sbuild.lock'])).get('sbuild.lock');
      const lock = lockText === undefined ? new Map<string, LockTarget>() : parseLock(lockText, c);
      sides.push({ label: c.slice(0, 7), commit: c, subject: info.get(c)?.subject ?? '', date: info.get(c)?.date ?? '', recorded: lockText !== undefined });
      locks.push(lock);
      readers.push((paths) => readAtCommit(repo, c, paths));
    }
  }

  // Which files hold metrics: those the config declares, and by name those a lock records.
  const declaredMetrics = new Map(metricsFiles(graph).map((m) => [m.path, m.target]));
  // Experiment runs (exp/EXPERIMENT/RUN/JOB) are the rows; a workspace without them gets a row per metrics target.
  const onlyExperiments = [...locks.flatMap((l) => [...l.keys()]), ...graph.nodes.map((n) => n.name)].some((n) => EXP.test(n));
  const graphRank = new Map(graph.nodes.map((n, i) => [n.name, i]));
  const rows = new Map<string, ResultsRow & { targets: string[] }>();
  const columns: string[] = [];
  for (let s = 0; s < sides.length; s++) {
    const lock = locks[s]!;
    const wanted: Array<{ target: string; file: string; hash: string | undefined }> = [];
    for (const [name, entry] of lock) {
      const declared = graph.byName.has(name);
      if ((!declared && !opts.allVariants) || (onlyExperiments && !EXP.test(name))) continue;
      for (const [file, rec] of Object.entries(entry.outputs ?? {})) {
        if (isMetricsName(file) || declaredMetrics.get(file) === name) wanted.push({ target: name, file, hash: rec?.hash });
      }
    }
    // Columns come in the order the config declares the evaluations (val before test).
    const rank = (t: string) => graphRank.get(t) ?? Number.MAX_SAFE_INTEGER;
    wanted.sort((a, b) => rank(a.target) - rank(b.target) || naturalCompare(a.target, b.target));
    const bytes = await readers[s]!(wanted.map((w) => w.file));
    for (const w of wanted) {
      const data = bytes.get(w.file);
      if (data === undefined) continue;
      const m = EXP.exec(w.target);
      const experiment = m ? m[1]! : path.posix.dirname(w.target);
      const run = m ? m[2]! : '';
      const job = m ? m[3]! : path.posix.basename(w.target);
      const key = `${experiment}\0${run}\0${s}`;
      let row = rows.get(key);
      if (!row) {
        const base = opts.variantOf?.get(experiment) ?? experiment.split('@')[0]!;
        row = { experiment, base, run, side: s, metrics: {}, params: {}, declared: graph.byName.has(w.target), unrecorded: [], targets: [] };
        rows.set(key, row);
      }
      row.targets.push(w.target);
      if (w.hash !== undefined && createHash('sha256').update(data).digest('hex') !== w.hash) row.unrecorded.push(w.file);
      let doc: unknown;
      try {
        doc = JSON.parse(data.toString('utf8'));
      } catch (err) {
        throw new SbuildError('usage', `${w.file}${sides[s]!.commit ? ` at commit ${sides[s]!.label}` : ''} is not valid JSON (${(err as Error).message}), so \`sbuild results\` cannot read its metrics. Rebuild it (\`sbuild -B ${w.target}\`)${sides[s]!.commit ? ', or leave that commit out of --across' : ''}.`);
      }
      const split = isObject(doc) && typeof doc.split === 'string' ? doc.split : job;
      for (const [k, v] of flattenScalars(doc)) {
        if (k === 'split') continue;
        const col = `${split}.${k}`;
        if (!columns.includes(col)) columns.push(col);
        row.metrics[col] = v;
      }
    }
  }

  // Params: those of the row's targets in that side's lock; shown where rows of one base differ.
  // Every job of a run counts (its training's params too), not only those that wrote metrics:
  // each side's lock entries grouped by run once, `exp/E/R/` → names.
  const runJobs = locks.map((lock) => {
    const by = new Map<string, string[]>();
    for (const name of lock.keys()) {
      const m = EXP.exec(name);
      if (!m) continue;
      const key = `${m[1]}\0${m[2]}`;
      const list = by.get(key);
      if (list) list.push(name);
      else by.set(key, [name]);
    }
    return by;
  });
  const flat = new Map<ResultsRow, Map<string, string>>();
  for (const row of rows.values()) {
    const f = new Map<string, string>();
    const jobs = row.run ? (runJobs[row.side]!.get(`${row.experiment}\0${row.run}`) ?? []).sort(naturalCompare) : row.targets;
    for (const t of jobs) {
      for (const [k, v] of flattenParams(root, locks[row.side]!.get(t)?.params ?? {})) if (!f.has(k)) f.set(k, v);
    }
    flat.set(row, f);
  }
  const byBase = new Map<string, ResultsRow[]>();
  for (const row of rows.values()) byBase.set(row.base, [...(byBase.get(row.base) ?? []), row]);
  const paramKeys = new Set<string>();
  for (const group of byBase.values()) {
    const keys = new Set(group.flatMap((r) => [...flat.get(r)!.keys()]));
    for (const k of keys) {
      const values = new Set(group.map((r) => flat.get(r)!.get(k) ?? '\0absent'));
      if (values.size < 2) continue;
      paramKeys.add(k);
      for (const r of group) {
        const v = flat.get(r)!.get(k);
        if (v !== undefined) r.params[k] = JSON.parse(v) as Json;
      }
    }
  }

  // Order: experiments as the config declares them (then the others), each base's variants
  // after it, runs in declaration order, sides oldest first.
  const order = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    const m = EXP.exec(n.name);
    const exp = m ? m[1]! : path.posix.dirname(n.name);
    if (!order.has(`e:${exp}`)) order.set(`e:${exp}`, i);
    if (m && !order.has(`r:${m[2]}`)) order.set(`r:${m[2]}`, i);
  });
  const rank = (k: string) => order.get(k) ?? Number.MAX_SAFE_INTEGER;
  const list = [...rows.values()].sort(
    (a, b) =>
      rank(`e:${a.base}`) - rank(`e:${b.base}`) || naturalCompare(a.base, b.base) ||
      Number(a.experiment !== a.base) - Number(b.experiment !== b.base) || rank(`e:${a.experiment}`) - rank(`e:${b.experiment}`) || naturalCompare(a.experiment, b.experiment) ||
      rank(`r:${a.run}`) - rank(`r:${b.run}`) || naturalCompare(a.run, b.run) ||
      a.side - b.side,
  );
  return { sides, rows: list.map(({ targets: _t, ...r }) => r), columns, paramKeys: [...paramKeys].sort(naturalCompare) };
}

async function rangeCommits(repo: GitRepo, across: string): Promise<string[]> {
  const m = /^(.*?)\.\.(\.?)(.*)$/.exec(across);
  if (!m) return [await resolveCommit(repo, across)];
  if (m[2] === '.') throw new SbuildError('usage', `--across takes A..B (two dots: A and each commit after it up to B), not '${across}'.`);
  if (m[1] === '') throw new SbuildError('usage', `--across '${across}' has no first commit; write A..B, e.g. HEAD~3..HEAD.`);
  return commitsBetween(repo, m[1]!, m[3] || 'HEAD');
}

function parseLock(text: Buffer, commit: string): Map<string, LockTarget> {
  try {
    const doc = JSON.parse(text.toString('utf8')) as { targets?: Record<string, LockTarget> };
    return new Map(Object.entries(doc.targets ?? {}));
  } catch (err) {
    throw new SbuildError('usage', `sbuild.lock at commit ${commit.slice(0, 7)} is not valid JSON (${(err as Error).message}); \`sbuild results\` reads each commit's lock. Leave that commit out of --across.`);
  }
}

function readFile(abs: string): Buffer | undefined {
  try {
    return fs.readFileSync(abs);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Scalar leaves, dotted (`per_class_AP.ship`); arrays are left out (curves are not table cells). */
function flattenScalars(doc: unknown, prefix = '', out: Array<[string, number | string | boolean | null]> = []): Array<[string, number | string | boolean | null]> {
  if (!isObject(doc)) return out;
  for (const [k, v] of Object.entries(doc)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v)) flattenScalars(v, key, out);
    else if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out.push([key, v]);
  }
  return out;
}

/**
 * Params as dotted keys with canonical JSON values. A merged config held by content
 * (`values:<sha256>`) is opened from `.sbuild/values/` where this machine has it, so rows show
 * `model.guard` rather than two hashes; a variant's `overrides` are then already among them.
 */
function flattenParams(root: string, params: { [k: string]: Json }): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: Json, key: string) => {
    if (isObject(v) && Object.keys(v).length) for (const [k, x] of Object.entries(v)) walk(x as Json, key ? `${key}.${k}` : k);
    else out.set(key, JSON.stringify(v));
  };
  const expanded = new Set<string>();
  for (const [k, v] of Object.entries(params)) {
    const value = typeof v === 'string' && v.startsWith('values:') ? readValues(root, v) : undefined;
    if (value !== undefined && isObject(value)) {
      // The config's keys at the top: `model.guard`, not `config.model.guard`.
      walk(value, k === 'config' ? '' : k);
      expanded.add(k);
    } else if (k !== 'overrides') walk(v, k);
  }
  // A variant's settings: shown as they are only where its config could not be opened.
  if (!expanded.has('config') && params.overrides !== undefined) walk(params.overrides, 'overrides');
  return out;
}
