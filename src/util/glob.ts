// Input globs on disk. A walk from each pattern's static base with picomatch matching:
// on a 1,000-experiment workspace it lists `work_dirs/**/*_metrics.json` several times faster
// than fast-glob and needs no extra module load on the no-op path (see docs/PERFORMANCE.md).
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { STATE_DIR } from '../engine/state-paths.js';

/** Folders never searched: dependencies, version control, sbuild's own state. */
const SKIP = new Set(['node_modules', '.git', STATE_DIR]);

/**
 * Hears each folder listed, with its stat taken just before the listing was read and when
 * that stat was taken (a file added there changes that folder's mtime: the no-op snapshot
 * watches them, and a stat taken after the listing could vouch for a file it never saw).
 */
export type OnListed = (rel: string, st: fs.Stats, statAt: number) => void;

/** The folders one listing read, each with its stat taken just before it was read. */
export type Listing = Array<[string, fs.Stats]>;

/**
 * Hears each path a listing could not look into although what it finds there could change:
 * a pattern's base folder that is absent, a matching link that leads nowhere. Their stat
 * (absent) is what tells a later run that something appeared there.
 */
export type OnUnseen = (rel: string) => void;

/** Workspace-relative files matching any of `patterns`, sorted. */
export function globFiles(root: string, patterns: string[], onDir?: OnListed, onUnseen?: OnUnseen): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const { base, isGlob } = picomatch.scan(pattern);
    if (!isGlob) {
      const st = fs.statSync(path.join(root, pattern), { throwIfNoEntry: false });
      if (st?.isFile()) out.add(pattern);
      continue;
    }
    const match = picomatch(pattern, { dot: true });
    walk(root, base, match, out, new Set(), onDir, onUnseen);
  }
  return [...out].sort();
}

function walk(root: string, dir: string, match: (p: string) => boolean, out: Set<string>, seen: Set<string>, onDir?: OnListed, onUnseen?: OnUnseen): void {
  const abs = dir === '' ? root : path.join(root, dir);
  let ents: fs.Dirent[];
  let st: fs.Stats;
  const statAt = Date.now();
  try {
    // Symbolic links may form loops: each real folder is walked once.
    st = fs.statSync(abs);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    ents = fs.readdirSync(abs, { withFileTypes: true });
  } catch {
    // Unreadable or vanished: it holds no inputs now. An absent folder may appear.
    if (dir !== '') onUnseen?.(dir);
    return;
  }
  onDir?.(dir, st, statAt);
  for (const e of ents) {
    const rel = dir === '' ? e.name : `${dir}/${e.name}`;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const st = fs.statSync(path.join(root, rel));
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch {
        // Dangling or looping: what it leads to may appear (a file creation elsewhere leaves
        // this folder's stat as it was).
        if (match(rel)) onUnseen?.(rel);
        continue;
      }
    }
    if (isDir) {
      if (!SKIP.has(e.name)) walk(root, rel, match, out, seen, onDir, onUnseen);
    } else if (isFile && match(rel)) out.add(rel);
  }
}
