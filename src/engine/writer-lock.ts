// The state lock of a workspace: `.sbuild/writer.pid`. A build holds it only while it reads
// and writes the shared state (its plan and what it claims, engine/live-builds.ts; folding its
// journal into sbuild.lock at the end), never while its jobs run, so builds run side by side.
// An exclusive command (clean, adopt, gc, …) holds it for its whole run. A waiter says for
// whom once the wait is longer than a build's hold, or with --no-wait exits 2; a lock whose
// holder is provably dead is taken over. Read-only commands (status, explain, list, graph)
// never take it.
//
// How it stays correct when several sbuilds start in the same instant:
//
// 1. The lock file appears complete. Its contents (holder record with a random token) are
//    written to a private temp file that is then hard-linked to the lock name; link(2) fails
//    with EEXIST when the name exists, atomically. So nobody ever reads an empty or half-written
//    lock from a live sbuild (the old create-then-write left a window in which a reader took
//    the empty file for a torn one and removed it: two writers).
//
// 2. A holder is taken over only when it is provably dead: recorded on this host (and in this
//    pid namespace) and either its pid no longer exists, is a zombie, or belongs to a process
//    with another start time (/proc/<pid>/stat field 22; the record holds the holder's, so a
//    reused pid cannot pass for it), or the record comes from an earlier boot of this host.
//    A holder on another host, in another pid namespace, or alive as far as we can tell, is
//    waited for. Files are never rewritten in place, so a file's identity (the hash of its
//    bytes, unique through the token) names one holder for good.
//
// 3. Removing a dead holder's file is race-free. The danger: waiters A and B both read dead
//    holder H; A removes H and links its own lock LA; B, still acting on what it read, removes
//    LA: two writers. So nobody removes a lock file just because it read a dead holder in it.
//    To remove the file whose identity is X, one must first create the claim file
//    `writer.pid.takeover-X` exclusively (same atomic link as in 1), then re-read the lock and
//    unlink it only if its identity is still X, then remove the claim. Argument: a file at a
//    given name is only ever removed by (a) its live owner releasing it, or (b) the holder of
//    the claim named after the identity it holds. While a claimant holds claim-X and has
//    re-read X at the lock name, the name cannot change before its unlink: its owner is dead
//    (so (a) cannot happen), the only one allowed (b) is the claimant itself (O_EXCL: one
//    claim-X at a time), and link() cannot replace an existing name. So the unlink removes X
//    and nothing else. A later claimant of X (after the first removed its claim) re-reads,
//    finds another identity (X never reappears: tokens are unique) and does nothing. The claim
//    itself is a lock file like any other: if its owner dies inside the (microseconds long)
//    critical section, the claim is provably dead and removed the same way, through a claim
//    named after *its* identity (one level up, by the same argument).
//
// A lock file that cannot be parsed is never written by this code (see 1); one that stays
// unreadable for UNREADABLE_GRACE_MS by our own clock (written by a crashed older sbuild, or a
// file system without hard links where this falls back to create-then-write) is taken over
// through the same claim. (Its identity is only its bytes, so "X never reappears" is weaker
// there: it would take a claimant stopped between its re-read and its unlink while another
// identical unreadable file appeared. Only files this code never writes are exposed to it.)
//
// What this does not cover: two hosts sharing the workspace over a network file system trust
// each other's records and never take each other over (a holder on another host is waited
// for, or removed by hand); two machines reporting the same host name are one host to it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SbuildError } from '../errors.js';
import { sha256 } from '../hashing/sha256.js';
import { exited, procStat } from '../util/proc.js';
import { writerLockPath } from './state-paths.js';

export interface WriterLock {
  /** True when another sbuild held the workspace first (its results are now in sbuild.lock). */
  waited: boolean;
  release(): void;
}

/** What a lock (or claim) file records about the process that holds it. */
export interface Holder {
  pid: number;
  host: string;
  since: string;
  /** Unique per acquisition: no two lock files ever have the same bytes. */
  token?: string;
  /** The holder's start time, field 22 of /proc/<pid>/stat (clock ticks since boot). */
  start?: string;
  /** /proc/sys/kernel/random/boot_id of the holder's machine. */
  boot?: string;
  /** The holder's pid namespace (readlink /proc/self/ns/pid). */
  pidns?: string;
  /** Set by an exclusive command (its name): it holds the lock until it ends. */
  exclusive?: string;
}

/** The lock is held for milliseconds (a plan, a fold): waiters look again soon. */
const POLL_MS = 15;
const UNREADABLE_GRACE_MS = 5_000;
/** A build's own hold is shorter than this: a wait past it is said. */
const ANNOUNCE_MS = 1_000;
/** With --no-wait, how long a build's hold is waited out before giving up. */
const NO_WAIT_MS = 30_000;
/** Temp and claim files live microseconds; older ones were left by a process killed right then. */
const LEFTOVER_MS = 60_000;
/** The lock's file name: its temp files are `<name>.<pid>-<random>.tmp`, its claims `<name>.takeover-<id>`. */
const LOCK_NAME = path.basename(writerLockPath(''));
const CLAIM_PREFIX = `${LOCK_NAME}.takeover-`;

export async function acquireWriterLock(
  root: string,
  opts: {
    wait: boolean;
    onWait: (msg: string) => void;
    onWarn?: (msg: string) => void;
    /** An exclusive command's name (clean, adopt, gc…): it holds the lock for its whole run, and says so in it. */
    exclusive?: string;
  },
): Promise<WriterLock> {
  const file = writerLockPath(root);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const warn = opts.onWarn ?? opts.onWait;
  /** When we first saw each unreadable lock or claim file (by identity). */
  const unreadable = new Map<string, number>();
  const warned = new Set<string>();
  let announced = false;
  const t0 = performance.now();
  for (;;) {
    const mine = ownRecord(opts.exclusive);
    if (createExclusive(file, mine)) {
      const myId = identity(Buffer.from(mine));
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        // Only we can remove our own file (nobody takes over a live holder), but a user may
        // have deleted it by hand and another sbuild taken the name since: check it is ours.
        const cur = readEntry(file);
        if (cur?.id === myId) unlinkQuiet(file);
      };
      process.on('exit', release);
      sweepLeftovers(path.dirname(file));
      return { waited: announced, release };
    }
    const cur = readEntry(file);
    if (!cur) continue; // released between our attempt and the read: try again at once
    const onAbandoned = (m: string) => {
      if (!warned.has(cur.id)) warn(`warning: ${path.relative(root, file)} ${m}; taking it over`);
      warned.add(cur.id);
    };
    if (verdict(cur, unreadable, onAbandoned) === 'dead') {
      if (!(await removeIfDead(file, cur, unreadable, 0))) await sleep(10);
      continue;
    }
    const h = cur.holder;
    const who = h
      ? `sbuild${h.exclusive ? ` ${h.exclusive}` : ''} (pid ${h.pid}${h.host !== os.hostname() ? ` on ${h.host}` : ''}, since ${h.since})`
      : 'sbuild (starting up)';
    // A build holds the lock for milliseconds (its plan, its record); an exclusive command,
    // or a holder that keeps it longer than a build would, is what is worth saying or refusing.
    const long = h?.exclusive !== undefined || performance.now() - t0 > (opts.wait ? ANNOUNCE_MS : NO_WAIT_MS);
    if (!opts.wait && long) {
      throw new SbuildError('workspace-busy', `Another ${who} is working in this workspace (${root}). Wait for it to finish, stop it, or run without --no-wait to wait.`);
    }
    if (!announced && long) {
      opts.onWait(`waiting for ${who} to finish in this workspace…`);
      announced = true;
    }
    await sleep(POLL_MS);
  }
}

// Exported here for its callers; the path itself is state-paths.ts's.
export { writerLockPath };

interface Entry {
  /** Identity of the file: the hash of its bytes (unique through the holder's token). */
  id: string;
  holder: Holder | undefined;
}

function identity(bytes: Buffer): string {
  return sha256(bytes).slice(0, 32);
}

/**
 * The holder's state, where a file that cannot be parsed counts as dead once it has stayed
 * unchanged for UNREADABLE_GRACE_MS by our clock (never written so by a live sbuild of this
 * version; the grace is for an older writer or a link-less file system finishing its write).
 */
function verdict(e: Entry, unreadable: Map<string, number>, onAbandoned?: (msg: string) => void): 'dead' | 'alive' | 'unknown' {
  if (e.holder) return judge(e.holder);
  const seen = unreadable.get(e.id) ?? performance.now();
  unreadable.set(e.id, seen);
  if (performance.now() - seen < UNREADABLE_GRACE_MS) return 'alive';
  onAbandoned?.(`is unreadable and has not changed for ${UNREADABLE_GRACE_MS / 1000} s`);
  return 'dead';
}

/**
 * Removes the lock (or claim) file `file` if it still is `seen`, whose holder is dead, under
 * the claim named after `seen`'s identity (the header's argument). True when the caller may
 * retry at once; false when another process is doing the takeover (the caller waits a moment).
 */
async function removeIfDead(file: string, seen: Entry, unreadable: Map<string, number>, depth: number): Promise<boolean> {
  const claim = path.join(path.dirname(file), `${CLAIM_PREFIX}${seen.id}`);
  if (createExclusive(claim, ownRecord())) {
    try {
      const again = readEntry(file);
      if (again?.id === seen.id) unlinkQuiet(file);
    } finally {
      unlinkQuiet(claim);
    }
    return true;
  }
  const other = readEntry(claim);
  if (!other) return true; // that takeover just finished
  // A claimant killed inside its critical section: its claim is removed the same way, one
  // level up. (Each level needs another death inside microseconds; the depth bound is a guard.)
  if (depth < 8 && verdict(other, unreadable) === 'dead') return removeIfDead(claim, other, unreadable, depth + 1);
  return false;
}

/** Creates `file` holding `content`, complete at the instant it appears; false if it exists. */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // A file system without hard links: exclusive create, then write (readers give an
    // unreadable lock UNREADABLE_GRACE_MS to become readable).
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      fs.writeSync(fd, content);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } finally {
    unlinkQuiet(tmp);
  }
}

function readEntry(file: string): Entry | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return { id: identity(bytes), holder: parseHolder(bytes) };
}

function parseHolder(bytes: Buffer): Holder | undefined {
  try {
    const h = JSON.parse(bytes.toString('utf8')) as Holder;
    if (typeof h !== 'object' || h === null || !Number.isInteger(h.pid) || h.pid <= 0 || typeof h.host !== 'string') return undefined;
    return { ...h, since: typeof h.since === 'string' ? h.since : 'an unknown time' };
  } catch {
    return undefined;
  }
}

function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Who we are, and whether a recorded holder is provably dead

interface Self {
  host: string;
  start: string | undefined;
  boot: string | undefined;
  pidns: string | undefined;
  proc: boolean;
}

let self: Self | undefined;

function me(): Self {
  if (!self) {
    const proc = fs.existsSync('/proc/self/stat');
    self = {
      host: os.hostname(),
      start: proc ? procStat(process.pid)?.start : undefined,
      boot: readQuiet('/proc/sys/kernel/random/boot_id'),
      pidns: linkQuiet('/proc/self/ns/pid'),
      proc,
    };
  }
  return self;
}

function ownRecord(exclusive?: string): string {
  return JSON.stringify({ ...holderRecord(), ...(exclusive ? { exclusive } : {}) });
}

/** This process as a lock file (or a build registration) records it. */
export function holderRecord(): Holder {
  const s = me();
  const h: Holder = {
    pid: process.pid,
    host: s.host,
    since: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
    ...(s.start !== undefined ? { start: s.start } : {}),
    ...(s.boot !== undefined ? { boot: s.boot } : {}),
    ...(s.pidns !== undefined ? { pidns: s.pidns } : {}),
  };
  return h;
}

/**
 * 'dead' only with proof; 'alive' when the process is there (or might be); 'unknown' when
 * it cannot be checked from here (another host or pid namespace). Exported for the tests.
 */
export function judge(h: Holder | undefined): 'dead' | 'alive' | 'unknown' {
  if (!h) return 'unknown';
  const s = me();
  if (h.host !== s.host) return 'unknown';
  // The same host booted since: nothing that ran before survives a reboot.
  if (h.boot !== undefined && s.boot !== undefined && h.boot !== s.boot) return 'dead';
  // Another pid namespace (a container sharing this folder): its pids mean nothing here.
  if (h.pidns !== undefined && h.pidns !== s.pidns) return 'unknown';
  if (s.proc) {
    const st = procStat(h.pid);
    if (!st) return 'dead';
    if (exited(st)) return 'dead';
    // A record without a start time (an older sbuild) cannot tell a reused pid: alive.
    if (h.start !== undefined && st.start !== h.start) return 'dead';
    return 'alive';
  }
  try {
    process.kill(h.pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'alive';
  }
}

function readQuiet(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function linkQuiet(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Temp files and claims of processes killed in the microseconds they exist. Run while holding
 * the lock; a claim is removed only when its owner is provably dead (a stopped claimant that
 * resumed without its claim could otherwise remove a live lock).
 */
function sweepLeftovers(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    const isTmp = n.startsWith(`${LOCK_NAME}.`) && n.endsWith('.tmp');
    const isClaim = n.startsWith(CLAIM_PREFIX) && !n.endsWith('.tmp');
    if (!isTmp && !isClaim) continue;
    const f = path.join(dir, n);
    try {
      if (now - fs.statSync(f).mtimeMs < LEFTOVER_MS) continue;
      if (isTmp) {
        const pid = Number(/^(?:takeover-[0-9a-f]+\.)?(\d+)-/.exec(n.slice(LOCK_NAME.length + 1))?.[1]);
        if (pid && pid !== process.pid && judge({ pid, host: me().host, since: '' }) !== 'dead') continue;
        unlinkQuiet(f);
      } else {
        const e = readEntry(f);
        if (e && judge(e.holder) === 'dead') unlinkQuiet(f);
      }
    } catch {
      /* gone meanwhile */
    }
  }
}
