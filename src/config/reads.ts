// Files that rules read while the config loads (Python experiment configs and their bases),
// besides the config's own source files: `sbuild watch` reloads the config when one changes.
// Rules reach sbuild through its package name, which may be another copy of this module than
// the CLI's (the CLI is bundled), so the record lives on a process-wide symbol. What the
// config's own code reads is observed apart from this (config/load-observer.ts), which is
// loaded only by watch: this module is on every config's import path.
import path from 'node:path';

const KEY = Symbol.for('sbuild.configReads');
const LISTED = Symbol.for('sbuild.configListings');
const OWN = Symbol.for('sbuild.ownProcesses');

type Registry = { [KEY]?: Set<string>; [LISTED]?: Set<string>; [OWN]?: number };

/**
 * Says that loading the config read these files (absolute, or relative to the current folder).
 * A no-op unless someone records (`recordConfigReads`).
 */
export function noteConfigReads(files: Iterable<string>): void {
  const set = (globalThis as Registry)[KEY];
  if (!set) return;
  for (const f of files) if (f) set.add(path.resolve(f));
}

/** Says that loading the config listed these folders (their entries, not only whether they exist, matter). */
export function noteConfigListings(folders: Iterable<string>): void {
  const set = (globalThis as Registry)[LISTED];
  if (!set) return;
  for (const f of folders) if (f) set.add(path.resolve(f));
}

/**
 * Runs `load`, adding every file noted while it runs to `into` and every folder noted as
 * listed to `listed` (also when it throws).
 */
export async function recordConfigReads<T>(into: Set<string>, load: () => Promise<T>, listed: Set<string> = new Set()): Promise<T> {
  const g = globalThis as Registry;
  const outer = g[KEY];
  const outerListed = g[LISTED];
  g[KEY] = into;
  g[LISTED] = listed;
  try {
    return await load();
  } finally {
    if (outer) for (const r of into) outer.add(r);
    if (outerListed) for (const r of listed) outerListed.add(r);
    g[KEY] = outer;
    g[LISTED] = outerListed;
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
