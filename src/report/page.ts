// The one HTML file: styles, the drawn graph, the paper table, the charts' canvases, the
// timeline, the metrics diff, the data (JSON) and the script, all inline. No URL anywhere.
import { esc, scriptJson } from './escape.js';
import { STATE_ORDER } from './group.js';
import type { ResultsTable } from './results.js';
import { CSS } from './styles.js';
import type { ReportData } from './types.js';

export interface PageParts {
  data: ReportData;
  graphSvg: string;
  table: ResultsTable;
  timelineSvg: string | undefined;
  diffHtml: string;
  script: string;
}

export function pageHtml(p: PageParts): string {
  const d = p.data;
  const total = STATE_ORDER.reduce((s, k) => s + d.counts[k], 0);
  const badges = STATE_ORDER.filter((s) => d.counts[s] || s === 'fresh').map((s) => `<span class="badge ${s}">${d.counts[s]} ${s}</span>`).join('');
  const groups = Object.keys(d.graph.groups).length;
  const collapsed = groups - d.expanded.length;
  const graphNote = collapsed
    ? `${plural(total, 'target')} in ${plural(groups, 'group')}, shown collapsed (more than ${d.collapseAbove} targets): click a group to expand it, its ▾ label to collapse it again.`
    : groups
      ? `${plural(total, 'target')}; experiment groups are boxed (click a group's ▾ label to collapse it).`
      : `${plural(total, 'target')}.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)} — sbuild report</title>
<style>${CSS}</style></head>
<body>
<header><h1>${esc(d.title)}: where the results stand</h1>
<div>${badges}<span class="muted">generated ${esc(d.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))} by sbuild report; states as <code>sbuild status</code> computes them, failed as in the last build</span></div>
<nav><a href="#graph-section">Graph</a><a href="#results">Results</a><a href="#runs-section">Across commits</a><a href="#timeline-section">Last build</a><a href="#diff-section">Metrics vs HEAD</a></nav></header>
<main>
<section id="graph-section"><h2>Graph</h2>
<div class="toolbar"><input id="find" list="target-names" placeholder="find a target (Enter)" aria-label="find a target"><datalist id="target-names"></datalist>
<button data-act="out" title="zoom out">−</button><button data-act="in" title="zoom in">+</button><button data-act="fit">fit</button>
<button data-act="expand">expand all</button><button data-act="collapse">collapse all</button>
<span class="legend muted"><span class="badge fresh">fresh</span><span class="badge stale">stale</span><span class="badge missing">missing</span><span class="badge failed">failed</span></span></div>
<p class="muted">${esc(graphNote)}</p>
<div class="graph-wrap"><div id="graph">${p.graphSvg}</div>
<aside id="details"><p class="muted">Click a target for its inputs, outputs, fingerprint, last run and why it is not fresh.</p></aside></div>
</section>
<section id="results"><h2>Results</h2>
${p.table.notes.map((n) => `<p class="muted">${esc(n)}</p>`).join('')}
${tableHtml(p.table)}
<div class="charts">
<div class="chart-box"><h3>AP and AP50 per experiment</h3>${d.results.ap ? '' : '<p class="empty">No AP values to chart.</p>'}<div class="canvas"><canvas class="chart" id="chart-ap"></canvas></div>${d.results.ap?.note ? `<p class="muted">${esc(d.results.ap.note)}</p>` : ''}</div>
<div class="chart-box"><h3>Per-class AP</h3>${d.results.perClass ? '' : '<p class="empty">No per-class AP values to chart.</p>'}<div class="canvas"><canvas class="chart" id="chart-class"></canvas></div>${d.results.perClass?.note ? `<p class="muted">${esc(d.results.perClass.note)}</p>` : ''}</div>
</div></section>
${runsHtml(d)}
<section id="timeline-section"><h2>Last build</h2>
${d.timeline ? `<p class="muted">${esc(timelineNote(d))}</p>` : ''}
<div id="timeline">${p.timelineSvg ?? '<p class="empty">No build recorded yet (.sbuild/last-build.json is written by a build that runs something).</p>'}</div>
<p id="timeline-info" class="muted"></p></section>
<section id="diff-section"><h2>Metrics against HEAD</h2>
<div id="metrics-diff">${p.diffHtml}</div></section>
</main>
<script type="application/json" id="report-data">${scriptJson(d)}</script>
<script>${p.script.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Experiment runs across commits: a sortable table, and a line chart of the metric chosen above it. */
function runsHtml(d: ReportData): string {
  const r = d.runs;
  const head = ['experiment', 'run', 'commit', 'params', ...r.columns];
  const numeric = (i: number) => i >= 4;
  const th = head.map((c, i) => `<th data-sort="${i}" data-type="${numeric(i) ? 'num' : 'text'}">${esc(c)}</th>`).join('');
  const rows = r.rows
    .map((x) => {
      const side = r.sides[x.side]!;
      const cells = [esc(x.experiment + (x.unrecorded ? ' *' : '')), esc(x.run), `<span title="${esc(side.subject)}">${esc(side.label)}</span>`, esc(x.params), ...x.values.map((v) => (v === null ? '' : esc(String(v))))];
      return `<tr>${cells.map((c, i) => `<td${numeric(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const options = r.columns.map((c) => `<option value="${esc(c)}"${c === defaultMetric(r.columns) ? ' selected' : ''}>${esc(c)}</option>`).join('');
  const body = r.rows.length
    ? `<p class="muted">Commits ${esc(r.range)}, oldest first (\`sbuild results --across ${esc(r.range)}\`); params: what sets an experiment's rows apart.${r.rows.some((x) => x.unrecorded) ? ' * a metrics file differs from what sbuild.lock recorded at that commit.' : ''}</p>
<div class="scroll"><table id="runs-table" class="data"><thead><tr>${th}</tr></thead><tbody>${rows}</tbody></table></div>
<div class="chart-box"><h3>Across commits: <select id="runs-metric">${options}</select></h3><div class="canvas"><canvas class="chart" id="chart-runs"></canvas></div></div>`
    : `<p class="empty">${esc(r.message ?? 'No runs recorded.')}</p>`;
  return `<section id="runs-section"><h2>Across commits</h2>\n${body}</section>`;
}

/** The chart's first metric: the test split's AP where there is one, else the first AP, else the first column. */
export function defaultMetric(columns: string[]): string | undefined {
  return columns.find((c) => c === 'test.AP') ?? columns.find((c) => c.endsWith('.AP')) ?? columns[0];
}

function tableHtml(t: ResultsTable): string {
  const head = t.columns.map((c, i) => `<th data-sort="${i}" data-type="${t.numeric[i] ? 'num' : 'text'}">${esc(c)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => (t.numeric[i] ? `<td class="num">${esc(c)}</td>` : `<td>${esc(c)}</td>`)).join('')}</tr>`).join('\n');
  const empty = t.rows.length ? '' : '<p class="empty">No results yet.</p>';
  return `${empty}<div class="scroll"><table id="paper-table" class="data"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

function timelineNote(d: ReportData): string {
  const t = d.timeline!;
  const when = new Date(t.startedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const c = t.critical;
  const chain = c.length > 14 ? [...c.slice(0, 6), '…', ...c.slice(-6)] : c;
  const cp = c.length ? `; critical path (${c.length} target${c.length > 1 ? 's' : ''}, highlighted): ${chain.join(' → ')}` : '';
  return `Started ${when}, ${(t.ms / 1000).toFixed(1)} s on ${t.lanes.length} lane(s)${cp}. Hover or click a bar.`;
}
