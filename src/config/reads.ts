// Files that rules read while the config loads (Python experiment configs and their bases),
// besides the config's own source files: `sbuild watch` reloads the config when one changes.
// Rules reach sbuild through its package name, which may be another copy of this module than
// the CLI's (the CLI is bundled), so the record lives on a process-wide symbol. What the
// config's own code reads is observed apart from this (config/load-observer.ts), which is
// loaded only by watch: this module is on every config's import path.
import path from 'node:path';

const KEY = Symbol.for('sbuild.configReads');
const OWN = Symbol.for('sbuild.ownProcesses');

type Registry = { [KEY]?: Set<string>; [OWN]?: number };

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

/**
 * Runs `start`, which starts a process whose reads the caller notes itself (`noteConfigReads`):
 * watch does not warn that it cannot see them.
 */
export function ownProcess<T>(start: () => T): T {
  const g = globalThis as Registry;
  g[OWN] = (g[OWN] ?? 0) + 1;
  try {
    return start();
  } finally {
    g[OWN]!--;
  }
}

/** Whether a process started now is one whose reads are noted (`ownProcess`). */
export function inOwnProcess(): boolean {
  return ((globalThis as Registry)[OWN] ?? 0) > 0;
}
