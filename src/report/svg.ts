// The graph's SVG markup for one placement (compose.ts): written into the page by the
// generator and rewritten by the page's script when a group is expanded or collapsed.
// Every visible node is a `g.node` with a `state-*` class: a target carries `data-target`,
// a collapsed group `group`, `data-group` and `data-count`.
import { compose } from './compose.js';
import { esc } from './escape.js';
import { groupSubline, NODE_H } from './geometry.js';
import { memberLabel, worstState, type State } from './group.js';
import type { GraphLayout } from './types.js';

export function graphSvg(layout: GraphLayout, expanded: ReadonlySet<string>, stateOf: (name: string) => State, scale = 1): string {
  const p = compose(layout, expanded);
  const out: string[] = [];
  out.push(
    `<svg viewBox="0 0 ${p.width} ${p.height}" width="${Math.ceil(p.width * scale)}" height="${Math.ceil(p.height * scale)}" data-width="${p.width}" data-height="${p.height}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker></defs>',
    '<g class="edges">',
  );
  for (const d of p.paths) if (d) out.push(`<path d="${d}"/>`);
  out.push('</g><g class="units">');
  layout.units.forEach((u, i) => {
    const at = p.units[i]!;
    if (u.kind === 'target') {
      out.push(targetNode(u.name, u.name, stateOf(u.name), at.left, at.top, at.w));
      return;
    }
    const g = layout.groups[u.name]!;
    const states = g.members.map(stateOf);
    const worst = worstState(states);
    if (!at.expanded) {
      const counts: Partial<Record<State, number>> = {};
      for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
      out.push(
        `<g class="node group state-${worst}" data-group="${esc(u.name)}" data-count="${g.members.length}" transform="translate(${at.left},${at.top})">`,
        `<rect class="stack" x="4" y="4" width="${at.w}" height="${at.h}" rx="5"/><rect width="${at.w}" height="${at.h}" rx="5"/>`,
        `<text x="9" y="17">${esc(u.name)}</text><text class="sub" x="9" y="33">${esc(groupSubline(counts, g.members.length))}</text></g>`,
      );
      return;
    }
    const shape = layout.shapes[g.shape]!;
    out.push(
      `<g class="cluster state-${worst}" data-cluster="${esc(u.name)}" transform="translate(${at.left},${at.top})">`,
      `<rect class="frame" width="${at.w}" height="${at.h}" rx="7"/>`,
      `<text class="cluster-label" data-collapse="${esc(u.name)}" x="9" y="16">▾ ${esc(u.name)}</text><g class="edges">`,
    );
    for (const [, , pts] of shape.edges) out.push(`<path d="${splinePath(pts)}"/>`);
    out.push('</g>');
    g.members.forEach((m, k) => {
      const [x, y, w] = shape.nodes[k]!;
      out.push(targetNode(m, memberLabel(m, u.name), stateOf(m), x, y, w));
    });
    out.push('</g>');
  });
  out.push('</g></svg>');
  return out.join('');
}

function targetNode(name: string, label: string, state: State, x: number, y: number, w: number): string {
  return `<g class="node state-${state}" data-target="${esc(name)}" transform="translate(${x},${y})"><rect width="${w}" height="${NODE_H}" rx="4"/><text x="9" y="17">${esc(label)}</text></g>`;
}

function splinePath(pts: number[]): string {
  if (pts.length < 8) return '';
  let d = `M${pts[0]},${pts[1]}C`;
  for (let k = 2; k < pts.length; k += 2) d += `${pts[k]},${pts[k + 1]}${k + 2 < pts.length ? ' ' : ''}`;
  return d;
}
