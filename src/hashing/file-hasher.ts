// Content hashes of files and directories, behind a stat cache: a file is re-read
// only when its (size, mtime ns, inode, ctime ns) changed. An entry is trusted only
// when the file's mtime is older than the moment it was hashed by more than the
// timestamp granularity; a "racily clean" file (modified in the same tick as it was
// read) is re-hashed until it is old enough.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { sha256, type Sha256 } from './sha256.js';
import { writeFileAtomic } from '../util/fs.js';

/** [size, mtimeNs, ino, ctimeNs, hash, hashedAtNs] — arrays keep the file small. */
type Entry = [number, string, number, string, Sha256, string];

const FORMAT = 1;
/** Larger than any file system timestamp tick we know of (ext4: a jiffy, ~4 ms). */
const RACY_SLACK_NS = 50_000_000n;
const STREAM_THRESHOLD = 8 * 1024 * 1024;

export interface FileHash {
  hash: Sha256;
  size: number;
}

export interface TreeHash {
  hash: Sha256;
  size: number;
  files: number;
  /** Workspace-relative file paths with their hashes, sorted. */
  entries: Array<[string, Sha256]>;
}

export class FileHasher {
  private entries = new Map<string, Entry>();
  private dirty = false;
  /** One-line notice when the cache on disk was unreadable (rebuilt from scratch). */
  readonly warning: string | undefined;

  constructor(private readonly root: string, private readonly cacheFile: string) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(cacheFile, 'utf8');
    } catch {
      return;
    }
    try {
      const parsed = JSON.parse(text) as { format: number; entries: Record<string, Entry> };
      if (parsed.format !== FORMAT || typeof parsed.entries !== 'object') throw new Error('format');
      for (const [p, e] of Object.entries(parsed.entries)) {
        if (!Array.isArray(e) || e.length !== 6 || typeof e[4] !== 'string' || e[4].length !== 64) throw new Error('entry');
        this.entries.set(p, e);
      }
    } catch {
      this.entries.clear();
      this.dirty = true;
      this.warning = `stat cache ${path.relative(root, cacheFile)} was corrupt; rebuilt it (files are re-hashed once)`;
    }
  }

  /** Hash of a workspace-relative file, or undefined when it does not exist (or is not a file). */
  hashFile(rel: string): FileHash | undefined {
    const abs = path.join(this.root, rel);
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(abs, { bigint: true });
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    return this.hashStat(rel, abs, st);
  }

  private hashStat(rel: string, abs: string, st: fs.BigIntStats): FileHash {
    const size = Number(st.size);
    const mtime = st.mtimeNs.toString();
    const ctime = st.ctimeNs.toString();
    const ino = Number(st.ino);
    const e = this.entries.get(rel);
    if (e && e[0] === size && e[1] === mtime && e[2] === ino && e[3] === ctime && st.mtimeNs + RACY_SLACK_NS < BigInt(e[5])) {
      return { hash: e[4], size };
    }
    const hashedAt = BigInt(Date.now()) * 1_000_000n; // taken before the read: see RACY_SLACK_NS
    const hash = size > STREAM_THRESHOLD ? hashLargeFile(abs) : sha256(fs.readFileSync(abs));
    this.entries.set(rel, [size, mtime, ino, ctime, hash, hashedAt.toString()]);
    this.dirty = true;
    return { hash, size };
  }

  /** Kind of a workspace-relative path on disk. */
  kind(rel: string): 'file' | 'dir' | undefined {
    try {
      const st = fs.statSync(path.join(this.root, rel));
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
    } catch {
      return undefined;
    }
  }

  /** Tree hash of a directory: every file below it (sorted), by relative path and content. */
  hashTree(rel: string): TreeHash | undefined {
    const files = listFiles(this.root, rel);
    if (!files) return undefined;
    const entries: Array<[string, Sha256]> = [];
    let size = 0;
    const h = createHash('sha256');
    for (const f of files) {
      const fh = this.hashFile(f);
      if (!fh) continue;
      entries.push([f, fh.hash]);
      size += fh.size;
      h.update(`${f.slice(rel.length + 1)}\0${fh.hash}\n`);
    }
    return { hash: h.digest('hex') as Sha256, size, files: entries.length, entries };
  }

  /** Forget a path (and everything below it) after it was deleted or rewritten. */
  forget(rel: string): void {
    if (this.entries.delete(rel)) this.dirty = true;
    const prefix = rel + '/';
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) { this.entries.delete(k); this.dirty = true; }
  }

  save(): void {
    if (!this.dirty) return;
    const obj: Record<string, Entry> = {};
    for (const [k, v] of this.entries) obj[k] = v;
    writeFileAtomic(this.cacheFile, JSON.stringify({ format: FORMAT, entries: obj }));
    this.dirty = false;
  }
}

function hashLargeFile(abs: string): Sha256 {
  const h = createHash('sha256');
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex') as Sha256;
}

/** Every file below a workspace-relative directory, workspace-relative and sorted; undefined when absent. */
export function listFiles(root: string, rel: string): string[] | undefined {
  const out: string[] = [];
  const walk = (dirRel: string): boolean => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(path.join(root, dirRel), { withFileTypes: true });
    } catch {
      return false;
    }
    for (const d of ents) {
      const child = dirRel === '' ? d.name : `${dirRel}/${d.name}`;
      if (d.isDirectory()) walk(child);
      else if (d.isFile() || d.isSymbolicLink()) out.push(child);
    }
    return true;
  };
  if (!walk(rel)) return undefined;
  return out.sort();
}
