// The graph the report draws: every target that runs (phony groups have no state of their
// own, so they are left out and edges pass through them), in topological order.
import type { Graph } from '../graph/graph.js';

export interface Topology {
  /** Target names, dependencies first. */
  names: string[];
  index: Map<string, number>;
  /** Per target, the indices of the targets it depends on (through phony groups). */
  deps: number[][];
}

export function topology(graph: Graph): Topology {
  const names: string[] = [];
  const index = new Map<string, number>();
  for (const id of graph.order) {
    const n = graph.nodes[id]!;
    if (n.group) continue;
    index.set(n.name, names.length);
    names.push(n.name);
  }
  // A phony group's real members, found once per group.
  const through = new Map<number, number[]>();
  const realOf = (id: number, trail: Set<number>): number[] => {
    const n = graph.nodes[id]!;
    if (!n.group) return [index.get(n.name)!];
    const known = through.get(id);
    if (known) return known;
    if (trail.has(id)) return [];
    trail.add(id);
    const out = new Set<number>();
    for (const d of n.deps) for (const r of realOf(d, trail)) out.add(r);
    const list = [...out];
    through.set(id, list);
    return list;
  };
  const deps: number[][] = names.map(() => []);
  for (const id of graph.order) {
    const n = graph.nodes[id]!;
    if (n.group) continue;
    const mine = new Set<number>();
    for (const d of n.deps) for (const r of realOf(d, new Set())) mine.add(r);
    deps[index.get(n.name)!] = [...mine].sort((a, b) => a - b);
  }
  return { names, index, deps };
}
