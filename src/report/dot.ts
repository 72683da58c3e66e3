// One Graphviz `dot` layout (Graphviz compiled to WebAssembly, @viz-js/viz), run in Node:
// boxes of given sizes and the edges between them, left to right. Returns box centres and
// each edge's spline, in pixels with y pointing down.
import type { Viz } from '@viz-js/viz';
import { PT_PER_INCH } from './geometry.js';

export interface DotResult {
  width: number;
  height: number;
  /** Centre of each box. */
  centres: Array<[number, number]>;
  /** Per edge (input order): spline points x, y, x, y, … (cubic Bézier: 1 + 3k points). */
  splines: number[][];
}

let viz: Promise<Viz> | undefined;

function instance(): Promise<Viz> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  return viz;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export async function dotLayout(sizes: Array<[number, number]>, edges: Array<[number, number]>): Promise<DotResult> {
  const v = await instance();
  const big = sizes.length > 300;
  const lines = [
    'digraph G {',
    // Big overviews trade a little crossing reduction for time (mclimit scales its iterations).
    `graph [rankdir=LR, nodesep=0.16, ranksep=0.5${big ? ', mclimit=0.2' : ''}];`,
    'node [shape=box, fixedsize=true, label=""];',
    'edge [arrowsize=0.7];',
  ];
  sizes.forEach(([w, h], i) => lines.push(`n${i} [width=${(w / PT_PER_INCH).toFixed(4)}, height=${(h / PT_PER_INCH).toFixed(4)}];`));
  edges.forEach(([a, b], i) => lines.push(`n${a} -> n${b} [id=e${i}];`));
  lines.push('}');
  const r = v.render(lines.join('\n'), { format: 'json0', yInvert: true });
  if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ')}`);
  const out = JSON.parse(r.output) as {
    bb: string;
    objects?: Array<{ name: string; pos?: string }>;
    edges?: Array<{ id?: string; pos?: string }>;
  };
  const bb = out.bb.split(',').map(Number);
  const centres: Array<[number, number]> = sizes.map(() => [0, 0]);
  for (const o of out.objects ?? []) {
    const i = Number(o.name.slice(1));
    const [x, y] = (o.pos ?? '0,0').split(',').map(Number);
    centres[i] = [r1(x!), r1(y!)];
  }
  const splines: number[][] = edges.map(() => []);
  for (const e of out.edges ?? []) {
    if (!e.id || !e.pos) continue;
    const pts: number[] = [];
    let tip: number[] | undefined;
    for (const tok of e.pos.split(' ')) {
      if (tok.startsWith('s,')) continue;
      const xy = tok.replace(/^e,/, '').split(',').map(Number);
      if (tok.startsWith('e,')) tip = xy;
      else pts.push(r1(xy[0]!), r1(xy[1]!));
    }
    // The spline stops where Graphviz would start the arrowhead; end it at the arrow's tip.
    if (tip && pts.length >= 2) [pts[pts.length - 2], pts[pts.length - 1]] = [r1(tip[0]!), r1(tip[1]!)];
    splines[Number(e.id.slice(1))] = pts;
  }
  return { width: Math.ceil(Math.max(bb[0]!, bb[2]!)), height: Math.ceil(Math.max(bb[1]!, bb[3]!)), centres, splines };
}
