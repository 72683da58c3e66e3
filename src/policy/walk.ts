// The files on disk, as git would see them: links are entries (never followed), and folders
// that are not the workspace's business are skipped: version control, dependencies, sbuild's
// own state, nested repositories, and folders no policy glob can reach into.
import fs from 'node:fs';
import path from 'node:path';
import { STATE_DIR } from '../engine/state-paths.js';

const SKIP = new Set(['.git', 'node_modules', STATE_DIR]);

/** Workspace-relative paths of files and links below `root`; `enter(dir)` prunes folders. */
export function walkFiles(root: string, enter: (dir: string) => boolean): string[] {
  const files: string[] = [];
  const visit = (dir: string): void => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(dir === '' ? root : path.join(root, dir), { withFileTypes: true });
    } catch {
      return; // unreadable or vanished
    }
    // A folder with its own .git (file or folder) is another repository.
    if (dir !== '' && ents.some((e) => e.name === '.git')) return;
    for (const e of ents) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP.has(e.name) && enter(rel)) visit(rel);
      } else if (e.isFile() || e.isSymbolicLink()) {
        files.push(rel);
      }
    }
  };
  visit('');
  return files;
}
