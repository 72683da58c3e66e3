// `sbuild check [--json]`: the repository's git policy. Paper-facing files (policy.tracked) are
// tracked, run outputs (policy.ignored) are neither tracked nor addable, and no tracked file is
// over policy.maxFileMB. Exit 0 when satisfied, 1 with the violations and their fixes (in the
// text report, violations that share a fix are one entry: the fix once, one command for all).
import path from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { validateConfig, locator } from '../../config/validate.js';
import { SbuildError } from '../../errors.js';
import { evaluatePolicy } from '../../policy/evaluate.js';
import { renderJson, renderText } from '../../policy/report.js';
import type { Options } from '../args.js';

/** Inputs outside the workspace (absolute paths), with the targets reading each; sorted. */
function externalInputs(targets: Array<{ name: string; inputs: string[] }>): Array<{ path: string; targets: string[] }> {
  const by = new Map<string, string[]>();
  for (const t of targets) for (const i of t.inputs) if (i.startsWith('/')) by.set(i, [...(by.get(i) ?? []), t.name]);
  return [...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, ts]) => ({ path: p, targets: ts }));
}

export async function check(loaded: LoadedConfig, opts: Options, out: (s: string) => void): Promise<number> {
  if (opts.targets.length) throw new SbuildError('usage', `\`sbuild check\` takes no targets (got ${opts.targets.map((t) => `'${t}'`).join(' ')}); it checks the whole workspace.`);
  const cwd = process.cwd();
  const { config, targets } = validateConfig(loaded, cwd);
  if (config.policy === undefined) {
    throw new SbuildError(
      'config-invalid',
      `The config has no \`policy\`, so \`sbuild check\` has nothing to check. Add one to defineConfig({...}): \`policy: sardetPolicy\` (import { sardetPolicy } from 'sbuild/rules'), or \`policy: { tracked: ['results/*.tsv'], ignored: ['work_dirs/**'], maxFileMB: 100 }\`.`,
      { location: locator(loaded, cwd)()! },
    );
  }
  const report = evaluatePolicy(loaded.root, config.policy);
  const external = externalInputs(targets);
  if (opts.json) {
    const j = JSON.parse(renderJson(report)) as Record<string, unknown>;
    out(JSON.stringify({ ...j, externalInputs: external }, null, 2));
  } else {
    const rel = path.relative(cwd, loaded.root);
    if (report.violations.length && rel !== '') out(`(paths and commands are relative to the workspace root ${loaded.root})`);
    for (const line of renderText(report)) out(line);
    if (external.length) {
      out(`not portable: ${external.length} input(s) outside the workspace; a clone on another machine has them only at the same path (copy them into the repository, or publish them and say where):`);
      for (const e of external.slice(0, 20)) out(`  ${e.path}  (${e.targets.slice(0, 3).join(', ')}${e.targets.length > 3 ? `, +${e.targets.length - 3} more` : ''})`);
      if (external.length > 20) out(`  … and ${external.length - 20} more (--json lists all)`);
    }
  }
  return report.violations.length ? 1 : 0;
}
