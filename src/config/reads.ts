// What the config read while it loaded, so that `sbuild watch` reloads it when that changes.
// Two sources:
// - Files that rules say they read (Python experiment configs and their bases), through
//   `noteConfigReads`. Rules reach sbuild through its package name, which may be another copy
//   of this module than the CLI's (the CLI is bundled), so the record lives on a
//   process-wide symbol.
// - What the config's own code asked of the file system: files it read, folders it listed,
//   paths it statted or probed (`fs.readdirSync('configs')` to declare one experiment per
//   file). `node:fs` is observed while a recording runs; a config is code, and only running
//   it says what it looked at.
import fs from 'node:fs';
import path from 'node:path';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../hashing/sha256.js';

const KEY = Symbol.for('sbuild.configReads');

type Registry = { [KEY]?: Set<string> };

/**
 * How the config looked at a path, weakest first: whether it exists, its stat, its bytes (a
 * file) or its entries (a folder). What it saw is compared by `observe`.
 */
export type ConfigRead = 'exists' | 'stat' | 'read' | 'list';

const RANK: Record<ConfigRead, number> = { exists: 0, stat: 1, read: 2, list: 2 };

/**
 * Says that loading the config read these files (absolute, or relative to the current folder).
 * A no-op unless someone records (`recordConfigReads`).
 */
export function noteConfigReads(files: Iterable<string>): void {
  const set = (globalThis as Registry)[KEY];
  if (!set) return;
  for (const f of files) if (f) set.add(path.resolve(f));
}

/** The file-system recordings under way (nested recordings each get every path). */
const observers: Array<Map<string, ConfigRead>> = [];

/**
 * Runs `load`, adding every file noted while it runs to `into` (also when it throws), and,
 * when `seen` is given, every path the process asked `node:fs` about meanwhile, absolute,
 * with the strongest way it was looked at.
 */
export async function recordConfigReads<T>(into: Set<string>, load: () => Promise<T>, seen?: Map<string, ConfigRead>): Promise<T> {
  const g = globalThis as Registry;
  const outer = g[KEY];
  g[KEY] = into;
  if (seen) startObserving(seen);
  try {
    return await load();
  } finally {
    if (seen) stopObserving(seen);
    if (outer) for (const r of into) outer.add(r);
    g[KEY] = outer;
  }
}

/** What a path looks like now, as a config that looked at it `how` would have seen it ('' when absent or unreadable). */
export function observe(abs: string, how: ConfigRead): string {
  try {
    if (how === 'read') return sha256(fs.readFileSync(abs));
    if (how === 'list') return sha256(fs.readdirSync(abs, { withFileTypes: true }).map((e) => `${e.name}\0${e.isDirectory() ? 'd' : 'f'}`).sort().join('\n'));
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st) return '';
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    return how === 'exists' ? kind : `${kind}:${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return '';
  }
}

/** Adds `how` for `abs` unless a stronger look at it is recorded already. */
export function addRead(into: Map<string, ConfigRead>, abs: string, how: ConfigRead): void {
  const had = into.get(abs);
  if (had === undefined || RANK[how] > RANK[had]) into.set(abs, how);
}

// ---------------------------------------------------------------------------------------
// Observing node:fs

type Wrapped = [target: Record<string, unknown>, name: string, original: unknown];

const SYNC: Array<[string, ConfigRead]> = [
  ['readFileSync', 'read'], ['readdirSync', 'list'], ['opendirSync', 'list'], ['statSync', 'stat'],
  ['lstatSync', 'stat'], ['existsSync', 'exists'], ['accessSync', 'exists'], ['openSync', 'read'],
];
const CALLBACK: Array<[string, ConfigRead]> = [
  ['readFile', 'read'], ['readdir', 'list'], ['opendir', 'list'], ['stat', 'stat'], ['lstat', 'stat'],
  ['exists', 'exists'], ['access', 'exists'], ['open', 'read'], ['createReadStream', 'read'],
];
const PROMISES: Array<[string, ConfigRead]> = [
  ['readFile', 'read'], ['readdir', 'list'], ['opendir', 'list'], ['stat', 'stat'], ['lstat', 'stat'],
  ['access', 'exists'], ['open', 'read'],
];

let wrapped: Wrapped[] | undefined;

function startObserving(seen: Map<string, ConfigRead>): void {
  observers.push(seen);
  if (wrapped) return;
  wrapped = [];
  const fsObj = fs as unknown as Record<string, unknown>;
  const promises = fs.promises as unknown as Record<string, unknown>;
  for (const [name, how] of [...SYNC, ...CALLBACK]) wrap(fsObj, name, how, wrapped);
  for (const [name, how] of PROMISES) wrap(promises, name, how, wrapped);
  // `import { readdirSync } from 'node:fs'` binds the export, not the property: update it.
  syncBuiltinESMExports();
}

function stopObserving(seen: Map<string, ConfigRead>): void {
  observers.splice(observers.lastIndexOf(seen), 1);
  if (observers.length || !wrapped) return;
  for (const [target, name, original] of wrapped) target[name] = original;
  wrapped = undefined;
  syncBuiltinESMExports();
}

function wrap(target: Record<string, unknown>, name: string, how: ConfigRead, list: Wrapped[]): void {
  const original = target[name];
  if (typeof original !== 'function') return;
  const fn = original as (...args: unknown[]) => unknown;
  const observed = function (this: unknown, ...args: unknown[]): unknown {
    // Opened for writing (a file the config writes): not something it read.
    const flags = args[1];
    const reading = !(name === 'open' || name === 'openSync') || flags === undefined || flags === null || typeof flags === 'function' || flags === 'r' || flags === 'rs' || flags === 0;
    const abs = reading ? pathOf(args[0]) : undefined;
    if (abs !== undefined) for (const seen of observers) addRead(seen, abs, how);
    return fn.apply(this, args);
  };
  // `util.promisify(fs.exists)` and friends read properties of the function itself.
  Object.defineProperties(observed, Object.getOwnPropertyDescriptors(fn));
  target[name] = observed;
  list.push([target, name, original]);
}

function pathOf(p: unknown): string | undefined {
  try {
    if (typeof p === 'string') return path.resolve(p);
    if (p instanceof URL) return p.protocol === 'file:' ? fileURLToPath(p) : undefined;
    if (Buffer.isBuffer(p)) return path.resolve(p.toString());
  } catch {
    /* not a path sbuild can name */
  }
  return undefined;
}
