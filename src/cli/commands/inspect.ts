// `sbuild list` and `sbuild graph`: read-only views of the graph.
import type { Workspace } from '../../engine/workspace.js';
import { closure } from '../../graph/graph.js';
import type { Options } from '../args.js';
import { roots } from '../../engine/selection.js';
import { shownCommand } from '../../executors/executor.js';

export function list(ws: Workspace, opts: Options, out: (s: string) => void): number {
  const ids = new Set(roots(ws, opts.targets, true));
  const nodes = ws.graph.nodes.filter((n) => ids.has(n.id));
  if (opts.json) {
    for (const n of nodes) {
      out(JSON.stringify({ name: n.name, group: n.group, tags: n.target.tags ?? [], description: n.target.description ?? '', deps: n.deps.map((d) => ws.graph.nodes[d]!.name), outputs: n.outputs, ...(opts.inputs ? { inputs: n.inputSpecs, params: n.target.params ?? {}, command: n.command !== undefined ? shownCommand(n.command) : null } : {}) }));
    }
    return 0;
  }
  const width = Math.min(60, Math.max(...nodes.map((n) => n.name.length), 4));
  for (const n of nodes) {
    const tags = n.target.tags?.length ? ` [${n.target.tags.join(', ')}]` : '';
    const desc = n.target.description ?? (n.group ? `group: ${n.deps.map((d) => ws.graph.nodes[d]!.name).join(', ')}` : '');
    out(`${n.name.padEnd(width)}  ${desc}${tags}`);
    if (opts.inputs && !n.group) {
      for (const i of n.inputSpecs) out(`    input  ${i}${external(i)}`);
      for (const [k, v] of Object.entries(n.target.params ?? {})) out(`    param  ${k} = ${clip(JSON.stringify(v))}`);
      // As it runs: params substituted.
      if (n.command !== undefined) out(`    command ${clip(shownCommand(n.command))}`);
      for (const o of n.outputs) out(`    output ${o}`);
    }
  }
  return 0;
}

/** A long param value on one line: its start and its size (`--json` has it whole). */
function clip(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters; --json shows it whole)`;
}

/** Marks an input outside the workspace (not portable to another machine). */
function external(spec: string): string {
  return spec.startsWith('/') ? '  (outside the workspace)' : '';
}

export function graph(ws: Workspace, opts: Options, out: (s: string) => void): number {
  const ids = opts.targets.length ? closure(ws.graph, roots(ws, opts.targets, true)) : new Set(ws.graph.nodes.map((n) => n.id));
  const nodes = ws.graph.order.filter((id) => ids.has(id)).map((id) => ws.graph.nodes[id]!);
  const edges = nodes.flatMap((n) => n.deps.filter((d) => ids.has(d)).map((d) => [ws.graph.nodes[d]!.name, n.name] as const));
  if (opts.format === 'json') {
    out(JSON.stringify({ nodes: nodes.map((n) => ({ name: n.name, group: n.group, tags: n.target.tags ?? [], inputs: n.inputSpecs, params: n.target.params ?? {}, outputs: n.outputs })), edges: edges.map(([from, to]) => ({ from, to })) }, null, 2));
  } else if (opts.format === 'mermaid') {
    const id = new Map(nodes.map((n, i) => [n.name, `n${i}`]));
    out('graph LR');
    for (const n of nodes) out(`  ${id.get(n.name)}${n.group ? '{{' : '["'}${n.name.replace(/"/g, '#quot;')}${n.group ? '}}' : '"]'}`);
    for (const [a, b] of edges) out(`  ${id.get(a)} --> ${id.get(b)}`);
  } else {
    out('digraph sbuild {');
    out('  rankdir=LR;');
    for (const n of nodes) out(`  ${JSON.stringify(n.name)}${n.group ? ' [shape=box, style=dashed]' : ''};`);
    for (const [a, b] of edges) out(`  ${JSON.stringify(a)} -> ${JSON.stringify(b)};`);
    out('}');
  }
  return 0;
}
