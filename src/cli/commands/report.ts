// `sbuild report [--out DIR]`: one self-contained HTML page (default artifacts/report/index.html)
// with the graph coloured by state, the paper table and charts, the last build's timeline and
// the metrics against HEAD. It reflects the workspace as it is when it runs.
import path from 'node:path';
import type { Workspace } from '../../engine/workspace.js';
import type { Options } from '../args.js';

export const DEFAULT_REPORT_DIR = 'artifacts/report';

export async function report(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const dir = opts.out !== undefined ? path.resolve(opts.out) : path.join(ws.root, DEFAULT_REPORT_DIR);
  for (const w of ws.warnings) process.stderr.write(`sbuild: ${w}\n`);
  const { writeReport } = await import('../../report/generate.js');
  const r = await writeReport(ws, dir, { gpus: opts.gpus, ...(opts.across !== undefined ? { across: opts.across } : {}) });
  const shown = path.relative(process.cwd(), r.file) || r.file;
  const states = Object.entries(r.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
  const size = r.bytes >= 1024 * 1024 ? `${(r.bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(r.bytes / 1024)} KB`;
  if (!opts.quiet) out(`sbuild: wrote ${shown} (${r.targets} target${r.targets === 1 ? '' : 's'}: ${states || 'none'}; ${size}) in ${(r.ms / 1000).toFixed(1)} s`);
  return 0;
}
