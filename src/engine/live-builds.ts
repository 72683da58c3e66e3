// Builds side by side in one workspace (a second `sbuild` while a training runs).
//
// Each build registers in `.sbuild/builds/<id>.json` the targets it may still write (its
// claims: every selected target its plan did not find settled) and the targets whose outputs
// it still reads (its reads: what its claims depend on). A later build plans under the state
// lock (engine/writer-lock.ts) against sbuild.lock and the journals of the builds under way,
// and starts at once when its claims touch nothing another build claims or reads, and its
// reads nothing another claims. Otherwise it waits for those targets alone, then plans again
// (their results are in the other build's journal by then). A registration only shrinks
// outside the state lock (as its targets finish), so a check made under the lock stays true
// until the checker has registered.
//
// Each build journals what it finishes in `<id>.jsonl`, and at its end folds those records,
// under the state lock, into sbuild.lock as it is on disk then: record by record, so what
// builds that ended meanwhile recorded stays. A target in two journals (one build finished it,
// a later one built it again) keeps the record of the later registration (`seq`): a fold
// skips its record when a later journal holds the target, and, when it writes over an earlier
// journal's record, marks that one superseded (`.sbuild/superseded.json`), so its own fold
// and every reader skip it.
//
// A build killed with -9 leaves its registration, journal and jobs record; the next command
// that takes the state lock finds its holder dead, stops its jobs, folds its journal and
// removes it (cli/commands/writing.ts).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { judge, type Holder } from './writer-lock.js';
import { buildSeqPath, buildsDir, supersededPath } from './state-paths.js';
import { namesIn, writeFileAtomic } from '../util/fs.js';
import { readJournal, readLock, writeLock, applyRecord, removeLegacyJournal, type LockFile } from './lockfile.js';

export interface Registration {
  id: string;
  holder: Holder;
  /** Order of registration (journals are ordered by it); 0 while waiting to start. */
  seq: number;
  /** The command line, for whoever waits for this build. */
  command: string;
  claims: string[];
  reads: string[];
}

export function registrationFile(root: string, id: string): string {
  return path.join(buildsDir(root), `${id}.json`);
}

export function journalFile(root: string, id: string): string {
  return path.join(buildsDir(root), `${id}.jsonl`);
}

export function jobsFile(root: string, id: string): string {
  return path.join(buildsDir(root), `${id}.jobs.jsonl`);
}

export function newBuildId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** One build's files in `.sbuild/builds/`. */
export interface BuildFiles {
  id: string;
  reg: Registration | undefined;
  /** The registration is there but could not be read (permissions, too many open files): its holder is unknown, so alive. */
  unreadable?: boolean;
  journal: boolean;
  jobs: boolean;
}

const NAME = /^(\d+-[0-9a-f]+)\.(json|jsonl|jobs\.jsonl)$/;

export function listBuilds(root: string): BuildFiles[] {
  const by = new Map<string, BuildFiles>();
  for (const n of namesIn(buildsDir(root))) {
    const m = NAME.exec(n);
    if (!m) continue;
    const id = m[1]!;
    let b = by.get(id);
    if (!b) by.set(id, (b = { id, reg: undefined, journal: false, jobs: false }));
    if (m[2] === 'json') {
      const r = readRegistration(root, id);
      if (r === 'unreadable') b.unreadable = true;
      else b.reg = r;
    }
    else if (m[2] === 'jsonl') b.journal = true;
    else b.jobs = true;
  }
  return [...by.values()];
}

/** Whether anything of a build is in `.sbuild/builds/` (one readdir: the no-op path asks it). */
export function anyBuilds(root: string): boolean {
  try {
    return fs.readdirSync(buildsDir(root)).some((n) => NAME.test(n));
  } catch {
    return false;
  }
}

/** undefined: gone, or not a registration this code wrote (written atomically, it is never torn). */
function readRegistration(root: string, id: string): Registration | 'unreadable' | undefined {
  let text: string;
  try {
    text = fs.readFileSync(registrationFile(root, id), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : 'unreadable';
  }
  try {
    const r = JSON.parse(text) as Registration;
    if (r.id !== id || typeof r.holder?.pid !== 'number' || !Array.isArray(r.claims) || !Array.isArray(r.reads) || typeof r.seq !== 'number') return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/** Alive, or cannot be judged from here: its claims hold. A build without a readable registration is dead. */
export function alive(b: BuildFiles): boolean {
  if (b.unreadable) return true;
  return b.reg !== undefined && judge(b.reg.holder) !== 'dead';
}

/**
 * A live build's registration, for the conflict check. One that cannot be read is taken to
 * claim every target (`all`): nothing is known of what it builds.
 */
export function registrationOf(b: BuildFiles, all: () => readonly string[]): Registration {
  if (b.reg) return b.reg;
  const pid = Number(b.id.split('-')[0]);
  return { id: b.id, holder: { pid, host: '?', since: '?' }, seq: 1, command: `(its registration .sbuild/builds/${b.id}.json cannot be read)`, claims: [...all()], reads: [] };
}

export function writeRegistration(root: string, reg: Registration): void {
  writeFileAtomic(registrationFile(root, reg.id), JSON.stringify(reg));
}

/** A build's files, once its journal is folded and its jobs have ended. */
export function removeBuild(root: string, id: string): void {
  fs.rmSync(journalFile(root, id), { force: true });
  fs.rmSync(jobsFile(root, id), { force: true });
  fs.rmSync(registrationFile(root, id), { force: true });
}

/** The next registration number (under the state lock). */
export function nextSeq(root: string): number {
  const n = lastSeq(root) + 1;
  writeFileAtomic(buildSeqPath(root), `${n}\n`);
  return n;
}

export function lastSeq(root: string): number {
  try {
    const n = Number(fs.readFileSync(buildSeqPath(root), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Journals

type Superseded = Record<string, string[]>;

function readSuperseded(root: string): Superseded {
  try {
    const s = JSON.parse(fs.readFileSync(supersededPath(root), 'utf8')) as Superseded;
    if (typeof s !== 'object' || s === null) return {};
    for (const k of Object.keys(s)) if (!Array.isArray(s[k])) delete s[k];
    return s;
  } catch {
    return {};
  }
}

function writeSuperseded(root: string, s: Superseded): void {
  if (Object.keys(s).length === 0) fs.rmSync(supersededPath(root), { force: true });
  else writeFileAtomic(supersededPath(root), JSON.stringify(s));
}

interface JournalOf {
  id: string;
  seq: number;
  live: boolean;
  records: Array<{ name: string; entry: import('./lockfile.js').LockEntry | null }>;
}

function journals(root: string, builds: BuildFiles[]): JournalOf[] {
  return builds
    .filter((b) => b.journal)
    .map((b) => ({ id: b.id, seq: b.reg?.seq ?? 0, live: alive(b), records: readJournal(journalFile(root, b.id)) }))
    .sort((a, b) => a.seq - b.seq);
}

/**
 * sbuild.lock as the builds under way see it: the file, then each build's journal in the
 * order of registration, less what later records superseded. A killed build's records count
 * (its next fold writes them) and are said.
 */
export function readView(root: string): LockFile {
  const lock = readLock(root);
  const builds = listBuilds(root);
  if (!builds.some((b) => b.journal)) return lock;
  const sup = readSuperseded(root);
  let recovered = 0;
  for (const j of journals(root, builds)) {
    const skip = new Set(sup[j.id] ?? []);
    for (const r of j.records) {
      if (skip.has(r.name)) continue;
      applyRecord(lock, r.name, r.entry);
      if (!j.live) recovered++;
    }
  }
  if (recovered > 0) lock.warnings.push(`recovered ${recovered} finished target(s) from the journal of an interrupted build`);
  return lock;
}

/**
 * Under the state lock: one build's journal into sbuild.lock as it is on disk now, record by
 * record (see the header), then the journal goes. Returns how many records were written.
 */
export function foldJournal(root: string, id: string, seq: number): number {
  const builds = listBuilds(root);
  const all = journals(root, builds);
  const mine = all.find((j) => j.id === id);
  const lock = readLock(root);
  const sup = readSuperseded(root);
  const skip = new Set(sup[id] ?? []);
  const others = all.filter((j) => j.id !== id).map((j) => ({ ...j, names: new Set(j.records.map((r) => r.name)) }));
  const last = new Map<string, JournalOf['records'][number]['entry']>();
  for (const r of mine?.records ?? []) last.set(r.name, r.entry);
  let n = 0;
  let marked = false;
  for (const [name, entry] of last) {
    if (skip.has(name)) continue;
    if (others.some((o) => o.seq > seq && o.names.has(name))) continue;
    applyRecord(lock, name, entry);
    n++;
    for (const o of others) {
      if (o.seq < seq && o.names.has(name) && !(sup[o.id] ??= []).includes(name)) {
        sup[o.id]!.push(name);
        marked = true;
      }
    }
  }
  // Written in an order that a kill -9 at any point leaves safe to fold again: the marks on
  // earlier journals first (this journal's own list is kept), then the lock, then the
  // journal goes, and only then its own list.
  if (marked) writeSuperseded(root, sup);
  writeLock(root, lock);
  // Replayed by readLock above, so written now.
  removeLegacyJournal(root);
  fs.rmSync(journalFile(root, id), { force: true });
  let pruned = false;
  for (const k of Object.keys(sup)) {
    if (k === id || !others.some((o) => o.id === k)) {
      delete sup[k];
      pruned = true;
    }
  }
  if (pruned) writeSuperseded(root, sup);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Claims

/** A live build whose claims or reads a plan collides with, and the targets it collides on. */
export interface Conflict {
  reg: Registration;
  targets: string[];
}

/** Where `claims` and `reads` collide with the live builds' registrations. */
export function conflictsWith(claims: ReadonlySet<string>, reads: ReadonlySet<string>, others: Registration[]): Conflict[] {
  const out: Conflict[] = [];
  for (const o of others) {
    const oc = new Set(o.claims);
    const or = new Set(o.reads);
    const t: string[] = [];
    for (const c of claims) if (oc.has(c) || or.has(c)) t.push(c);
    for (const r of reads) if (oc.has(r) && !claims.has(r)) t.push(r);
    if (t.length) out.push({ reg: o, targets: t.sort() });
  }
  return out;
}

/** The conflicts still standing: the other build alive, registered, and still holding what collides. */
export function standing(root: string, cs: Conflict[], claims: ReadonlySet<string>, reads: ReadonlySet<string>): Conflict[] {
  const now: Registration[] = [];
  for (const c of cs) {
    const reg = readRegistration(root, c.reg.id);
    if (reg === 'unreadable') now.push(c.reg);
    else if (reg && judge(reg.holder) !== 'dead') now.push(reg);
  }
  return conflictsWith(claims, reads, now);
}

/** Superseded lists of journals no longer there (after dead builds were removed). */
export function pruneSuperseded(root: string): void {
  const sup = readSuperseded(root);
  const have = new Set(listBuilds(root).filter((b) => b.journal).map((b) => b.id));
  let changed = false;
  for (const k of Object.keys(sup)) {
    if (!have.has(k)) {
      delete sup[k];
      changed = true;
    }
  }
  if (changed) writeSuperseded(root, sup);
}
