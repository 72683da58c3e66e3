// Sizes of what the graph draws, shared by the layout (Node) and the page's script: labels
// are monospace, so a width follows from the number of characters.
import { STATE_ORDER, type State } from './group.js';

export const FONT_PX = 12;
/** Width of one monospace character at FONT_PX (0.6 em, with a little slack). */
export const CHAR_W = 7.4;
export const NODE_H = 26;
export const GROUP_H = 42;
/** Inside an expanded group's box: padding around the members and the header line. */
export const PAD = 10;
export const HEADER = 22;
/** Graphviz works in points (1/72 inch); the page draws one point as one pixel. */
export const PT_PER_INCH = 72;

export function textWidth(s: string): number {
  return s.length * CHAR_W;
}

export function nodeWidth(label: string): number {
  return Math.max(56, Math.ceil(textWidth(label) + 18));
}

/** The collapsed group's second line: how many targets and how many are not fresh. */
export function groupSubline(counts: Partial<Record<State, number>>, total: number): string {
  const parts = [`${total} targets`];
  for (const s of STATE_ORDER) if (s !== 'fresh' && counts[s]) parts.push(`${counts[s]} ${s}`);
  return parts.join(' · ');
}

export function groupWidth(name: string, subline: string): number {
  return Math.max(nodeWidth(name), Math.ceil(textWidth(subline) * 0.85 + 22));
}

/** An expanded group's box around its members' bounding box. */
export function boxSize(innerW: number, innerH: number, name: string): [number, number] {
  return [Math.ceil(Math.max(innerW, textWidth(name) + 24) + 2 * PAD), Math.ceil(innerH + HEADER + 2 * PAD)];
}
