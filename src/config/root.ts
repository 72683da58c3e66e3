// The workspace root for code that runs while the config loads (rules reading config chains
// or checking a dataset link): the root the loader chose (config/locate.ts: `--root`, else
// the folder holding the config), which it puts in SBUILD_ROOT.
import fs from 'node:fs';
import path from 'node:path';

/** The config file names sbuild looks for, in this order. */
export const CONFIG_NAMES = ['tasks.config.ts', 'tasks.config.mts', 'tasks.config.js', 'tasks.config.mjs'];

/**
 * The root of the workspace whose config is loading (`--root`, else the folder holding its
 * config); outside a load, the nearest folder holding a tasks.config.ts above `from`.
 * Rules that read files while the config loads resolve workspace paths against it.
 */
export function workspaceRoot(from: string = process.cwd()): string {
  const loading = process.env.SBUILD_ROOT;
  if (loading) return loading;
  let dir = path.resolve(from);
  for (;;) {
    if (CONFIG_NAMES.some((n) => fs.existsSync(path.join(dir, n)))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(from);
    dir = parent;
  }
}
