// `htmlReport`: a target that writes the HTML report (`sbuild report --out DIR`) during a
// build. The page shows the workspace as it is when the target runs: the targets that run
// after it in the same build, or the build's own timeline (written when the build ends), are
// not in it; run `sbuild report` after a build for the complete picture. Its declared inputs
// only decide when it reruns (by default the paper table): it is never restored from the cache.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceRoot, type Target } from '../src/index.js';

export const RESULTS_TABLE = 'artifacts/experiments/experiment_results.tsv';

export interface HtmlReportOptions {
  /** Target name (default `report/html`; `sbuild report` is the command, so build it with `sbuild build report/html`). */
  name?: string;
  /** Folder of index.html, workspace-relative (default `artifacts/report`). */
  out?: string;
  /** What reruns it (default: the paper table, when it is on disk). */
  inputs?: string[];
  /** Targets it runs after (their outputs become inputs too). */
  deps?: string[];
}

export function htmlReport(opts: HtmlReportOptions = {}): Target {
  const out = (opts.out ?? 'artifacts/report').replace(/\\/g, '/').replace(/\/+$/, '');
  const root = workspaceRoot();
  const inputs = opts.inputs ?? (fs.existsSync(path.join(root, RESULTS_TABLE)) ? [RESULTS_TABLE] : []);
  return {
    name: opts.name ?? 'report/html',
    inputs,
    ...(opts.deps?.length ? { deps: opts.deps } : {}),
    outputs: [`${out}/index.html`],
    run: ['node', sbuildBin(root), 'report', '--out', out],
    cache: false,
    tags: ['report'],
    description: `the HTML report ${out}/index.html (graph by state, results, last build, metrics vs HEAD) as of when it runs`,
  };
}

/**
 * sbuild's entry point as the command names it: relative to the workspace when it lies inside
 * (`bin/sbuild.js` here, `node_modules/sbuild/bin/sbuild.js` in a project that installed or
 * linked sbuild), so the command, and with it the fingerprint, is the same in every clone.
 */
function sbuildBin(root: string): string {
  const bin = fileURLToPath(new URL('../../bin/sbuild.js', import.meta.url));
  const rel = path.relative(root, bin).split(path.sep).join('/');
  if (!rel.startsWith('../') && !path.isAbsolute(rel)) return rel;
  const installed = 'node_modules/sbuild/bin/sbuild.js';
  try {
    if (fs.realpathSync(path.join(root, installed)) === fs.realpathSync(bin)) return installed;
  } catch {
    /* not installed there */
  }
  return bin;
}
