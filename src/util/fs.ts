// File-system helpers shared by the engine: atomic writes, workspace paths, and the
// confinement of everything sbuild deletes or writes to the workspace.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { SbuildError } from '../errors.js';
import { logsDir, stateDir } from '../engine/state-paths.js';

let counter = 0;
const CLEAN_REL = /^[^/\\]+(\/[^/\\]+)*$/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/** Write via a temp file in the same folder and rename, so readers never see half a file. */
export function writeFileAtomic(file: string, data: string | Uint8Array, makeDir = true): void {
  if (makeDir) fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** A file's identity as it stands (inode, size, mtime and ctime in ns); '-' when absent: equal strings, same file, unchanged. */
export function fileStamp(file: string): string {
  try {
    const st = fs.statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return '-';
  }
}

/** Async variant for in-process actions. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Normalise a workspace path to posix, relative, without `./` or a trailing slash.
 * Returns undefined when it leaves the workspace.
 */
export function normalizeRel(root: string, p: string): string | undefined {
  // Fast path: already a clean relative posix path (the common case, thousands per config).
  if (CLEAN_REL.test(p) && !DOT_SEGMENT.test(p)) return p;
  const abs = path.resolve(root, p);
  const rel = path.relative(root, abs);
  if (rel === '' ) return '';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/**
 * Absolute path of a workspace path. Inputs outside the workspace (weights on shared storage)
 * are kept as absolute posix paths; everything else is workspace-relative.
 */
export function absPath(root: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(root, p);
}

/**
 * An input path: workspace-relative when inside the workspace, else absolute (an external
 * input, fingerprinted by content like any other). Undefined for the workspace root itself.
 */
export function normalizeInput(root: string, p: string): string | undefined {
  const rel = normalizeRel(root, p);
  if (rel !== undefined) return rel === '' ? undefined : rel;
  return path.resolve(root, p).split(path.sep).join('/');
}

/** True for a fast-glob pattern (as opposed to a plain path). */
export function isGlob(p: string): boolean {
  return /[*?[\]{}]/.test(p) || p.startsWith('!') || /[@!+]\(/.test(p);
}

// ---------------------------------------------------------------------------------------------
// Confinement: every path sbuild deletes or writes for a target stays inside the workspace.
// A path is judged where it really lands: links on the way are resolved (the real path of the
// deepest ancestor that exists, with the rest appended), so `ext/d.txt` with `ext` a link to
// /tmp/out lands in /tmp/out. A link that is itself the path is not followed: deleting or
// replacing it acts on the link, never on what it points to.

/** Real path of `abs` (links resolved through its deepest existing ancestor); undefined through a broken or looping link. */
export function realPathOf(abs: string): string | undefined {
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    // The C library's realpath: one call per path (the JS one stats every component, each time).
    try {
      const real = fs.realpathSync.native(cur);
      return rest.length ? path.join(real, ...rest) : real;
    } catch {
      // Absent (or a file on the way: what lies beyond cannot exist) goes up a level; something
      // that is there but does not resolve is a broken or looping link.
      let exists: boolean;
      try {
        exists = fs.lstatSync(cur, { throwIfNoEntry: false }) !== undefined;
      } catch {
        exists = false;
      }
      if (exists) return undefined;
    }
    const up = path.dirname(cur);
    if (up === cur) return abs;
    rest.unshift(path.basename(cur));
    cur = up;
  }
}

/** Where deleting or replacing `abs` acts: its folder's real path joined with its own name. */
export function actsOn(abs: string): string | undefined {
  const dir = realPathOf(path.dirname(abs));
  return dir === undefined ? undefined : path.join(dir, path.basename(abs));
}

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

const realRoots = new Map<string, string>();

function realRoot(root: string): string {
  let r = realRoots.get(root);
  if (r === undefined) {
    r = realPathOf(root) ?? path.resolve(root);
    realRoots.set(root, r);
  }
  return r;
}

/** Where an output path resolves when that is not a place sbuild may delete or write, and why. */
export interface Escape {
  /** The path as declared (workspace-relative). */
  rel: string;
  /** Where it resolves. */
  resolved: string;
  why: 'outside' | 'state' | 'broken';
}

/**
 * Folders of a workspace that the config declares as links to storage elsewhere
 * (`linkedFolders: ['work_dirs']`, with work_dirs → /scratch/me/work_dirs): outputs below such a
 * folder may be deleted and written where the link leads, and nowhere else outside.
 */
const linkedFolders = new Map<string, Array<{ rel: string; real: string }>>();

/** Declares the config's `linkedFolders` of a workspace (each resolved once, where its link leads now). */
export function allowLinkedFolders(root: string, rels: readonly string[]): void {
  const out: Array<{ rel: string; real: string }> = [];
  for (const rel of rels) {
    const real = realPathOf(path.resolve(root, rel));
    if (real !== undefined) out.push({ rel, real });
  }
  linkedFolders.set(path.resolve(root), out);
}

/** The declared linked folder that `rel` lies in and whose target `at` lies in, if any. */
function inLinkedFolder(root: string, rel: string, at: string): boolean {
  const folders = linkedFolders.get(path.resolve(root)) ?? [];
  return folders.some((f) => (rel === f.rel || rel.startsWith(f.rel + '/')) && at !== f.real && within(at, f.real));
}

/**
 * Undefined when deleting or writing the output `rel` acts inside the workspace (or inside a
 * declared linked folder's target), outside sbuild's own state (`.sbuild/`, wherever it lives)
 * and `.git/`; else where it lands.
 */
export function outputEscape(root: string, rel: string): Escape | undefined {
  const abs = path.resolve(root, rel);
  const at = actsOn(abs);
  if (at === undefined) return { rel, resolved: abs, why: 'broken' };
  const real = realRoot(root);
  if (at === real || !within(at, real)) return inLinkedFolder(root, rel, at) ? undefined : { rel, resolved: at, why: 'outside' };
  const state = [stateDir(real), path.join(real, '.git')];
  const sb = realPathOf(stateDir(root));
  if (sb !== undefined) state.push(sb);
  if (state.some((s) => within(at, s))) return { rel, resolved: at, why: 'state' };
  return undefined;
}

/** One paragraph: which output of which target, where it resolves, and what to do. */
export function escapeMessage(e: Escape, root: string, what: string): string {
  const where =
    e.why === 'broken' ? `a symbolic link on the way to ${e.resolved} is broken or loops, so where it would land is unknown` :
    e.why === 'state' ? `it resolves to ${e.resolved}, inside sbuild's own state or .git (a folder on its way is a symbolic link)` :
    `it resolves to ${e.resolved}, outside the workspace ${realRoot(root)} (a folder on its way is a symbolic link)`;
  const hint = e.why === 'outside'
    ? `make that folder a real one, or, if it is a link to your storage on purpose (work_dirs → /scratch/…), name it in the config's \`linkedFolders\` (e.g. \`linkedFolders: ['${e.rel.split('/')[0]}']\`)`
    : 'make that folder a real one, or declare the output where it really lives inside the workspace';
  return `${what}: ${where}. sbuild deletes and writes only inside the workspace; ${hint}.`;
}

/** A declared output that resolves outside the workspace (exit code 2 where it ends a command). */
export class OutputEscape extends SbuildError {
  /** Said in full by its message: reported like any bad input (exit 2, no stack). */
  readonly badInput = true;
  constructor(readonly escape: Escape, message: string) {
    super('output-outside', message);
  }
}

/** True when something (a file, a folder, a link, broken or not) is at `abs`. */
export function lexists(abs: string): boolean {
  try {
    return fs.lstatSync(abs, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Deletes the declared output `rel` of target `target`: a file, a folder with everything in it,
 * or a link (the link itself, never what it points to). Throws OutputEscape, deleting nothing,
 * when it resolves outside the workspace.
 */
export function removeOutput(root: string, rel: string, target: string): void {
  const e = outputEscape(root, rel);
  if (e) throw new OutputEscape(e, escapeMessage(e, root, `refusing to delete the output '${rel}' of target '${target}'`));
  const abs = path.resolve(root, rel);
  // Usually absent (a cold build): a look costs less than rmSync's own (it throws and catches ENOENT).
  if (fs.lstatSync(abs, { throwIfNoEntry: false })) fs.rmSync(abs, { recursive: true, force: true });
}

/** removeOutput, then the output's folder made (before a target runs). */
export function prepareOutput(root: string, rel: string, target: string): void {
  removeOutput(root, rel, target);
  fs.mkdirSync(path.dirname(path.resolve(root, rel)), { recursive: true });
}

/** Deletes the output `rel` when it resolves inside the workspace; false (nothing deleted) when it does not. */
export function removeInside(root: string, rel: string): boolean {
  if (outputEscape(root, rel)) return false;
  fs.rmSync(path.resolve(root, rel), { recursive: true, force: true });
  return true;
}

/**
 * A file name inside a folder, as sbuild writes it: '/'-separated parts, none empty, '.' or
 * '..', no NUL (and on Windows no '\\' or ':'). Names read from a cache must pass this.
 */
export function isSafeRelative(name: string): boolean {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) return false;
  if (process.platform === 'win32' && /[\\:]/.test(name)) return false;
  for (const part of name.split('/')) if (part === '' || part === '.' || part === '..') return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Log files: `.sbuild/logs/<name>.log`, whatever the name holds.

const LOG_PART_MAX = 200; // bytes; file names are limited to 255
const LOG_NAME_MAX = 1024;

/** The log's path below `.sbuild/logs/` for a target name: `<name>.log`, or a flat hashed name when the name does not make a safe path. */
export function logName(name: string): string {
  if (Buffer.byteLength(name) <= LOG_NAME_MAX && isSafeRelative(name) && !/[\\\x00-\x1f\x7f]/.test(name)) {
    if (name.split('/').every((p) => Buffer.byteLength(p) <= LOG_PART_MAX)) return `${name}.log`;
  }
  return flatLogName(name);
}

function flatLogName(name: string): string {
  const slug = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 100) || 'target';
  return `${slug}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}.log`;
}

/**
 * Absolute path of a target's log, confined under `.sbuild/logs/` (which may itself be a
 * link): a sub-folder there that leads elsewhere gives way to the flat name, and a link where
 * the log goes is removed (the log is opened for writing, which would follow it).
 */
export function logPath(root: string, name: string): string {
  const dir = logsDir(root);
  let rel = logName(name);
  if (rel.includes('/')) {
    const base = realPathOf(dir);
    const at = realPathOf(path.dirname(path.join(dir, rel)));
    if (base === undefined || at === undefined || !within(at, base)) rel = flatLogName(name);
  }
  const file = path.join(dir, rel);
  try {
    if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) fs.rmSync(file, { force: true });
  } catch {
    /* ENOTDIR and the like: the executor's own error says it */
  }
  return file;
}

/**
 * Where an in-process action's `ctx.writeFile(rel)` may write: inside the workspace (or a
 * declared linked folder), never in `.sbuild/` or `.git/`, never through a link out. Throws
 * OutputEscape, writing nothing, otherwise.
 */
export function writablePath(root: string, rel: string, target: string): string {
  const clean = normalizeRel(root, rel);
  const e = clean === undefined || clean === '' ? { rel, resolved: path.resolve(root, rel), why: 'outside' as const } : outputEscape(root, clean);
  if (e) throw new OutputEscape(e, escapeMessage(e, root, `target '${target}' asked to write '${rel}'`));
  return path.resolve(root, clean!);
}

/** The names in a folder; none when it is missing or unreadable (a state folder not made yet). */
export function namesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
