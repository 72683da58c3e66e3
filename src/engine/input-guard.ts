// Inputs that change while a job runs. A target's record says what its inputs were when it was
// judged; the job reads them later, while it runs. When one changes in between (a config saved
// and reverted during a training, a metrics file added to a globbed folder and removed again),
// the outputs may have been made from bytes the record does not describe, and the next build,
// finding the inputs as recorded, would take them as fresh. So the stats the record was taken
// at are compared with the stats after the job: on any difference the result is neither
// recorded in sbuild.lock nor cached, the target keeps the record it had, and the next build
// judges it again (it reruns, or gets its recorded outputs back from the cache).
//
// Guarded: every input file (an upstream's output too: a hand edit of it while this job reads
// it is the same hazard), the files of upstream output folders it reads whose stats were taken,
// and every folder listed to find input files (globs, source folders) in which no target
// writes. A folder that holds declared outputs changes whenever a target beside this one writes
// there: its files are guarded one by one, but not the listing itself, or a sibling's output
// would rerun this target (a needless rerun of a training is worse than the rare
// add-and-remove of a matching file in such a folder).
import fs from 'node:fs';
import { ownerAbove, parentOf, type Graph } from '../graph/graph.js';
import { absPath } from '../util/fs.js';
import type { Current } from './rebuilder.js';
import { LINEAGE_PREFIX } from './reasons.js';
import type { Workspace } from './workspace.js';

/** Paths with the stat the record was taken at (null: absent), and whether the path is a declared output. */
export type InputGuard = Array<[string, fs.Stats | null, boolean?]>;

/** What to compare after the job: taken just before it starts. */
export function inputGuard(ws: Workspace, cur: Current): InputGuard {
  const guard: InputGuard = [];
  const owners = ws.graph.outputOwner;
  for (const p in cur.record.inputs) {
    if (p.startsWith(LINEAGE_PREFIX)) continue;
    // An upstream output folder: the files in it whose stats were taken when it was hashed.
    if (p.endsWith('/')) {
      for (const [f, st] of ws.hasher.statsBelow(p.slice(0, -1))) guard.push([f, st, true]);
      continue;
    }
    // The stat its hash was taken at, or (forgotten since: restored) the one it has now.
    guard.push([p, ws.hasher.statMemo(p) ?? fs.statSync(absPath(ws.root, p), { throwIfNoEntry: false }) ?? null, ownerAbove(owners, p) !== undefined]);
  }
  if (cur.listings.length) {
    const written = outputFolders(ws.graph);
    for (const listing of cur.listings) {
      for (const [d, st] of listing) if (!written.has(d) && ownerAbove(owners, d) === undefined) guard.push([d, st]);
    }
  }
  return guard;
}

/** The first guarded path whose stat moved while the job ran; undefined when none did. */
export function movedInput(root: string, guard: InputGuard): string | undefined {
  for (const [p, was, output] of guard) {
    const now = fs.statSync(absPath(root, p), { throwIfNoEntry: false }) ?? null;
    if (!sameStat(now, was, output === true)) return p;
  }
  return undefined;
}

/**
 * The same file, unchanged. An output hard-linked to its blob in the local cache (`hardlink`
 * mode: more than one link) shares its inode with every output of the same bytes: linking
 * another one moves its ctime, and the cache's use of the blob its mtime. Such a file is
 * read-only and edited by replacing it, which a new inode shows: there only size and inode
 * count. Sources are compared in full, however many links they have.
 */
function sameStat(a: fs.Stats | null, b: fs.Stats | null, output: boolean): boolean {
  if (!a || !b) return a === b;
  if (a.size !== b.size || a.ino !== b.ino) return false;
  if (output && a.nlink > 1 && b.nlink > 1) return true;
  return a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

const folders = new WeakMap<Graph, Set<string>>();

/** Every folder above a declared output ('' for the workspace): targets write there. */
function outputFolders(graph: Graph): Set<string> {
  let set = folders.get(graph);
  if (!set) {
    set = new Set<string>();
    for (const o of graph.outputOwner.keys()) {
      for (let d = parentOf(o); !set.has(d); d = parentOf(d)) {
        set.add(d);
        if (d === '') break;
      }
    }
    folders.set(graph, set);
  }
  return set;
}
