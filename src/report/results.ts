// The paper's results: the table (`artifacts/experiments/experiment_results.tsv` when a target
// outputs it and it is on disk; else one row per declared metrics JSON) and the data of the
// two charts, AP/AP50 per experiment and per-class AP.
import fs from 'node:fs';
import path from 'node:path';
import type { Graph } from '../graph/graph.js';
import { metricsFiles } from '../metrics/files.js';
import { flatten } from '../metrics/diff.js';
import type { ChartData, ResultsData } from './types.js';

export const RESULTS_TSV = 'artifacts/experiments/experiment_results.tsv';
/** Bars in the per-experiment chart, and experiments in the per-class chart. */
const MAX_BARS = 40;
const MAX_CLASS_SERIES = 8;
const MAX_COLUMNS = 48;

export interface ResultsTable {
  columns: string[];
  /** Per column: every non-empty cell is a number. */
  numeric: boolean[];
  rows: string[][];
  /** Said above the table: where the rows come from, files that could not be read. */
  notes: string[];
}

export function readResults(root: string, graph: Graph): { table: ResultsTable; data: ResultsData } {
  const owner = graph.outputOwner.get(RESULTS_TSV);
  if (owner !== undefined) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(path.join(root, RESULTS_TSV), 'utf8');
    } catch {
      /* not built: fall back to the metrics JSONs */
    }
    if (text !== undefined) return fromTsv(text, graph.nodes[owner]!.name);
  }
  return fromMetrics(root, graph);
}

function fromTsv(text: string, target: string): { table: ResultsTable; data: ResultsData } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  const columns = (lines[0] ?? '').split('\t');
  const rows = lines.slice(1).map((l) => {
    const cells = l.split('\t');
    while (cells.length < columns.length) cells.push('');
    return cells.slice(0, columns.length);
  });
  const table: ResultsTable = { columns, numeric: numericColumns(columns, rows), rows, notes: [`From ${RESULTS_TSV} (written by ${target}).`] };
  const col = (name: string) => columns.indexOf(name);
  const labelOf = (r: string[]) => [col('experiment'), col('variant')].filter((i) => i >= 0).map((i) => r[i]).filter(Boolean).join(' ') || r[0]!;
  // Splits are the prefixes of `<split>_AP` columns, in column order.
  const splits = columns.filter((c) => /^.+_AP$/.test(c)).map((c) => c.slice(0, -3));
  const num = (r: string[], name: string): number | null => {
    const i = col(name);
    const v = i < 0 || r[i] === '' ? NaN : Number(r[i]);
    return Number.isFinite(v) ? v : null;
  };
  const hasAp = (s: string) => rows.some((r) => num(r, `${s}_AP`) !== null);
  const primary = splits.includes('test') && hasAp('test') ? 'test' : splits.find(hasAp);
  // Best first by the primary split's AP; rows without it (a smoke run evaluated on val only) after, by their own.
  const rankKey = (r: string[]): number | null => {
    const p = num(r, `${primary}_AP`);
    if (p !== null) return p;
    const other = splits.map((s) => num(r, `${s}_AP`)).find((v) => v !== null);
    return other === undefined || other === null ? null : other - 2;
  };
  const ranked = primary ? rank(rows, rankKey) : [];
  const ap = ranked.length ? chart(ranked, labelOf, splits.flatMap((s) => [`${s} AP`, `${s} AP50`]), (r, k) => num(r, `${splits[k >> 1]}_${k % 2 ? 'AP50' : 'AP'}`), rows.length, `${primary} AP`) : null;
  const classes = primary ? columns.filter((c) => c.startsWith(`${primary}_AP_`)).map((c) => c.slice(`${primary}_AP_`.length)) : [];
  const perClass = classes.length ? classChart(ranked.filter((r) => num(r, `${primary}_AP`) !== null), labelOf, classes, (r, c) => num(r, `${primary}_AP_${c}`), `${primary} AP`) : null;
  return { table, data: { source: 'table', from: RESULTS_TSV, rows: rows.length, ap, perClass } };
}

function fromMetrics(root: string, graph: Graph): { table: ResultsTable; data: ResultsData } {
  const files = metricsFiles(graph);
  const unreadable: string[] = [];
  let missing = 0;
  const docs: Array<{ target: string; path: string; values: Map<string, unknown> }> = [];
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(root, f.path), 'utf8');
    } catch {
      missing++;
      continue;
    }
    try {
      const doc = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
      docs.push({ target: f.target, path: f.path, values: flatten(doc) });
    } catch {
      unreadable.push(f.path);
    }
  }
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const d of docs) for (const k of d.values.keys()) if (!seen.has(k) && keys.length < MAX_COLUMNS) (seen.add(k), keys.push(k));
  const columns = ['target', 'metrics file', ...keys];
  const rows = docs.map((d) => [d.target, d.path, ...keys.map((k) => cell(d.values.get(k)))]);
  const notes = [files.length ? `From the ${files.length} metrics file(s) the targets declare (no target writes ${RESULTS_TSV}).` : 'No target declares a metrics output (named metrics.json or *_metrics.json, or listed in `metrics`).'];
  if (missing) notes.push(`${missing} not built yet.`);
  if (unreadable.length) notes.push(`${unreadable.length} not a JSON object: ${unreadable.slice(0, 3).join(', ')}${unreadable.length > 3 ? ', …' : ''}.`);
  const table: ResultsTable = { columns, numeric: numericColumns(columns, rows), rows, notes };
  const num = (d: (typeof docs)[number], k: string): number | null => {
    const v = d.values.get(k);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const withAp = rank(docs, (d) => num(d, 'AP'));
  const label = (d: (typeof docs)[number]) => d.target;
  const ap = withAp.length ? chart(withAp, label, ['AP', 'AP50'], (d, k) => num(d, k ? 'AP50' : 'AP'), docs.length, 'AP') : null;
  const classes = keys.filter((k) => k.startsWith('per_class_AP.')).map((k) => k.slice('per_class_AP.'.length));
  const perClass = classes.length && withAp.length ? classChart(withAp, label, classes, (d, c) => num(d, `per_class_AP.${c}`), 'AP') : null;
  return { table, data: { source: docs.length ? 'metrics' : 'none', from: `${files.length} metrics file(s)`, rows: rows.length, ap, perClass } };
}

/** Rows that have a value, best first (stable for ties). */
function rank<T>(rows: T[], key: (r: T) => number | null): T[] {
  return rows.map((r, i) => ({ r, v: key(r), i })).filter((x) => x.v !== null).sort((a, b) => b.v! - a.v! || a.i - b.i).map((x) => x.r);
}

function chart<T>(ranked: T[], label: (r: T) => string, series: string[], value: (r: T, k: number) => number | null, total: number, by: string): ChartData {
  const shown = ranked.slice(0, MAX_BARS);
  const data: ChartData = { labels: shown.map(label), series: series.map((s, k) => ({ label: s, values: shown.map((r) => value(r, k)) })) };
  if (shown.length < total) data.note = `The ${shown.length} best of ${total} rows by ${by}; the table lists all of them.`;
  return data;
}

function classChart<T>(ranked: T[], label: (r: T) => string, classes: string[], value: (r: T, c: string) => number | null, by: string): ChartData {
  const shown = ranked.slice(0, MAX_CLASS_SERIES);
  const data: ChartData = { labels: classes, series: shown.map((r) => ({ label: label(r), values: classes.map((c) => value(r, c)) })) };
  if (shown.length < ranked.length) data.note = `The ${shown.length} best rows by ${by}.`;
  return data;
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function numericColumns(columns: string[], rows: string[][]): boolean[] {
  return columns.map((_, i) => {
    let any = false;
    for (const r of rows) {
      const c = r[i] ?? '';
      if (c === '') continue;
      if (!Number.isFinite(Number(c))) return false;
      any = true;
    }
    return any;
  });
}
