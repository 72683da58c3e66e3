// The critical path of the last build: the longest chain of dependent targets, by the
// durations recorded in that build. Targets that did not run in it pass time through at zero.
import type { TimelineEntry } from '../engine/timeline.js';
import type { Topology } from './topology.js';

export function criticalPath(entries: TimelineEntry[], topo: Topology): string[] {
  const dur = new Map<string, number>();
  for (const e of entries) dur.set(e.name, Math.max(0, e.end - e.start) + (dur.get(e.name) ?? 0));
  if (!dur.size) return [];
  // Longest chain ending at each target, in topological order.
  const best: number[] = new Array(topo.names.length).fill(0);
  const prev: number[] = new Array(topo.names.length).fill(-1);
  topo.names.forEach((name, i) => {
    let b = 0;
    let p = -1;
    for (const d of topo.deps[i]!) {
      const bd = best[d]!;
      if (p < 0 || bd > b || (bd === b && dur.has(topo.names[d]!) && !dur.has(topo.names[p]!))) {
        b = bd;
        p = d;
      }
    }
    best[i] = b + (dur.get(name) ?? 0);
    prev[i] = p;
  });
  // The chain ends at a target of the build; ties go to the one that ended last.
  const endOf = new Map(entries.map((e) => [e.name, e.end]));
  let end = -1;
  topo.names.forEach((name, i) => {
    if (!dur.has(name)) return;
    if (end < 0 || best[i]! > best[end]! || (best[i] === best[end] && endOf.get(name)! > endOf.get(topo.names[end]!)!)) end = i;
  });
  if (end < 0) {
    // None of the build's targets is in the graph any more: the longest single job.
    const longest = entries.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    return [longest.name];
  }
  const chain: string[] = [];
  for (let i = end; i >= 0; i = prev[i]!) if (dur.has(topo.names[i]!)) chain.push(topo.names[i]!);
  return chain.reverse();
}
