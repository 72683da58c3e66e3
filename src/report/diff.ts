// The metrics against HEAD (src/metrics/diff.ts): a table of the values that changed, or a
// `p.empty` line saying that none did, or why there is nothing to compare (no git, not a
// git repository, no commit yet, an unreadable metrics file): the report never fails on it.
import type { Graph } from '../graph/graph.js';
import { metricsDiff, type MetricsDiff } from '../metrics/diff.js';
import { deltaCell, formatKey, formatValue, heading, summaryLine } from '../metrics/render.js';
import { esc } from './escape.js';
import type { DiffSummary } from './types.js';

const MAX_ROWS = 2000;

export async function diffSection(root: string, graph: Graph): Promise<{ html: string; summary: DiffSummary }> {
  let d: MetricsDiff;
  try {
    d = await metricsDiff(root, graph);
  } catch (err) {
    const message = whyNoDiff((err as Error).message ?? String(err));
    return { html: `<p class="empty">${esc(message)}</p>`, summary: { ok: false, message } };
  }
  const summary: DiffSummary = { ok: true, from: heading(d), changedFiles: d.summary.changedFiles, changedValues: d.summary.changedValues };
  const changed = d.files.filter((f) => f.status !== 'unchanged');
  const head = `<p class="diff-head">${esc(heading(d))}: ${esc(summaryLine(d))}</p>`;
  if (!changed.length) {
    const what = d.files.length ? `${d.files.length} metrics file(s) compared` : 'no metrics file on either side';
    return { html: `${head}<p class="empty">No metrics changed since ${esc(heading(d).split(' → ')[0]!)} (${what}).</p>`, summary };
  }
  const rows: string[] = [];
  for (const f of changed) {
    const values = f.values.filter((v) => v.change !== 'unchanged');
    const note = f.status === 'added' ? 'file added' : f.status === 'removed' ? 'file removed' : '';
    rows.push(`<tr class="file"><th colspan="5" data-target="${esc(f.target)}">${esc(f.path)} <span class="muted">(${esc(f.target)}${note ? `; ${note}` : ''})</span></th></tr>`);
    for (const v of values) {
      if (rows.length >= MAX_ROWS) break;
      const cls = v.delta === null ? '' : v.delta > 0 ? ' class="up"' : v.delta < 0 ? ' class="down"' : '';
      // Spaces between cells keep the text readable when copied (or read as textContent).
      rows.push(`<tr><td></td> <td>${esc(formatKey(v.key))}</td> <td class="num">${esc(formatValue(v.old))}</td> <td class="num">${esc(formatValue(v.new))}</td> <td${cls}>${esc(deltaCell(v))}</td></tr>`);
    }
    if (rows.length >= MAX_ROWS) {
      rows.push(`<tr><td colspan="5" class="muted">… the first ${MAX_ROWS} rows; \`sbuild metrics diff\` lists all.</td></tr>`);
      break;
    }
  }
  const [from, to] = heading(d).split(' → ');
  return {
    html: `${head}<div class="scroll"><table class="diff"><thead><tr><th>file</th> <th>metric</th> <th>${esc(from ?? 'old')}</th> <th>${esc(to ?? 'new')}</th> <th>change</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`,
    summary,
  };
}

/** The diff's error, reworded for the report where it names the cause. */
function whyNoDiff(message: string): string {
  if (/no `git` program/.test(message)) return 'No metrics diff: git is not installed (no `git` program on the PATH), so the metrics cannot be compared with HEAD.';
  if (/not inside a git repository/.test(message)) return 'No metrics diff: the workspace is not inside a git repository, so there is no HEAD to compare the metrics with.';
  if (/no commits yet/.test(message)) return 'No metrics diff: the git repository has no commits yet, so there is no HEAD to compare the metrics with.';
  return `No metrics diff: ${message}`;
}
