// Dirty-set planning: from what changed since the no-op snapshot (paths whose stat moved,
// targets declared differently), the targets that must be judged again: those that read,
// write or list a changed path, those declared differently, and everything downstream of
// them. The rest of the selection is fresh as the snapshot verified it. A path no target
// accounts for makes the answer "judge everything" (undefined). `sbuild watch` asks the same
// with the paths its watcher found changed since its last all-fresh build.
import { ownerAbove, parentOf, type Graph } from '../graph/graph.js';
import picomatch from 'picomatch';
import type { SnapshotDelta } from './noop-snapshot.js';
import type { Selection } from './selection.js';

/**
 * Targets of the selection that need not be judged; undefined: judge them all. `delta.targets`:
 * names of targets to judge whatever the paths say (declared differently, or not known fresh).
 */
export function cleanTargets(graph: Graph, sel: Selection, delta: Pick<SnapshotDelta, 'paths' | 'targets'> & Partial<Pick<SnapshotDelta, 'absent'>>): Set<number> | undefined {
  const dirty = new Set<number>();
  for (const name of delta.targets) {
    const n = graph.byName.get(name);
    if (n && sel.selected.has(n.id)) dirty.add(n.id);
  }
  if (delta.paths.length) {
    const readers = readersOf(graph, sel);
    for (const p of delta.paths) {
      let found = false;
      const owner = ownerAbove(graph.outputOwner, p);
      if (owner !== undefined) {
        found = true;
        if (sel.selected.has(owner)) dirty.add(owner);
      }
      // The path itself, or a folder above it, is read by these.
      for (let cur = p; ; cur = parentOf(cur)) {
        for (const id of readers.get(cur) ?? []) {
          found = true;
          dirty.add(id);
        }
        if (cur === '') break;
      }
      if (!found) return undefined;
    }
  }
  // Everything downstream is judged again too.
  const stack = [...dirty];
  while (stack.length) {
    for (const d of graph.nodes[stack.pop()!]!.dependents) {
      if (sel.selected.has(d) && !dirty.has(d)) {
        dirty.add(d);
        stack.push(d);
      }
    }
  }
  // A target whose outputs were absent is judged (found absent again), not taken from its
  // entry: a dependent that must run has to find it absent to have it produced first. What is
  // downstream needs no judging for it: a target is settled only when its upstreams are, so
  // the build judges those dependents itself.
  for (const p of delta.absent ?? []) {
    const owner = ownerAbove(graph.outputOwner, p);
    if (owner !== undefined && sel.selected.has(owner)) dirty.add(owner);
  }
  const clean = new Set<number>();
  for (const id of sel.selected) if (!dirty.has(id)) clean.add(id);
  return clean;
}

/** Per selection (a process that builds it again and again keeps it): path → the targets that read it. */
const readerMaps = new WeakMap<Selection, Map<string, number[]>>();

function readersOf(graph: Graph, sel: Selection): Map<string, number[]> {
  let readers = readerMaps.get(sel);
  if (readers) return readers;
  readers = new Map<string, number[]>();
  const add = (p: string, id: number) => {
    const l = readers!.get(p);
    if (l) l.push(id);
    else readers!.set(p, [id]);
  };
  for (const id of sel.selected) {
    const n = graph.nodes[id]!;
    for (const { path } of n.literalInputs) add(path, id);
    // A glob reads every file and folder listing below its base.
    for (const spec of n.globInputs) add(globBase(spec), id);
  }
  readerMaps.set(sel, readers);
  return readers;
}

const bases = new Map<string, string>();

/** The folder a glob lists below (the same spec is often declared by many targets). */
function globBase(spec: string): string {
  let b = bases.get(spec);
  if (b === undefined) bases.set(spec, (b = picomatch.scan(spec).base));
  return b;
}
