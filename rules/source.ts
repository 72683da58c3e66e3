// What a build's source tree is, for a provenance record such as the release manifest: the
// commit checked out, and which files of the workspace differ from it. Asked of `git` as a
// process (`git status`), at action run time: unlike `gitCommit`, which runs each time the
// config loads, this runs only when a record is written, and only git itself knows the index
// and the ignore rules.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitCommit } from './git.js';

/** How a path differs from the commit, as `git status` sees it. */
export type ChangeKind = 'modified' | 'added' | 'deleted' | 'renamed' | 'copied' | 'untracked';

/** One path of the work tree that differs from the commit. */
export interface ChangedPath {
  /** Workspace-relative path. */
  path: string;
  status: ChangeKind;
  /** For `renamed` and `copied`: the path it came from (workspace-relative). */
  from?: string;
}

/** The answer of `git`, or why there is none. */
export type GitSource =
  | { ok: true; commit: string | null; changes: ChangedPath[] }
  | { ok: false; commit: string | null; why: string };

interface Ran {
  code: number;
  stdout: Buffer;
  stderr: string;
  missing: boolean;
}

/** Runs git in `cwd`; never rejects (a missing program is `missing`). */
function git(cwd: string, args: string[], signal?: AbortSignal): Promise<Ran> {
  return new Promise((resolve, reject) => {
    // GIT_OPTIONAL_LOCKS=0: a status must not take the index lock from the user's own git.
    const child = spawn('git', args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' },
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') resolve({ code: 127, stdout: Buffer.alloc(0), stderr: '', missing: true });
      else reject(e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), missing: false }));
  });
}

/**
 * The commit of the repository holding `root` and every path below `root` that differs from
 * it (modified, added, deleted, renamed, copied, untracked and not ignored), in git's order.
 * When git cannot answer (no `git` program, not a repository, a repository git refuses) `ok`
 * is false and `why` says which; the commit is then read from the repository's files where
 * there are some (`gitCommit`; null outside a repository).
 */
export async function gitSource(root: string, signal?: AbortSignal): Promise<GitSource> {
  const where = await git(root, ['rev-parse', '--show-prefix'], signal);
  if (where.missing) return { ok: false, commit: gitCommit(root), why: 'no `git` program on the PATH' };
  if (where.code !== 0) {
    const said = where.stderr.trim().split('\n')[0] ?? '';
    return { ok: false, commit: gitCommit(root), why: /not a git repository/i.test(said) ? 'not inside a git repository' : `git said: ${said}` };
  }
  const prefix = where.stdout.toString('utf8').trim();
  const head = await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], signal);
  const commit = head.code === 0 ? head.stdout.toString('utf8').trim() : null; // null: no commit yet
  // `-- .` keeps the listing to the workspace; porcelain paths are relative to the repository's top.
  const st = await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', '.'], signal);
  if (st.code !== 0) return { ok: false, commit, why: `git status said: ${st.stderr.trim().split('\n')[0] ?? ''}` };
  return { ok: true, commit, changes: parsePorcelain(st.stdout.toString('utf8'), prefix) };
}

/**
 * `git status --porcelain=v1 -z` records: `XY path`, and for a rename or copy `XY to` then
 * `from` as the next record. X is the index against HEAD, Y the work tree against the index.
 */
export function parsePorcelain(text: string, prefix = ''): ChangedPath[] {
  const records = text.split('\0');
  const out: ChangedPath[] = [];
  // Workspace-relative; an untracked nested repository is listed as `dir/`: named `dir`.
  const rel = (p: string) => (p.startsWith(prefix) ? p.slice(prefix.length) : path.posix.relative(prefix, p)).replace(/\/$/, '');
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.length < 4) continue;
    const x = r[0]!;
    const y = r[1]!;
    const p = rel(r.slice(3));
    const moved = 'RC'.includes(x) || 'RC'.includes(y);
    const from = moved ? rel(records[++i] ?? '') : undefined;
    out.push(from === undefined ? { path: p, status: kindOf(x, y) } : { path: p, status: kindOf(x, y), from });
  }
  return out;
}

function kindOf(x: string, y: string): ChangeKind {
  if (x === '?') return 'untracked';
  if (x === 'R' || y === 'R') return 'renamed';
  if (x === 'C' || y === 'C') return 'copied';
  if (x === 'D' || y === 'D') return 'deleted';
  if (x === 'A') return 'added';
  return 'modified'; // M, T (type change), U (unmerged)
}

/**
 * SHA-256 input for a changed path as git would see its content: a file's bytes, a symbolic
 * link's target text; undefined for a path that is gone or is a folder (a submodule or a
 * nested repository).
 */
export function contentOf(abs: string): { file: string } | { text: string } | undefined {
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isSymbolicLink()) return { text: fs.readlinkSync(abs) };
  return st.isFile() ? { file: abs } : undefined;
}
