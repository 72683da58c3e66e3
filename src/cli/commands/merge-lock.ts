// `sbuild merge-lock %O %A %B %P`: a git merge driver for sbuild.lock. Merges target by
// target: a side that changed an entry wins over one that did not; when both changed one
// target differently, the entry whose outputs match the work tree is kept, and if neither
// does the entry is dropped (the target is then stale, and rebuilt or restored). The merged
// lock is written to %A; the exit code is 0, so git never leaves conflict markers in it.
import fs from 'node:fs';
import path from 'node:path';
import { SbuildError } from '../../errors.js';
import { serializeLock, type LockEntry } from '../../engine/lockfile.js';
import { FileHasher } from '../../hashing/file-hasher.js';
import { outputHash } from '../../engine/rebuilder.js';
import { writeFileAtomic } from '../../util/fs.js';
import { statCachePath } from '../../engine/state-paths.js';

function entries(file: string): Map<string, LockEntry> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { targets?: Record<string, LockEntry> };
    return new Map(Object.entries(parsed.targets ?? {}));
  } catch {
    return new Map(); // an absent or unreadable side contributes nothing
  }
}

const same = (a: LockEntry | undefined, b: LockEntry | undefined) => (a?.fingerprint ?? null) === (b?.fingerprint ?? null) && JSON.stringify(a?.outputs) === JSON.stringify(b?.outputs);

/** Whether every output of the entry is in the work tree with its recorded content. */
function matchesWorkTree(hasher: FileHasher, e: LockEntry): boolean {
  return Object.entries(e.outputs).every(([p, rec]) => outputHash(hasher, p, rec) === rec.hash);
}

export function mergeLock(args: string[], out: (s: string) => void): number {
  if (args.length < 3) {
    throw new SbuildError('usage', '`sbuild merge-lock` is a git merge driver: it takes %O %A %B [%P]. Set it up with `sbuild init`.');
  }
  const [base, ours, theirs, lockPath = 'sbuild.lock'] = args as [string, string, string, string?];
  const root = path.resolve(path.dirname(lockPath));
  // The same hashing as the rebuilder (read-only: a merge never writes the stat cache).
  const hasher = new FileHasher(root, statCachePath(root));
  const O = entries(base);
  const A = entries(ours);
  const B = entries(theirs);
  const merged = new Map<string, LockEntry>();
  const dropped: string[] = [];
  for (const name of new Set([...A.keys(), ...B.keys(), ...O.keys()])) {
    const o = O.get(name);
    const a = A.get(name);
    const b = B.get(name);
    let pick: LockEntry | undefined;
    if (same(a, b)) pick = a;
    else if (same(a, o)) pick = b;
    else if (same(b, o)) pick = a;
    else if (a && matchesWorkTree(hasher, a)) pick = a;
    else if (b && matchesWorkTree(hasher, b)) pick = b;
    else dropped.push(name);
    if (pick) merged.set(name, pick);
  }
  writeFileAtomic(ours, serializeLock(merged));
  if (dropped.length) out(`sbuild merge-lock: both branches changed ${dropped.join(', ')} and neither matches the work tree; left stale (the next build reruns or restores them)`);
  return 0;
}

/** `sbuild init`: registers the merge driver for sbuild.lock (.gitattributes + git config). */
export async function init(cwd: string, out: (s: string) => void): Promise<number> {
  const { execFileSync } = await import('node:child_process');
  let top: string;
  try {
    top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new SbuildError('usage', `${cwd} is not inside a git repository. Run \`git init\` first, then \`sbuild init\`.`);
  }
  const attrs = path.join(top, '.gitattributes');
  const lockRel = path.relative(top, path.join(cwd, 'sbuild.lock')).split(path.sep).join('/');
  const line = `${lockRel} merge=sbuild-lock`;
  const text = fs.existsSync(attrs) ? fs.readFileSync(attrs, 'utf8') : '';
  if (!text.split('\n').includes(line)) fs.writeFileSync(attrs, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`);
  execFileSync('git', ['config', 'merge.sbuild-lock.name', 'sbuild.lock merge driver'], { cwd: top });
  execFileSync('git', ['config', 'merge.sbuild-lock.driver', 'npx --no-install sbuild merge-lock %O %A %B %P'], { cwd: top });
  out(`sbuild: ${lockRel} now merges target by target (.gitattributes and git config merge.sbuild-lock)`);
  return 0;
}
