// `sbuild results` as text (aligned columns), Markdown (a table for a pull request or a paper
// draft) or JSON (everything, one document).
import type { Json } from '../config/types.js';
import type { ResultsTable, ResultsRow } from './results.js';

/** The metric columns a table shows: the top-level numbers of each split, or every key with `all`. */
export function shownColumns(t: ResultsTable, all: boolean): string[] {
  if (all) return t.columns;
  // Numbers at the top level of each file; nested ones (per class) and text (the detector) with -v.
  return t.columns.filter((c) => c.indexOf('.') === c.lastIndexOf('.') && t.rows.some((r) => typeof r.metrics[c] === 'number') && t.rows.every((r) => typeof r.metrics[c] !== 'string'));
}

const cell = (v: Json | undefined): string => (v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v));

/** A row's params that set it apart, as `key=value …`. */
export function paramsCell(t: ResultsTable, r: ResultsRow): string {
  return t.paramKeys.filter((k) => k in r.params).map((k) => `${k}=${cell(r.params[k])}`).join(' ');
}

function grid(t: ResultsTable, all: boolean): { head: string[]; body: string[][]; marked: boolean } {
  const across = t.sides.length > 1 || t.sides[0]?.commit !== null;
  const cols = shownColumns(t, all);
  const head = ['experiment', 'run', ...(across ? ['commit'] : []), ...(t.paramKeys.length ? ['params'] : []), ...cols];
  let marked = false;
  const body = t.rows.map((r) => {
    if (r.unrecorded.length) marked = true;
    return [
      r.experiment + (r.unrecorded.length ? ' *' : '') + (r.declared ? '' : ' (not declared now)'),
      r.run,
      ...(across ? [t.sides[r.side]!.label] : []),
      ...(t.paramKeys.length ? [paramsCell(t, r) || '–'] : []),
      ...cols.map((c) => cell(r.metrics[c])),
    ];
  });
  return { head, body, marked };
}

const FOOTNOTE = '* a metrics file differs from what sbuild.lock recorded there (edited by hand, or not rebuilt)';

export function renderResultsText(t: ResultsTable, all = false): string[] {
  if (!t.rows.length) return [emptyText(t)];
  const { head, body, marked } = grid(t, all);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const numeric = head.map((_, i) => i >= head.length - shownColumns(t, all).length);
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line), ...(marked ? ['', FOOTNOTE] : []), ...sideNotes(t)];
}

export function renderResultsMarkdown(t: ResultsTable, all = false): string[] {
  if (!t.rows.length) return [emptyText(t)];
  const { head, body, marked } = grid(t, all);
  const metricsFrom = head.length - shownColumns(t, all).length;
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((_, i) => (i >= metricsFrom ? '---:' : '---')).join('|')}|`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ...(marked ? ['', FOOTNOTE] : []),
    ...sideNotes(t),
  ];
}

export function renderResultsJson(t: ResultsTable): string {
  return JSON.stringify(t, null, 2);
}

function sideNotes(t: ResultsTable): string[] {
  const unrecorded = t.sides.filter((s) => !s.recorded);
  const commits = t.sides.filter((s) => s.commit !== null);
  return [
    ...(commits.length ? ['', ...commits.map((s) => `${s.label}  ${s.subject ?? ''}`.trimEnd())] : []),
    ...(unrecorded.length ? ['', `no sbuild.lock at ${unrecorded.map((s) => s.label).join(', ')}: nothing recorded there`] : []),
  ];
}

function emptyText(t: ResultsTable): string {
  const where = t.sides.length === 1 && t.sides[0]!.commit === null ? 'in the work tree' : `at ${t.sides.map((s) => s.label).join(', ')}`;
  return `sbuild: no metrics recorded ${where}: sbuild.lock names no built target with a metrics file (metrics.json, *_metrics.json, or a target's \`metrics\`). Build the evaluations first, e.g. \`sbuild 'exp/**'\`.`;
}
