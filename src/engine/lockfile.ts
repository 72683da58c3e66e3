// `sbuild.lock`: per target, what its committed outputs were built from. Deterministic
// (sorted keys, stable indentation) so it diffs and merges line by line; written atomically.
// Between lock writes, each finished target is appended to a journal (a build's own, in
// `.sbuild/builds/`, engine/live-builds.ts; an exclusive command's `.sbuild/journal.jsonl`),
// so a build killed with -9 still keeps everything that finished (folded in on the next start).
import fs from 'node:fs';
import path from 'node:path';
import { sha256, type Sha256 } from '../hashing/sha256.js';
import { writeFileAtomic } from '../util/fs.js';
import { FINGERPRINT_FORMAT, type FingerprintRecord } from '../hashing/fingerprint.js';
import { journalPath } from './state-paths.js';
import { cutEntries, LockEntries } from './lock-entries.js';

export const LOCK_FORMAT = 1;

export interface OutputRecord {
  hash: Sha256;
  size: number;
  /** Present for a directory output: number of files in the tree. */
  files?: number;
}

/**
 * One target's record: the FingerprintRecord it was built from, less `format` (the lock's
 * `fingerprintFormat` holds it once for all) and with each output's recorded content in place
 * of the list of output paths, plus the fingerprint itself. From FingerprintRecord:
 * - `action`: human-readable identity of the action (command line, or in-process rule id).
 * - `params`: the declared params.
 * - `env`: hashes of declared environment values (the values themselves may be secrets).
 * - `inputs`: input path → content hash (a folder that is another target's output: `path/` → tree hash).
 */
export interface LockEntry extends Omit<FingerprintRecord, 'format' | 'outputs'> {
  fingerprint: Sha256;
  /** Output path → its recorded content (the keys are the fingerprinted output paths). */
  outputs: Record<string, OutputRecord>;
  /**
   * Folders the run created in the target's `runFolders` (MMEngine's timestamped log folder),
   * with their content: checked, cached and restored like the outputs, not fingerprinted (a
   * run names them itself).
   */
  runOutputs?: Record<string, OutputRecord>;
  /**
   * Tree hashes of upstream output folders that inputs were read from, as they were then.
   * Not part of the fingerprint: it lets a fresh clone without those folders trust the
   * recorded hashes of the files read from them.
   */
  witness?: Record<string, Sha256>;
}

export interface LockFile {
  entries: Map<string, LockEntry>;
  /** One-line notices (corrupt lock or journal) for the user. */
  warnings: string[];
  /** Whether anything changed since load (so a no-op build writes nothing). */
  dirty: boolean;
}

export function readLock(root: string): LockFile {
  const file = path.join(root, 'sbuild.lock');
  const lock: LockFile = { entries: new Map(), warnings: [], dirty: false };
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    /* no lock yet */
  }
  const cut = text !== undefined ? cutEntries(text, LOCK_FORMAT, FINGERPRINT_FORMAT) : undefined;
  if (cut) {
    // Parsed when first asked for (lock-entries.ts). An entry that is not one counts as absent
    // (its target is judged never built) and is said; the lock is written again without it.
    lock.entries = new LockEntries(cut, (name, t) => {
      let e: unknown;
      try {
        e = JSON.parse(t);
      } catch {
        /* said below */
      }
      if (validEntry(e)) {
        if (inCanonicalOrder(e)) sorted.add(e);
        return e;
      }
      lock.dirty = true;
      lock.warnings.push(`sbuild.lock's entry for '${name}' is corrupt; ignoring it ('${name}' is checked as never built, and the lock is rewritten without it)`);
      return undefined;
    });
  } else if (text !== undefined) {
    try {
      const parsed = JSON.parse(text) as { format?: number; fingerprintFormat?: number; targets?: Record<string, LockEntry> };
      if (parsed.format !== LOCK_FORMAT || typeof parsed.targets !== 'object' || parsed.targets === null) throw new Error('format');
      if (parsed.fingerprintFormat !== FINGERPRINT_FORMAT) {
        // Entries fingerprinted by another sbuild version cannot vouch for anything.
        lock.dirty = true;
        lock.warnings.push(`sbuild.lock was written with fingerprint format ${parsed.fingerprintFormat ?? '(none)'}, this sbuild uses ${FINGERPRINT_FORMAT}; every target is checked as never built`);
        parsed.targets = {};
      }
      for (const [name, e] of Object.entries(parsed.targets)) {
        if (!validEntry(e)) throw new Error(`entry ${name}`);
        if (inCanonicalOrder(e)) sorted.add(e);
        lock.entries.set(name, e);
      }
    } catch {
      lock.entries.clear();
      lock.dirty = true;
      lock.warnings.push('sbuild.lock is corrupt or from an unknown format; ignoring it (everything is checked as if never built, and the lock is rewritten)');
    }
  }
  replayJournal(root, lock);
  return lock;
}

/** Whether the lock holds an entry by this name, without parsing it (see LockEntries.holds). */
export function holdsEntry(entries: Map<string, LockEntry>, name: string): boolean {
  return entries instanceof LockEntries ? entries.holds(name) : entries.has(name);
}

/** Whether an entry's maps are in the order the lock writes them (then it is written as it is). */
function inCanonicalOrder(e: LockEntry): boolean {
  return isSorted(e.inputs) && isSorted(e.outputs) && isSorted(e.params) && isSorted(e.env) && (!e.runOutputs || isSorted(e.runOutputs));
}

function validEntry(e: unknown): e is LockEntry {
  const x = e as LockEntry;
  return (
    typeof x === 'object' && x !== null && typeof x.fingerprint === 'string' && x.fingerprint.length === 64 &&
    typeof x.action === 'string' && typeof x.inputs === 'object' && x.inputs !== null &&
    typeof x.outputs === 'object' && x.outputs !== null && typeof x.params === 'object' && typeof x.env === 'object' &&
    (x.runOutputs === undefined || (typeof x.runOutputs === 'object' && x.runOutputs !== null))
  );
}

// Exported here for its callers; the path itself is state-paths.ts's.
export { journalPath };

/** A journal's records, in order; a torn last line (a crash mid-write) and invalid records are skipped. */
export function readJournal(file: string): Array<{ name: string; entry: LockEntry | null }> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ name: string; entry: LockEntry | null }> = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const rec = JSON.parse(line) as { name: string; entry: LockEntry | null };
      if (typeof rec.name !== 'string') continue;
      if (rec.entry === null || validEntry(rec.entry)) out.push({ name: rec.name, entry: rec.entry });
    } catch {
      /* torn write from a crash */
    }
  }
  return out;
}

/** One journal record applied to the lock in memory. */
export function applyRecord(lock: LockFile, name: string, entry: LockEntry | null): void {
  if (entry === null) lock.entries.delete(name);
  else lock.entries.set(name, entry);
  lock.dirty = true;
}

/** The exclusive commands' journal (and an older sbuild's), once sbuild.lock holds what it held. */
export function removeLegacyJournal(root: string): void {
  fs.rmSync(journalPath(root), { force: true });
}

/** Entries of targets an exclusive command (or an older sbuild) finished before it was killed. */
function replayJournal(root: string, lock: LockFile): void {
  const recs = readJournal(journalPath(root));
  for (const r of recs) applyRecord(lock, r.name, r.entry);
  if (recs.length > 0) lock.warnings.push(`recovered ${recs.length} finished target(s) from the journal of an interrupted build`);
}

/** Appends one finished target to a journal file (synchronously, so a crash right after keeps it). */
export class Journal {
  private fd: number | undefined;
  constructor(private readonly file: string) {}

  record(name: string, entry: LockEntry | null): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
    }
    fs.writeSync(this.fd, JSON.stringify({ name, entry }) + '\n');
  }

  /** After the lock is written the journal is redundant. */
  close(remove: boolean): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    if (remove) fs.rmSync(this.file, { force: true });
  }
}

/**
 * Sorted, indented JSON: one line per input/output, stable across runs. The same bytes as
 * `JSON.stringify({ format, fingerprintFormat, targets }, null, 2)`, written entry by entry so
 * that an entry still as it was read (lock-entries.ts) is copied, not parsed and printed again.
 */
export function serializeLock(entries: Map<string, LockEntry>): string {
  const lazy = entries instanceof LockEntries ? entries : undefined;
  // Sorted, in the order an object's keys take: names that read as array indices ('7', '10')
  // come first, by number. That is the order JSON.stringify printed the lock in from the start.
  const names = Object.keys(Object.fromEntries((lazy ? lazy.names() : [...entries.keys()]).sort().map((n) => [n, 0])));
  const head = `{\n  "format": ${LOCK_FORMAT},\n  "fingerprintFormat": ${FINGERPRINT_FORMAT},\n  "targets": {`;
  const texts = names.map((n) => lazy?.rawText(n));
  // Printing entries one by one costs more than printing them all at once: worth it only for
  // copying texts (a build that reran a few targets), not for a lock of new entries.
  if (texts.filter((t) => t !== undefined).length * 2 < names.length) {
    const targets: Record<string, unknown> = {};
    for (const n of names) {
      const e = entries.get(n);
      if (e !== undefined) Object.defineProperty(targets, n, { value: printable(e), enumerable: true }); // undefined: corrupt as read, dropped
    }
    return JSON.stringify({ format: LOCK_FORMAT, fingerprintFormat: FINGERPRINT_FORMAT, targets }, null, 2) + '\n';
  }
  const parts: string[] = [];
  names.forEach((n, i) => {
    let text = texts[i];
    if (text === undefined) {
      const e = entries.get(n);
      if (e === undefined) return;
      text = JSON.stringify(printable(e), null, 2).replaceAll('\n', '\n    ');
    }
    parts.push(`    ${JSON.stringify(n)}: ${text}`);
  });
  return parts.length ? `${head}\n${parts.join(',\n')}\n  }\n}\n` : `${head}}\n}\n`;
}

/** The entry as the lock prints it: entries read from a lock this code wrote are sorted already; only what is new is sorted. */
function printable(e: LockEntry): LockEntry {
  return sorted.has(e) ? e : canonicalEntry(e);
}

/** Entries known to be in canonical (sorted) form. */
const sorted = new WeakSet<LockEntry>();

/** The entry with every map sorted, in the field order the lock uses. */
export function canonicalEntry(e: LockEntry): LockEntry {
  const c = {
    fingerprint: e.fingerprint,
    action: e.action,
    params: sortDeep(e.params),
    env: sortDeep(e.env),
    inputs: sortDeep(e.inputs),
    outputs: sortDeep(e.outputs),
    ...(e.runOutputs ? { runOutputs: sortDeep(e.runOutputs) } : {}),
    ...(e.witness ? { witness: sortDeep(e.witness) } : {}),
  } as LockEntry;
  sorted.add(c);
  return c;
}

function isSorted(o: object): boolean {
  let prev = '';
  for (const k in o) {
    if (k < prev) return false;
    prev = k;
  }
  return true;
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortDeep(o[k])]));
  }
  return v;
}

export function writeLock(root: string, lock: LockFile): void {
  if (!lock.dirty) return;
  const file = path.join(root, 'sbuild.lock');
  const text = serializeLock(lock.entries);
  writeFileAtomic(file, text);
  lock.dirty = false;
  const st = fs.statSync(file);
  written.set(root, { stamp: JSON.stringify([st.size, st.mtimeMs, st.ino, st.ctimeMs]), text, sha256: undefined });
}

// The text itself is kept, and hashed only if someone asks (the no-op snapshot, after a build).
const written = new Map<string, { stamp: string; text: string; sha256: string | undefined }>();

/** The stat stamp (`[size, mtimeMs, ino, ctimeMs]` as JSON) and SHA-256 of the lock this process last wrote in `root`. */
export function lockWritten(root: string): { stamp: string; sha256: string } | undefined {
  const w = written.get(root);
  if (!w) return undefined;
  w.sha256 ??= sha256(w.text);
  return { stamp: w.stamp, sha256: w.sha256 };
}
