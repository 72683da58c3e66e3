// Putting a downloaded, verified bundle's files back where the graph expects them: the bundle
// folder where it was built, each asset at the path it was copied from, and each file inside
// a zip at the workspace path the manifest records for it. Everything is untrusted: a path
// that is absolute, holds '..', lies in sbuild's or git's state, or resolves outside the
// workspace through a symbolic link is refused whatever its hash, and each unpacked file must
// have the SHA-256 the manifest gives it. Files are written beside the staging folder first
// and renamed into place only when all of them are ready and nothing local would be lost.
import fs from 'node:fs';
import path from 'node:path';
import { SbuildError } from '../errors.js';
import { forEachZipEntry, unsafeEntryName, writeEntry, ZipReadError } from './zip-entries.js';
import { sha256File } from './publish.js';
import { TransferError, shown } from './store.js';
import { outputEscape } from '../util/fs.js';
import { parentOf } from '../graph/graph.js';
import type { StagedBundle } from './fetch.js';

/** What sbuild.lock records of a target, as far as fetching needs it. */
export interface LockedTarget {
  fingerprint: string;
}

export interface InstallOptions {
  /** Replace local files that differ from the bundle's (default: refuse, naming them). */
  overwrite?: boolean;
  /** Unpack files of targets whose published fingerprint differs from sbuild.lock's too. */
  all?: boolean;
  /** Only say what would be placed. */
  dryRun?: boolean;
  /**
   * The target whose declared output holds a workspace path (undefined: none). Given, every
   * placed path must lie in a declared output, of the very target the manifest names for it.
   */
  ownerOf?: (rel: string) => string | undefined;
  /** The outputs sbuild.lock records for a target, to tell whether fetching brought all of them. */
  outputsOf?: (target: string) => string[] | undefined;
}

export interface InstallReport {
  /** Files written (workspace-relative). */
  placed: string[];
  /** Files that were already there with the same bytes. */
  present: string[];
  /** Targets whose files were unpacked, with a fingerprint equal to sbuild.lock's. */
  matching: string[];
  /** Of those, the ones some recorded output of is still not on disk (it was not in the bundle). */
  incomplete: string[];
  /** Targets whose published fingerprint differs from sbuild.lock's (files left out unless `all`). */
  differing: string[];
  /** Files left out because their target differs from sbuild.lock. */
  skipped: number;
}

interface Placement {
  rel: string;
  sha256: string;
  /** Where its bytes are staged: a file, or (for the bundle folder) a folder. */
  staged: string;
  folder?: boolean;
}

/**
 * Checks a workspace-relative path from a downloaded manifest and returns it absolute: plain
 * relative, not in `.sbuild/` or `.git/`, and no symbolic link on the way out of the workspace.
 */
export function safeDestination(root: string, rootReal: string, rel: unknown, what: string): string {
  if (typeof rel !== 'string') throw new TransferError(`${what}: a path in the manifest is not a string (${JSON.stringify(rel)}); the bundle is refused.`);
  const bad = rel.endsWith('/') ? 'a trailing slash' : unsafeEntryName(rel);
  if (bad) throw new TransferError(`${what}: the manifest path ${JSON.stringify(rel)} has ${bad}; the bundle is refused.`);
  if (stateArea(rel)) throw new TransferError(`${what}: the manifest path ${JSON.stringify(rel)} lies in sbuild's or git's own files; the bundle is refused.`);
  let cur = root;
  const parts = rel.split('/');
  for (let i = 0; i < parts.length; i++) {
    cur = path.join(cur, parts[i]!);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      break; // not there yet: made below, as a real folder
    }
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = fs.realpathSync(cur);
      } catch {
        throw new TransferError(`${what}: ${JSON.stringify(rel)} would be written through the symbolic link ${path.relative(root, cur)}, which points at nothing; it is refused.`);
      }
      // A folder the config declares as a link to storage elsewhere (`linkedFolders`) is written through.
      if (real !== rootReal && !real.startsWith(rootReal + path.sep) && outputEscape(root, rel) !== undefined) {
        throw new TransferError(`${what}: ${JSON.stringify(rel)} would be written through the symbolic link ${path.relative(root, cur)} → ${real}, outside the workspace; it is refused. Replace the link with a folder, or fetch into a workspace without it.`);
      }
      const inside = path.relative(rootReal, real).split(path.sep).join('/');
      if (inside !== '' && stateArea(inside)) {
        throw new TransferError(`${what}: ${JSON.stringify(rel)} would be written through the symbolic link ${path.relative(root, cur)} into ${inside}, sbuild's or git's own files; it is refused.`);
      }
      if (i === parts.length - 1) throw new TransferError(`${what}: ${JSON.stringify(rel)} is a symbolic link in the workspace; it is refused (remove the link to fetch it).`);
      st = fs.statSync(cur);
    }
    if (i < parts.length - 1 && !st.isDirectory()) throw new TransferError(`${what}: ${JSON.stringify(rel)} cannot be written: ${path.relative(root, cur)} is a file, not a folder.`);
  }
  return path.join(root, rel);
}

/**
 * Whether a workspace path lies in sbuild's or git's own files: `.sbuild/`, `sbuild.lock`, or a
 * `.git` folder at any depth (a nested repository's hooks run code). Compared without case, as
 * some file systems do.
 */
function stateArea(rel: string): boolean {
  const parts = rel.toLowerCase().replace(/\/+$/, '').split('/');
  return parts[0] === '.sbuild' || (parts.length === 1 && parts[0] === 'sbuild.lock') || parts.includes('.git');
}

/** Places a staged bundle's files into the workspace (see the file comment). */
export async function installBundle(root: string, staged: StagedBundle, lock: Map<string, LockedTarget>, label: string, opts: InstallOptions = {}): Promise<InstallReport> {
  const rootReal = fs.realpathSync(root);
  const m = staged.manifest;
  const place: Placement[] = [];
  const matching = new Set<string>();
  const differing = new Set<string>();
  let skipped = 0;
  /** Whether a file of this target goes in: its fingerprint is sbuild.lock's (or `all`). */
  const wanted = (target: unknown, fingerprint: unknown): boolean => {
    if (typeof target !== 'string' || typeof fingerprint !== 'string') return true;
    const rec = lock.get(target);
    if (rec && rec.fingerprint === fingerprint) {
      matching.add(target);
      return true;
    }
    differing.add(target);
    return opts.all === true;
  };
  /** A placed path must be a declared output (or inside one) of the target the manifest names. */
  const owned = (rel: string, target: unknown, what: string): void => {
    if (!opts.ownerOf) return;
    const owner = opts.ownerOf(rel);
    if (owner === undefined) throw new TransferError(`${label}: manifest.json puts ${what} at ${JSON.stringify(rel)}, which no target here declares as an output; the bundle is refused (fetch writes only outputs the graph expects).`);
    if (typeof target === 'string' && owner !== target) throw new TransferError(`${label}: manifest.json says ${JSON.stringify(rel)} was built by ${shown(target)}, but here it is an output of ${owner}; the bundle is refused.`);
  };
  const work = path.join(staged.dir, '..', `${path.basename(staged.dir)}.unpacked`);
  fs.mkdirSync(work, { recursive: true });
  try {
    let n = 0;
    for (const f of m.files) {
      const src = path.join(staged.dir, f.path);
      if (typeof f.source === 'string' && wanted(f.target, f.fingerprint)) {
        safeDestination(root, rootReal, f.source, label);
        owned(f.source, f.target, `the asset ${f.path}`);
        place.push({ rel: f.source, sha256: f.sha256, staged: src });
      } else if (typeof f.source === 'string') skipped++;
      if (!f.unpack) continue;
      const base = f.unpack.base;
      const byEntry = new Map((Array.isArray(f.unpack.files) ? f.unpack.files : []).map((c) => [c.entry, c]));
      const seen = new Set<string>();
      try {
        await forEachZipEntry(src, async (e, bytes) => {
          const c = byEntry.get(e.name);
          if (!c) throw new TransferError(`${label}: ${f.path} holds the entry ${JSON.stringify(e.name)}, which manifest.json does not list; the bundle is refused.`);
          seen.add(e.name);
          const expected = base === '' ? e.name : `${base}/${e.name}`;
          if (c.path !== expected) throw new TransferError(`${label}: manifest.json puts ${f.path}'s entry ${JSON.stringify(e.name)} at ${JSON.stringify(c.path)}, not below its base ${JSON.stringify(base)}; the bundle is refused.`);
          if (!wanted(c.target, c.fingerprint)) {
            skipped++;
            // Drained, not ignored: a damaged entry is an error even when it is not placed.
            for await (const _ of bytes) void _;
            return;
          }
          safeDestination(root, rootReal, c.path, label);
          owned(c.path, c.target, `${f.path}'s entry ${JSON.stringify(e.name)}`);
          const tmp = path.join(work, String(n++));
          const got = await writeEntry(bytes, tmp, e.mode);
          if (got.sha256 !== c.sha256 || got.bytes !== c.bytes) {
            throw new TransferError(`${label}: ${f.path}'s entry ${JSON.stringify(e.name)} does not match manifest.json (SHA-256 ${got.sha256}, expected ${c.sha256}); nothing was installed.`);
          }
          place.push({ rel: c.path, sha256: c.sha256, staged: tmp });
        });
      } catch (err) {
        if (err instanceof ZipReadError) throw new TransferError(`${label}: ${f.path}: ${err.message}; nothing was installed.`);
        throw err;
      }
      const absent = [...byEntry.keys()].filter((e) => !seen.has(e));
      if (absent.length) throw new TransferError(`${label}: manifest.json lists ${absent.length} entr${absent.length === 1 ? 'y' : 'ies'} that ${f.path} does not hold (${absent.slice(0, 3).join(', ')}); the bundle is refused.`);
    }
    const folder = typeof m.folder === 'string' ? m.folder : undefined;
    if (folder !== undefined) {
      safeDestination(root, rootReal, folder, label);
      owned(folder, undefined, 'the bundle folder');
      // Each file it holds lands there too: checked as any other path.
      for (const name of [...staged.sums.keys(), 'SHA256SUMS']) safeDestination(root, rootReal, `${folder}/${name}`, label);
      place.push({ rel: folder, sha256: '', staged: staged.dir, folder: true });
    }

    // One destination, one content; then what is there already.
    const byRel = new Map<string, Placement>();
    for (const p of place) {
      const prev = byRel.get(p.rel);
      if (prev && (prev.sha256 !== p.sha256 || prev.folder !== p.folder)) throw new TransferError(`${label}: manifest.json puts two different files at ${JSON.stringify(p.rel)}; the bundle is refused.`);
      if (!prev) byRel.set(p.rel, p);
    }
    for (const p of byRel.values()) {
      for (const q of byRel.values()) if (q !== p && q.rel.startsWith(p.rel + '/')) throw new TransferError(`${label}: manifest.json puts ${p.folder ? 'the bundle folder' : 'a file'} at ${JSON.stringify(p.rel)} and another file below it (${q.rel}); the bundle is refused.`);
    }
    const todo: Placement[] = [];
    const present: string[] = [];
    const conflicts: string[] = [];
    for (const p of byRel.values()) {
      const abs = path.join(root, p.rel);
      const st = fs.lstatSync(abs, { throwIfNoEntry: false });
      if (!st) {
        todo.push(p);
        continue;
      }
      const same = p.folder ? st.isDirectory() && (await sameFolder(abs, staged)) : st.isFile() && (await sha256File(abs)) === p.sha256;
      if (same) present.push(p.rel);
      else {
        conflicts.push(p.rel);
        todo.push(p);
      }
    }
    if (conflicts.length && !opts.overwrite) {
      throw new SbuildError(
        'usage',
        `fetching ${label} would replace ${conflicts.length} local file(s) that differ from the published ones:\n${conflicts.slice(0, 20).map((c) => `  ${c}`).join('\n')}${conflicts.length > 20 ? `\n  … and ${conflicts.length - 20} more` : ''}\n` +
          'Nothing was changed. Move them away, or pass --overwrite to replace them.',
      );
    }
    // Every arriving path and every folder above one, gathered once.
    const arrivingSet = new Set<string>();
    for (const rel of byRel.keys()) {
      for (let p = rel; p && !arrivingSet.has(p); p = parentOf(p)) arrivingSet.add(p);
    }
    const arriving = (o: string) => arrivingSet.has(o);
    const incomplete = [...matching].filter((t) => (opts.outputsOf?.(t) ?? []).some((o) => !arriving(o) && !fs.existsSync(path.join(root, o))));
    const report = (placed: string[]): InstallReport => ({ placed: placed.sort(), present: present.sort(), matching: [...matching].sort(), incomplete: incomplete.sort(), differing: [...differing].sort(), skipped });
    if (opts.dryRun) return report(todo.map((p) => p.rel));
    placeAll(root, rootReal, staged.dir, todo, label);
    return report(todo.map((p) => p.rel));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Whether a local folder holds exactly the staged bundle's files, byte for byte. */
async function sameFolder(abs: string, staged: StagedBundle): Promise<boolean> {
  const names = fs.readdirSync(abs).sort();
  const want = [...staged.sums.keys(), 'SHA256SUMS'].sort();
  if (names.join('\n') !== want.join('\n')) return false;
  for (const [n, h] of staged.sums) if ((await sha256File(path.join(abs, n))) !== h) return false;
  return (await sha256File(path.join(abs, 'SHA256SUMS'))) === (await sha256File(path.join(staged.dir, 'SHA256SUMS')));
}

/**
 * Puts every placement in place in two steps: first each one's bytes go next to its
 * destination under a temp name (a rename from the staging folder, or a copy across file
 * systems), then all are renamed over their destinations. A failure in the first step (disk
 * full, no permission) removes the temp copies and changes nothing; one in the second says
 * which paths were already placed.
 */
function placeAll(root: string, rootReal: string, stagingDir: string, todo: Placement[], label: string): void {
  // Files first; the bundle folder (whose staged copies of the assets were copied out) last.
  const order = [...todo].sort((a, b) => Number(!!a.folder) - Number(!!b.folder));
  const ready: Array<{ p: Placement; abs: string; tmp: string }> = [];
  const fsError = (err: unknown, rel: string, done: string[]) => {
    const e = err as NodeJS.ErrnoException;
    return new TransferError(
      `${label}: could not write ${rel} (${e.code ?? ''}${e.code ? ': ' : ''}${e.message.replace(/^\w+: /, '')}). ` +
        (done.length ? `Already placed: ${done.slice(0, 10).join(', ')}${done.length > 10 ? ` and ${done.length - 10} more` : ''}; fetch again once it is fixed.` : 'Nothing was placed.'),
    );
  };
  try {
    for (const [i, p] of order.entries()) {
      const abs = safeDestination(root, rootReal, p.rel, label);
      const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.fetch-${process.pid}-${i}`);
      try {
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        // An asset is copied (the bundle folder keeps its own); entries and the folder are moved.
        const copy = !p.folder && p.staged.startsWith(stagingDir + path.sep);
        if (copy) fs.copyFileSync(p.staged, tmp, fs.constants.COPYFILE_FICLONE);
        else moveAcross(p.staged, tmp, !!p.folder);
      } catch (err) {
        throw fsError(err, p.rel, []);
      }
      ready.push({ p, abs, tmp });
    }
  } catch (err) {
    for (const r of ready) fs.rmSync(r.tmp, { recursive: true, force: true });
    throw err;
  }
  const done: string[] = [];
  for (const [i, r] of ready.entries()) {
    try {
      // --overwrite: what stands there (a file, a folder, an old bundle) is replaced.
      const st = fs.lstatSync(r.abs, { throwIfNoEntry: false });
      if (st?.isDirectory()) fs.rmSync(r.abs, { recursive: true, force: true });
      fs.renameSync(r.tmp, r.abs);
      done.push(r.p.rel);
    } catch (err) {
      for (const rest of ready.slice(i)) fs.rmSync(rest.tmp, { recursive: true, force: true });
      throw fsError(err, r.p.rel, done);
    }
  }
}

/** Rename, or copy across file systems. */
function moveAcross(from: string, to: string, folder: boolean): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    fs.cpSync(from, to, { recursive: folder });
  }
}
