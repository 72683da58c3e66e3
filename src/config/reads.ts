// Files that rules read while the config loads (Python experiment configs and their bases),
// besides the config's own source files: `sbuild watch` reloads the config when one changes.
// Rules reach sbuild through its package name, which may be another copy of this module than
// the CLI's (the CLI is bundled), so the record lives on a process-wide symbol.
import path from 'node:path';

const KEY = Symbol.for('sbuild.configReads');

type Registry = { [KEY]?: Set<string> };

/**
 * Says that loading the config read these files (absolute, or relative to the current folder).
 * A no-op unless someone records (`recordConfigReads`).
 */
export function noteConfigReads(files: Iterable<string>): void {
  const set = (globalThis as Registry)[KEY];
  if (!set) return;
  for (const f of files) if (f) set.add(path.resolve(f));
}

/** Runs `load`, adding every file noted while it runs to `into` (also when it throws). */
export async function recordConfigReads<T>(into: Set<string>, load: () => Promise<T>): Promise<T> {
  const g = globalThis as Registry;
  const outer = g[KEY];
  g[KEY] = into;
  try {
    return await load();
  } finally {
    if (outer) for (const r of into) outer.add(r);
    g[KEY] = outer;
  }
}
