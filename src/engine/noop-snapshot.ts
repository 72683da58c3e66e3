// The no-op snapshot: a verifying trace of a whole build. After a build that left every
// requested target fresh, `.sbuild/noop.json` records a key (config description, declared
// env values, selection, sbuild.lock's stat) and the stat of every path the build looked at:
// each input, output and file inside folder inputs, every folder whose listing it read
// (a file added there changes the folder's mtime), and sbuild.lock itself. The next build with
// the same key, whose every stat is unchanged, is the same all-fresh build: it skips
// validation, the graph, the lock and the rebuilder. Any difference falls back to the full
// path. A stat younger than the timestamp slack is not trusted (racily clean), so a
// snapshot is only written once every file is old enough — usually by the second no-op.
import fs from 'node:fs';
import type { Config } from '../config/types.js';
import { actionIdentity, FINGERPRINT_FORMAT } from '../hashing/fingerprint.js';
import { LOCK_FORMAT } from './lockfile.js';
import { sha256 } from '../hashing/sha256.js';
import { absPath, writeFileAtomic } from '../util/fs.js';
import type { Workspace } from './workspace.js';
import { journalPath, noopSnapshotPath, writerLockPath } from './state-paths.js';

const FORMAT = 1;
const RACY_SLACK_MS = 50;

type StatTuple = [number, number, number, number] | null;

interface Snapshot {
  format: number;
  key: string;
  /** Non-group targets in the selection (for the summary line). */
  targets: number;
  files: Record<string, StatTuple>;
}

function tuple(st: fs.Stats | null | undefined): StatTuple {
  return st ? [st.size, st.mtimeMs, st.ino, st.ctimeMs] : null;
}

const keys = new WeakMap<Config, Map<string, string>>();

/** Everything besides file stats that decides a build: what is declared, and how it is asked. */
export function snapshotKey(root: string, config: Config, configHash: string, selection: string[], env: NodeJS.ProcessEnv): string {
  // Asked at start-up and again after a build: describe the config once per process.
  const memo = keys.get(config) ?? new Map<string, string>();
  keys.set(config, memo);
  const id = `${root}\0${configHash}\0${selection.join('\n')}`;
  const known = memo.get(id);
  if (known !== undefined) return known;
  const key = computeKey(root, config, configHash, selection, env);
  memo.set(id, key);
  return key;
}

function computeKey(root: string, config: Config, configHash: string, selection: string[], env: NodeJS.ProcessEnv): string {
  const fns: string[] = [];
  const envNames = new Set<string>();
  for (const t of config.targets ?? []) {
    if (typeof t?.run === 'function') fns.push(`${t.name}\0${actionIdentity(t, configHash)}`);
    for (const e of t?.env ?? []) envNames.add(e);
  }
  const envValues = [...envNames].sort().map((n) => `${n}=${env[n] === undefined ? '-' : sha256(env[n]!)}`);
  return sha256([`${FORMAT}/${FINGERPRINT_FORMAT}/${LOCK_FORMAT}`, root, JSON.stringify(config), fns.join('\n'), envValues.join('\n'), selection.join('\n')].join('\0\0'));
}

/** The number of fresh targets when the snapshot still holds, else undefined. */
export function checkSnapshot(root: string, key: string): number | undefined {
  if (fs.existsSync(journalPath(root)) || fs.existsSync(writerLockPath(root))) return undefined;
  let snap: Snapshot;
  try {
    snap = JSON.parse(fs.readFileSync(noopSnapshotPath(root), 'utf8')) as Snapshot;
  } catch {
    return undefined;
  }
  if (snap.format !== FORMAT || snap.key !== key || typeof snap.files !== 'object' || snap.files === null) return undefined;
  for (const p in snap.files) {
    const want = snap.files[p]!;
    const st = fs.statSync(absPath(root, p), { throwIfNoEntry: false });
    if (!st) {
      if (want !== null) return undefined;
      continue;
    }
    if (want === null || st.size !== want[0] || st.mtimeMs !== want[1] || st.ino !== want[2] || st.ctimeMs !== want[3]) return undefined;
  }
  return snap.targets;
}

export function removeSnapshot(root: string): void {
  fs.rmSync(noopSnapshotPath(root), { force: true });
}

/** Records the snapshot after an all-fresh build, unless some stat is too young to trust or moved. */
export function writeSnapshot(ws: Workspace, key: string, targets: number): void {
  removeSnapshot(ws.root);
  const files: Record<string, StatTuple> = {};
  const now = Date.now();
  const paths = new Set<string>(['sbuild.lock']);
  for (const [p] of ws.hasher.statted()) paths.add(p);
  for (const d of ws.hasher.listedDirs) paths.add(d);
  for (const p of paths) {
    const st = fs.statSync(absPath(ws.root, p), { throwIfNoEntry: false }) ?? null;
    if (st && st.mtimeMs + RACY_SLACK_MS >= now) return;
    files[p] = tuple(st);
  }
  for (const [p, st] of ws.hasher.statted()) {
    const a = files[p];
    const b = tuple(st);
    if (JSON.stringify(a) !== JSON.stringify(b)) return; // changed while we built: not a verified state
  }
  writeFileAtomic(noopSnapshotPath(ws.root), JSON.stringify({ format: FORMAT, key, targets, files } satisfies Snapshot));
}
