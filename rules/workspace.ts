// The workspace root as sbuild finds it: the nearest folder, from the current one upwards,
// holding a tasks.config file. Rules that read files while the config loads (config chains,
// an existing dataset link) resolve workspace-relative paths against it, so `sbuild` run
// from a subfolder sees the same workspace as from the root.
import fs from 'node:fs';
import path from 'node:path';

const CONFIG_NAMES = ['tasks.config.ts', 'tasks.config.mts', 'tasks.config.js', 'tasks.config.mjs'];

/** The folder holding the config, walking up from `from` (default the cwd); `from` itself when none is found. */
export function workspaceRoot(from: string = process.cwd()): string {
  const start = path.resolve(from);
  let dir = start;
  for (;;) {
    if (CONFIG_NAMES.some((n) => fs.existsSync(path.join(dir, n)))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}
