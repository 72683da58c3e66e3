// A failed (or interrupted) target's partial outputs are moved aside to
// `.sbuild/failed/<target>/`, so that its declared output paths are absent after a failure
// and nothing that reads them (a person, a script, another tool) takes half a result for one.
// They were never recorded, so they were never fresh; this keeps them out of sight as well.
import fs from 'node:fs';
import path from 'node:path';
import { normalizeRel, outputEscape } from '../util/fs.js';
import { STATE_DIR, failedRel, targetSegment } from './state-paths.js';

/**
 * The folder for one target, relative to the workspace. The name is one path segment
 * (percent-encoded like a URI component, so 'exp/a/train' → 'exp%2Fa%2Ftrain'): target
 * 'exp/a' can never own target 'exp/a/train''s folder, and no name can climb out of it.
 */
export function failedDir(name: string): string {
  return failedRel(targetSegment(name));
}

/**
 * Moves the outputs of `name` that exist to its failed folder (replacing what an earlier
 * failure left there). Returns the folder (with a trailing '/') when something was moved.
 */
export function moveAside(root: string, name: string, outputs: readonly string[]): string | undefined {
  const rel = failedDir(name);
  const dir = path.join(root, rel);
  fs.rmSync(dir, { recursive: true, force: true });
  let moved = false;
  for (const o of outputs) {
    // Recorded paths may come from an older config (the jobs record): stay inside the workspace.
    const clean = normalizeRel(root, o);
    if (!clean || clean === STATE_DIR || clean.startsWith(`${STATE_DIR}/`)) continue;
    // Never through a link out of the workspace (a declared linked folder aside): not ours to move.
    if (outputEscape(root, clean)) continue;
    const from = path.join(root, clean);
    if (!fs.lstatSync(from, { throwIfNoEntry: false })) continue;
    const to = path.join(dir, clean);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    try {
      fs.renameSync(from, to);
      moved = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // On another file system (a linked scratch folder): copying a partial checkpoint there
      // would cost its size again for nothing; it is removed instead.
      fs.rmSync(from, { recursive: true, force: true });
    }
  }
  return moved ? rel + '/' : undefined;
}

/** A target that succeeded: an earlier failure's leftovers no longer describe it. */
export function clearFailed(root: string, name: string): void {
  const dir = path.join(root, failedDir(name));
  // Usually there is none: a look costs less than rmSync's own (it throws and catches ENOENT).
  if (fs.lstatSync(dir, { throwIfNoEntry: false })) fs.rmSync(dir, { recursive: true, force: true });
}
