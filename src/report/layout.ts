// The graph's layout, all of it computed here so the page lays out nothing: the overview
// (experiment groups as one box each, other targets on their own) and, once per distinct
// group structure, the group's members inside its box. A group drawn expanded when the page
// opens is laid out at its expanded size; one that starts collapsed at its collapsed size,
// and the page makes room for it when it is expanded (compose.ts).
import { dotLayout } from './dot.js';
import { boxSize, groupSubline, groupWidth, GROUP_H, HEADER, NODE_H, nodeWidth, PAD } from './geometry.js';
import { groupOf, memberLabel, type State } from './group.js';
import type { Topology } from './topology.js';
import type { GraphLayout, GroupLayout, Shape, Unit } from './types.js';

export interface LaidOut {
  layout: GraphLayout;
  /** Per target, its group ('' when drawn on its own). */
  groupOfTarget: Map<string, string>;
}

export async function layoutGraph(topo: Topology, stateOf: (name: string) => State, expandAll: boolean): Promise<LaidOut> {
  const members = new Map<string, number[]>();
  topo.names.forEach((name, i) => {
    const g = groupOf(name);
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const groupOfTarget = new Map<string, string>();
  const unitOf: number[] = new Array(topo.names.length);
  const units: Unit[] = [];
  const groupUnits: Array<{ unit: number; name: string; members: number[] }> = [];
  // Units in order of their first target: the layout's input order follows the build order.
  for (let i = 0; i < topo.names.length; i++) {
    if (unitOf[i] !== undefined) continue;
    const name = topo.names[i]!;
    const g = groupOf(name);
    const list = members.get(g)!;
    if (list.length === 1) {
      unitOf[i] = units.length;
      groupOfTarget.set(name, '');
      units.push({ kind: 'target', name, x: 0, y: 0, w: nodeWidth(name), h: NODE_H, col: 0 });
      continue;
    }
    for (const m of list) {
      unitOf[m] = units.length;
      groupOfTarget.set(topo.names[m]!, g);
    }
    groupUnits.push({ unit: units.length, name: g, members: list });
    units.push({ kind: 'group', name: g, x: 0, y: 0, w: 0, h: 0, col: 0 });
  }

  // Each group's inside, laid out once per structure (member label widths and edges).
  const shapes: Shape[] = [];
  const shapeSize: Array<[number, number]> = [];
  const shapeByKey = new Map<string, number>();
  const groups: Record<string, GroupLayout> = {};
  for (const g of groupUnits) {
    const local = new Map(g.members.map((m, k) => [m, k]));
    const widths = g.members.map((m) => nodeWidth(memberLabel(topo.names[m]!, g.name)));
    const inner: Array<[number, number]> = [];
    g.members.forEach((m, k) => {
      for (const d of topo.deps[m]!) {
        const from = local.get(d);
        if (from !== undefined) inner.push([from, k]);
      }
    });
    const key = `${widths.join(',')}|${inner.map((e) => e.join('>')).join(',')}`;
    let shape = shapeByKey.get(key);
    if (shape === undefined) {
      const r = await dotLayout(widths.map((w) => [w, NODE_H]), inner);
      const ox = PAD;
      const oy = HEADER + PAD;
      shape = shapes.length;
      shapeByKey.set(key, shape);
      shapes.push({
        nodes: r.centres.map(([x, y], k) => [Math.round(ox + x - widths[k]! / 2), Math.round(oy + y - NODE_H / 2), widths[k]!, NODE_H]),
        edges: inner.map(([a, b], k) => [a, b, shift(r.splines[k]!, ox, oy)]),
      });
      shapeSize.push([r.width, r.height]);
    }
    const [iw, ih] = shapeSize[shape]!;
    const counts: Partial<Record<State, number>> = {};
    for (const m of g.members) {
      const s = stateOf(topo.names[m]!);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    const compact: [number, number] = [groupWidth(g.name, groupSubline(counts, g.members.length)), GROUP_H];
    const full = boxSize(iw, ih, g.name);
    groups[g.name] = { members: g.members.map((m) => topo.names[m]!), compact, full, shape };
    const u = units[g.unit]!;
    [u.w, u.h] = expandAll ? full : compact;
  }

  // The overview: one edge per pair of units that any target edge connects.
  const edges: Array<[number, number]> = [];
  const seen = new Set<number>();
  topo.deps.forEach((ds, t) => {
    for (const d of ds) {
      const a = unitOf[d]!;
      const b = unitOf[t]!;
      if (a === b) continue;
      const k = a * units.length + b;
      if (seen.has(k)) continue;
      seen.add(k);
      edges.push([a, b]);
    }
  });
  const r = await dotLayout(units.map((u) => [u.w, u.h]), edges);
  const columns = [...new Set(r.centres.map(([x]) => x))].sort((a, b) => a - b);
  const colOf = new Map(columns.map((x, i) => [x, i]));
  units.forEach((u, i) => {
    [u.x, u.y] = r.centres[i]!;
    u.col = colOf.get(u.x)!;
  });
  return {
    layout: { width: r.width, height: r.height, columns, units, edges: edges.map(([a, b], i) => [a, b, r.splines[i]!]), groups, shapes },
    groupOfTarget,
  };
}

function shift(points: number[], dx: number, dy: number): number[] {
  return points.map((v, i) => Math.round((v + (i % 2 === 0 ? dx : dy)) * 10) / 10);
}
