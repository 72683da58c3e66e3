// The commit a working tree has checked out, read straight from the repository's files (no
// `git` process: this runs every time the config loads). Handles branches (loose refs and
// packed-refs), a detached HEAD, symbolic refs, and a `.git` file (worktrees, submodules).
import fs from 'node:fs';
import path from 'node:path';

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * The full commit id of HEAD in the git repository holding `root` (searched upwards), or null
 * outside a repository, on an unborn branch, or when the refs cannot be read (e.g. the reftable
 * backend).
 */
export function gitCommit(root: string = process.cwd()): string | null {
  const gitDir = findGitDir(path.resolve(root));
  if (!gitDir) return null;
  const common = commonDir(gitDir);
  let ref = 'HEAD';
  // A symbolic ref may name another symbolic ref; git allows a few levels.
  for (let depth = 0; depth < 8; depth++) {
    const value = readRef(gitDir, common, ref);
    if (value === undefined) return null;
    if (OID.test(value)) return value;
    const m = /^ref:\s*(\S+)$/.exec(value);
    if (!m) return null;
    ref = m[1]!;
  }
  return null;
}

/** The git directory for `start` or the nearest folder above it holding `.git`. */
export function findGitDir(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const dotGit = path.join(dir, '.git');
    const st = fs.statSync(dotGit, { throwIfNoEntry: false });
    if (st?.isDirectory()) return dotGit;
    if (st?.isFile()) {
      // A worktree or submodule: `gitdir: <path>`, relative to the folder holding the file.
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readText(dotGit) ?? '');
      return m ? path.resolve(dir, m[1]!) : undefined;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Where shared refs live: the worktree's `commondir`, or the git directory itself. */
function commonDir(gitDir: string): string {
  const c = readText(path.join(gitDir, 'commondir'))?.trim();
  return c ? path.resolve(gitDir, c) : gitDir;
}

/** A ref's value (an object id or `ref: …`), from the worktree's own files, then the shared loose refs, then packed-refs. */
function readRef(gitDir: string, common: string, ref: string): string | undefined {
  if (ref.split('/').some((s) => s === '..' || s === '')) return undefined;
  // HEAD and refs/worktree, refs/bisect, refs/rewritten are per worktree; everything else is shared.
  for (const dir of gitDir === common ? [gitDir] : [gitDir, common]) {
    const v = readText(path.join(dir, ref))?.trim();
    if (v) return v;
  }
  const packed = readText(path.join(common, 'packed-refs'));
  if (packed) {
    for (const line of packed.split('\n')) {
      if (line.startsWith('#') || line.startsWith('^')) continue;
      const sp = line.indexOf(' ');
      if (sp > 0 && line.slice(sp + 1).trim() === ref) return line.slice(0, sp);
    }
  }
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
