// Everything a command needs about one workspace: the loaded config, the graph, the lock,
// the stat cache and the rebuilder. Loading is the whole start-up cost of a no-op build,
// so it reads each state file once and imports heavy modules only when needed.
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { validateConfig, locator } from '../config/validate.js';
import type { Config } from '../config/types.js';
import { buildGraph, type Graph } from '../graph/graph.js';
import { FileHasher } from '../hashing/file-hasher.js';
import { isGlob } from '../util/fs.js';
import { readLock, writeLock, type LockFile } from './lockfile.js';
import { Rebuilder } from './rebuilder.js';

export interface Workspace {
  root: string;
  loaded: LoadedConfig;
  config: Config;
  graph: Graph;
  hasher: FileHasher;
  lock: LockFile;
  rebuilder: Rebuilder;
  /** One-line notices about state that was found corrupt and rebuilt. */
  warnings: string[];
  logFile(name: string): string;
  /** Writes the lock (if changed) and the stat cache. */
  save(): void;
}

const GLOB_IGNORE = ['**/node_modules/**', '.git/**', '.sbuild/**'];

export async function openWorkspace(cwd: string, configFlag?: string): Promise<Workspace> {
  const loaded = await loadConfig(cwd, configFlag);
  const { config, targets } = validateConfig(loaded, cwd);
  const root = loaded.root;
  const needsGlob = targets.some((t) => t.inputs.some((s) => isGlob(s) && !s.startsWith('!')));
  const fg = needsGlob ? (await import('fast-glob')).default : undefined;
  const diskGlob = (patterns: string[]): string[] =>
    fg ? fg.sync(patterns, { cwd: root, onlyFiles: true, dot: true, ignore: GLOB_IGNORE, followSymbolicLinks: true }).sort() : [];
  const locate = locator(loaded, cwd);
  const hasher = new FileHasher(root, path.join(root, '.sbuild', 'stat-cache.json'));
  const graph = buildGraph(root, targets, diskGlob, (rel) => hasher.stat(rel) !== null, locate);
  const lock = readLock(root);
  const rebuilder = new Rebuilder(graph, hasher, process.env, diskGlob);
  const warnings = [...lock.warnings, ...(hasher.warning ? [hasher.warning] : [])];
  return {
    root, loaded, config, graph, hasher, lock, rebuilder, warnings,
    logFile: (name) => path.join(root, '.sbuild', 'logs', `${name}.log`),
    save() {
      writeLock(root, lock);
      hasher.save();
    },
  };
}
