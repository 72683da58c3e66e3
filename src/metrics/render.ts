// Text, Markdown and JSON views of a MetricsDiff (see diff.ts). Pure: strings in, strings out.
import { decimalsOf, sideLabel, type MetricsDiff, type MetricsFileDiff, type MetricValueDiff, type MetricScalar } from './diff.js';

export interface RenderOptions {
  /** List unchanged values and unchanged files too. */
  all?: boolean;
}

/** How a value is shown: numbers as JSON writes them, strings quoted, no value as `—`. */
export function formatValue(v: MetricScalar | undefined): string {
  if (v === undefined) return '—';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A signed delta with the decimals of its operands (`+0.0123`, `-0.0050`), or '' when not numeric. */
export function formatDelta(v: MetricValueDiff): string {
  if (v.delta === null || typeof v.old !== 'number' || typeof v.new !== 'number') return '';
  if (v.delta === 0) return '0';
  const a = decimalsOf(v.old);
  const b = decimalsOf(v.new);
  const sign = v.delta > 0 ? '+' : '-';
  const abs = Math.abs(v.delta);
  const digits = a === undefined || b === undefined ? undefined : Math.min(Math.max(a, b), 20);
  return sign + (digits === undefined || abs >= 1e21 ? String(Number(abs.toPrecision(6))) : abs.toFixed(digits));
}

/** A relative change as a percentage (`+4.7%`), or '' when there is none. */
export function formatRelative(v: MetricValueDiff): string {
  if (v.relative === null || v.delta === 0) return '';
  const pct = Math.abs(v.relative * 100);
  // One decimal, or two significant digits when smaller (+4.7%, +0.038%).
  const digits = Math.min(4, Math.max(1, 1 - Math.floor(Math.log10(pct))));
  return `${v.relative > 0 ? '+' : '-'}${pct.toFixed(digits)}%`;
}

/** The delta column: the signed delta and relative change, or a note for values without one. */
export function deltaCell(v: MetricValueDiff): string {
  if (v.change === 'added') return '(added)';
  if (v.change === 'removed') return '(removed)';
  if (v.kind === 'mixed' && v.change === 'changed') return typeof v.new === 'number' ? '(old value is not a number)' : '(new value is not a number)';
  if (v.kind === 'text') return v.change === 'changed' ? '(non-numeric)' : '';
  const d = formatDelta(v);
  const r = formatRelative(v);
  return r ? `${d} (${r})` : d;
}

export function formatKey(key: string): string {
  return key === '' ? '(value)' : key;
}

function sideName(d: MetricsDiff, which: 'from' | 'to'): string {
  if (which === 'to' && d.toCommit === null) return 'the work tree';
  return which === 'from' ? sideLabel(d.from, d.fromCommit) : sideLabel(d.to, d.toCommit!);
}

/** `HEAD (1a2b3c4) → the work tree` */
export function heading(d: MetricsDiff): string {
  return `${sideName(d, 'from')} → ${sideName(d, 'to')}`;
}

function fileNote(d: MetricsDiff, f: MetricsFileDiff): string | undefined {
  if (f.status === 'added') return `(file added: not in ${sideName(d, 'from')})`;
  if (f.status === 'removed') return `(file removed: not in ${sideName(d, 'to')})`;
  return undefined;
}

interface Row {
  file: string;
  key: string;
  old: string;
  new: string;
  delta: string;
}

/** Table rows grouped by file: the file named on its first row only; a note row for added/removed files. */
function rows(d: MetricsDiff, opts: RenderOptions): Row[] {
  const out: Row[] = [];
  for (const f of d.files) {
    if (f.status === 'unchanged' && !opts.all) continue;
    const values = opts.all ? f.values : f.values.filter((v) => v.change !== 'unchanged');
    const note = fileNote(d, f);
    let first = true;
    const push = (r: Omit<Row, 'file'>) => {
      out.push({ file: first ? f.path : '', ...r });
      first = false;
    };
    if (note) push({ key: note, old: '', new: '', delta: '' });
    for (const v of values) push({ key: formatKey(v.key), old: formatValue(v.old), new: formatValue(v.new), delta: deltaCell(v) });
    if (first) push({ key: '(no values)', old: '', new: '', delta: '' });
  }
  return out;
}

/** `N changed value(s) in M file(s); K unchanged file(s)` (plus added, removed and absent files when there are any). */
export function summaryLine(d: MetricsDiff): string {
  const s = d.summary;
  const extra: string[] = [];
  if (s.addedFiles) extra.push(`${s.addedFiles} file(s) added`);
  if (s.removedFiles) extra.push(`${s.removedFiles} file(s) removed`);
  if (d.absent.length) extra.push(`${d.absent.length} declared file(s) on neither side`);
  return `${s.changedValues} changed value(s) in ${s.changedFiles} file(s); ${s.unchangedFiles} unchanged file(s)${extra.length ? '; ' + extra.join('; ') : ''}`;
}

const HEAD: Row = { file: 'file', key: 'key', old: 'old', new: 'new', delta: 'delta' };
const COLS = ['file', 'key', 'old', 'new', 'delta'] as const;

/** The plain-text report: a heading, an aligned table (when anything is listed) and the summary line. */
export function renderText(d: MetricsDiff, opts: RenderOptions = {}): string[] {
  const lines = [`Metrics: ${heading(d)}`];
  const body = rows(d, opts);
  if (body.length) {
    const all = [HEAD, ...body];
    // A note row (a file added or removed) has only its key and may run past the column.
    const width = COLS.map((c) => Math.max(...all.filter((r) => r.old || r.new || r === HEAD || c !== 'key').map((r) => r[c].length)));
    // Numbers line up on the right; text on the left.
    const line = (r: Row) =>
      COLS.map((c, i) => (c === 'old' || c === 'new' ? r[c].padStart(width[i]!) : i === COLS.length - 1 ? r[c] : r[c].padEnd(width[i]!))).join('  ').trimEnd();
    lines.push(line(HEAD), ...body.map(line));
  } else if (!d.files.length) {
    lines.push('No metrics file to compare: none of the declared metrics outputs (a target\'s `metrics`, or outputs named metrics.json or *_metrics.json) is on either side.');
  }
  if (opts.all && d.absent.length) lines.push(`On neither side: ${d.absent.map((a) => a.path).join(', ')}`);
  lines.push(summaryLine(d));
  return lines;
}

function mdCell(s: string, code = false): string {
  if (s === '') return '';
  const esc = s.replace(/\|/g, '\\|');
  return code ? `\`${esc}\`` : esc;
}

/** A Markdown table to paste into a pull request, with the heading and summary around it. */
export function renderMarkdown(d: MetricsDiff, opts: RenderOptions = {}): string[] {
  const lines = [`**Metrics:** ${heading(d)}`, ''];
  const body = rows(d, opts);
  if (body.length) {
    lines.push('| file | key | old | new | delta |', '|---|---|---:|---:|---:|');
    for (const r of body) {
      const note = r.key.startsWith('(');
      const cells = [mdCell(r.file, true), note ? `*${mdCell(r.key)}*` : mdCell(r.key, true), mdCell(r.old), mdCell(r.new), mdCell(r.delta)];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(summaryLine(d));
  return lines;
}

/** The JSON document: `{ from, to, fromCommit, toCommit, files, absent, summary }`; a missing value is null. */
export function renderJson(d: MetricsDiff, opts: RenderOptions = {}): string {
  const doc = {
    from: d.from,
    to: d.to,
    fromCommit: d.fromCommit,
    toCommit: d.toCommit,
    files: d.files.map((f) => ({
      path: f.path,
      target: f.target,
      experiment: f.experiment,
      status: f.status,
      values: (opts.all ? f.values : f.values.filter((v) => v.change !== 'unchanged')).map((v) => ({
        key: v.key,
        old: v.old ?? null,
        new: v.new ?? null,
        delta: v.delta,
        relative: v.relative,
        change: v.change,
        kind: v.kind,
      })),
    })),
    absent: d.absent,
    summary: d.summary,
  };
  return JSON.stringify(doc, null, 2);
}
