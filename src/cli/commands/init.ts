// `sbuild init`: in a repository of MMEngine configs without a tasks.config.ts, writes one
// (every leaf config an experiment, in the repository's own layout); in a git repository, also
// makes git merge sbuild.lock target by target. Never overwrites an existing config.
// Writing the config is the rule library's job (it reads Python configs); the CLI uses it
// through the package's public `sbuild/rules`, as any tasks.config.ts does.
import fs from 'node:fs';
import path from 'node:path';
import { SbuildError } from '../../errors.js';
import { CONFIG_NAMES } from '../../config/root.js';
import type { Options } from '../args.js';

export async function init(cwd: string, opts: Options, out: (s: string) => void): Promise<number> {
  if (opts.targets.length) throw new SbuildError('usage', `\`sbuild init\` takes no arguments (got ${opts.targets.map((t) => `'${t}'`).join(' ')}); run it at the root of the repository.`);
  const existing = CONFIG_NAMES.map((n) => path.join(cwd, n)).find((f) => fs.existsSync(f));
  if (existing) {
    out(`sbuild: ${path.basename(existing)} already exists; left as it is.`);
  } else {
    const rules = (await import('sbuild/rules' as string)) as typeof import('../../../rules/index.js');
    let s: ReturnType<typeof rules.scaffoldConfig>;
    try {
      s = rules.scaffoldConfig(cwd);
    } catch (err) {
      const e = err as Error & { badInput?: boolean };
      if (e.badInput) throw new SbuildError('usage', e.message);
      throw err;
    }
    const file = path.join(cwd, 'tasks.config.ts');
    // 'wx': never overwrite, even a config written since the check above.
    fs.writeFileSync(file, s.text, { flag: 'wx' });
    out(`sbuild: wrote tasks.config.ts: ${s.experiments.length} experiment(s) from ${s.configDirs.map((d) => `${d}/`).join(', ')}${s.skipped.length ? `; ${s.skipped.length} config(s) left out because they do not evaluate (listed at its top)` : ''}.`);
    out('next: `npx sbuild status` (what stands), `npx sbuild list --inputs` (what each job reads).');
  }
  // With a config already there, the merge driver is all init does: outside git that is an error.
  if (!existing && !isGitRepo(cwd)) {
    out('sbuild: not a git repository, so no merge driver was registered for sbuild.lock (run `sbuild init` again after `git init`).');
    return 0;
  }
  return (await import('./merge-lock.js')).init(cwd, out);
}

function isGitRepo(cwd: string): boolean {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}
