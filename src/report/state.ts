// Each target's state as `sbuild status` computes it (a dry run over the whole graph), plus
// `failed`: a target that failed in the last build (per its timeline) and is still not fresh.
import { plan, planSummary } from '../engine/plan.js';
import { selection } from '../engine/selection.js';
import type { Workspace } from '../engine/workspace.js';
import type { TimelineFile } from '../engine/timeline.js';
import { describeReason } from '../ui/reasons.js';
import { category } from '../engine/reasons.js';
import type { State } from './group.js';

export interface TargetState {
  state: State;
  /** Why it is not fresh, as `sbuild explain` words it (empty when fresh). */
  reasons: string[];
  /** The cache holds its outputs for the current fingerprint. */
  restorable: boolean;
}

export function targetStates(ws: Workspace, timeline: TimelineFile | undefined): Map<string, TargetState> {
  const all = ws.graph.nodes.map((n) => n.id);
  const r = planSummary(plan(ws, selection(ws.graph, all)));
  ws.hasher.save();
  const failedLast = new Set((timeline?.entries ?? []).filter((e) => e.outcome === 'failed').map((e) => e.name));
  const out = new Map<string, TargetState>();
  for (const w of r.wouldRun) {
    out.set(w.name, {
      state: failedLast.has(w.name) ? 'failed' : reportState(category(w.reasons)),
      reasons: w.reasons.map(describeReason),
      restorable: w.restore,
    });
  }
  for (const name of r.fresh) if (!out.has(name)) out.set(name, { state: 'fresh', reasons: [], restorable: false });
  // A dry run stops nowhere, but a target it could not judge (none today) reads as missing.
  for (const n of ws.graph.nodes) if (!n.group && !out.has(n.name)) out.set(n.name, { state: 'missing', reasons: ['not evaluated'], restorable: false });
  return out;
}

/** The report draws a blocked target (an input nothing produces is missing) as stale; its reason says which input. */
function reportState(c: 'stale' | 'missing' | 'blocked'): 'stale' | 'missing' {
  return c === 'blocked' ? 'stale' : c;
}
