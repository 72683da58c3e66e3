// `sbuild metrics diff [REV] [REV2] [--json] [--md] [-v]`: the metrics JSONs of the work tree
// (or REV2) against a revision (default HEAD), value by value. Renders src/metrics/diff.ts.
import type { Workspace } from '../../engine/workspace.js';
import { SbuildError } from '../../errors.js';
import { metricsDiff } from '../../metrics/diff.js';
import { renderJson, renderMarkdown, renderText } from '../../metrics/render.js';
import type { Options } from '../args.js';

const USAGE = '`sbuild metrics diff [REV] [REV2]` compares the metrics files with revision REV (default HEAD), or REV with REV2';

export async function metrics(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  const [sub, ...revs] = opts.targets;
  if (sub !== 'diff') {
    const what = sub === undefined ? 'needs a subcommand' : `has no subcommand '${sub}'`;
    throw new SbuildError('usage', `\`sbuild metrics\` ${what}. ${USAGE}; add --json or --md for other formats.`);
  }
  if (revs.length > 2) throw new SbuildError('usage', `\`sbuild metrics diff\` takes at most two revisions, got ${revs.length} (${revs.map((r) => `'${r}'`).join(' ')}). ${USAGE}.`);
  if (opts.json && opts.md) throw new SbuildError('usage', '`sbuild metrics diff` takes --json or --md, not both.');
  const d = await metricsDiff(ws.root, ws.graph, revs[0], revs[1]);
  const all = { all: opts.verbose };
  if (opts.json) out(renderJson(d, all));
  else for (const line of opts.md ? renderMarkdown(d, all) : renderText(d, all)) out(line);
  return 0;
}
