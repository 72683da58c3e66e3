// The file side of `sbuild watch` (src/cli/commands/watch.ts): which folders to watch, the
// fs.watch handles over them, a debounce window, and which of the paths events named really
// changed for the next build. Nothing here runs a build, so all of it is testable without one.
//
// Whether a path changed is judged against what the last build saw, the stat cache's memoised
// stats: a path whose stat is still the one the build took (its own outputs, hashed after they
// were written) changed nothing, so a build's own writes never start another build; a file
// whose stat moved but whose bytes did not (`touch`) changes nothing either. A path no build
// looked at matters only where it can enter one: a new file inside a folder input or an output
// folder, or a file a glob input matches.
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { observe, type ConfigRead } from '../config/load-observer.js';

/** Folders never watched nor searched (dependencies, version control, sbuild's own state). */
const SKIP = new Set(['.sbuild', '.git', 'node_modules']);

/** sbuild's own state, or a folder that no input lies in (`rel`: workspace-relative with `/`). */
export function ignoredPath(rel: string): boolean {
  if (path.isAbsolute(rel)) return false;
  if (rel === 'sbuild.lock' || rel.startsWith('sbuild.lock.tmp-')) return true;
  for (const seg of rel.split('/')) if (SKIP.has(seg)) return true;
  return false;
}

/** Workspace-relative with `/` when inside `root`, else absolute (as inputs are named). */
export function relPath(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  if (rel === '') return '';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return abs;
  return rel.split(path.sep).join('/');
}

/** How the config load looked at a path, and what it saw then (`observe`). */
export interface ConfigSeen {
  how: ConfigRead;
  seen: string;
}

/** What to watch: files (their folders are watched) and trees (folders watched with all below them). */
export interface WatchSpec {
  /** Absolute paths of files (present or not). */
  files: Iterable<string>;
  /** Absolute paths of folders whose entries matter, not their content (folders the config listed). */
  folders?: Iterable<string>;
  /** Absolute paths of folders whose whole content matters (folder inputs, output folders, glob bases). */
  trees: Iterable<string>;
}

/**
 * The folders to watch for a spec: each file's folder, each tree with every folder below it
 * (links followed, each real folder once). Where a folder does not exist yet, the nearest one
 * above it that does is watched, so its creation is seen.
 */
export function foldersFor(spec: WatchSpec): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  // Thousands of files share a few folders: each folder is looked up once.
  const found = new Map<string, string>();
  const existing = (dir: string): string => {
    let d = found.get(dir);
    if (d === undefined) {
      const parent = path.dirname(dir);
      d = fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() || parent === dir ? dir : existing(parent);
      found.set(dir, d);
    }
    return d;
  };
  for (const f of spec.files) out.add(existing(path.dirname(f)));
  for (const d of spec.folders ?? []) out.add(existing(d));
  const walk = (dir: string) => {
    let ents: fs.Dirent[];
    try {
      const st = fs.statSync(dir);
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    out.add(dir);
    for (const e of ents) {
      if (SKIP.has(e.name)) continue;
      const child = path.join(dir, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && fs.statSync(child, { throwIfNoEntry: false })?.isDirectory())) walk(child);
    }
  };
  for (const t of spec.trees) {
    if (fs.statSync(t, { throwIfNoEntry: false })?.isDirectory()) walk(t);
    else out.add(existing(path.dirname(t)));
  }
  return out;
}

/**
 * fs.watch handles over a set of folders (one each, not recursive: Linux watches a folder at
 * a time anyway, and this way only the folders that matter are watched). `onPath` hears the
 * absolute path each event names; a folder that vanishes or fails reports itself.
 */
export class FolderWatcher {
  private readonly handles = new Map<string, { w: fs.FSWatcher; ino: number }>();

  constructor(private readonly onPath: (abs: string) => void) {}

  get size(): number {
    return this.handles.size;
  }

  has(dir: string): boolean {
    return this.handles.has(dir);
  }

  /**
   * Whether a folder is watched as it is now: false for one not watched, or watched under an
   * inode it no longer has (a job deleted and made it again: events inside the new one reach
   * no handle until sync() opens one).
   */
  watching(dir: string): boolean {
    const h = this.handles.get(dir);
    return h !== undefined && fs.statSync(dir, { throwIfNoEntry: false })?.ino === h.ino;
  }

  /** Stops watching a folder and every folder below it (the next sync() watches what is there then). */
  drop(dir: string): void {
    const prefix = dir + path.sep;
    for (const [d, h] of this.handles) {
      if (d !== dir && !d.startsWith(prefix)) continue;
      h.w.close();
      this.handles.delete(d);
    }
  }

  /** Watches exactly these folders from now on (a folder replaced by another of its name is watched anew). */
  sync(folders: Set<string>): void {
    for (const [dir, h] of this.handles) {
      if (!folders.has(dir) || fs.statSync(dir, { throwIfNoEntry: false })?.ino !== h.ino) {
        h.w.close();
        this.handles.delete(dir);
      }
    }
    for (const dir of folders) if (!this.handles.has(dir)) this.open(dir);
  }

  private open(dir: string): void {
    let w: fs.FSWatcher;
    let ino: number;
    try {
      ino = fs.statSync(dir).ino;
      w = fs.watch(dir, { persistent: true }, (_type, name) => this.onPath(name ? path.join(dir, name.toString()) : dir));
    } catch {
      this.onPath(dir); // vanished meanwhile: whoever syncs next watches what is there
      return;
    }
    const h = { w, ino };
    w.on('error', () => {
      w.close();
      if (this.handles.get(dir) === h) this.handles.delete(dir);
      this.onPath(dir);
    });
    this.handles.set(dir, h);
  }

  close(): void {
    for (const h of this.handles.values()) h.w.close();
    this.handles.clear();
  }
}

/**
 * Collects paths and hands them over once no new one came for `ms` (at most `maxMs` after the
 * first, so a steady stream of writes cannot postpone a build forever), each with the time
 * (Date.now()) of its latest event. While held (a build runs), paths are only collected;
 * `release` hands them over after one more window.
 */
export class Debouncer {
  private paths = new Map<string, number>();
  private first = 0;
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  constructor(
    private readonly ms: number,
    private readonly flush: (paths: Map<string, number>, firstAt: number) => void,
    private readonly maxMs = Math.max(10 * ms, 500),
  ) {}

  /** Paths waiting to be handed over. */
  get pending(): number {
    return this.paths.size;
  }

  add(p: string, at = Date.now()): void {
    if (this.paths.size === 0) this.first = performance.now();
    this.paths.set(p, Math.max(at, this.paths.get(p) ?? 0));
    if (!this.held) this.arm();
  }

  hold(): void {
    this.held = true;
    this.clear();
  }

  release(): void {
    this.held = false;
    if (this.paths.size) this.arm();
  }

  close(): void {
    this.clear();
    this.paths.clear();
  }

  private arm(): void {
    this.clear();
    const wait = Math.max(0, Math.min(this.ms, this.first + this.maxMs - performance.now()));
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    const paths = this.paths;
    const first = this.first;
    this.paths = new Map();
    this.flush(paths, first);
  }
}

/** What the classifier needs of the workspace: the stat cache as the last build left it, and the selection's paths. */
export interface ChangeView {
  root: string;
  /** The stat the last build took (undefined: never taken; null: absent then). */
  statMemo(rel: string): fs.Stats | null | undefined;
  /** The content hash recorded for a file when it was last hashed, and when (Date.now()). */
  recordedHash(rel: string): { hash: string; hashedAt: number } | undefined;
  /** The file's content hash now (taken through the stat cache), undefined when it is not a file. */
  hashNow(rel: string): string | undefined;
  /** Drops the memoised stats of a path, the folders above it and the paths below it. */
  invalidate(rel: string): void;
  hasStatsBelow(rel: string): boolean;
  /** The paths below `rel` that the last build saw present and that are gone now (workspace-relative). */
  goneBelow(rel: string): string[];
  /** Config source files and what the config load looked at: absolute path → how, and what it saw then (config/reads.ts). */
  configFiles: Map<string, ConfigSeen>;
  /** Whether the path is, or lies inside, a folder input or a declared output of the selection. */
  inTree(rel: string): boolean;
  /** Whether the path is a declared output (of any target). */
  isOutput(rel: string): boolean;
  /** Glob input spec → the files on disk it matches (sorted; updated in place). */
  globMatches: Map<string, string[]>;
  /** Glob input spec → the folders its listing read: dropped where the matches are updated in place (no listing stands behind them). */
  globListings?: Map<string, unknown>;
  /** Whether a folder (absolute) is watched: an unwatched one that now exists may need to be. */
  watched(dir: string): boolean;
  /** The watched links (absolute) that lead to this path: an edit there names only the path it was made at. */
  aliasesOf?(abs: string): string[];
  /** Whether the path is a watched link: retargeted, what it leads to is watched anew. */
  isLink?(abs: string): boolean;
}

export interface Changes {
  /** Paths (workspace-relative, or absolute outside it) whose change matters to the next build. */
  changed: string[];
  /** Config files (absolute) whose bytes changed. */
  config: string[];
  /** Glob specs whose matches changed, with the files each gained. */
  globs: Map<string, string[]>;
  /** A folder appeared, vanished or is not watched yet: the set of watched folders needs to be worked out again. */
  folders: boolean;
}

const matchers = new Map<string, picomatch.Matcher>();
function matcher(spec: string): picomatch.Matcher {
  let m = matchers.get(spec);
  if (!m) matchers.set(spec, (m = picomatch(spec, { dot: true })));
  return m;
}

function sameStat(a: fs.Stats | null, b: fs.Stats | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.ctimeMs === b.ctimeMs && a.mode === b.mode;
}

/** Every file below a folder (links followed once), absolute. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string) => {
    let ents: fs.Dirent[];
    try {
      const st = fs.statSync(d);
      if (seen.has(`${st.dev}:${st.ino}`)) return;
      seen.add(`${st.dev}:${st.ino}`);
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (SKIP.has(e.name)) continue;
      const p = path.join(d, e.name);
      const st = e.isSymbolicLink() ? fs.statSync(p, { throwIfNoEntry: false }) : e;
      if (st?.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Which of the paths named by events changed what the next build sees (`paths`: absolute path
 * → Date.now() of its latest event). Updates the view as it goes: stats of changed paths are
 * dropped (and taken afresh), glob matches follow the disk.
 */
export function classify(paths: Map<string, number>, view: ChangeView): Changes {
  const changes: Changes = { changed: [], config: [], globs: new Map(), folders: false };
  const changed = new Set<string>();
  const globs = changes.globs;
  const touched = (spec: string) => {
    let added = globs.get(spec);
    if (!added) globs.set(spec, (added = []));
    return added;
  };
  const queue = [...paths.keys()];
  const done = new Set<string>();
  const viaLink = new Set<string>();
  // Config paths looked at again in this batch: many events in one listed folder list it once.
  const configMoved = new Map<string, boolean>();
  const moved = (key: string, seen: ConfigSeen): boolean => {
    let m = configMoved.get(key);
    if (m === undefined) configMoved.set(key, (m = observe(key, seen.how) !== seen.seen));
    return m;
  };
  for (let i = 0; i < queue.length; i++) {
    const abs = queue[i]!;
    const eventAt = paths.get(abs) ?? Date.now();
    if (done.has(abs)) continue;
    done.add(abs);
    // An edit of a file that an input links to is an edit of that input.
    for (const link of view.aliasesOf?.(abs) ?? []) {
      if (paths.has(link)) continue;
      paths.set(link, eventAt);
      viaLink.add(link);
      queue.push(link);
    }
    if (!viaLink.has(abs) && view.isLink?.(abs)) changes.folders = true;
    const rel = relPath(view.root, abs);
    // sbuild's state, version control and dependencies change all the time: skipped, unless a
    // build read the path itself (an input declared under .git/ or node_modules/).
    if (rel === '' || (ignoredPath(rel) && view.statMemo(rel) === undefined && !view.configFiles.has(abs))) continue;
    // The path itself, or the folder it is in when the config listed that folder.
    for (const key of [abs, path.dirname(abs)]) {
      const seen = view.configFiles.get(key);
      if (seen && (key === abs || seen.how === 'list') && !changes.config.includes(key) && moved(key, seen)) changes.config.push(key);
    }
    const now = fs.statSync(abs, { throwIfNoEntry: false }) ?? null;
    const memo = view.statMemo(rel);
    let relevant = false;
    const recorded = memo?.isFile() ? view.recordedHash(rel) : undefined;
    // A write in the same timestamp tick as the build's read leaves the stat as it was: when the
    // event came after the file was hashed, the bytes are checked (the stat cache's racy rule).
    const racy = memo?.isFile() && now?.isFile() && recorded !== undefined && eventAt >= recorded.hashedAt;
    if (memo !== undefined && (racy || !sameStat(memo, now))) {
      if (memo?.isFile() && now?.isFile()) {
        // Same bytes under a new stat (`touch`, a rewrite of the same content) change nothing.
        view.invalidate(rel);
        relevant = recorded === undefined || view.hashNow(rel) !== recorded.hash;
      } else if (memo?.isDirectory() && now?.isDirectory() && memo.ino === now.ino) {
        view.invalidate(rel); // a listing changed: the files in it have events of their own
      } else {
        view.invalidate(rel);
        relevant = true;
      }
    } else if (memo === undefined && now?.isFile()) {
      // Never looked at by a build: it can only enter one inside a folder input or output folder.
      relevant = view.inTree(rel);
    }
    if (now?.isDirectory() && !view.watched(abs)) changes.folders = true;
    if (now?.isDirectory() && !(memo?.isDirectory() && memo.ino === now.ino)) {
      // A folder that appeared (or replaced another): no watcher saw its files, so they are looked at here.
      changes.folders = true;
      for (const f of filesBelow(abs)) {
        queue.push(f);
        if (!paths.has(f)) paths.set(f, eventAt);
      }
    }
    if (now?.isDirectory() && !(memo?.isDirectory() && memo.ino === now.ino) && view.goneBelow(rel).some((g) => !paths.has(path.join(view.root, g)))) {
      // Another folder in its place (moved in, a link retargeted): what the build read below
      // the old one may be missing from the new one, and no event names it.
      view.invalidate(rel);
      relevant = true;
    }
    if (!now?.isDirectory() && !memo?.isFile() && view.hasStatsBelow(rel)) {
      // A folder that went away (or was replaced): what the build read below it is gone.
      view.invalidate(rel);
      changes.folders = true;
      relevant = true;
    }
    // Glob inputs follow the disk, as a fresh start would list it.
    for (const [spec, list] of view.globMatches) {
      const base = picomatch.scan(spec).base;
      if (base !== '' && rel !== base && !rel.startsWith(base + '/')) continue;
      // Something below the base moved (even a file added and removed again): the folder stats
      // its listing was read at no longer describe the folders.
      view.globListings?.delete(spec);
      if (!now?.isDirectory()) {
        // Entries below a vanished folder.
        const prefix = rel + '/';
        const gone = list.filter((f) => f.startsWith(prefix));
        if (gone.length) {
          view.globMatches.set(spec, list.filter((f) => !f.startsWith(prefix)));
          touched(spec);
          if (gone.some((f) => !view.isOutput(f))) relevant = true;
        }
      }
      if (!matcher(spec)(rel)) continue;
      const cur = view.globMatches.get(spec)!;
      const has = sortedHas(cur, rel);
      const is = now?.isFile() ?? false;
      if (has === is) continue;
      view.globMatches.set(spec, is ? [...cur, rel].sort() : cur.filter((f) => f !== rel));
      if (is) touched(spec).push(rel);
      else touched(spec);
      // A declared output's changes are judged by its own stat above.
      if (!view.isOutput(rel)) relevant = true;
    }
    if (relevant) changed.add(rel);
  }
  changes.changed = [...changed].sort();
  return changes;
}

function sortedHas(list: string[], x: string): boolean {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return list[lo] === x;
}
