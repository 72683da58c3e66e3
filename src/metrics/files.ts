// Which files hold metrics: what a target lists in `metrics`, plus every declared output
// named `metrics.json` or `*_metrics.json`. Read by `sbuild metrics diff` and the report.
import path from 'node:path';
import type { Graph } from '../graph/graph.js';
import { normalizeRel } from '../util/fs.js';

/** True for a file name that counts as metrics without being listed: `metrics.json`, `*_metrics.json`. */
export function isMetricsName(file: string): boolean {
  const base = path.posix.basename(file);
  return base === 'metrics.json' || base.endsWith('_metrics.json');
}

/** Every metrics output the graph declares, workspace-relative, sorted by path, each once. */
export function metricsFiles(graph: Graph): Array<{ path: string; target: string }> {
  const found = new Map<string, string>();
  for (const n of graph.nodes) {
    for (const m of n.target.metrics ?? []) {
      const rel = normalizeRel(graph.root, m) ?? m;
      if (!found.has(rel)) found.set(rel, n.name);
    }
    for (const o of n.outputs) if (isMetricsName(o) && !found.has(o)) found.set(o, n.name);
  }
  return [...found].map(([p, target]) => ({ path: p, target })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The experiment a metrics file belongs to, for ordering: the folder under `work_dirs/` or
 * `VR/` (`artifacts/work_dirs/cfar_ca/full/val_metrics.json` → `cfar_ca`), else the path.
 */
export function experimentOf(file: string): string {
  const m = /(?:^|\/)(?:work_dirs|VR)\/([^/]+)\//.exec(file);
  return m ? m[1]! : file;
}
