// Checks the shape of a loaded config at run time (the config is TypeScript, but it is
// never type-checked on the hot path) and points every error at file:line.
import fs from 'node:fs';
import path from 'node:path';
import { SbuildError, didYouMean } from '../errors.js';
import { normalizeRel, normalizeInput, isGlob, isSafeRelative } from '../util/fs.js';
import type { Config, Target } from './types.js';
import type { LoadedConfig } from './load.js';
import { STATE_DIR } from '../engine/state-paths.js';
import { expandCommand, expansionProblem } from './params-template.js';

const TARGET_KEYS = new Set([
  'name', 'inputs', 'deps', 'outputs', 'params', 'env', 'run', 'rule', 'resources', 'cpuFallback', 'tags', 'description', 'cache', 'materialize', 'lineage', 'executor', 'slurm', 'metrics', 'resume', 'runFolders',
]);

/** A target after validation: paths normalised to posix, workspace-relative. */
export interface CheckedTarget {
  target: Target;
  name: string;
  inputs: string[];
  outputs: string[];
  deps: string[];
  /** `resume`, its folder normalised. */
  resume?: ResumeSpec;
  /** `runFolders`, normalised. */
  runFolders?: string[];
  /** A command target's `run` with its `{params.KEY}` placeholders substituted: what runs. */
  command?: string | string[];
}

/** A target's `resume`, checked: the folder workspace-relative, the marker relative to it. */
export interface ResumeSpec {
  dir: string;
  args: string[];
  marker?: string;
}

export function validateConfig(loaded: LoadedConfig, cwd: string): { config: Config; targets: CheckedTarget[] } {
  const { config, root } = loaded;
  const locate = locator(loaded, cwd);
  const fail = (msg: string, where?: string): never => {
    const loc = locate(where);
    throw new SbuildError('config-invalid', msg, loc ? { location: loc } : {});
  };
  if (!Array.isArray(config.targets)) {
    fail(`The config must have \`targets: [...]\` (an array of targets); found ${typeof config.targets}.`);
  }
  const seen = new Map<string, number>();
  const checked: CheckedTarget[] = [];
  config.targets.forEach((t, i) => {
    if (!t || typeof t !== 'object') fail(`targets[${i}] is ${t === null ? 'null' : typeof t}, not a target object.`);
    if (typeof t.name !== 'string' || t.name.trim() === '') fail(`targets[${i}] has no \`name\` (a non-empty string, e.g. 'exp/cfar/train').`);
    const name = t.name;
    const at = `target '${name}'`;
    const badName = nameRule(name);
    if (badName) fail(`target ${shownName(name)}: ${badName}. A name becomes a path (its log is .sbuild/logs/<name>.log), so it must stay one. Rename it${suggestName(name)}.`, needleFor(locate, name));
    if (/\s/.test(name) || name.startsWith('/') || name.endsWith('/') || name.includes('//') || name.startsWith('tag:') || /[*?[\]{}!]/.test(name)) {
      fail(`${at}: names are '/'-separated words without spaces, globs or a leading 'tag:'. Rename it.`, name);
    }
    if (seen.has(name)) {
      throw new SbuildError('duplicate-target', `Two targets are named '${name}' (targets[${seen.get(name)}] and targets[${i}]). Target names must be unique; rename one.`, {
        ...(locate(name) ? { location: locate(name)! } : {}),
      });
    }
    seen.set(name, i);
    for (const k of Object.keys(t)) {
      if (!TARGET_KEYS.has(k)) fail(`${at} has an unknown field \`${k}\`.${didYouMean(k, TARGET_KEYS)} Allowed: ${[...TARGET_KEYS].join(', ')}.`, name);
    }
    const strings = (field: keyof Target): string[] => {
      const v = t[field];
      if (v === undefined) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
        fail(`${at}: \`${field}\` must be an array of non-empty strings.`, name);
      }
      return v as string[];
    };
    const inputs = strings('inputs').map((p) => {
      const neg = p.startsWith('!');
      const spec = neg ? p.slice(1) : p;
      // A file outside the workspace (weights on shared storage) is an external input, kept
      // absolute and fingerprinted by content; a glob there would make the graph depend on
      // whatever else lives on that storage.
      const n = isGlob(spec) ? normalizeRel(root, spec) : normalizeInput(root, spec);
      if (n === undefined || n === '') {
        fail(isGlob(spec)
          ? `${at}: input glob '${p}' reaches outside the workspace (${root}). Globs must stay inside it; name files outside it one by one.`
          : `${at}: input '${p}' is the workspace itself. Name the files or folders it reads.`, name);
      }
      return neg ? `!${n}` : n!;
    });
    const outputs = strings('outputs').map((p) => {
      if (isGlob(p)) fail(`${at}: output '${p}' is a glob; outputs must be exact files or directories. List them, or output their folder.`, name);
      const n = normalizeRel(root, p);
      if (n === undefined || n === '' || n === STATE_DIR || n.startsWith(`${STATE_DIR}/`) || n === '.git' || n.startsWith('.git/')) {
        fail(`${at}: output '${p}' is outside the workspace (${root}) or inside sbuild's own state. Outputs must be inside the workspace; write it under e.g. artifacts/.`, name);
      }
      return n!;
    });
    const deps = strings('deps');
    strings('env');
    strings('tags');
    const run = t.run;
    if (run !== undefined && typeof run !== 'string' && typeof run !== 'function' && !(Array.isArray(run) && run.length > 0 && run.every((a) => typeof a === 'string'))) {
      fail(`${at}: \`run\` must be a shell string, a non-empty array of strings (exec without a shell) or an async function (ctx) => ….`, name);
    }
    if (t.materialize !== undefined && (typeof t.materialize !== 'function' || outputs.length === 0)) {
      fail(`${at}: \`materialize\` must be a function (ctx) => … that writes the target's declared outputs; the target must declare \`outputs\`.`, name);
    }
    if (run === undefined && outputs.length > 0) fail(`${at} declares outputs but has no \`run\`; a target without \`run\` is a group. Add \`run\` or drop \`outputs\`.`, name);
    if (t.params !== undefined) {
      if (typeof t.params !== 'object' || t.params === null || Array.isArray(t.params)) fail(`${at}: \`params\` must be an object of JSON values.`, name);
      const bad = nonJson(t.params, 'params');
      if (bad) fail(`${at}: ${bad} is not a JSON value (use strings, numbers, booleans, null, arrays and plain objects).`, name);
    }
    let command: string | string[] | undefined;
    if (typeof run === 'string' || Array.isArray(run)) {
      const e = expandCommand(run, t.params);
      if (!e.ok) fail(`${at}: ${expansionProblem(e, t.params)}`, name);
      else command = e.command;
    }
    if (t.resources !== undefined) {
      if (typeof t.resources !== 'object' || t.resources === null) fail(`${at}: \`resources\` must be an object such as { gpu: 1 }.`, name);
      for (const [k, v] of Object.entries(t.resources)) {
        if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) fail(`${at}: resources.${k} must be a whole number ≥ 0.`, name);
      }
    }
    if (t.rule !== undefined && (typeof t.rule !== 'object' || typeof t.rule.id !== 'string')) fail(`${at}: \`rule\` must be { id: string, version?: number | string }.`, name);
    for (const f of ['cache', 'cpuFallback', 'lineage'] as const) {
      if (t[f] !== undefined && typeof t[f] !== 'boolean') fail(`${at}: \`${f}\` must be true or false.`, name);
    }
    if (t.description !== undefined && typeof t.description !== 'string') fail(`${at}: \`description\` must be a string.`, name);
    if (t.metrics !== undefined) {
      if (!Array.isArray(t.metrics) || t.metrics.some((m) => typeof m !== 'string')) fail(`${at}: \`metrics\` must be an array of output paths.`, name);
      const notOut = t.metrics.find((m) => !outputs.includes(normalizeRel(root, m) ?? m));
      if (notOut !== undefined) fail(`${at}: \`metrics\` names '${notOut}', which is not one of its outputs. List only declared outputs.`, name);
    }
    if (t.executor !== undefined && t.executor !== 'local' && t.executor !== 'slurm') fail(`${at}: \`executor\` must be 'local' or 'slurm'.`, name);
    if (t.executor === 'slurm' && typeof run === 'function') fail(`${at} asks for \`executor: 'slurm'\` but its \`run\` is an in-process function, which runs inside sbuild. Give it a command (array or string), or drop \`executor\`.`, name);
    if (t.slurm !== undefined) {
      const bad = slurmProblem(t.slurm, false);
      if (bad) fail(`${at}: ${bad}`, name);
    }
    const resume = t.resume === undefined ? undefined : resumeSpec(t, root, inputs, (msg) => fail(`${at}: ${msg}`, name));
    const runFolders = strings('runFolders').map((p) => {
      const n = isGlob(p) ? undefined : normalizeRel(root, p);
      if (n === undefined || n === '' || n === STATE_DIR || n.startsWith(`${STATE_DIR}/`) || n === '.git' || n.startsWith('.git/')) {
        fail(`${at}: runFolders entry '${p}' must be a folder inside the workspace (not the workspace itself, .sbuild or .git, and not a glob), where each run creates its own folder, e.g. 'work_dirs/exp'.`, name);
      }
      return n!;
    });
    if (runFolders.length && typeof run !== 'string' && !Array.isArray(run)) fail(`${at}: \`runFolders\` needs a command (\`run\` as an array or a shell string).`, name);
    checked.push({ target: t, name, inputs, outputs, deps, ...(resume ? { resume } : {}), ...(runFolders.length ? { runFolders } : {}), ...(command !== undefined ? { command } : {}) });
  });
  checkResumeFolders(checked, fail);
  if (config.default !== undefined && !seen.has(config.default)) {
    fail(`The config's \`default\` names '${config.default}', which is not a target.${didYouMean(config.default, seen.keys())}`, config.default);
  }
  if (config.linkedFolders !== undefined) {
    const lf = config.linkedFolders as unknown;
    const bad = !Array.isArray(lf) ? lf : lf.find((f) => typeof f !== 'string' || normalizeRel(root, f) === undefined || ['', STATE_DIR, '.git'].includes(normalizeRel(root, f)!.split('/')[0]!));
    if (!Array.isArray(lf) || bad !== undefined) {
      fail(`The config's \`linkedFolders\` must be a list of workspace folders that are links to storage elsewhere, e.g. ['work_dirs']; ${JSON.stringify(bad) ?? String(bad)} is not one (inside the workspace, not .sbuild or .git).`, 'linkedFolders');
    }
    config.linkedFolders = (lf as string[]).map((f) => normalizeRel(root, f)!);
  }
  if (config.localCache !== undefined) {
    const lc = config.localCache as unknown;
    const bad = typeof lc !== 'object' || lc === null || Array.isArray(lc) || Object.keys(lc).some((k) => k !== 'mode') || !['copy', 'hardlink', undefined].includes((lc as { mode?: string }).mode);
    if (bad) fail(`The config's \`localCache\` must be { mode: 'copy' } (the default: copy-on-write clones where the file system has them, else copies) or { mode: 'hardlink' } (one copy shared with the workspace, cached outputs read-only); found ${JSON.stringify(lc)}.`, 'localCache');
  }
  if (config.remoteCache !== undefined && (typeof config.remoteCache !== 'object' || config.remoteCache === null || typeof config.remoteCache.url !== 'string')) {
    fail('The config\'s `remoteCache` must be { url: "http://…", tokenEnv?: "NAME", upload?: boolean }.');
  }
  if (config.gpus !== undefined && (!Array.isArray(config.gpus) || config.gpus.some((g) => typeof g !== 'string'))) {
    fail('The config\'s `gpus` must be an array of device ids as strings, e.g. ["0", "1"].');
  }
  if (config.slurm !== undefined) {
    const bad = slurmProblem(config.slurm, true);
    if (bad) fail(`The config's ${bad}`);
  }
  if (config.policy !== undefined) {
    const problem = policyProblem(config.policy as unknown);
    if (problem) {
      throw new SbuildError('config-invalid', problem[1], { location: policyLocation(loaded, cwd, problem[0]) ?? locate()! });
    }
  }
  return { config, targets: checked };
}

/**
 * A resume folder belongs to its target: another target's resume folder may not overlap it,
 * nor may it lie inside another target's declared output (whose content it would set aside).
 */
function checkResumeFolders(checked: CheckedTarget[], fail: (msg: string, where?: string) => never): void {
  const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  const withResume = checked.filter((c) => c.resume);
  for (const a of withResume) {
    const dir = a.resume!.dir;
    for (const b of withResume) {
      if (b !== a && (within(dir, b.resume!.dir) || within(b.resume!.dir, dir))) {
        fail(`targets '${a.name}' and '${b.name}' keep their partial work in overlapping folders ('${dir}' and '${b.resume!.dir}'); each would set the other's aside. Give each training its own resume.dir.`, a.name);
      }
    }
    for (const c of checked) {
      if (c === a) continue;
      const out = c.outputs.find((o) => within(dir, o));
      if (out !== undefined) fail(`target '${a.name}': its resume folder '${dir}' lies inside '${out}', an output of '${c.name}'. Keep the partial work in a folder that no other target outputs.`, a.name);
    }
  }
}

/** A target's `resume`, checked against its own declaration (other targets: checkResumeFolders). */
function resumeSpec(t: Target, root: string, inputs: string[], fail: (msg: string) => never): ResumeSpec {
  const r = t.resume as unknown;
  const example = "{ dir: 'work_dirs/exp', args: ['--resume'], marker: 'last_checkpoint' }";
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return fail(`\`resume\` must be an object such as ${example}.`);
  const o = r as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['dir', 'args', 'marker'].includes(k)) fail(`\`resume\` has an unknown field \`${k}\`.${didYouMean(k, ['dir', 'args', 'marker'])} Allowed: dir, args, marker.`);
  }
  if (typeof t.run !== 'string' && !Array.isArray(t.run)) fail('`resume` needs a command (`run` as an array or a shell string): an in-process action or a group has no partial work to keep.');
  const dir = typeof o.dir === 'string' && o.dir !== '' && !isGlob(o.dir) ? normalizeRel(root, o.dir) : undefined;
  if (dir === undefined || dir === '' || dir === STATE_DIR || dir.startsWith(`${STATE_DIR}/`) || dir === '.git' || dir.startsWith('.git/')) {
    fail(`resume.dir ${JSON.stringify(o.dir)} must be a folder inside the workspace (not the workspace itself, .sbuild or .git, and not a glob): the folder where the command keeps its checkpoints, e.g. 'work_dirs/exp'.`);
  }
  if (o.args !== undefined && (!Array.isArray(o.args) || o.args.some((a) => typeof a !== 'string' || a === ''))) fail("resume.args must be an array of non-empty strings, e.g. ['--resume'].");
  if (o.marker !== undefined && (typeof o.marker !== 'string' || !isSafeRelative(o.marker))) {
    fail(`resume.marker ${JSON.stringify(o.marker)} must be a file name relative to resume.dir, without '..', e.g. 'last_checkpoint'.`);
  }
  // Its partial work is set aside when the fingerprint changes: an input in there would go with it.
  const inside = (p: string) => p === dir || p.startsWith(`${dir}/`) || dir!.startsWith(`${p}/`);
  const bad = inputs.find((p) => !p.startsWith('!') && inside(p.replace(/\/$/, '')));
  if (bad !== undefined) fail(`its input '${bad}' overlaps its resume folder '${dir}', whose content is set aside whenever the target's fingerprint changes. Keep the checkpoints in a folder of their own.`);
  return { dir: dir!, args: (o.args as string[] | undefined) ?? [], ...(o.marker !== undefined ? { marker: o.marker as string } : {}) };
}

const SLURM_KEYS = ['partition', 'account', 'qos', 'time', 'mem', 'cpusPerTask', 'extra'];
const SLURM_CONFIG_KEYS = [...SLURM_KEYS, 'select', 'maxJobs', 'wait', 'settleSeconds'];

/** What is wrong with a `slurm` block (the config's when `top`), or undefined. */
function slurmProblem(s: unknown, top: boolean): string | undefined {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return '`slurm` must be an object such as { partition: \'gpu\', time: \'2:00:00\' }.';
  const keys = top ? SLURM_CONFIG_KEYS : SLURM_KEYS;
  const o = s as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) return `\`slurm\` has an unknown field \`${k}\`.${didYouMean(k, keys)} Allowed: ${keys.join(', ')}.`;
  }
  for (const k of ['partition', 'account', 'qos', 'time', 'mem']) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) return `slurm.${k} must be a non-empty string (as sbatch takes it, e.g. ${k === 'time' ? "'2:00:00'" : k === 'mem' ? "'16G'" : "'gpu'"}).`;
  }
  if (o.cpusPerTask !== undefined && (typeof o.cpusPerTask !== 'number' || !Number.isInteger(o.cpusPerTask) || o.cpusPerTask < 1)) return 'slurm.cpusPerTask must be a whole number ≥ 1.';
  for (const k of ['extra', 'select']) {
    if (o[k] !== undefined && (!Array.isArray(o[k]) || (o[k] as unknown[]).some((x) => typeof x !== 'string' || x === ''))) return `slurm.${k} must be an array of non-empty strings.`;
  }
  if (o.maxJobs !== undefined && (typeof o.maxJobs !== 'number' || !Number.isInteger(o.maxJobs) || o.maxJobs < 1)) return 'slurm.maxJobs must be a whole number ≥ 1.';
  if (o.wait !== undefined && o.wait !== 'sbatch' && o.wait !== 'poll') return "slurm.wait must be 'sbatch' (sbatch --wait) or 'poll'.";
  if (o.settleSeconds !== undefined && (typeof o.settleSeconds !== 'number' || !(o.settleSeconds >= 0))) return 'slurm.settleSeconds must be a number of seconds ≥ 0.';
  return undefined;
}

const POLICY_KEYS = new Set(['tracked', 'ignored', 'maxFileMB']);

/** What is wrong with the config's `policy` ([field, message]), if anything. */
function policyProblem(p: unknown): [string, string] | undefined {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    return ['policy', `The config's \`policy\` must be an object { tracked?: string[], ignored?: string[], maxFileMB?: number }, e.g. \`policy: sardetPolicy\` from 'sbuild/rules'; found ${kind(p)}.`];
  }
  for (const k of Object.keys(p)) {
    if (!POLICY_KEYS.has(k)) return [k, `The config's \`policy\` has an unknown field \`${k}\`.${didYouMean(k, POLICY_KEYS)} Allowed: tracked, ignored, maxFileMB.`];
  }
  for (const f of ['tracked', 'ignored'] as const) {
    const v = (p as Record<string, unknown>)[f];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((g) => typeof g !== 'string' || g.trim() === '')) {
      return [f, `\`policy.${f}\` must be an array of non-empty glob strings, e.g. ['artifacts/work_dirs/**']; found ${Array.isArray(v) ? 'an array holding ' + kind(v.find((g) => typeof g !== 'string' || g.trim() === '')) : kind(v)}.`];
    }
    const bad = (v as string[]).find((g) => g.startsWith('/') || g.startsWith('!') || /(^|\/)\.\.(\/|$)/.test(g));
    if (bad !== undefined) return [f, `\`policy.${f}\` holds '${bad}'; globs are workspace-relative paths without '..' or a leading '/' or '!'. (A file matching both lists counts as tracked.)`];
  }
  const mb = (p as Record<string, unknown>).maxFileMB;
  if (mb !== undefined && (typeof mb !== 'number' || !Number.isFinite(mb) || mb <= 0)) {
    return ['maxFileMB', `\`policy.maxFileMB\` must be a number of megabytes > 0, e.g. 100 (GitHub's per-file limit); found ${typeof mb === 'number' ? mb : kind(mb)}.`];
  }
  return undefined;
}

/** file:line:col of `field:` within the config's `policy: …` (or of `policy:` itself). */
function policyLocation(loaded: LoadedConfig, cwd: string, field: string): string | undefined {
  const key = (k: string) => new RegExp(`(^|[^\\w$])${k}\\s*:`, 'g');
  for (const f of loaded.sources.keys()) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const p = key('policy').exec(text);
    if (!p) continue;
    let m = p;
    if (field !== 'policy') {
      const r = key(field);
      r.lastIndex = p.index;
      m = r.exec(text) ?? p;
    }
    const at = m.index + m[1]!.length;
    const line = text.slice(0, at).split('\n').length;
    return `${path.relative(cwd, f) || f}:${line}:${at - text.lastIndexOf('\n', at - 1)}`;
  }
  return undefined;
}

/** The first place in `v` that is not JSON (a BigInt, a function, NaN, a class instance, a cycle), or undefined. */
function nonJson(v: unknown, where: string, open: Set<object> = new Set()): string | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : where;
  if (typeof v !== 'object') return where;
  // A value that contains itself has no JSON form (and would recurse forever).
  if (open.has(v)) return `${where} (it contains itself)`;
  open.add(v);
  try {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const b = nonJson(v[i], `${where}[${i}]`, open);
        if (b) return b;
      }
      return undefined;
    }
    if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
      for (const [k, x] of Object.entries(v as object)) {
        const b = nonJson(x, `${where}.${k}`, open);
        if (b) return b;
      }
      return undefined;
    }
    return where;
  } finally {
    open.delete(v);
  }
}

/**
 * Why a target name cannot be used, or undefined. Names become paths (logs under
 * .sbuild/logs/), so they are '/'-separated parts with none empty, '.' or '..', and no
 * backslash or control character. (Spaces, globs and 'tag:' are checked by the caller.)
 */
function nameRule(name: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(name)) return 'a name may not hold control characters';
  if (name.includes('\\')) return "a name may not hold a backslash ('/' separates its parts)";
  const parts = name.split('/');
  if (parts.some((p) => p === '')) return "a name's '/'-separated parts may not be empty (no leading, trailing or doubled '/')";
  if (parts.some((p) => p === '.' || p === '..')) return "a name's '/'-separated parts may not be '.' or '..'";
  return undefined;
}

/** A name in a message: quoted, control characters escaped as in the source. */
function shownName(name: string): string {
  return `'${JSON.stringify(name).slice(1, -1).replace(/\\"/g, '"')}'`;
}

/** ", e.g. 'a/b'": the name with the offending parts dropped, when that leaves a name. */
function suggestName(name: string): string {
  const parts = name.replace(/[\x00-\x1f\x7f]/g, '').split(/[\\/]/).filter((p) => p !== '' && p !== '.' && p !== '..');
  return parts.length ? `, e.g. '${parts.join('/')}'` : '';
}

/** The text to look for in the config's source: the name as written, or escaped as a string literal writes it. */
function needleFor(locate: (needle?: string) => string | undefined, name: string): string {
  const escaped = JSON.stringify(name).slice(1, -1);
  if (escaped === name || /:\d+:\d+$/.test(locate(name) ?? '')) return name;
  return escaped;
}

/**
 * Finds where a target is declared: the first line of any config source that holds its
 * name as a string literal; falls back to the config file itself.
 */
export function locator(loaded: LoadedConfig, cwd: string): (needle?: string) => string | undefined {
  let texts: Array<[string, string[]]> | undefined;
  return (needle) => {
    const rel = (f: string) => path.relative(cwd, f) || f;
    if (needle) {
      texts ??= [...loaded.sources.keys()].map((f) => {
        try {
          return [f, fs.readFileSync(f, 'utf8').split('\n')] as [string, string[]];
        } catch {
          return [f, []] as [string, string[]];
        }
      });
      for (const [f, lines] of texts) {
        for (let i = 0; i < lines.length; i++) {
          for (const q of ["'", '"', '`']) {
            const col = lines[i]!.indexOf(`${q}${needle}${q}`);
            if (col >= 0) return `${rel(f)}:${i + 1}:${col + 1}`;
          }
        }
      }
    }
    return rel(loaded.file);
  };
}
