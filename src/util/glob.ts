// Input globs on disk. A walk from each pattern's static base with picomatch matching:
// on a 1,000-experiment workspace it lists `work_dirs/**/*_metrics.json` several times faster
// than fast-glob and needs no extra module load on the no-op path (see docs/PERFORMANCE.md).
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

/** Folders never searched: dependencies, version control, sbuild's own state. */
const SKIP = new Set(['node_modules', '.git', '.sbuild']);

/** Workspace-relative files matching any of `patterns`, sorted. */
export function globFiles(root: string, patterns: string[]): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const { base, isGlob } = picomatch.scan(pattern);
    if (!isGlob) {
      const st = fs.statSync(path.join(root, pattern), { throwIfNoEntry: false });
      if (st?.isFile()) out.add(pattern);
      continue;
    }
    const match = picomatch(pattern, { dot: true });
    walk(root, base, match, out);
  }
  return [...out].sort();
}

function walk(root: string, dir: string, match: (p: string) => boolean, out: Set<string>): void {
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(dir === '' ? root : path.join(root, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of ents) {
    const rel = dir === '' ? e.name : `${dir}/${e.name}`;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const st = fs.statSync(path.join(root, rel), { throwIfNoEntry: false });
      isDir = !!st?.isDirectory();
      isFile = !!st?.isFile();
    }
    if (isDir) {
      if (!SKIP.has(e.name)) walk(root, rel, match, out);
    } else if (isFile && match(rel)) out.add(rel);
  }
}
