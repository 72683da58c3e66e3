// The plan: what each selected target needs, judged from the graph, sbuild.lock, the files as
// they are (through the stat cache) and the local cache, without running or writing anything.
// `--dry-run`, `status`, `explain` and the report print it; a build starts from it, settling
// at once every target that is fresh with nothing upstream to do, and judging the rest again
// as their dependencies finish (an upstream that reran may still produce the same bytes).
import type { Graph } from '../graph/graph.js';
import { ownerAbove } from '../graph/graph.js';
import type { Sha256 } from '../hashing/sha256.js';
import { holdsEntry, type OutputRecord } from './lockfile.js';
import { category, type Reason } from './reasons.js';
import type { Current } from './rebuilder.js';
import { peekLocal, recordsOf } from './restore.js';
import type { Selection } from './selection.js';
import type { Workspace } from './workspace.js';

export type Need =
  /** Nothing to do. */
  | 'fresh'
  /** Fresh by its record, but its outputs are not on disk; produced only if a dependent needs them. */
  | 'absent'
  /** The local cache holds its outputs for the current fingerprint. */
  | 'restore'
  | 'run'
  /** It would run, but an input is missing that nothing produces. */
  | 'blocked';

export interface Step {
  id: number;
  name: string;
  need: Need;
  /** Why it is not fresh (empty when fresh or absent). */
  reasons: Reason[];
}

export interface Plan {
  selection: Selection;
  /** Every non-group target of the selection, by id. */
  steps: Map<number, Step>;
  /** The targets to restore, run or unblock, in the order they were judged (dependencies first). */
  toDo: Step[];
  /** Fresh targets (absent ones included), in the order judged. */
  fresh: Step[];
  /** Fresh targets with nothing to do anywhere upstream: a build takes them as they are. */
  settled: Set<number>;
  /** How many targets were judged, here or (below one that runs) by the build; the others were known clean. */
  judged: number;
}

const INPUT_KINDS = new Set(['input-changed', 'input-added', 'input-removed', 'input-missing']);

/**
 * `clean`: targets known fresh without judging them (dirty-set planning, engine/dirty.ts); each
 * is taken as its lock entry says, unless it has none. `forBuild`: the plan starts a build,
 * which judges again every target below one that runs, so the plan does not judge those (its
 * reason for them is only `upstream-will-run`; `status` and `explain` judge them in full).
 */
export function plan(ws: Workspace, sel: Selection, clean?: Set<number>, forBuild = false): Plan {
  const { graph, lock, rebuilder } = ws;
  const steps = new Map<number, Step>();
  const toDo: Step[] = [];
  const fresh = new Map<number, Step>();
  const settled = new Set<number>();
  /** Output records in effect: recorded, or what a restore would bring. */
  const outputs = new Map<number, Record<string, OutputRecord>>();
  /** Targets that would run (their outputs will change). */
  const changed = new Set<number>();
  const absent = new Map<number, Current>();
  /** Files inside folders a restore would bring back, by path → hash. */
  const overlay = new Map<string, Sha256>();

  /** Output records in effect; a clean target's are its entry's. */
  const outputsOf = (id: number) => outputs.get(id) ?? (clean?.has(id) ? lock.entries.get(graph.nodes[id]!.name)?.outputs : undefined);
  const cached = (id: number, cur: Current) => {
    const r = peekLocal(ws, graph.nodes[id]!, cur.fingerprint);
    return r ? recordsOf(r, overlay) : undefined;
  };
  const add = (id: number, need: Need, reasons: Reason[]) => {
    const step: Step = { id, name: graph.nodes[id]!.name, need, reasons };
    steps.set(id, step);
    if (need === 'fresh' || need === 'absent') fresh.set(id, step);
    else {
      fresh.delete(id);
      toDo.push(step);
    }
  };
  /** The absent upstreams a target that would run reads are produced too (restored or run). */
  const needAbsentInputs = (id: number) => {
    for (const u of absentInputs(graph, id, absent)) {
      const cur = absent.get(u);
      if (!cur) continue; // listed already, through another path
      absent.delete(u);
      const restore = cached(u, cur) !== undefined;
      if (!restore) needAbsentInputs(u);
      const reasons: Reason[] = [...graph.nodes[u]!.outputs.map((p) => ({ kind: 'output-missing' as const, path: p })), { kind: 'needed-by', dependent: graph.nodes[id]!.name }];
      add(u, restore ? 'restore' : 'run', reasons);
    }
  };

  let judged = 0;
  const judge = (id: number) => {
    const node = graph.nodes[id]!;
    if (node.group) {
      if (node.deps.every((d) => settled.has(d))) settled.add(id);
      return;
    }
    if (clean?.has(id) && holdsEntry(lock.entries, node.name)) {
      // Its entry is read only if a target judged here reads its outputs (outputsOf).
      if (node.deps.every((d) => settled.has(d))) settled.add(id);
      return add(id, 'fresh', []);
    }
    const entry = lock.entries.get(node.name);
    judged++;
    const upstreamChanged = node.deps.some((d) => changed.has(d));
    if (forBuild && upstreamChanged) {
      changed.add(id);
      return add(id, 'run', [{ kind: 'upstream-will-run', dep: graph.nodes[node.deps.find((d) => changed.has(d))!]!.name }]);
    }
    const cur = rebuilder.current(node, outputsOf, false, entry, overlay);
    const decision = rebuilder.decide(cur, entry, sel.forced.has(id));
    let reasons = decision.fresh ? [] : decision.reasons;
    // Input differences that lie in outputs of upstreams that will run or be restored are
    // theirs to settle: say so instead of blaming the files as they are now.
    const fromUpstream = (r: Reason) => INPUT_KINDS.has(r.kind) && changed.has(ownerAbove(graph.outputOwner, (r as { path: string }).path.replace(/\/$/, '')) ?? -1);
    if (upstreamChanged && (decision.fresh || reasons.every(fromUpstream))) {
      reasons = [{ kind: 'upstream-will-run', dep: graph.nodes[node.deps.find((d) => changed.has(d))!]!.name }];
    }
    if (entry) outputs.set(id, entry.outputs);
    const onlyAbsent = entry !== undefined && !sel.requested.has(id) && reasons.length > 0 && reasons.every((r) => r.kind === 'output-missing');
    if (onlyAbsent && cached(id, cur)) return add(id, 'restore', reasons);
    if (onlyAbsent) {
      absent.set(id, cur);
      return add(id, 'absent', []);
    }
    if (reasons.length === 0) {
      if (node.deps.every((d) => settled.has(d))) settled.add(id);
      return add(id, 'fresh', []);
    }
    // Its own inputs are known, so the cache can be asked: a restore gives known outputs.
    const restorable = !decision.fresh && !upstreamChanged && !sel.forced.has(id) ? cached(id, cur) : undefined;
    if (restorable) outputs.set(id, restorable);
    else {
      changed.add(id);
      needAbsentInputs(id);
    }
    add(id, restorable ? 'restore' : category(reasons) === 'blocked' ? 'blocked' : 'run', reasons);
  };

  // Dependencies first, in the order a build would reach them.
  const pending = new Map<number, number>();
  const ready: number[] = [];
  for (const id of graph.order) {
    if (!sel.selected.has(id)) continue;
    const n = graph.nodes[id]!.deps.length;
    pending.set(id, n);
    if (n === 0) ready.push(id);
  }
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    judge(id);
    for (const d of graph.nodes[id]!.dependents) {
      const left = pending.get(d);
      if (left === undefined) continue;
      pending.set(d, left - 1);
      if (left === 1) ready.push(d);
    }
  }
  return { selection: sel, steps, toDo, fresh: [...fresh.values()], settled, judged };
}

function absentInputs(graph: Graph, id: number, absent: Map<number, Current>): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const stack = [...graph.nodes[id]!.deps];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    const dn = graph.nodes[d]!;
    if (dn.group) stack.push(...dn.deps);
    else if (absent.has(d)) out.push(d);
  }
  return out;
}

/** The plan as the lists `status` and the dry run print. */
export function planSummary(p: Plan): { wouldRun: Array<{ name: string; reasons: Reason[]; restore: boolean }>; fresh: string[] } {
  return {
    wouldRun: p.toDo.map((s) => ({ name: s.name, reasons: s.reasons, restore: s.need === 'restore' })),
    fresh: p.fresh.map((s) => s.name),
  };
}
