// The details panel of one target (rendered in the page when a node or a bar is clicked):
// state and why, inputs with their producers, outputs with size and hash, fingerprint,
// command, last duration and where it ran in the last build.
import { esc } from './escape.js';
import type { TargetInfo } from './types.js';

export function detailsHtml(name: string, t: TargetInfo | undefined): string {
  if (!t) return `<h3>${esc(name)}</h3><p class="muted">Not a target of the current graph (it ran in the last build).</p>`;
  const out: string[] = [`<h3>${esc(name)}</h3>`, `<p><span class="badge ${t.state}">${t.state}</span>${t.group ? `<span class="muted">in ${esc(t.group)}</span>` : ''}</p>`];
  if (t.description) out.push(`<p>${esc(t.description)}</p>`);
  if (t.reasons.length || t.restorable) {
    out.push(`<h4>Why it ${t.state === 'failed' ? 'is not fresh' : 'would run'}</h4><ul>`);
    for (const r of t.reasons) out.push(`<li>${esc(r)}</li>`);
    if (t.restorable) out.push('<li>restorable from cache</li>');
    out.push('</ul>');
  }
  out.push('<h4>Outputs</h4>');
  if (t.outputs.length) {
    out.push('<table><tr><th>path</th><th>size</th><th>hash (sbuild.lock)</th></tr>');
    for (const [p, size, hash, files] of t.outputs) {
      out.push(`<tr><td class="mono">${esc(p)}</td><td>${size === null ? '–' : esc(bytes(size))}${files === null ? '' : `, ${files} files`}</td><td class="mono h" title="${esc(hash)}">${hash ? esc(hash.slice(0, 12)) + '…' : '–'}</td></tr>`);
    }
    out.push('</table>');
  } else out.push('<p class="muted">none</p>');
  out.push(`<h4>Inputs (${t.inputs.length})</h4>`);
  if (t.inputs.length) {
    out.push('<table><tr><th>path</th><th>hash</th><th>from</th></tr>');
    for (const [p, hash, from] of t.inputs.slice(0, 300)) {
      out.push(`<tr><td class="mono">${esc(p)}</td><td class="mono h">${esc(hash || '–')}</td><td>${from ? `<a data-goto="${esc(from)}">${esc(from)}</a>` : '<span class="muted">source</span>'}</td></tr>`);
    }
    out.push('</table>');
    if (t.inputs.length > 300) out.push(`<p class="muted">… and ${t.inputs.length - 300} more.</p>`);
  } else out.push('<p class="muted">none</p>');
  out.push('<h4>Build</h4><table>');
  row(out, 'fingerprint', t.fingerprint ? `<span class="mono">${esc(t.fingerprint)}</span>` : '<span class="muted">never recorded in sbuild.lock</span>');
  if (t.action) row(out, 'command', `<span class="mono">${esc(t.action)}</span>`);
  row(out, 'last duration', t.duration === undefined ? '<span class="muted">no run recorded</span>' : esc(seconds(t.duration)));
  if (t.lastBuild) {
    const lb = t.lastBuild;
    const where = lb.executor === 'slurm' ? 'Slurm' : 'local';
    row(out, 'last build', `${esc(lb.outcome)} on ${esc(where)} (${esc(lb.lane)})${lb.gpus.length ? `, GPU ${esc(lb.gpus.join(', '))}` : ''}, ${esc(seconds(lb.start))} → ${esc(seconds(lb.end))}`);
  } else row(out, 'last build', '<span class="muted">not run in the last build</span>');
  if (t.resources) row(out, 'resources', esc(Object.entries(t.resources).map(([k, v]) => `${k}: ${v}`).join(', ')));
  if (t.executor) row(out, 'executor', esc(t.executor));
  if (t.tags) row(out, 'tags', esc(t.tags.join(', ')));
  out.push('</table>');
  return out.join('');
}

function row(out: string[], k: string, v: string): void {
  out.push(`<tr><th>${esc(k)}</th><td>${v}</td></tr>`);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
