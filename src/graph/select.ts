// Command-line selectors → node ids: exact names, globs over names ('exp/*/full/**'),
// and tags ('tag:smoke'). Unknown names get "did you mean".
import picomatch from 'picomatch';
import { SbuildError, didYouMean } from '../errors.js';
import { isGlob } from '../util/fs.js';
import type { Graph } from './graph.js';

export function select(graph: Graph, selectors: string[]): number[] {
  const out = new Set<number>();
  for (const sel of selectors) {
    if (sel.startsWith('tag:')) {
      const tag = sel.slice(4);
      const hits = graph.nodes.filter((n) => n.target.tags?.includes(tag));
      if (hits.length === 0) {
        const tags = new Set(graph.nodes.flatMap((n) => n.target.tags ?? []));
        throw new SbuildError('unknown-target', `No target has the tag '${tag}'.${didYouMean(tag, tags)} Known tags: ${[...tags].sort().join(', ') || '(none)'}.`);
      }
      for (const n of hits) out.add(n.id);
      continue;
    }
    if (isGlob(sel)) {
      const m = picomatch(sel);
      const hits = graph.nodes.filter((n) => m(n.name));
      if (hits.length === 0) {
        throw new SbuildError('unknown-target', `The pattern '${sel}' matches no target name. Run \`sbuild list\` to see the names (patterns use '*' within one '/'-segment and '**' across them).`);
      }
      for (const n of hits) out.add(n.id);
      continue;
    }
    const n = graph.byName.get(sel);
    if (!n) {
      throw new SbuildError('unknown-target', `There is no target named '${sel}'.${didYouMean(sel, graph.byName.keys())} Run \`sbuild list\` to see them all.`);
    }
    out.add(n.id);
  }
  return [...out].sort((a, b) => a - b);
}
