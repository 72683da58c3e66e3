// Reading files as they were at a git revision, without checking anything out: the
// revision is resolved once, then one `git cat-file --batch` process reads every file.
import { spawn } from 'node:child_process';
import { SbuildError } from '../errors.js';

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function git(cwd: string, args: string[], input?: string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new SbuildError('usage', '`sbuild metrics diff` reads the old metrics from git, but no `git` program was found on the PATH. Install git (or add it to the PATH) and run it again.'));
      } else reject(e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {}); // git exited early; its status says why
    child.stdin.end(input ?? '');
  });
}

export interface GitRepo {
  /** The workspace root the repository was opened from. */
  root: string;
  /** The workspace's folder inside the repository, with a trailing `/` (empty at the top). */
  prefix: string;
}

/** The git repository holding the workspace `root`; an error (exit 2) when there is none. */
export async function openRepo(root: string): Promise<GitRepo> {
  const r = await git(root, ['rev-parse', '--show-prefix']);
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n')[0] ?? '';
    if (/not a git repository/i.test(why)) {
      throw new SbuildError(
        'usage',
        `\`sbuild metrics diff\` compares metrics files with their committed versions, but the workspace ${root} is not inside a git repository. Run it in a clone, or start one here (\`git init\`, then \`git add\` the metrics files and \`git commit\`).`,
      );
    }
    throw new SbuildError('usage', `\`sbuild metrics diff\` could not read the git repository of the workspace ${root}: git said '${why}'. Fix what git reports, then run it again.`);
  }
  return { root, prefix: r.stdout.toString('utf8').trim() };
}

/** The full hash of the commit `rev` names; an error (exit 2) naming `rev` when it names none. */
export async function resolveCommit(repo: GitRepo, rev: string): Promise<string> {
  if (rev !== '' && !rev.startsWith('-')) {
    const r = await git(repo.root, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
    if (r.code === 0) return r.stdout.toString('utf8').trim();
  }
  const head = await git(repo.root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (head.code !== 0) {
    throw new SbuildError(
      'usage',
      `There is no revision '${rev}' to compare with: the git repository of the workspace ${repo.root} has no commits yet. Commit the metrics files first (\`git add\` them, then \`git commit\`), and run \`sbuild metrics diff\` again.`,
    );
  }
  throw new SbuildError(
    'usage',
    `There is no revision '${rev}' in the git repository of the workspace ${repo.root}: it names no commit, branch or tag. \`git log --oneline\` lists the commits; a commit hash, a branch, a tag or a form such as HEAD~1 works.`,
  );
}

/**
 * The contents of workspace-relative `paths` at `commit` (undefined where the commit has no
 * such file), read by one `git cat-file --batch`.
 */
export async function readAtCommit(repo: GitRepo, commit: string, paths: string[]): Promise<Map<string, Buffer | undefined>> {
  const found = new Map<string, Buffer | undefined>();
  if (!paths.length) return found;
  const input = paths.map((p) => `${commit}:${repo.prefix}${p}\n`).join('');
  const r = await git(repo.root, ['cat-file', '--batch'], input);
  if (r.code !== 0) {
    throw new SbuildError('usage', `\`sbuild metrics diff\` could not read files of commit ${commit.slice(0, 12)} from git: '${r.stderr.trim().split('\n')[0] ?? ''}'.`);
  }
  const buf = r.stdout;
  let pos = 0;
  for (const p of paths) {
    const eol = buf.indexOf(0x0a, pos);
    if (eol < 0) throw new Error(`git cat-file --batch ended early (at ${p})`);
    const header = buf.toString('utf8', pos, eol);
    pos = eol + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      found.set(p, undefined); // "<name> missing" (or ambiguous): not in that commit
      continue;
    }
    const size = Number(m[2]);
    found.set(p, m[1] === 'blob' ? buf.subarray(pos, pos + size) : undefined);
    pos += size + 1;
  }
  return found;
}
