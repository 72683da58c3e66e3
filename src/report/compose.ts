// Where everything of the graph goes for a given set of expanded groups, from the layout made
// at generation time (no layout engine in the page). A group laid out smaller than it is now
// drawn makes room by inserting space: its column widens for every unit right of the column's
// centre line, and every point below its centre moves down by its extra height. Positions
// only ever spread apart, so nothing that did not overlap comes to overlap; splines move with
// the points they pass through, and their ends are re-attached to the boxes they join.
import type { GraphLayout } from './types.js';

export interface PlacedUnit {
  left: number;
  top: number;
  w: number;
  h: number;
  /** A group drawn as its members. */
  expanded: boolean;
}

export interface Placement {
  width: number;
  height: number;
  /** Per unit of the layout, in its order. */
  units: PlacedUnit[];
  /** Per edge of the layout: an SVG path. */
  paths: string[];
}

/** Index of the first value ≥ x in an ascending array. */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function compose(layout: GraphLayout, expanded: ReadonlySet<string>): Placement {
  const { units, columns } = layout;
  const size = units.map((u): [number, number] => {
    if (u.kind !== 'group') return [u.w, u.h];
    const g = layout.groups[u.name]!;
    return expanded.has(u.name) ? g.full : g.compact;
  });
  const extraW: number[] = columns.map(() => 0);
  const rows: Array<[number, number]> = [];
  units.forEach((u, i) => {
    const [w, h] = size[i]!;
    if (w > u.w) extraW[u.col] = Math.max(extraW[u.col]!, w - u.w);
    if (h > u.h) rows.push([u.y, h - u.h]);
  });
  const colBefore = [0];
  for (const e of extraW) colBefore.push(colBefore[colBefore.length - 1]! + e);
  rows.sort((a, b) => a[0] - b[0]);
  const rowYs = rows.map((r) => r[0]);
  const rowBefore = [0];
  for (const r of rows) rowBefore.push(rowBefore[rowBefore.length - 1]! + r[1]);
  const X = (x: number) => x + colBefore[lowerBound(columns, x)]!;
  const Y = (y: number) => y + rowBefore[lowerBound(rowYs, y)]!;

  let width = layout.width + colBefore[colBefore.length - 1]!;
  let height = layout.height + rowBefore[rowBefore.length - 1]!;
  const placed = units.map((u, i): PlacedUnit => {
    const [w, h] = size[i]!;
    const left = w > u.w ? X(u.x) - u.w / 2 : X(u.x) - w / 2;
    const top = h > u.h ? Y(u.y - u.h / 2) : Y(u.y) - h / 2;
    width = Math.max(width, left + w + 4);
    height = Math.max(height, top + h + 4);
    return { left: r1(left), top: r1(top), w, h, expanded: u.kind === 'group' && expanded.has(u.name) };
  });

  const paths = layout.edges.map(([a, b, pts]) => {
    if (pts.length < 8) return '';
    const p = pts.map((v, k) => (k % 2 === 0 ? X(v) : Y(v)));
    const s = placed[a]!;
    const t = placed[b]!;
    const n = p.length;
    // An end keeps its distance from the top of its box as laid out (a grown box grows downwards).
    const from = units[a]!;
    const to = units[b]!;
    attach(p, 0, 2, s.left + s.w, clamp(s.top + pts[1]! - (from.y - from.h / 2), s.top + 3, s.top + s.h - 3));
    attach(p, n - 2, n - 4, t.left - 1, clamp(t.top + pts[n - 1]! - (to.y - to.h / 2), t.top + 3, t.top + t.h - 3));
    let d = `M${r1(p[0]!)},${r1(p[1]!)}C`;
    for (let k = 2; k < n; k += 2) d += `${r1(p[k]!)},${r1(p[k + 1]!)}${k + 2 < n ? ' ' : ''}`;
    return d;
  });
  return { width: Math.ceil(width), height: Math.ceil(height), units: placed, paths };
}

/** Moves the end point at index `at` to (x, y) and its neighbouring control point with it. */
function attach(p: number[], at: number, ctrl: number, x: number, y: number): void {
  const dx = x - p[at]!;
  const dy = y - p[at + 1]!;
  p[at] = x;
  p[at + 1] = y;
  p[ctrl] = p[ctrl]! + dx;
  p[ctrl + 1] = p[ctrl + 1]! + dy;
}

function clamp(v: number, lo: number, hi: number): number {
  return hi < lo ? (lo + hi) / 2 : Math.min(hi, Math.max(lo, v));
}

function r1(x: number): number {
  return Math.round(x * 10) / 10;
}
