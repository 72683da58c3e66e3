// `sbuild results [--across A..B] [--all-variants] [--md | --json] [-v]`: every experiment
// run's metrics in one table (src/metrics/results.ts), from the work tree or across commits.
import type { Workspace } from '../../engine/workspace.js';
import { SbuildError } from '../../errors.js';
import { declaredExperiments } from '../../config/variants.js';
import { resultsTable } from '../../metrics/results.js';
import { renderResultsJson, renderResultsMarkdown, renderResultsText } from '../../metrics/results-render.js';
import type { Options } from '../args.js';

export async function results(ws: Workspace, opts: Options, out: (s: string) => void): Promise<number> {
  if (opts.targets.length) {
    throw new SbuildError('usage', `\`sbuild results\` takes no targets (got ${opts.targets.map((t) => `'${t}'`).join(' ')}): it shows every experiment's metrics. Compare commits with --across A..B; add --all-variants for experiments the config no longer declares.`);
  }
  if (opts.json && opts.md) throw new SbuildError('usage', '`sbuild results` takes --json or --md, not both.');
  const variantOf = new Map<string, string>();
  for (const e of declaredExperiments().values()) if (e.variantOf) variantOf.set(e.name, e.variantOf);
  const t = await resultsTable(ws.root, ws.graph, ws.lock.entries as never, {
    ...(opts.across !== undefined ? { across: opts.across } : {}),
    allVariants: opts.allVariants,
    variantOf,
  });
  if (opts.json) out(renderResultsJson(t));
  else for (const line of opts.md ? renderResultsMarkdown(t, opts.verbose) : renderResultsText(t, opts.verbose)) out(line);
  return 0;
}
