// Content hashes of files and directories, behind a stat cache: a file is re-read
// only when its (size, mtime ns, inode, ctime ns) changed. An entry is trusted only
// when the file's mtime is older than the moment it was hashed by more than the
// timestamp granularity; a "racily clean" file (modified in the same tick as it was
// read) is re-hashed until it is old enough.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { sha256, type Sha256 } from './sha256.js';
import { absPath, writeFileAtomic } from '../util/fs.js';
import type { Listing, OnListed } from '../util/glob.js';

/**
 * [size, mtimeMs, ino, ctimeMs, hash, hashedAtMs] — arrays keep the file small. Millisecond
 * floats carry sub-microsecond precision for current dates, and plain stats avoid the
 * allocation cost of BigInt stats on large workspaces.
 */
type Entry = [number, number, number, number, Sha256, number];

const FORMAT = 2;
/** Larger than any file system timestamp tick we know of (ext4: a jiffy, ~4 ms). */
const RACY_SLACK_MS = 50;
const STREAM_THRESHOLD = 8 * 1024 * 1024;

export interface FileHash {
  hash: Sha256;
  size: number;
}

export interface TreeHash {
  hash: Sha256;
  size: number;
  files: number;
  /** Workspace-relative file paths with their hashes, sorted. */
  entries: Array<[string, Sha256]>;
}

export class FileHasher {
  private entries = new Map<string, Entry>();
  /** Stats taken during this process, so a path is stat'ed once per command (until forgotten). */
  private stats = new Map<string, fs.Stats | null>();
  /** When each of `stats` was taken (Date.now() before the call): how old a stat vouches for. */
  private readonly statAt = new Map<string, number>();
  /**
   * Folder → the paths one level below it that lead to a path in `entries` or `stats`, so
   * forget() visits only what lies below the path it forgets. A scan of every key instead
   * costs the size of the workspace per output written: quadratic in a cold build.
   */
  private readonly below = new Map<string, Set<string>>();
  private dirty = false;
  /** One-line notice when the cache on disk was unreadable (rebuilt from scratch). */
  readonly warning: string | undefined;

  constructor(private readonly root: string, private readonly cacheFile: string) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(cacheFile, 'utf8');
    } catch {
      return;
    }
    try {
      const parsed = JSON.parse(text) as { format: number; entries: Record<string, Entry> };
      if (typeof parsed.format === 'number' && parsed.format !== FORMAT) return; // another sbuild version's cache: start afresh
      if (typeof parsed.entries !== 'object' || parsed.entries === null) throw new Error('format');
      for (const p in parsed.entries) {
        const e = parsed.entries[p]!;
        if (!Array.isArray(e) || e.length !== 6 || typeof e[4] !== 'string' || e[4].length !== 64) throw new Error('entry');
        this.entries.set(p, e);
        this.index(p);
      }
    } catch {
      this.entries.clear();
      this.below.clear();
      this.dirty = true;
      this.warning = `stat cache ${path.relative(root, cacheFile)} was corrupt; rebuilt it (files are re-hashed once)`;
    }
  }

  /** lstat-free stat of a workspace-relative (or external, absolute) path (follows links), memoised for this process. */
  stat(rel: string): fs.Stats | null {
    let st = this.stats.get(rel);
    if (st === undefined) {
      this.statAt.set(rel, Date.now());
      st = fs.statSync(absPath(this.root, rel), { throwIfNoEntry: false }) ?? null;
      this.stats.set(rel, st);
      this.index(rel);
    }
    return st;
  }

  /** Hash of a workspace-relative file, or undefined when it does not exist (or is not a file). */
  hashFile(rel: string): FileHash | undefined {
    const st = this.stat(rel);
    if (!st || !st.isFile()) return undefined;
    const size = st.size;
    const e = this.entries.get(rel);
    if (e && e[0] === size && e[1] === st.mtimeMs && e[2] === st.ino && e[3] === st.ctimeMs && st.mtimeMs + RACY_SLACK_MS < e[5]) {
      return { hash: e[4], size };
    }
    const hashedAt = Date.now(); // taken before the read: see RACY_SLACK_MS
    const abs = absPath(this.root, rel);
    let hash: Sha256;
    try {
      hash = size > STREAM_THRESHOLD ? hashLargeFile(abs) : sha256(fs.readFileSync(abs));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Gone (or made a folder) since it was statted: another build is rebuilding it beside this
      // one. It is missing now, which makes nothing fresh; its memoised stat goes too.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
        this.forget(rel);
        return undefined;
      }
      throw err;
    }
    this.entries.set(rel, [size, st.mtimeMs, st.ino, st.ctimeMs, hash, hashedAt]);
    this.index(rel);
    this.dirty = true;
    return { hash, size };
  }

  /**
   * The file was just hard-linked into the cache or made read-only by sbuild itself, which
   * moved its stat (ctime, inode) but not its content: its hash carries over to the new stat.
   */
  relinked(rel: string): void {
    const e = this.entries.get(rel);
    this.stats.delete(rel);
    // Replaced by a link through a rename: the folders above it changed too.
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) this.stats.delete(rel.slice(0, i));
    const st = this.stat(rel);
    if (!e || !st || !st.isFile() || st.size !== e[0]) return;
    this.entries.set(rel, [st.size, st.mtimeMs, st.ino, st.ctimeMs, e[4], e[5]]);
    this.dirty = true;
  }

  /** Kind of a workspace-relative path on disk. */
  kind(rel: string): 'file' | 'dir' | undefined {
    const st = this.stat(rel);
    return !st ? undefined : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  }

  /**
   * Folders whose listings were read this process, each with the stat taken just before its
   * first listing and when (for the no-op snapshot: a change after the first listing must
   * show as a moved stat, whatever was listed later).
   */
  private readonly listings = new Map<string, [fs.Stats, number]>();

  /** Notes a folder's listing (see `listings`). */
  readonly listed: OnListed = (rel, st, statAt) => {
    if (!this.listings.has(rel)) this.listings.set(rel, [st, statAt]);
  };

  /** Notes each folder a listing reads, and also collects it `into` one listing's folders when given. */
  listedInto(into?: Listing): OnListed {
    if (!into) return this.listed;
    return (rel, st, statAt) => {
      this.listed(rel, st, statAt);
      into.push([rel, st]);
    };
  }

  /** The folders listed this process: path, stat before the first listing, when it was taken. */
  *listedDirs(): Generator<[string, fs.Stats, number]> {
    for (const [rel, [st, at]] of this.listings) yield [rel, st, at];
  }

  /** Every stat taken this process and still current, and when it was taken (for the no-op snapshot). */
  *statted(): Generator<[string, fs.Stats | null, number]> {
    for (const [rel, st] of this.stats) yield [rel, st, this.statAt.get(rel) ?? 0];
  }

  /** Tree hash of a directory: every file below it (sorted), by relative path and content. `into` collects the folders listed. */
  hashTree(rel: string, into?: Listing): TreeHash | undefined {
    const files = listFiles(this.root, rel, this.listedInto(into));
    if (!files) return undefined;
    const entries: Array<[string, Sha256]> = [];
    let size = 0;
    for (const f of files) {
      const fh = this.hashFile(f);
      if (!fh) continue;
      entries.push([f, fh.hash]);
      size += fh.size;
    }
    const hash = treeHash(entries.map(([f, h]) => [f.slice(rel.length + 1), h]));
    return { hash, size, files: entries.length, entries };
  }

  /** Forget a path (and everything below it) after it was deleted or rewritten. */
  forget(rel: string): void {
    if (this.entries.delete(rel)) this.dirty = true;
    this.stats.delete(rel);
    const stack = [rel];
    while (stack.length) {
      const dir = stack.pop()!;
      const kids = this.below.get(dir);
      if (!kids) continue;
      this.below.delete(dir);
      for (const k of kids) {
        if (this.entries.delete(k)) this.dirty = true;
        this.stats.delete(k);
        stack.push(k);
      }
    }
    // A folder that gains or loses files: its ancestors' stats are stale too.
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) this.stats.delete(rel.slice(0, i));
  }

  /** The stat taken of a path this process: undefined when never taken (or forgotten), null when absent. */
  statMemo(rel: string): fs.Stats | null | undefined {
    return this.stats.get(rel);
  }

  /** The content hash recorded for a file when it was last hashed, and when (Date.now() before the read). */
  recordedHash(rel: string): { hash: Sha256; hashedAt: number } | undefined {
    const e = this.entries.get(rel);
    return e && { hash: e[4], hashedAt: e[5] };
  }

  /** The stats memoised for paths below a folder. */
  *statsBelow(rel: string): Generator<[string, fs.Stats | null]> {
    for (const k of this.under(rel)) {
      const st = this.stats.get(k);
      if (st !== undefined) yield [k, st];
    }
  }

  /** Whether a stat is memoised for some path below a folder. */
  hasStatsBelow(rel: string): boolean {
    for (const k of this.under(rel)) if (this.stats.has(k)) return true;
    return false;
  }

  /** The paths below `rel` that were there when last statted and are gone now (or are no longer a file, or a folder, as they were). */
  goneBelow(rel: string): string[] {
    const gone: string[] = [];
    for (const k of this.under(rel)) {
      const was = this.stats.get(k);
      if (!was) continue;
      const now = fs.statSync(absPath(this.root, k), { throwIfNoEntry: false });
      if (!now || now.isFile() !== was.isFile() || now.isDirectory() !== was.isDirectory()) gone.push(k);
    }
    return gone;
  }

  /**
   * A watcher saw the path change (`sbuild watch`): its stat, the stats of the folders above it
   * and of every path below it are taken again when next asked for. Content hashes stay, checked
   * against the new stat as usual (a file is read again only when its stat moved).
   */
  invalidate(rel: string): void {
    this.stats.delete(rel);
    for (const k of this.under(rel)) this.stats.delete(k);
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) this.stats.delete(rel.slice(0, i));
  }

  /**
   * Another build wrote in the workspace meanwhile (engine/live-builds.ts): every stat is
   * taken again when next asked for; content hashes stay, checked against the new stats.
   */
  restat(): void {
    this.stats.clear();
  }

  /** Every remembered path below a folder, through the `below` index (not a scan of every path). */
  private *under(rel: string): Generator<string> {
    const stack = [rel];
    while (stack.length) for (const k of this.below.get(stack.pop()!) ?? []) {
      yield k;
      stack.push(k);
    }
  }

  /** Records the way from the path's ancestors down to it (see `below`). */
  private index(p: string): void {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/')) {
      const dir = p.slice(0, i);
      let kids = this.below.get(dir);
      if (!kids) this.below.set(dir, (kids = new Set()));
      else if (kids.has(p)) return; // the way above is recorded already
      kids.add(p);
      p = dir;
    }
  }

  save(): void {
    if (!this.dirty) return;
    const obj: Record<string, Entry> = {};
    for (const [k, v] of this.entries) obj[k] = v;
    writeFileAtomic(this.cacheFile, JSON.stringify({ format: FORMAT, entries: obj }));
    this.dirty = false;
  }
}

/**
 * The tree hash of a folder from its files' paths below it and their content hashes, given in
 * sorted order: one format for a folder on disk and a folder in a cache entry.
 */
export function treeHash(files: Array<[string, string]>): Sha256 {
  const h = createHash('sha256');
  for (const [name, hash] of files) h.update(`${name}\0${hash}\n`);
  return h.digest('hex') as Sha256;
}

function hashLargeFile(abs: string): Sha256 {
  const h = createHash('sha256');
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex') as Sha256;
}

/** Every file below a workspace-relative directory, workspace-relative and sorted; undefined when absent. */
export function listFiles(root: string, rel: string, onDir?: OnListed): string[] | undefined {
  const out: string[] = [];
  // Linked folders are followed (a dataset linked into data/ is part of data/); each real
  // folder once, so a link loop ends.
  const seen = new Set<string>();
  const walk = (dirRel: string): boolean => {
    let ents: fs.Dirent[];
    let st: fs.Stats;
    const statAt = Date.now();
    try {
      const abs = absPath(root, dirRel);
      st = fs.statSync(abs);
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) return true;
      seen.add(id);
      ents = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      return false;
    }
    onDir?.(dirRel, st, statAt);
    for (const d of ents) {
      const child = dirRel === '' ? d.name : `${dirRel}/${d.name}`;
      if (d.isDirectory()) walk(child);
      else if (d.isFile()) out.push(child);
      else if (d.isSymbolicLink()) {
        const st = fs.statSync(absPath(root, child), { throwIfNoEntry: false });
        if (st?.isDirectory()) walk(child);
        else out.push(child); // a file, or a dangling link (seen as missing content)
      }
    }
    return true;
  };
  if (!walk(rel)) return undefined;
  return out.sort();
}
