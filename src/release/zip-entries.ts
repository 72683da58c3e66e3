// Reading a zip's entries one by one (yauzl): each regular file's bytes, streamed, with its
// SHA-256 taken on the way. Used to describe a bundle's zips in its manifest and to unpack a
// downloaded one. Archives read here may come from anyone, so names are checked and anything
// but a plain file or folder entry is refused rather than interpreted.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
// yauzl is loaded when a zip is read, not with the config (rules/release.ts imports this module).
import type yauzl from 'yauzl';

/** One file entry of an archive. */
export interface ZipEntryInfo {
  /** Name inside the archive (posix, relative). */
  name: string;
  /** Uncompressed size in bytes. */
  bytes: number;
  /** Permission bits recorded for it (0o644 when the archive records none). */
  mode: number;
}

/** Why an archive cannot be read or holds an entry that is refused (the message names the entry). */
export class ZipReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipReadError';
  }
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/**
 * Why an entry name is not a plain relative path, or undefined when it is. Refused: absolute
 * names, drive letters, backslashes, empty, '.' or '..' segments, and control characters.
 */
export function unsafeEntryName(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'a drive letter';
  if (name.includes('\\')) return 'a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a control character';
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.some((p) => p === '..')) return "a '..' segment";
  if (parts.some((p) => p === '.' || p === '')) return "an empty or '.' segment";
  return undefined;
}

/**
 * Calls `visit` for every file entry in archive order, with a stream of its bytes that must be
 * consumed. Folder entries are skipped; a symbolic link, device or other special entry, an
 * unsafe name or a name given twice throws ZipReadError before its bytes are read. yauzl
 * checks each entry's size as it is read (not its CRC-32: callers compare SHA-256s). An error
 * reading an entry's bytes is a ZipReadError; what `visit` throws itself passes through as it is.
 */
export async function forEachZipEntry(file: string, visit: (e: ZipEntryInfo, bytes: Readable) => Promise<void>): Promise<void> {
  const reader = (await import('yauzl')).default;
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    // Names are checked below, with a message naming the entry; yauzl's own check throws a bare one.
    reader.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true, decodeStrings: true }, (err, z) => (err ? reject(new ZipReadError(`not a readable zip (${err.message})`)) : resolve(z!))),
  );
  const seen = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        if (err instanceof ZipReadError || !(err instanceof Error) || (err as { expected?: unknown }).expected === true) return reject(err);
        const msg = (err as Error).message;
        // yauzl's own name checks: say which entry and why, as for the checks below.
        const named = /^(invalid relative path|absolute path|invalid characters in fileName): (.*)$/.exec(msg);
        reject(new ZipReadError(named ? `the entry ${JSON.stringify(named[2])} is refused (${named[1]}); an archive entry must be a plain relative path` : `not a readable zip (${msg})`));
      };
      zip.on('error', fail);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const name = entry.fileName;
          const bad = unsafeEntryName(name);
          if (bad) throw new ZipReadError(`the entry ${JSON.stringify(name)} has ${bad}; an archive entry must be a plain relative path`);
          const unix = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
          const type = unix & S_IFMT;
          const isDir = name.endsWith('/') || type === S_IFDIR;
          if (isDir) {
            zip.readEntry();
            return;
          }
          if (type !== 0 && type !== S_IFREG) throw new ZipReadError(`the entry ${JSON.stringify(name)} is not a plain file (a symbolic link or special file); it is refused`);
          if (seen.has(name)) throw new ZipReadError(`the entry ${JSON.stringify(name)} appears twice`);
          seen.add(name);
          const stream = await new Promise<Readable>((res, rej) => zip.openReadStream(entry, (err, s) => (err ? rej(err) : res(s!))));
          let broken: Error | undefined;
          stream.on('error', (err) => (broken ??= err));
          // Permission bits only, and never writable by others.
          const mode = unix & 0o777 ? unix & 0o755 : 0o644;
          try {
            await visit({ name, bytes: entry.uncompressedSize, mode }, stream);
          } catch (err) {
            if (broken && (err === broken || (err as Error)?.message === broken.message)) throw new ZipReadError(`the entry ${JSON.stringify(name)} cannot be read (${broken.message})`);
            throw err;
          }
          if (broken) throw new ZipReadError(`the entry ${JSON.stringify(name)} cannot be read (${broken.message})`);
          zip.readEntry();
        })().catch(fail);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/** A pass-through that hashes what flows through it. */
export function hashingStream(): { stream: Transform; digest: () => string; bytes: () => number } {
  const h = createHash('sha256');
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => h.digest('hex'), bytes: () => n };
}

/** SHA-256 and size of each file entry, in archive order. */
export async function zipEntryHashes(file: string): Promise<Array<ZipEntryInfo & { sha256: string }>> {
  const out: Array<ZipEntryInfo & { sha256: string }> = [];
  await forEachZipEntry(file, async (e, bytes) => {
    const h = createHash('sha256');
    for await (const chunk of bytes) h.update(chunk as Buffer);
    out.push({ ...e, sha256: h.digest('hex') });
  });
  return out;
}

/** Writes an entry's bytes to `dest` (created exclusively, with `mode`), returning their SHA-256. */
export async function writeEntry(bytes: Readable, dest: string, mode: number): Promise<{ sha256: string; bytes: number }> {
  const hs = hashingStream();
  await pipeline(bytes, hs.stream, fs.createWriteStream(dest, { flags: 'wx', mode: mode & 0o777 }));
  return { sha256: hs.digest(), bytes: hs.bytes() };
}
