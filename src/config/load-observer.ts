// What the config's own code asked of the system while it loaded, for `sbuild watch`: the
// files it read, the folders it listed, the paths it statted or probed (a config that
// declares one experiment per file in `configs/` lists that folder), and the processes it
// started. `node:fs` and `node:child_process` are observed while a load runs: a config is
// code, and only running it says what it looked at. Files that rules read are named by the
// rules themselves (config/reads.ts).
import fs from 'node:fs';
import childProcess from 'node:child_process';
import path from 'node:path';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../hashing/sha256.js';
import { inOwnProcess } from './reads.js';

/**
 * How the config looked at a path, weakest first: whether it exists, its stat, its bytes (a
 * file) or its entries (a folder). `observe` says what such a look sees.
 */
export type ConfigRead = 'exists' | 'stat' | 'read' | 'list';

const RANK: Record<ConfigRead, number> = { exists: 0, stat: 1, read: 2, list: 3 };

/** What one config load looked at. */
export interface LoadObservation {
  /** Absolute path → the strongest look the config took at it. */
  seen: Map<string, ConfigRead>;
  /** The command lines of the processes it started (other than rules' own, config/reads.ts `ownProcess`). */
  started: string[];
}

const observers: LoadObservation[] = [];
/** Inside an observed call: the calls it makes itself (`exec` calls `execFile`) are its own. */
let depth = 0;

/** Runs `load` with `node:fs` and `node:child_process` observed, adding what it asked for to `into`. */
export async function observeConfigLoad<T>(into: LoadObservation, load: () => Promise<T>): Promise<T> {
  start(into);
  try {
    return await load();
  } finally {
    stop(into);
  }
}

/** What a path looks like now, as a config that looked at it `how` would have seen it ('' when absent or unreadable). */
export function observe(abs: string, how: ConfigRead): string {
  try {
    // A folder noted as read (a Python config checked that it exists): its going is a change.
    if (how === 'read') return fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory() ? 'dir' : sha256(fs.readFileSync(abs));
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
// Observing node:fs and node:child_process

type Wrapped = [target: Record<string, unknown>, name: string, original: unknown];

const FS_SYNC: Array<[string, ConfigRead]> = [
  ['readFileSync', 'read'], ['readdirSync', 'list'], ['opendirSync', 'list'], ['statSync', 'stat'],
  ['lstatSync', 'stat'], ['existsSync', 'exists'], ['accessSync', 'exists'], ['openSync', 'read'],
];
const FS_CALLBACK: Array<[string, ConfigRead]> = [
  ['readFile', 'read'], ['readdir', 'list'], ['opendir', 'list'], ['stat', 'stat'], ['lstat', 'stat'],
  ['exists', 'exists'], ['access', 'exists'], ['open', 'read'], ['createReadStream', 'read'],
];
const FS_PROMISES: Array<[string, ConfigRead]> = [
  ['readFile', 'read'], ['readdir', 'list'], ['opendir', 'list'], ['stat', 'stat'], ['lstat', 'stat'],
  ['access', 'exists'], ['open', 'read'],
];
const PROCESSES = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];

let wrapped: Wrapped[] | undefined;

function start(into: LoadObservation): void {
  observers.push(into);
  if (wrapped) return;
  wrapped = [];
  const fsObj = fs as unknown as Record<string, unknown>;
  for (const [name, how] of [...FS_SYNC, ...FS_CALLBACK]) wrap(fsObj, name, (args) => noteRead(name, how, args), wrapped);
  for (const [name, how] of FS_PROMISES) wrap(fs.promises as unknown as Record<string, unknown>, name, (args) => noteRead(name, how, args), wrapped);
  for (const name of PROCESSES) wrap(childProcess as unknown as Record<string, unknown>, name, (args) => noteProcess(name, args), wrapped);
  // `import { readdirSync } from 'node:fs'` binds the export, not the property: update it.
  syncBuiltinESMExports();
}

function stop(into: LoadObservation): void {
  observers.splice(observers.lastIndexOf(into), 1);
  if (observers.length || !wrapped) return;
  for (const [target, name, original] of wrapped) target[name] = original;
  wrapped = undefined;
  syncBuiltinESMExports();
}

function wrap(target: Record<string, unknown>, name: string, note: (args: unknown[]) => void, list: Wrapped[]): void {
  const original = target[name];
  if (typeof original !== 'function') return;
  const fn = original as (...args: unknown[]) => unknown;
  const observed = function (this: unknown, ...args: unknown[]): unknown {
    if (depth === 0) note(args);
    depth++;
    try {
      return fn.apply(this, args);
    } finally {
      depth--;
    }
  };
  // `util.promisify(fs.exists)` and friends read properties of the function itself.
  Object.defineProperties(observed, Object.getOwnPropertyDescriptors(fn));
  target[name] = observed;
  list.push([target, name, original]);
}

function noteRead(name: string, how: ConfigRead, args: unknown[]): void {
  // Opened for writing (a file the config writes): not something it read.
  const flags = args[1];
  if ((name === 'open' || name === 'openSync') && !(flags === undefined || flags === null || typeof flags === 'function' || flags === 'r' || flags === 'rs' || flags === 0)) return;
  const abs = pathOf(args[0]);
  if (abs !== undefined) for (const o of observers) addRead(o.seen, abs, how);
}

function noteProcess(name: string, args: unknown[]): void {
  if (inOwnProcess()) return;
  const file = String(args[0]);
  const rest = name.startsWith('exec') && !name.startsWith('execFile') ? [] : Array.isArray(args[1]) ? args[1].map(String) : [];
  const line = [file, ...rest].join(' ');
  for (const o of observers) if (!o.started.includes(line)) o.started.push(line);
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
