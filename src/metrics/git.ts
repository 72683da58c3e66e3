// Reading files as they were at a git revision, without checking anything out: the
// revision is resolved once, then one `git cat-file --batch` process reads every file.
import { spawn } from 'node:child_process';
import { SbuildError } from '../errors.js';

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function git(cwd: string, args: string[], input?: string, what = 'sbuild metrics diff'): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new SbuildError('usage', `\`${what}\` reads committed metrics from git, but no \`git\` program was found on the PATH. Install git (or add it to the PATH) and run it again.`));
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
  /** The command that reads it, for messages (`sbuild metrics diff`, `sbuild results`). */
  what: string;
}

/** The git repository holding the workspace `root`; an error (exit 2) when there is none. */
export async function openRepo(root: string, what = 'sbuild metrics diff'): Promise<GitRepo> {
  const r = await git(root, ['rev-parse', '--show-prefix'], undefined, what);
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n')[0] ?? '';
    if (/not a git repository/i.test(why)) {
      throw new SbuildError(
        'usage',
        `\`${what}\` compares metrics files with their committed versions, but the workspace ${root} is not inside a git repository. Run it in a clone, or start one here (\`git init\`, then \`git add\` the metrics files and \`git commit\`).`,
      );
    }
    throw new SbuildError('usage', `\`${what}\` could not read the git repository of the workspace ${root}: git said '${why}'. Fix what git reports, then run it again.`);
  }
  return { root, prefix: r.stdout.toString('utf8').trim(), what };
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
      `There is no revision '${rev}' to compare with: the git repository of the workspace ${repo.root} has no commits yet. Commit the metrics files first (\`git add\` them, then \`git commit\`), and run \`${repo.what}\` again.`,
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
    throw new SbuildError('usage', `\`${repo.what}\` could not read files of commit ${commit.slice(0, 12)} from git: '${r.stderr.trim().split('\n')[0] ?? ''}'.`);
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

/** The commits from `from` to `to` along `to`'s first parents, oldest first, `from` included; exit 2 when `from` is not on that path. */
export async function commitsBetween(repo: GitRepo, from: string, to: string): Promise<string[]> {
  const a = await resolveCommit(repo, from);
  const b = await resolveCommit(repo, to);
  if (a === b) return [a];
  const r = await git(repo.root, ['rev-list', '--first-parent', '--reverse', `${a}..${b}`], undefined, repo.what);
  const list = r.stdout.toString('utf8').split('\n').filter(Boolean);
  const first = list[0] === undefined ? undefined : await git(repo.root, ['rev-parse', `${list[0]}^1`], undefined, repo.what);
  if (r.code !== 0 || first?.code !== 0 || first.stdout.toString('utf8').trim() !== a) {
    throw new SbuildError('usage', `${from} (${a.slice(0, 7)}) is not on the first-parent history of ${to} (${b.slice(0, 7)}), so there is no run of commits from one to the other. Name an older commit of that history first (\`git log --first-parent --oneline ${to}\` lists them), e.g. ${to}~3..${to}.`);
  }
  return [a, ...list];
}

/** Subject line and committer date (ISO) of each commit. */
export async function commitInfo(repo: GitRepo, commits: string[]): Promise<Map<string, { subject: string; date: string }>> {
  const out = new Map<string, { subject: string; date: string }>();
  if (!commits.length) return out;
  const r = await git(repo.root, ['show', '-s', '--format=%H%x00%cI%x00%s', ...commits], undefined, repo.what);
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [h, date, subject] = line.split('\0');
    if (h && date !== undefined) out.set(h, { subject: subject ?? '', date });
  }
  return out;
}

/** `HEAD~N..HEAD` over the last `n` commits of HEAD's first-parent line (fewer in a short history); undefined without commits. */
export async function recentRange(repo: GitRepo, n: number): Promise<string | undefined> {
  const r = await git(repo.root, ['rev-list', '--first-parent', '--count', 'HEAD'], undefined, repo.what);
  const count = Number(r.stdout.toString('utf8').trim());
  if (r.code !== 0 || !Number.isInteger(count) || count < 1) return undefined;
  return `HEAD~${Math.min(n, count) - 1}..HEAD`;
}
