// The last build as a Gantt chart (SVG): one `rect.bar[data-target]` per timeline entry, on
// its lane, coloured by outcome; bars on the critical path carry the class `critical`.
import type { TimelineFile } from '../engine/timeline.js';
import { esc } from './escape.js';
import type { Lanes } from './lanes.js';

const LABEL_W = 92;
const PLOT_W = 1040;
const LANE_H = 20;
const BAR_H = 14;
const AXIS_H = 22;

export function ganttSvg(t: TimelineFile, lanes: Lanes, critical: ReadonlySet<string>): string {
  const ms = t.entries.reduce((m, e) => Math.max(m, e.end), Math.max(1, t.ms));
  const width = LABEL_W + PLOT_W + 12;
  const height = AXIS_H + lanes.names.length * LANE_H + 6;
  const x = (v: number) => LABEL_W + (v / ms) * PLOT_W;
  const out: string[] = [`<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><g class="lanes">`];
  lanes.names.forEach((name, k) => {
    const y = AXIS_H + k * LANE_H;
    out.push(`<rect class="lane${k % 2 ? ' odd' : ''}" x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${LANE_H}"/><text class="lane-label" x="${LABEL_W - 6}" y="${y + 14}">${esc(name)}</text>`);
  });
  out.push('</g><g class="axis">');
  const step = niceStep(ms / 8);
  for (let v = 0; v <= ms + 1e-9; v += step) {
    const px = r1(x(v));
    out.push(`<line x1="${px}" y1="${AXIS_H - 4}" x2="${px}" y2="${height - 6}"/><text x="${px}" y="${AXIS_H - 8}">${esc(fmtSeconds(v, step))}</text>`);
  }
  out.push('</g><g class="bars">');
  t.entries.forEach((e, i) => {
    const y = AXIS_H + lanes.of[i]! * LANE_H + (LANE_H - BAR_H) / 2;
    const w = Math.max(1.5, x(e.end) - x(e.start));
    const cls = `bar ${e.outcome}${critical.has(e.name) ? ' critical' : ''}`;
    out.push(`<rect class="${cls}" data-target="${esc(e.name)}" data-i="${i}" x="${r1(x(e.start))}" y="${y}" width="${r1(w)}" height="${BAR_H}"/>`);
  });
  out.push('</g></svg>');
  return out.join('');
}

/** 1, 2 or 5 times a power of ten, in ms. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function fmtSeconds(v: number, step: number): string {
  if (step >= 60_000 && v >= 60_000) return `${Math.floor(v / 60_000)}m${String(Math.round((v % 60_000) / 1000)).padStart(2, '0')}`;
  return step >= 1000 ? `${Math.round(v / 1000)} s` : `${(v / 1000).toFixed(step >= 100 ? 1 : 2)} s`;
}

function r1(v: number): number {
  return Math.round(v * 10) / 10;
}
