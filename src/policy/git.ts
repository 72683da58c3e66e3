// The git questions `sbuild check` asks, each in one batched call: where the work tree is,
// which files are tracked or untracked-and-not-ignored (one `git ls-files`), and which rule
// ignores a given set of paths (one `git check-ignore --stdin`).
import { spawnSync } from 'node:child_process';
import { SbuildError } from '../errors.js';

function git(cwd: string, args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('git', args, {
    cwd,
    input,
    encoding: 'utf8',
    maxBuffer: 2 ** 31 - 1,
    env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SbuildError('usage', '`sbuild check` needs git, which is not installed or not on PATH.');
    throw r.error;
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** git's output; a usage error (exit 2) when it exits with a code not in `ok`. */
function must(cwd: string, args: string[], input?: string, ok: number[] = [0]): string {
  const r = git(cwd, args, input);
  if (!ok.includes(r.code ?? -1)) throw new SbuildError('usage', `\`sbuild check\` could not ask git: \`git ${args.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim()}. Fix what git reports, then run it again.`);
  return r.stdout;
}

/** The top folder of the git work tree holding `dir`; a usage error when there is none. */
export function workTreeTop(dir: string): string {
  const r = git(dir, ['rev-parse', '--is-inside-work-tree', '--show-toplevel']);
  const [inside, top] = r.stdout.split('\n');
  if (r.code !== 0 || inside !== 'true' || !top) {
    throw new SbuildError(
      'usage',
      `${dir} is not inside a git work tree, so there is no tracked or ignored file to check. Run \`git init\` there (or run sbuild check in a clone of the repository).`,
    );
  }
  return top;
}

export interface GitFiles {
  /** Tracked files (index entries; submodules left out), relative to the folder asked about. */
  tracked: Set<string>;
  /** Untracked files that no ignore rule covers: what `git add -A` would add. */
  untracked: Set<string>;
}

/** Tracked and untracked-not-ignored files below `dir`, relative to it, in one `git ls-files`. */
export function listFiles(dir: string): GitFiles {
  // -t tags each entry (H/S/M… cached, ? other); -s gives the mode, to leave submodules out.
  const out = must(dir, ['ls-files', '-z', '-t', '-s', '-c', '-o', '--exclude-standard']);
  const tracked = new Set<string>();
  const untracked = new Set<string>();
  for (const entry of out.split('\0')) {
    if (entry.length < 3) continue;
    const rest = entry.slice(2);
    if (entry[0] === '?') {
      // A nested repository shows as 'sub/': its files are its own.
      if (!rest.endsWith('/')) untracked.add(rest);
      continue;
    }
    const tab = rest.indexOf('\t');
    if (tab < 0) continue;
    if (rest.startsWith('160000 ')) continue; // a submodule (gitlink)
    tracked.add(rest.slice(tab + 1));
  }
  return { tracked, untracked };
}

/** The ignore rule that decides a path: `source:line:pattern` as git reports it. */
export interface IgnoreRule {
  /** The file holding the rule, relative to the work tree's top (or absolute: core.excludesFile). */
  source: string;
  line: number;
  pattern: string;
}

/**
 * For each path (relative to `dir`) that git's ignore rules exclude, the rule that does it,
 * judged by the patterns alone (as if untracked). A folder's entry says git will not look
 * inside it. Paths that are not ignored (or re-included by a `!` rule) are absent.
 */
export function checkIgnore(dir: string, paths: Iterable<string>): Map<string, IgnoreRule> {
  const list = [...new Set(paths)];
  const found = new Map<string, IgnoreRule>();
  if (list.length === 0) return found;
  // check-ignore reads pathspecs: './' keeps a name starting with ':' from reading as magic.
  const asked = (p: string) => (p.startsWith(':') ? `./${p}` : p);
  // Exit 1 means "nothing ignored"; anything else but 0 is a failure.
  const f = must(dir, ['check-ignore', '-v', '-z', '--stdin', '--no-index', '--non-matching'], list.map(asked).join('\0') + '\0', [0, 1]).split('\0');
  for (let i = 0; i + 3 < f.length; i += 4) {
    const [source, line, pattern, p] = [f[i]!, f[i + 1]!, f[i + 2]!, f[i + 3]!];
    if (source === '' || pattern.startsWith('!')) continue;
    found.set(p.startsWith('./:') ? p.slice(2) : p, { source, line: Number(line), pattern });
  }
  return found;
}
