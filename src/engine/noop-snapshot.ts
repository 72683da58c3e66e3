// The no-op snapshot: a verifying trace of a whole build. After a build that left every
// requested target fresh, `.sbuild/noop.json` records a key (config description, declared
// env values, selection, sbuild.lock's stat) and the stat of every path the build looked at:
// each input, output and file inside folder inputs, every folder whose listing it read
// (a file added there changes the folder's mtime), and sbuild.lock itself. The next build with
// the same key, whose every stat is unchanged, is the same all-fresh build: it skips
// validation, the graph, the lock and the rebuilder. Any difference falls back to the full
// path. A stat younger than the timestamp slack is not trusted (racily clean): such a path is
// recorded as racy, which no no-op accepts.
//
// When the snapshot misses, it still says what changed (snapshotDelta): the paths whose stat
// differs (racy ones included) and the targets whose declaration differs. A build then judges
// only the targets those touch and everything downstream of them (engine/dirty.ts); the rest
// are fresh as the snapshot verified them. Anything it cannot attribute (another config
// setting, another selection, sbuild.lock rewritten with other content, a path no target
// reads or writes) means the whole graph is judged.
import fs from 'node:fs';
import type { Config } from '../config/types.js';
import { actionIdentity, FINGERPRINT_FORMAT } from '../hashing/fingerprint.js';
import { LOCK_FORMAT, lockWritten } from './lockfile.js';
import { anyBuilds, lastSeq } from './live-builds.js';
import { sha256 } from '../hashing/sha256.js';
import { absPath, writeFileAtomic } from '../util/fs.js';
import type { Workspace } from './workspace.js';
import { journalPath, noopDeclaredPath, noopSnapshotPath, writerLockPath } from './state-paths.js';

const FORMAT = 3;
const RACY_SLACK_MS = 50;

type StatTuple = [number, number, number, number] | null;

export interface Snapshot {
  format: number;
  key: string;
  /** Format, workspace and selection: a delta is only taken against the same selection. */
  base: string;
  /** The config without its targets (pools, gpus, caches…): any change there judges everything. */
  rest: string;
  /** Non-group targets in the selection (for the summary line). */
  targets: number;
  files: Record<string, StatTuple>;
  /** Paths whose stat was too young to vouch for their content: each counts as changed. */
  racy: string[];
  /** sbuild.lock's content hash: a lock rewritten with the same content (a git checkout and back) is the same lock. */
  lockHash?: string;
  /** Hash of the names of the targets this snapshot verified (the selection as the graph closed it then); the names are in the declared file. */
  verified: string;
}

/** Per target name, under the snapshot key it belongs to: its declaration, in-process action and env values. */
interface Declared {
  key: string;
  targets: Record<string, string>;
  /**
   * The targets the snapshot verified, sorted (their hash is Snapshot.verified). A target
   * outside them (brought into the selection by a changed group, or by a glob that now reaches
   * into its outputs) was never checked: it is judged, not taken as fresh.
   */
  verified: string[];
}

/** What changed since the snapshot was taken, as far as it can say. */
export interface SnapshotDelta {
  /** Paths whose stat differs from the one recorded (or that were recorded racy). */
  paths: string[];
  /** Targets declared differently, or new. */
  targets: string[];
  /** Paths recorded absent that still are (outputs of absent targets: fresh by record, not on disk). */
  absent: string[];
  /** sbuild.lock's stat when the delta was taken: another build that wrote it since voids the delta. */
  lock: StatTuple;
  /**
   * The workspace's build sequence number before the snapshot's paths were statted. A build or
   * a writing command (clean, pull, adopt…) that started since takes the next number: it may
   * have changed files after they were statted, without writing sbuild.lock (a build whose
   * targets all failed removed their outputs), so it voids the delta too.
   */
  seq: number;
}

/** Whether sbuild.lock is still as it was when the delta was taken, and no build or writing command started since. */
export function deltaHolds(root: string, delta: SnapshotDelta): boolean {
  return sameStat(fs.statSync(absPath(root, 'sbuild.lock'), { throwIfNoEntry: false }), delta.lock) && lastSeq(root) === delta.seq;
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

function verifiedHash(names: string[]): string {
  return sha256(names.join('\n'));
}

function baseKey(root: string, selection: string[]): string {
  return sha256([`${FORMAT}/${FINGERPRINT_FORMAT}/${LOCK_FORMAT}`, root, selection.join('\n')].join('\0\0'));
}

function restKey(config: Config): string {
  return sha256(JSON.stringify({ ...config, targets: undefined }));
}

/** Each target's declaration as it decides its fingerprint: the target, its in-process action, its env values. */
function declarations(config: Config, configHash: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of config.targets ?? []) {
    const fn = typeof t?.run === 'function' ? actionIdentity(t, configHash) : '';
    const envValues = (t?.env ?? []).map((n) => `${n}=${env[n] === undefined ? '-' : sha256(env[n]!)}`).join('\n');
    out[String(t?.name)] = sha256(`${JSON.stringify(t)}\0${fn}\0${envValues}`);
  }
  return out;
}

/** The snapshot, when no build is under way or was interrupted (`during`: read by the build that writes it, under the state lock). */
function readSnapshot(root: string, during = false): Snapshot | undefined {
  if (!during && (fs.existsSync(journalPath(root)) || fs.existsSync(writerLockPath(root)) || anyBuilds(root))) return undefined;
  const file = noopSnapshotPath(root);
  try {
    // The build that checked the snapshot reads it again to carry it on: parsed once per process.
    const st = fs.statSync(file);
    const stamp = JSON.stringify(tuple(st));
    const known = parsed.get(file);
    if (known?.stamp === stamp) return known.snap;
    const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
    if (snap.format !== FORMAT || typeof snap.files !== 'object' || snap.files === null || !Array.isArray(snap.racy)) return undefined;
    parsed.set(file, { stamp, snap });
    return snap;
  } catch {
    return undefined;
  }
}

const parsed = new Map<string, { stamp: string; snap: Snapshot }>();

function sameStat(st: fs.Stats | undefined, want: StatTuple): boolean {
  if (!st) return want === null;
  return want !== null && st.size === want[0] && st.mtimeMs === want[1] && st.ino === want[2] && st.ctimeMs === want[3];
}

/** The snapshot as it stands now: the recorded paths whose stat moved since (each path statted once). */
export interface SnapshotCheck {
  snap: Snapshot;
  /** The build sequence number read before the stats were taken (SnapshotDelta.seq). */
  seq: number;
  moved: string[];
  /** Recorded absent, and still absent. */
  absent: string[];
}

/** Reads the snapshot and stats every path it records; undefined when there is none to use. */
export function checkSnapshot(root: string): SnapshotCheck | undefined {
  // Read before the snapshot is: a command that takes a number after readSnapshot found no
  // build under way and before the stats are taken must show as a changed number.
  const seq = lastSeq(root);
  const snap = readSnapshot(root);
  if (!snap) return undefined;
  const moved: string[] = [];
  const absent: string[] = [];
  for (const p in snap.files) {
    const want = snap.files[p]!;
    if (!sameStat(fs.statSync(absPath(root, p), { throwIfNoEntry: false }), want)) moved.push(p);
    else if (want === null) absent.push(p);
  }
  return { snap, seq, moved, absent };
}

/** The number of fresh targets when the snapshot holds for this key (nothing moved, nothing racy), else undefined. */
export function snapshotHolds(check: SnapshotCheck, key: string): number | undefined {
  return check.snap.key === key && check.moved.length === 0 && check.snap.racy.length === 0 ? check.snap.targets : undefined;
}

/**
 * What changed since the snapshot, for a build of the same selection; undefined when it cannot
 * say (another selection or config setting, a target removed, the lock's content changed), and
 * the whole graph must be judged.
 */
export function snapshotDelta(root: string, check: SnapshotCheck, key: string, config: Config, configHash: string, selection: string[], env: NodeJS.ProcessEnv): SnapshotDelta | undefined {
  const { snap } = check;
  if (snap.base !== baseKey(root, selection) || snap.rest !== restKey(config)) return undefined;
  const paths: string[] = [];
  for (const p of check.moved) {
    if (p === 'sbuild.lock') {
      // Rewritten since (a git checkout and back): the same content is the same lock.
      if (snap.lockHash === undefined || snap.lockHash !== fileHash(root, p)) return undefined;
      continue;
    }
    paths.push(p);
  }
  const seen = new Set(paths);
  for (const p of snap.racy) if (!seen.has(p)) paths.push(p);
  // Kept apart from the snapshot (read only here, on a miss), under the key it describes.
  let declared: Declared;
  try {
    declared = JSON.parse(fs.readFileSync(noopDeclaredPath(root), 'utf8')) as Declared;
  } catch {
    return undefined;
  }
  if (declared.key !== snap.key || typeof declared.targets !== 'object' || declared.targets === null) return undefined;
  if (!Array.isArray(declared.verified) || verifiedHash(declared.verified) !== snap.verified) return undefined;
  const targets: string[] = [];
  const verified = new Set(declared.verified);
  // The same key: no declaration changed (only files did), so none need describing again.
  if (snap.key !== key) {
    const now = declarations(config, configHash, env);
    for (const name in now) if (declared.targets[name] !== now[name]) targets.push(name);
    // A target that is gone changes what globs match and what owns which path: judge everything.
    for (const name in declared.targets) if (!(name in now)) return undefined;
  }
  const named = new Set(targets);
  for (const t of config.targets ?? []) {
    const name = String(t?.name);
    if (!verified.has(name) && !named.has(name)) targets.push(name);
  }
  return { paths, targets, absent: check.absent, lock: tuple(fs.statSync(absPath(root, 'sbuild.lock'), { throwIfNoEntry: false })), seq: check.seq };
}

function fileHash(root: string, p: string): string | undefined {
  try {
    // sbuild.lock as this process last wrote it: its hash is known without reading it back.
    if (p === 'sbuild.lock') {
      const w = lockWritten(root);
      if (w && JSON.stringify(tuple(fs.statSync(absPath(root, p)))) === w.stamp) return w.sha256;
    }
    return sha256(fs.readFileSync(absPath(root, p)));
  } catch {
    return undefined;
  }
}

export function removeSnapshot(root: string): void {
  fs.rmSync(noopSnapshotPath(root), { force: true });
}

/**
 * Records the snapshot after an all-fresh build. Each path gets the stat this build took of it
 * (a folder: the stat taken before its first listing), not a stat taken now: what the build
 * judged was seen at that stat, so a change since (while it built) shows as a moved stat to
 * the next build, which judges it. A stat younger than the timestamp slack when it was taken
 * vouches for nothing (a write in the same tick leaves it unchanged): racy. `carried`: the
 * snapshot this build's delta was taken against; the paths of targets it did not judge are
 * carried over with the stats that snapshot verified when this build started.
 */
export function writeSnapshot(ws: Workspace, key: string, selection: string[], targets: number, verifiedNames: string[], carried?: SnapshotDelta): void {
  const previous = readSnapshot(ws.root, true);
  const old = carried ? previous : undefined;
  removeSnapshot(ws.root);
  if (carried && !old) return;
  const files: Record<string, StatTuple> = {};
  const racy = new Set<string>();
  const note = (p: string, st: fs.Stats | null, statAt: number) => {
    if (!(p in files)) files[p] = tuple(st);
    else if (!sameStat(st ?? undefined, files[p]!)) racy.add(p); // seen two ways: changed while it built
    if (st && st.mtimeMs + RACY_SLACK_MS >= statAt) racy.add(p);
  };
  for (const [p, st, statAt] of ws.hasher.statted()) note(p, st, statAt);
  for (const [p, st, statAt] of ws.hasher.listedDirs()) note(p, st, statAt);
  // sbuild.lock is told apart by its content hash (and a rewrite always takes a new inode).
  racy.delete('sbuild.lock');
  files['sbuild.lock'] = tuple(fs.statSync(absPath(ws.root, 'sbuild.lock'), { throwIfNoEntry: false }) ?? null);
  const lockHash = fileHash(ws.root, 'sbuild.lock');
  if (old) {
    // Paths this build did not look at were verified by the old snapshot when it started. A
    // changed one it did not look at is read by no target it judged: dropped.
    const changed = new Set(carried!.paths);
    for (const p in old.files) {
      if (p in files || changed.has(p)) continue;
      files[p] = old.files[p]!;
    }
  }
  const verified = [...verifiedNames].sort();
  const verifiedNow = verifiedHash(verified);
  // The same key and targets describe the same declarations: the file written with them still holds.
  if (previous?.key !== key || previous.verified !== verifiedNow) {
    writeFileAtomic(noopDeclaredPath(ws.root), JSON.stringify({ key, targets: declarations(ws.config, ws.configHash, process.env), verified } satisfies Declared));
  }
  const snap: Snapshot = {
    format: FORMAT, key, base: baseKey(ws.root, selection), rest: restKey(ws.config), targets, files, racy: [...racy], ...(lockHash ? { lockHash } : {}), verified: verifiedNow,
  };
  writeFileAtomic(noopSnapshotPath(ws.root), JSON.stringify(snap));
}
