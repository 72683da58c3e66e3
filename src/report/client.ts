// The page's script (bundled with Chart.js into the page at generation time). Nothing is laid
// out here: the graph comes drawn, and expanding or collapsing a group redraws it from the
// layout in the page's data (compose.ts). One delegated listener per section.
import { Chart, BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip } from 'chart.js';
import { graphSvg } from './svg.js';
import { detailsHtml, seconds } from './details.js';
import type { ChartData, ReportData, State } from './types.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

const $ = (sel: string) => document.querySelector(sel);
const data = JSON.parse($('#report-data')?.textContent ?? '{}') as ReportData;
const expanded = new Set(data.expanded);
const graphEl = $('#graph') as HTMLElement;
const detailsEl = $('#details') as HTMLElement;
const stateOf = (name: string): State => data.targets[name]?.state ?? 'missing';
let scale = 1;
let selected: string | undefined;

const attr = (s: string) => (window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&'));

function svg(): SVGSVGElement | null {
  return graphEl.querySelector('svg');
}

function applyScale(): void {
  const s = svg();
  if (!s) return;
  s.setAttribute('width', String(Math.ceil(Number(s.dataset.width) * scale)));
  s.setAttribute('height', String(Math.ceil(Number(s.dataset.height) * scale)));
}

function redraw(): void {
  graphEl.innerHTML = graphSvg(data.graph, expanded, stateOf, scale);
  mark();
}

function mark(): void {
  for (const el of document.querySelectorAll('.selected')) el.classList.remove('selected');
  if (selected === undefined) return;
  graphEl.querySelector(`g.node[data-target="${attr(selected)}"]`)?.classList.add('selected');
  for (const el of document.querySelectorAll(`#timeline rect.bar[data-target="${attr(selected)}"]`)) el.classList.add('selected');
}

function select(name: string): void {
  selected = name;
  detailsEl.innerHTML = detailsHtml(name, data.targets[name]);
  mark();
}

/** Selects a target, expanding its group if needed, and scrolls the graph to it. */
function reveal(name: string): void {
  const g = data.targets[name]?.group;
  if (g && !expanded.has(g)) {
    expanded.add(g);
    redraw();
  }
  select(name);
  const el = graphEl.querySelector(`g.node[data-target="${attr(name)}"]`);
  el?.scrollIntoView({ block: 'center', inline: 'center' });
}

graphEl.addEventListener('click', (e) => {
  const t = e.target as Element;
  const collapse = t.closest('[data-collapse]');
  if (collapse) {
    expanded.delete(collapse.getAttribute('data-collapse') ?? '');
    redraw();
    return;
  }
  const node = t.closest('g.node');
  if (!node) return;
  const group = node.getAttribute('data-group');
  if (group !== null) {
    expanded.add(group);
    redraw();
    return;
  }
  const name = node.getAttribute('data-target');
  if (name !== null) select(name);
});

detailsEl.addEventListener('click', (e) => {
  const a = (e.target as Element).closest('[data-goto]');
  if (a) reveal(a.getAttribute('data-goto') ?? '');
});

// Toolbar: find a target, zoom, expand or collapse every group.
const find = $('#find') as HTMLInputElement | null;
find?.addEventListener('focus', () => {
  const list = $('#target-names');
  if (!list || list.childElementCount) return;
  const frag = document.createDocumentFragment();
  for (const n of Object.keys(data.targets)) {
    const o = document.createElement('option');
    o.value = n;
    frag.append(o);
  }
  list.append(frag);
}, { once: true });
find?.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter') return;
  const q = find.value.trim();
  if (!q) return;
  const name = data.targets[q] ? q : Object.keys(data.targets).find((n) => n.includes(q));
  if (name) reveal(name);
});
$('.toolbar')?.addEventListener('click', (e) => {
  const b = (e.target as Element).closest('button');
  if (!b) return;
  const act = b.dataset.act;
  if (act === 'in') scale = Math.min(4, scale * 1.25);
  else if (act === 'out') scale = Math.max(0.05, scale / 1.25);
  else if (act === 'fit') {
    const s = svg();
    // To the width: a tall overview (hundreds of groups) stays legible and scrolls.
    if (s) scale = Math.min(1, (graphEl.clientWidth - 4) / Number(s.dataset.width));
  } else if (act === 'expand') {
    for (const g of Object.keys(data.graph.groups)) expanded.add(g);
    redraw();
    return;
  } else if (act === 'collapse') {
    expanded.clear();
    redraw();
    return;
  }
  applyScale();
});

// The tables (paper table, runs across commits): a click on a header sorts by it, a second click reverses.
document.addEventListener('click', (e) => {
  const th = (e.target as Element).closest('table.data thead th[data-sort]') as HTMLElement | null;
  const table = th?.closest('table') as HTMLTableElement | null;
  if (!th || !table) return;
  const col = Number(th.dataset.sort);
  const numeric = th.dataset.type === 'num';
  const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
  for (const h of table.tHead!.querySelectorAll('th[aria-sort]')) h.removeAttribute('aria-sort');
  th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
  const body = table.tBodies[0]!;
  const rows = [...body.rows].map((r) => {
    const text = r.cells[col]?.textContent ?? '';
    return { r, text, n: text.trim() === '' ? NaN : Number(text) };
  });
  rows.sort((a, b) => {
    if (numeric) {
      const an = Number.isNaN(a.n);
      const bn = Number.isNaN(b.n);
      if (an || bn) return an === bn ? 0 : an ? 1 : -1; // empty cells last either way
      return dir * (a.n - b.n);
    }
    return dir * a.text.localeCompare(b.text, undefined, { numeric: true });
  });
  const frag = document.createDocumentFragment();
  for (const x of rows) frag.append(x.r);
  body.append(frag);
});

// The timeline: a bar shows what ran there; a click selects the target.
const timelineEl = $('#timeline');
const info = $('#timeline-info');
const barText = (el: Element): string => {
  const name = el.getAttribute('data-target') ?? '';
  const lb = data.targets[name]?.lastBuild;
  const i = Number(el.getAttribute('data-i'));
  if (!lb) return `${name} (#${i + 1})`;
  return `${name}: ${lb.outcome} on ${lb.lane}, ${seconds(lb.start)} → ${seconds(lb.end)} (${seconds(lb.end - lb.start)})${data.timeline?.critical.includes(name) ? ', on the critical path' : ''}`;
};
timelineEl?.addEventListener('mouseover', (e) => {
  const bar = (e.target as Element).closest('rect.bar');
  if (bar && info) info.textContent = barText(bar);
});
timelineEl?.addEventListener('click', (e) => {
  const bar = (e.target as Element).closest('rect.bar');
  if (!bar) return;
  if (info) info.textContent = barText(bar);
  const name = bar.getAttribute('data-target') ?? '';
  if (data.targets[name]) reveal(name);
  else {
    selected = name;
    detailsEl.innerHTML = detailsHtml(name, undefined);
    mark();
  }
});

// Charts, drawn once the page has loaded.
/** AP and AP50 of a split in two shades of one hue; experiments in distinct hues. */
const PAIRS = ['#3b6fb6', '#8fb3e6', '#e07b24', '#f2bc8a', '#3c9a5f', '#9fd3b0', '#a54fa8', '#d9a6db', '#7a6b5d', '#c9bcae'];
const HUES = ['#3b6fb6', '#e07b24', '#3c9a5f', '#a54fa8', '#c0392b', '#7a6b5d', '#1a9bb0', '#9a9a20'];

function barChart(id: string, c: ChartData | null, yTitle: string, palette: string[]): void {
  const canvas = document.getElementById(id) as HTMLCanvasElement | null;
  if (!canvas || !c) return;
  new Chart(canvas, {
    type: 'bar',
    data: {
      labels: c.labels,
      datasets: c.series.map((s, k) => ({ label: s.label, data: s.values, backgroundColor: palette[k % palette.length], borderWidth: 0 })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } }, x: { ticks: { autoSkip: false, maxRotation: 60 } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

/** One line per experiment run over the commits, of the metric the select names. */
function runsChart(): void {
  const canvas = document.getElementById('chart-runs') as HTMLCanvasElement | null;
  const pick = document.getElementById('runs-metric') as HTMLSelectElement | null;
  const runs = data.runs;
  if (!canvas || !pick || !runs?.rows.length) return;
  const series = (metric: string) => {
    const k = runs.columns.indexOf(metric);
    const lines = new Map<string, Array<number | null>>();
    for (const r of runs.rows) {
      const key = `${r.experiment} ${r.run}`.trim();
      if (!lines.has(key)) lines.set(key, runs.sides.map(() => null));
      lines.get(key)![r.side] = r.values[k] ?? null;
    }
    return [...lines].map(([label, values], i) => ({ label, data: values, borderColor: HUES[i % HUES.length], backgroundColor: HUES[i % HUES.length], spanGaps: true, tension: 0 }));
  };
  const chart = new Chart(canvas, {
    type: 'line',
    data: { labels: runs.sides.map((s) => s.label), datasets: series(pick.value) },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { title: { display: true, text: pick.value } }, x: { title: { display: true, text: 'commit (oldest first)' } } },
      plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { title: (items) => { const s = runs.sides[items[0]?.dataIndex ?? 0]; return s ? `${s.label} ${s.subject}` : ''; } } } },
    },
  });
  pick.addEventListener('change', () => {
    chart.data.datasets = series(pick.value);
    const y = chart.options.scales?.y as { title?: { text?: string } } | undefined;
    if (y?.title) y.title.text = pick.value;
    chart.update();
  });
}

function drawCharts(): void {
  try {
    barChart('chart-ap', data.results?.ap ?? null, 'AP', PAIRS);
    barChart('chart-class', data.results?.perClass ?? null, 'AP', HUES);
    runsChart();
  } catch (err) {
    // A chart that cannot be drawn leaves its canvas empty; the table still has the numbers.
    const note = document.createElement('p');
    note.className = 'empty';
    note.textContent = `The charts could not be drawn: ${(err as Error).message}`;
    $('.charts')?.append(note);
  }
}

if (document.readyState === 'complete') setTimeout(drawCharts, 0);
else window.addEventListener('load', () => setTimeout(drawCharts, 0));
