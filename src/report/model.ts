// What the details panel shows per target: inputs (with the target producing each), outputs
// with size and hash from sbuild.lock, the recorded fingerprint and command, the last
// duration (.sbuild/history.json), and where it ran in the last build (.sbuild/last-build.json).
import type { Workspace } from '../engine/workspace.js';
import type { TimelineEntry } from '../engine/timeline.js';
import { ownerAbove } from '../graph/graph.js';
import { short } from '../hashing/sha256.js';
import { LINEAGE_PREFIX } from '../engine/reasons.js';
import type { TargetState } from './state.js';
import type { Topology } from './topology.js';
import type { TargetInfo } from './types.js';

export interface ModelInput {
  ws: Workspace;
  topo: Topology;
  states: Map<string, TargetState>;
  groupOfTarget: Map<string, string>;
  durations: Record<string, number>;
  /** Last build: each target's entry and the lane it is drawn in. */
  lastBuild: Map<string, { entry: TimelineEntry; lane: string }>;
}

export function targetInfos(m: ModelInput): Record<string, TargetInfo> {
  const { ws, topo } = m;
  const graph = ws.graph;
  const producer = (p: string, self: string): string => {
    if (p.startsWith(LINEAGE_PREFIX)) return p.slice(LINEAGE_PREFIX.length);
    const id = ownerAbove(graph.outputOwner, p.replace(/\/$/, ''));
    const name = id === undefined ? '' : graph.nodes[id]!.name;
    return name === self ? '' : name;
  };
  const out: Record<string, TargetInfo> = {};
  for (const name of topo.names) {
    const node = graph.byName.get(name)!;
    const t = node.target;
    const entry = ws.lock.entries.get(name);
    const st = m.states.get(name) ?? { state: 'missing' as const, reasons: [], restorable: false };
    const inputs: TargetInfo['inputs'] = entry
      ? Object.keys(entry.inputs).map((p) => [p, short(entry.inputs[p]), producer(p, name)])
      : [
          ...node.literalInputs.map((l): [string, string, string] => [l.path, '', l.owner === undefined ? '' : producer(l.path, name)]),
          ...node.globInputs.map((g): [string, string, string] => [g, '', '']),
        ];
    const outputs: TargetInfo['outputs'] = node.outputs.map((o) => {
      const rec = entry?.outputs[o];
      return [o, rec?.size ?? null, rec?.hash ?? '', rec?.files ?? null];
    });
    const info: TargetInfo = { state: st.state, group: m.groupOfTarget.get(name) ?? '', reasons: st.reasons, restorable: st.restorable, inputs, outputs };
    if (t.description) info.description = t.description;
    if (t.tags?.length) info.tags = t.tags;
    const action = entry?.action ?? declaredAction(node.command ?? t.run, t.rule?.id ?? name);
    if (action) info.action = action;
    if (entry) info.fingerprint = entry.fingerprint;
    const d = m.durations[name];
    if (typeof d === 'number') info.duration = d;
    const lb = m.lastBuild.get(name);
    if (lb) info.lastBuild = { executor: lb.entry.executor, gpus: lb.entry.gpus, outcome: lb.entry.outcome, start: lb.entry.start, end: lb.entry.end, lane: lb.lane };
    if (t.resources) {
      const r: Record<string, number> = {};
      for (const [k, v] of Object.entries(t.resources)) if (typeof v === 'number') r[k] = v;
      if (Object.keys(r).length) info.resources = r;
    }
    if (t.executor) info.executor = t.executor;
    out[name] = info;
  }
  return out;
}

function declaredAction(run: unknown, rule: string): string {
  if (Array.isArray(run)) return run.join(' ');
  if (typeof run === 'string') return run;
  if (typeof run === 'function') return `in-process: ${rule}`;
  return '';
}
