// What a command asked for: the roots it named (or the config's default), their closure, and
// the targets asked for directly (the roots and, through groups, what those name). -B reruns
// the directly requested ones; absent intermediates are produced only when a dependent needs them.
import { SbuildError } from '../errors.js';
import { closure, type Graph } from '../graph/graph.js';
import { select } from '../graph/select.js';
import type { Workspace } from './workspace.js';

export interface Selection {
  roots: number[];
  /** The roots and everything they depend on. */
  selected: Set<number>;
  /** Asked for directly: the roots, and through groups the targets they name. */
  requested: Set<number>;
  /** Rerun even when fresh (-B): the requested targets. */
  forced: Set<number>;
}

/** Node ids a command line names: its targets, else every target (`all`), else the config's default. */
export function roots(ws: Pick<Workspace, 'graph' | 'config'>, targets: string[], all: boolean): number[] {
  if (targets.length) return select(ws.graph, targets);
  if (all) return ws.graph.nodes.map((n) => n.id);
  if (ws.config.default) return select(ws.graph, [ws.config.default]);
  throw new SbuildError('usage', 'No target given and the config has no `default`. Name a target (see `sbuild list`) or add `default: \'<target>\'` to tasks.config.ts.');
}

export function selection(graph: Graph, rootIds: number[], force = false): Selection {
  const requested = new Set<number>();
  const stack = [...rootIds];
  while (stack.length) {
    const n = graph.nodes[stack.pop()!]!;
    if (requested.has(n.id)) continue;
    requested.add(n.id);
    if (n.group) stack.push(...n.deps);
  }
  return { roots: rootIds, selected: closure(graph, rootIds), requested, forced: force ? new Set(requested) : new Set() };
}
