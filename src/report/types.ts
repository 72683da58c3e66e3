// The report's data, as it sits in the page's `<script type="application/json" id="report-data">`.
// Shared by the generator (Node) and the page's script (browser): types only.
import type { State } from './group.js';

export type { State } from './group.js';

export interface ReportData {
  format: 1;
  /** The workspace's folder name. */
  title: string;
  /** ISO time the report was generated. */
  generatedAt: string;
  /** Targets per state (phony groups, which have no state, are not counted). */
  counts: Record<State, number>;
  /** Above this many targets the graph starts with every group collapsed. */
  collapseAbove: number;
  targets: Record<string, TargetInfo>;
  graph: GraphLayout;
  /** Groups drawn expanded when the page opens. */
  expanded: string[];
  results: ResultsData;
  /** Experiment runs across the last commits (`sbuild results --across`). */
  runs: RunsData;
  timeline: TimelineData | null;
  diff: DiffSummary;
}

export interface TargetInfo {
  state: State;
  /** The experiment group it is drawn in ('' when it is drawn on its own). */
  group: string;
  /** Why it is not fresh, as `sbuild explain` words it. */
  reasons: string[];
  /** Its outputs for the current fingerprint are in the cache. */
  restorable: boolean;
  description?: string;
  tags?: string[];
  /** The command (or in-process rule) recorded in sbuild.lock, else the declared one. */
  action?: string;
  /** Fingerprint recorded in sbuild.lock. */
  fingerprint?: string;
  /** [path, short content hash as recorded ('' when never recorded), producing target ('' for a source file)]. */
  inputs: Array<[string, string, string]>;
  /** [path, size in bytes (null when not recorded), content hash ('' when not recorded), files in a folder output (null for a file)]. */
  outputs: Array<[string, number | null, string, number | null]>;
  /** Duration of its last run in ms (.sbuild/history.json). */
  duration?: number;
  /** Where and how it ran in the last build (.sbuild/last-build.json). */
  lastBuild?: { executor: 'local' | 'slurm'; gpus: string[]; outcome: 'ran' | 'restored' | 'failed' | 'detached'; start: number; end: number; lane: string };
  /** Declared resources and executor. */
  resources?: Record<string, number>;
  executor?: 'local' | 'slurm';
}

/** A node of the overview layout: a target drawn on its own, or an experiment group. */
export interface Unit {
  kind: 'target' | 'group';
  name: string;
  /** Centre and size as laid out. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Column (layout rank) index into GraphLayout.columns. */
  col: number;
}

/** A group's members laid out on their own: positions relative to the group box's top-left. */
export interface Shape {
  /** Per member (in GroupLayout.members order): left, top, width, height. */
  nodes: Array<[number, number, number, number]>;
  /** Edges between members: from index, to index, spline points (x, y, x, y, …). */
  edges: Array<[number, number, number[]]>;
}

export interface GroupLayout {
  members: string[];
  /** Size of the collapsed node and of the expanded box. */
  compact: [number, number];
  full: [number, number];
  /** Index into GraphLayout.shapes (groups of the same structure share one). */
  shape: number;
}

export interface GraphLayout {
  width: number;
  height: number;
  /** Centre x of each column, ascending. */
  columns: number[];
  units: Unit[];
  /** Between units: from index, to index, spline points (x, y, x, y, …). */
  edges: Array<[number, number, number[]]>;
  groups: Record<string, GroupLayout>;
  shapes: Shape[];
}

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

export interface ChartData {
  labels: string[];
  series: ChartSeries[];
  /** Shown under the chart (e.g. "the 40 best of 1000"). */
  note?: string;
}

export interface ResultsData {
  /** Where the rows come from. */
  source: 'table' | 'metrics' | 'none';
  /** The file (table) or how many metrics files. */
  from: string;
  rows: number;
  ap: ChartData | null;
  perClass: ChartData | null;
}

export interface TimelineData {
  startedAt: number;
  ms: number;
  lanes: string[];
  /** Targets on the critical path, in order. */
  critical: string[];
}

export interface DiffSummary {
  ok: boolean;
  /** Why there is no diff (not a git repository, no git, …), when ok is false. */
  message?: string;
  from?: string;
  changedFiles?: number;
  changedValues?: number;
}

export interface RunsData {
  /** The commits shown, as `A..B`. */
  range: string;
  sides: Array<{ label: string; subject: string; date: string }>;
  /** Metric columns (`val.AP`): the chart's choices. */
  columns: string[];
  /** Oldest commit first within each experiment run. */
  rows: Array<{ experiment: string; run: string; side: number; params: string; values: Array<number | null>; unrecorded: boolean }>;
  /** Why there is nothing to show. */
  message?: string;
}
