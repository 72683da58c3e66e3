// Everything a command needs about one workspace: the loaded config, the graph, the lock,
// the stat cache and the rebuilder. Loading is the whole start-up cost of a no-op build,
// so it reads each state file once and imports heavy modules only when needed.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, configHashOf, type LoadedConfig } from '../config/load.js';
import type { WorkspaceFlags } from '../config/locate.js';
import { validateConfig, locator } from '../config/validate.js';
import type { Config } from '../config/types.js';
import { buildGraph, type DiskGlob, type Graph } from '../graph/graph.js';
import { FileHasher } from '../hashing/file-hasher.js';
import { globFiles } from '../util/glob.js';
import { allowLinkedFolders, fileStamp, logPath } from '../util/fs.js';
import { writeLock, type LockFile } from './lockfile.js';
import { readView } from './live-builds.js';
import { buildsDir, journalPath, statCachePath } from './state-paths.js';
import { Rebuilder } from './rebuilder.js';
import { LocalStore } from '../cache/local-store.js';
import type { RemoteCache } from '../cache/remote.js';
import { phase } from '../util/timing.js';

export interface Workspace {
  root: string;
  loaded: LoadedConfig;
  /** Hash of the config's source files. */
  configHash: string;
  config: Config;
  graph: Graph;
  /** Lists the files globs match on disk, recording what the listing looked at (the stat cache, the snapshot). */
  diskGlob: DiskGlob;
  hasher: FileHasher;
  lock: LockFile;
  rebuilder: Rebuilder;
  /** The local content-addressed cache. */
  store: LocalStore;
  /** The remote cache, when one is configured for this command. */
  remote: RemoteCache | undefined;
  /** One-line notices about state that was found corrupt and rebuilt. */
  readonly warnings: string[];
  /** `.sbuild/logs/<name>.log`, confined there whatever the name holds (src/util/fs.ts logPath). */
  logFile(name: string): string;
  /** Writes the lock (if changed) and the stat cache. */
  save(): void;
  /** Re-reads sbuild.lock and the journals of the builds under way (another build recorded something). */
  reloadLock(): void;
  /** After waiting for another build's targets: stats and glob listings are taken again, and the lock re-read. */
  refresh(): void;
  /**
   * Whether sbuild.lock or a journal changed since they were read: another sbuild may have
   * recorded something between this one reading them and taking the state lock.
   */
  lockChanged(): boolean;
  /**
   * sbuild.lock and the journal as they stand are what this process wrote, holding the writer
   * lock (`sbuild watch` after a build): lockChanged() compares against them from now on.
   */
  lockSeen(): void;
}

/** `reuse.hasher`: a stat cache kept in memory across workspaces of one process (`sbuild watch`). */
export async function openWorkspace(cwd: string, flags: WorkspaceFlags = {}, preloaded?: LoadedConfig, reuse?: { hasher: FileHasher }): Promise<Workspace> {
  const loaded = preloaded ?? (await loadConfig(cwd, flags));
  const { config, targets } = validateConfig(loaded, cwd);
  allowLinkedFolders(loaded.root, config.linkedFolders ?? []);
  phase('validate');
  const root = loaded.root;
  // Paths a listing could not look into are statted (absent): the no-op snapshot records them.
  const diskGlob: DiskGlob = (patterns, into) => globFiles(root, patterns, hasher.listedInto(into), (rel) => hasher.stat(rel));
  const locate = locator(loaded, cwd);
  const hasher = reuse?.hasher ?? new FileHasher(root, statCachePath(root));
  phase('read stat cache');
  // Taken before reading, so a write between the two shows as a change.
  let stamp = lockStamp(root);
  const lock = readView(root);
  phase('read lock');
  // Which recorded outputs are folders: built only if a glob reaches into an output not on disk.
  let recorded: Map<string, boolean> | undefined;
  const isFolder = (o: string): 'yes' | 'no' | 'maybe' => {
    const st = hasher.stat(o);
    if (st) return st.isDirectory() ? 'yes' : 'no';
    if (!recorded) {
      recorded = new Map();
      for (const e of lock.entries.values()) for (const out in e.outputs) recorded.set(out, e.outputs[out]!.files !== undefined);
    }
    const folder = recorded.get(o);
    return folder === undefined ? 'maybe' : folder ? 'yes' : 'no';
  };
  const graph = buildGraph(root, targets, diskGlob, locate, isFolder);
  phase('graph');
  const configHash = configHashOf(loaded);
  const rebuilder = new Rebuilder(graph, hasher, process.env, diskGlob, configHash);
  rebuilder.upstreamFingerprint = (name) => ws.lock.entries.get(name)?.fingerprint;
  const ws: Workspace = {
    root, loaded, configHash, config, store: new LocalStore(root, config.localCache?.mode), remote: undefined, graph, diskGlob, hasher, lock, rebuilder,
    // Read when shown: an entry of sbuild.lock is parsed when first asked for, and says so then if corrupt.
    get warnings() {
      return [...ws.lock.warnings, ...(hasher.warning ? [hasher.warning] : [])];
    },
    logFile: (name) => logPath(root, name),
    save() {
      writeLock(root, ws.lock);
      hasher.save();
    },
    reloadLock() {
      stamp = lockStamp(root);
      // A journal read while its build was still running is no interrupted build's: its warnings go with the old view.
      ws.lock = readView(root);
    },
    refresh() {
      hasher.restat();
      rebuilder.forgetListings();
      ws.reloadLock();
    },
    lockChanged() {
      return lockStamp(root) !== stamp;
    },
    lockSeen() {
      stamp = lockStamp(root);
    },
  };
  return ws;
}

/** Identity of sbuild.lock and the journals as they stand (inode, size, mtime and ctime). */
function lockStamp(root: string): string {
  let journals: string[] = [];
  try {
    journals = fs.readdirSync(buildsDir(root)).filter((n) => n.endsWith('.jsonl') && !n.endsWith('.jobs.jsonl')).sort();
  } catch {
    /* no build under way */
  }
  return [fileStamp(path.join(root, 'sbuild.lock')), fileStamp(journalPath(root)), ...journals.map((n) => `${n}=${fileStamp(path.join(buildsDir(root), n))}`)].join(' ');
}
