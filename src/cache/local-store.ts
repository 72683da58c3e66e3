// The local content-addressed store under .sbuild/cache/: `cas/ab/<sha256>` blobs and
// `ac/<fingerprint>.json` action results. By default blobs are copied in and out with
// copy-on-write clones where the file system has them (COPYFILE_FICLONE falls back to a plain
// copy), so an output edited in place cannot corrupt the store. In `hardlink` mode (the
// config's `localCache`) the workspace file and its blob are one file, hard-linked, and made
// read-only (write bits cleared), so that checkpoints do not cost their size twice; an
// in-place write then fails for anyone but root, and a corrupt blob is still caught below.
// Every blob read back is verified against its hash; a corrupt one is deleted and reported,
// and the target runs.
// Action results are untrusted too: each one read is checked (verify.ts) before it is used,
// and one that fails is deleted and reported the same way. In copy mode a small file's bytes
// are kept in its action result instead of a blob (cache.ts, CachedFile), checked with it.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Sha256 } from '../hashing/sha256.js';
import { writeFileAtomic } from '../util/fs.js';
import { cachedFiles, type ActionCache, type ActionResult } from './cache.js';
import type { GraphNode } from '../graph/graph.js';
import { complete } from './outputs.js';
import { checkResult, fileMode, isSha256, NOT_A_RESULT, type VerifiedResult } from './verify.js';
import { localCacheDir } from '../engine/state-paths.js';

export class LocalStore implements ActionCache {
  readonly tier = 'local' as const;
  readonly enabled = true;
  readonly writable = true;
  readonly dir: string;
  /** The workspace the store belongs to (restores write only inside it). */
  readonly root: string;
  private seq = 0;
  /** Folders of the store known to exist (sbuild owns them; gc removes files, not folders). */
  private readonly made = new Set<string>();

  private ensureDir(dir: string): void {
    if (this.made.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.made.add(dir);
  }

  constructor(root: string, readonly mode: 'copy' | 'hardlink' = 'copy') {
    this.root = root;
    this.dir = localCacheDir(root);
  }

  private blobPath(hash: string): string {
    // The hash names a file in the store: anything but a SHA-256 could name one elsewhere.
    if (!isSha256(hash)) throw new CorruptEntry(`a cache entry names the blob ${JSON.stringify(hash.slice(0, 70))}, which is not a SHA-256 hash; ignoring it`);
    return path.join(this.dir, 'cas', hash.slice(0, 2), hash);
  }

  private acPath(fingerprint: string): string {
    return path.join(this.dir, 'ac', `${fingerprint}.json`);
  }

  hasBlob(hash: string): boolean {
    return fs.existsSync(this.blobPath(hash));
  }

  /**
   * Copies a file into the store under its (already known) hash. In hardlink mode the file
   * becomes the blob (or a link to the blob already there), read-only; returns true when the
   * file itself was changed that way (its stat moved, not its content).
   */
  putBlob(hash: Sha256, file: string): boolean {
    const dst = this.blobPath(hash);
    if (fs.existsSync(dst)) {
      touch(dst);
      if (this.mode !== 'hardlink') return false;
      const st = fs.statSync(file, { throwIfNoEntry: false });
      const blob = fs.statSync(dst, { throwIfNoEntry: false });
      if (!st || !blob || (st.ino === blob.ino && st.dev === blob.dev)) return false;
      // The same bytes are cached already: the workspace copy becomes a link to them, once the
      // blob is checked (one changed in place through another link must not replace good bytes).
      if (hashFile(dst) === hash) return this.linkInto(dst, file);
      fs.rmSync(dst, { force: true });
      return this.putBlob(hash, file);
    }
    this.ensureDir(path.dirname(dst));
    const tmp = `${dst}.tmp-${process.pid}-${this.seq++}`;
    if (this.mode === 'hardlink') {
      try {
        fs.linkSync(file, tmp);
        fs.chmodSync(tmp, readOnly(fs.statSync(tmp).mode));
        fs.renameSync(tmp, dst);
        return true;
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        // Another file system (a linked scratch folder), or links refused: a copy it is.
        if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    }
    fs.copyFileSync(file, tmp, fs.constants.COPYFILE_FICLONE);
    fs.renameSync(tmp, dst);
    return false;
  }

  /** Replaces `dest` by a hard link to the blob `src` (temp link + rename); false where links cannot be made. */
  private linkInto(src: string, dest: string): boolean {
    const tmp = `${dest}.sbuild-link-${process.pid}-${this.seq++}`;
    try {
      fs.linkSync(src, tmp);
      fs.renameSync(tmp, dest);
      return true;
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if (['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
      throw err;
    }
  }

  putBlobData(hash: Sha256, data: Uint8Array): void {
    const dst = this.blobPath(hash);
    if (fs.existsSync(dst)) return;
    this.ensureDir(path.dirname(dst));
    writeFileAtomic(dst, data, false);
  }

  /** Reads a blob after verifying it; a corrupt blob is deleted and undefined returned. */
  readBlob(hash: Sha256): Buffer | undefined {
    const p = this.blobPath(hash);
    let data: Buffer;
    try {
      data = fs.readFileSync(p);
    } catch {
      return undefined;
    }
    if (createHash('sha256').update(data).digest('hex') !== hash) {
      fs.rmSync(p, { force: true });
      throw new CorruptEntry(`cache blob ${hash.slice(0, 12)} was corrupt; deleted it`);
    }
    return data;
  }

  /** Copies a verified blob to `dest` (temp file + rename), with the recorded permission bits (never setuid, setgid or sticky). */
  restoreBlob(hash: Sha256, dest: string, mode: number): boolean {
    const src = this.blobPath(hash);
    if (!fs.existsSync(src)) return false;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (this.mode === 'hardlink') {
      const got = hashFile(src);
      if (got !== hash) {
        fs.rmSync(src, { force: true });
        throw new CorruptEntry(`cache blob ${hash.slice(0, 12)} was corrupt (its content hashes to ${got.slice(0, 12)}); deleted it`);
      }
      // Marked used before it is linked: the restored file shares its times.
      touch(src);
      fs.chmodSync(src, readOnly(fileMode(mode)));
      if (this.linkInto(src, dest)) return true;
    }
    const tmp = `${dest}.sbuild-restore-${process.pid}-${this.seq++}`;
    fs.copyFileSync(src, tmp, fs.constants.COPYFILE_FICLONE);
    const got = hashFile(tmp);
    if (got !== hash) {
      fs.rmSync(tmp, { force: true });
      fs.rmSync(src, { force: true });
      throw new CorruptEntry(`cache blob ${hash.slice(0, 12)} was corrupt (its content hashes to ${got.slice(0, 12)}); deleted it`);
    }
    fs.chmodSync(tmp, fileMode(mode));
    fs.renameSync(tmp, dest);
    touch(src);
    return true;
  }

  /**
   * The checked entry for this fingerprint. A refused one is deleted and reported (thrown);
   * `look` reads without side effects: a refused entry is just no entry, and no use is marked.
   */
  getAction(fingerprint: string, look = false): VerifiedResult | undefined {
    const p = this.acPath(fingerprint);
    // Most lookups miss (every target of a cold build): a look is cheaper than a read that throws.
    if (!fs.existsSync(p)) return undefined;
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const checked = checkResult(raw);
    if ('problem' in checked) {
      if (look) return undefined;
      fs.rmSync(p, { force: true });
      throw new CorruptEntry(raw === undefined || checked.problem === NOT_A_RESULT
        ? `cache entry ${fingerprint.slice(0, 12)} was corrupt; deleted it`
        : `cache entry ${fingerprint.slice(0, 12)} was refused (${checked.problem}); deleted it`);
    }
    if (!look) touch(p);
    return checked.result;
  }

  /** The complete entry for this target's fingerprint: exactly its outputs, every blob present (`look`: see getAction). */
  lookup(fingerprint: Sha256, node: GraphNode, look = false): VerifiedResult | undefined {
    const r = this.getAction(fingerprint, look);
    return r && complete(this, r, node) ? r : undefined;
  }

  keep(fingerprint: Sha256, result: ActionResult): void {
    this.putAction(fingerprint, result);
  }

  putAction(fingerprint: string, result: ActionResult): void {
    const file = this.acPath(fingerprint);
    this.ensureDir(path.dirname(file));
    writeFileAtomic(file, JSON.stringify(result), false);
  }

  /** Every blob an action result needs (its files not kept inline). */
  blobsOf(result: ActionResult): Array<{ hash: Sha256; size: number }> {
    const out: Array<{ hash: Sha256; size: number }> = [];
    for (const [, f] of cachedFiles(result)) if (f.data === undefined) out.push({ hash: f.hash, size: f.size });
    return out;
  }

  /** Whether small files are kept in their action result (cache.ts, CachedFile): not where outputs are meant to be links to their blobs. */
  get inlines(): boolean {
    return this.mode === 'copy';
  }

  /** Writes a file kept inline (checked with its result: verify.ts) to `dest` (temp file + rename), with its permission bits. */
  restoreInline(data: string, dest: string, mode: number): void {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.sbuild-restore-${process.pid}-${this.seq++}`;
    try {
      fs.writeFileSync(tmp, Buffer.from(data, 'base64'), { mode: fileMode(mode) });
      fs.chmodSync(tmp, fileMode(mode)); // not narrowed by the umask
      fs.renameSync(tmp, dest);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
}

/** The permission bits without any write bit. */
function readOnly(mode: number): number {
  return mode & 0o555;
}

/** A cache entry that failed verification (reported in one line; the target then runs). */
export class CorruptEntry extends Error {}

function hashFile(p: string): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

/** Marks an entry used now (gc removes least recently used first). */
function touch(p: string): void {
  const now = new Date();
  try {
    fs.utimesSync(p, now, now);
  } catch {
    /* best effort */
  }
}

