// `sbuild report`: gathers the state (dry run, lock, history, last build, metrics, git),
// lays the graph out, and writes the one self-contained HTML file atomically.
import path from 'node:path';
import type { Workspace } from '../engine/workspace.js';
import { History } from '../engine/history.js';
import { readTimeline, type TimelineEntry } from '../engine/timeline.js';
import { writeFileAtomic } from '../util/fs.js';
import { clientScript } from './assets.js';
import { criticalPath } from './critical.js';
import { diffSection } from './diff.js';
import { ganttSvg } from './gantt.js';
import { STATE_ORDER, type State } from './group.js';
import { assignLanes } from './lanes.js';
import { layoutGraph } from './layout.js';
import { targetInfos } from './model.js';
import { pageHtml } from './page.js';
import { readResults } from './results.js';
import { runsSection } from './runs.js';
import { targetStates } from './state.js';
import { graphSvg } from './svg.js';
import { topology } from './topology.js';
import type { ReportData } from './types.js';

/** Above this many targets the graph opens with every group collapsed. */
export const COLLAPSE_ABOVE = 150;

export interface ReportResult {
  file: string;
  bytes: number;
  targets: number;
  counts: Record<State, number>;
  groups: number;
  collapsed: boolean;
  ms: number;
}

export async function writeReport(ws: Workspace, outDir: string, opts: { gpus?: string; now?: Date; across?: string } = {}): Promise<ReportResult> {
  const t0 = performance.now();
  const script = clientScript(); // bundled while the rest is gathered
  // Awaited at the end: a failure meanwhile must not end the process as an unhandled rejection.
  script.catch(() => undefined);
  const timeline = readTimeline(ws.root);
  const states = targetStates(ws, timeline);
  const topo = topology(ws.graph);
  const stateOf = (name: string): State => states.get(name)?.state ?? 'missing';
  const collapse = topo.names.length > COLLAPSE_ABOVE;
  const { layout, groupOfTarget } = await layoutGraph(topo, stateOf, !collapse);
  const expanded = collapse ? [] : Object.keys(layout.groups);

  const lastBuild = new Map<string, { entry: TimelineEntry; lane: string }>();
  let timelineSvg: string | undefined;
  let timelineData: ReportData['timeline'] = null;
  if (timeline?.entries.length) {
    const lanes = assignLanes(timeline.entries);
    timeline.entries.forEach((e, i) => lastBuild.set(e.name, { entry: e, lane: lanes.names[lanes.of[i]!]! }));
    const critical = criticalPath(timeline.entries, topo);
    timelineSvg = ganttSvg(timeline, lanes, new Set(critical));
    timelineData = { startedAt: timeline.startedAt, ms: timeline.ms, lanes: lanes.names, critical };
  }
  const targets = targetInfos({ ws, topo, states, groupOfTarget, durations: new History(ws.root).load().durations, lastBuild });
  const counts = Object.fromEntries(STATE_ORDER.map((s) => [s, 0])) as Record<State, number>;
  for (const name of topo.names) counts[stateOf(name)]++;
  const { table, data: results } = readResults(ws.root, ws.graph);
  const diff = await diffSection(ws.root, ws.graph);
  const runs = await runsSection(ws, opts.across);
  const data: ReportData = {
    format: 1,
    title: path.basename(ws.root),
    generatedAt: (opts.now ?? new Date()).toISOString(),
    counts,
    collapseAbove: COLLAPSE_ABOVE,
    targets,
    graph: layout,
    expanded,
    results,
    runs,
    timeline: timelineData,
    diff: diff.summary,
  };
  const html = pageHtml({
    data,
    graphSvg: graphSvg(layout, new Set(expanded), stateOf),
    table,
    timelineSvg,
    diffHtml: diff.html,
    script: await script,
  });
  const file = path.join(outDir, 'index.html');
  writeFileAtomic(file, html);
  return { file, bytes: Buffer.byteLength(html), targets: topo.names.length, counts, groups: Object.keys(layout.groups).length, collapsed: collapse, ms: performance.now() - t0 };
}
