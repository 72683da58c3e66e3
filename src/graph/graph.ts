// Targets → DAG. Edges come from `deps`, and implicitly from inputs that name (or lie
// inside, or contain) another target's declared outputs; an input glob matches declared
// outputs as well as files on disk, so a table can depend on metrics that do not exist yet.
import picomatch from 'picomatch';
import { SbuildError, didYouMean } from '../errors.js';
import { isGlob } from '../util/fs.js';
import type { Listing } from '../util/glob.js';
import type { Target } from '../config/types.js';
import type { CheckedTarget, ResumeSpec } from '../config/validate.js';

export interface GraphNode {
  id: number;
  name: string;
  target: Target;
  /** A group has no `run`: it only names other targets. */
  group: boolean;
  /** A command target's command as it runs: `run` with its params substituted (validate.ts). */
  command?: string | string[];
  outputs: string[];
  /** The target's `resume`, checked (a job that can continue an interrupted run). */
  resume?: ResumeSpec;
  /** Folders where each run creates its own folders, recorded as outputs too (`runFolders`). */
  runFolders?: string[];
  /** Input specs as declared (normalised): literal paths and globs. */
  inputSpecs: string[];
  /** Literal input paths with the node owning each (itself or a folder above it), found once here. */
  literalInputs: Array<{ path: string; owner: number | undefined }>;
  /** Input globs (without negations). */
  globInputs: string[];
  /** Negated patterns (`!pattern`, without the `!`). */
  excludes: string[];
  /** Targets this one depends on (explicit and implicit), sorted by id. */
  deps: number[];
  dependents: number[];
}

export interface Graph {
  root: string;
  nodes: GraphNode[];
  byName: Map<string, GraphNode>;
  /** Declared output path → owning node id. */
  outputOwner: Map<string, number>;
  /** Node ids in a topological order (dependencies first). */
  order: number[];
  /** Files on disk matched by each glob spec, found while building the graph. */
  globMatches: Map<string, string[]>;
  /**
   * The folders each of those listings read, with the stat each had just before (a change
   * there while a job that globs them runs makes its result unrecordable: run-job.ts). A spec
   * whose matches were changed since by other means (`sbuild watch`) has none.
   */
  globListings: Map<string, Listing>;
}

export type { Listing };

/** Lists files on disk matching globs; `into` collects the folders read, with their stats. */
export type DiskGlob = (patterns: string[], into?: Listing) => string[];

export function buildGraph(
  root: string,
  checked: CheckedTarget[],
  diskGlob: DiskGlob,
  locate: (name: string) => string | undefined,
  /** Whether a declared output is a folder: known from disk or the lock, else 'maybe' (never built). */
  isFolder: (output: string) => 'yes' | 'no' | 'maybe',
): Graph {
  const nodes: GraphNode[] = checked.map((c, id) => ({
    id,
    name: c.name,
    target: c.target,
    group: c.target.run === undefined,
    ...(c.command !== undefined ? { command: c.command } : {}),
    outputs: c.outputs,
    ...(c.resume ? { resume: c.resume } : {}),
    ...(c.runFolders ? { runFolders: c.runFolders } : {}),
    inputSpecs: c.inputs,
    literalInputs: [],
    globInputs: [],
    excludes: [],
    deps: [],
    dependents: [],
  }));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const outputOwner = new Map<string, number>();
  const err = (kind: 'output-conflict' | 'cycle' | 'glob-empty' | 'unknown-dep', msg: string, name: string, detail?: string): never => {
    const loc = locate(name);
    throw new SbuildError(kind, msg, { ...(loc ? { location: loc } : {}), ...(detail ? { detail } : {}) });
  };

  for (const n of nodes) {
    for (const o of n.outputs) {
      const prev = outputOwner.get(o);
      if (prev !== undefined) {
        err('output-conflict', `Targets '${nodes[prev]!.name}' and '${n.name}' both declare the output '${o}'. Each file has one producer; give one of them another path.`, n.name);
      }
      outputOwner.set(o, n.id);
    }
  }
  // Nested outputs (a file inside another target's output folder) are a conflict too.
  const sortedOutputs = [...outputOwner.keys()].sort();
  for (const o of sortedOutputs) {
    const owner = ownerAbove(outputOwner, parentOf(o));
    if (owner !== undefined && owner !== outputOwner.get(o)) {
      const a = nodes[owner]!;
      const b = nodes[outputOwner.get(o)!]!;
      err('output-conflict', `Target '${b.name}' declares the output '${o}', which lies inside '${a.outputs.find((x) => o.startsWith(x + '/'))}', an output folder of '${a.name}'. Outputs may not overlap; move one.`, b.name);
    }
  }

  const globMatches = new Map<string, string[]>();
  const diskSpecs = new Set<string>();
  for (const n of nodes) for (const s of n.inputSpecs) if (isGlob(s) && !s.startsWith('!')) diskSpecs.add(s);
  const globListings = new Map<string, Listing>();
  for (const s of diskSpecs) {
    const dirs: Listing = [];
    globMatches.set(s, diskGlob([s], dirs));
    globListings.set(s, dirs);
  }

  /** Ordering-only edges to never-built outputs a glob may reach into (added unless they would close a cycle). */
  const soft: Array<[GraphNode, number]> = [];
  const seenDeps = new Set<number>();
  const addEdge = (from: GraphNode, to: number) => {
    if (!seenDeps.has(to)) {
      seenDeps.add(to);
      from.deps.push(to);
    }
  };
  for (const n of nodes) {
    seenDeps.clear();
    for (const d of n.target.deps ?? []) {
      const dn = byName.get(d);
      if (!dn) err('unknown-dep', `Target '${n.name}' lists the dependency '${d}', which is not a target.${didYouMean(d, byName.keys())}`, n.name);
      addEdge(n, dn!.id);
    }
    // A dependency's outputs are inputs (through groups, whose members' outputs count).
    if (!n.group && n.target.deps?.length) {
      const listed = new Set(n.inputSpecs);
      const visit = (name: string, trail: Set<string>) => {
        const dn = byName.get(name)!;
        if (trail.has(name)) return; // a cycle: reported below
        trail.add(name);
        if (dn.group) for (const g of dn.target.deps ?? []) if (byName.has(g)) visit(g, trail);
        for (const o of dn.outputs) {
          if (listed.has(o)) continue;
          listed.add(o);
          n.literalInputs.push({ path: o, owner: dn.id });
        }
      };
      for (const d of n.target.deps) visit(d, new Set());
    }
    for (const spec of n.inputSpecs) {
      if (spec.startsWith('!')) {
        n.excludes.push(spec.slice(1));
        continue;
      }
      if (isGlob(spec)) {
        n.globInputs.push(spec);
        const match = picomatch(spec, { dot: true });
        const inside = folderMatcher(spec);
        let any = false;
        for (const o of sortedOutputs) {
          // An output folder (no extension) that the glob reaches into may fill with matches once built.
          const folder = match(o) ? 'no' : inside(o) ? isFolder(o) : 'no';
          if (folder === 'maybe') {
            soft.push([n, outputOwner.get(o)!]);
            any = true;
          } else if (match(o) || folder === 'yes') {
            const owner = outputOwner.get(o)!;
            if (owner !== n.id) addEdge(n, owner);
            any = true;
          }
        }
        for (const f of globMatches.get(spec)!) {
          any = true;
          const owner = ownerAbove(outputOwner, f);
          if (owner !== undefined) addEdge(n, owner);
        }
        if (!any) {
          err('glob-empty', `The input glob '${spec}' of target '${n.name}' matches no file on disk and no declared output. Fix the pattern, or declare the target that produces those files.`, n.name);
        }
        continue;
      }
      const owner = ownerAbove(outputOwner, spec);
      n.literalInputs.push({ path: spec, owner });
      if (owner !== undefined) {
        addEdge(n, owner);
        continue;
      }
      // A folder input that contains declared outputs depends on their producers.
      // A missing input that nothing produces blocks only this target (and what needs it):
      // the rest of the workspace still lists, reports and builds, as in Ninja.
      for (const u of ownersBelow(sortedOutputs, outputOwner, spec)) addEdge(n, u);
    }
    const self = n.deps.indexOf(n.id);
    if (self >= 0) err('cycle', `Target '${n.name}' depends on itself (an input is one of its own outputs). Remove that input.`, n.name, `${n.name} → ${n.name}`);
  }
  for (const [n, owner] of soft) {
    if (owner !== n.id && !n.deps.includes(owner) && !dependsOn(nodes, owner, n.id)) n.deps.push(owner);
  }
  for (const n of nodes) {
    n.deps.sort((a, b) => a - b);
    for (const d of n.deps) nodes[d]!.dependents.push(n.id);
  }
  const order = topoOrder(nodes);
  if (order.length < nodes.length) {
    const cycle = findCycle(nodes, new Set(order));
    err('cycle', `The targets form a cycle: ${cycle.join(' → ')}. Break it by removing one of these dependencies.`, cycle[0]!, cycle.join(' → '));
  }
  return { root, nodes, byName, outputOwner, order, globMatches, globListings };
}

/** Whether `from` depends on `target`, directly or transitively. */
function dependsOn(nodes: GraphNode[], from: number, target: number): boolean {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...nodes[id]!.deps);
  }
  return false;
}

/**
 * Whether a glob can match files strictly inside folder `dir`: its leading segments must
 * match the folder's segments one by one (a `**` matches whatever remains).
 */
function folderMatcher(glob: string): (dir: string) => boolean {
  const segs = glob.split('/');
  const matchers = segs.map((g) => (g === '**' ? undefined : picomatch(g, { dot: true })));
  return (dir) => {
    const parts = dir.split('/');
    for (let i = 0; i < parts.length; i++) {
      if (i >= segs.length - 1) return false; // the glob's last segment names files, not folders
      const m = matchers[i];
      if (m === undefined) return true;
      if (!m(parts[i]!)) return false;
    }
    return true;
  };
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** The node owning `p` itself or a folder above it. */
export function ownerAbove(outputOwner: Map<string, number>, p: string): number | undefined {
  for (let cur = p; cur !== ''; cur = parentOf(cur)) {
    const o = outputOwner.get(cur);
    if (o !== undefined) return o;
  }
  return undefined;
}

function ownersBelow(sortedOutputs: string[], outputOwner: Map<string, number>, dir: string): number[] {
  const prefix = dir + '/';
  let lo = 0;
  let hi = sortedOutputs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortedOutputs[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  for (let i = lo; i < sortedOutputs.length && sortedOutputs[i]!.startsWith(prefix); i++) out.push(outputOwner.get(sortedOutputs[i]!)!);
  return out;
}


function topoOrder(nodes: GraphNode[]): number[] {
  const indeg = nodes.map((n) => n.deps.length);
  const queue: number[] = [];
  for (const n of nodes) if (indeg[n.id] === 0) queue.push(n.id);
  const order: number[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(id);
    for (const d of nodes[id]!.dependents) if (--indeg[d]! === 0) queue.push(d);
  }
  return order;
}

function findCycle(nodes: GraphNode[], done: Set<number>): string[] {
  const state = new Map<number, 1 | 2>();
  const stack: number[] = [];
  const dfs = (id: number): number[] | undefined => {
    state.set(id, 1);
    stack.push(id);
    for (const d of nodes[id]!.deps) {
      if (done.has(d)) continue;
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = dfs(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const n of nodes) {
    if (done.has(n.id) || state.has(n.id)) continue;
    const c = dfs(n.id);
    // deps point upstream; print in build order (dependency first).
    if (c) return c.reverse().map((i) => nodes[i]!.name);
  }
  return [];
}

/** The subgraph needed to build `roots`: the roots and everything they depend on. */
export function closure(graph: Graph, roots: Iterable<number>): Set<number> {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const d of graph.nodes[id]!.deps) stack.push(d);
  }
  return seen;
}
