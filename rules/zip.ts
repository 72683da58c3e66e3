// Deterministic zips (yazl) and a small zip reader. The same input files give the same
// archive bytes on every machine and in every time zone: entries sorted by name, one fixed
// DOS timestamp (no extended-timestamp field), one fixed mode, no directory entries. Files are
// streamed, never read whole into memory; zip64 records appear when sizes or offsets need them.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
// yazl is loaded when a zip is written, not with the config: every sbuild command loads the config.
import { BadInputError, type ActionContext, type Target } from '../src/index.js';

/**
 * Unix mode of every entry: a regular file, rw-r--r--. Executable bits are dropped on purpose:
 * they are not part of an input's content hash, so honouring them would let a `chmod` change
 * the archive's bytes without making the target stale (and they differ between checkouts).
 */
export const ZIP_ENTRY_MODE = 0o100644;

export interface ZipFilesOptions {
  /** Target name. */
  name: string;
  /** Files, folders or globs (workspace-relative); every file found goes in the archive. */
  inputs: string[];
  /** The archive to write (workspace-relative). */
  output: string;
  /** Entry names are paths relative to this folder (workspace-relative; default the workspace root). */
  base?: string;
  description?: string;
  tags?: string[];
  /** Store entries without compression (checkpoints do not compress). */
  store?: boolean;
  /** Write zip64 records even for small archives (readers that need them; tests). */
  forceZip64?: boolean;
}

/** One Target that zips the resolved input files into `output`, deterministically. */
export function zipFiles(opts: ZipFilesOptions): Target {
  const what = `zipFiles(${JSON.stringify(opts?.name ?? '')})`;
  if (typeof opts?.name !== 'string' || opts.name === '') throw new Error(`${what}: \`name\` must be a non-empty string (the target's name).`);
  if (!Array.isArray(opts.inputs) || opts.inputs.length === 0 || !opts.inputs.every((i) => typeof i === 'string' && i !== '')) {
    throw new Error(`${what}: \`inputs\` must be a non-empty array of files, folders or globs to put in the archive.`);
  }
  const output = workspacePath(opts.output, `${what}: \`output\``);
  if (output === '' || /[*?[\]{}]/.test(output)) throw new Error(`${what}: \`output\` must name one file, e.g. 'artifacts/release_assets/x.zip' (got ${JSON.stringify(opts.output)}).`);
  const base = opts.base === undefined ? '' : workspacePath(opts.base, `${what}: \`base\``);
  const params: { [k: string]: string | boolean } = { base: base === '' ? '.' : base, store: opts.store === true };
  if (opts.forceZip64) params.forceZip64 = true;
  return {
    name: opts.name,
    inputs: [...opts.inputs],
    outputs: [output],
    params,
    rule: { id: 'sbuild/rules/zipFiles', version: 1, module: import.meta.url },
    description: opts.description ?? `zip ${opts.inputs.join(', ')} into ${output}`,
    ...(opts.tags ? { tags: [...opts.tags] } : {}),
    run: zipAction,
  };
}

export interface MetricsZipOptions {
  name?: string;
  output?: string;
  inputs?: string[];
}

/** Every paper-facing metrics JSON under artifacts/ (one glob, so either half may be absent). */
export const METRICS_JSON_GLOB = 'artifacts/{work_dirs/**/*_metrics.json,visualizations/VR/*/*/metrics.json}';

/**
 * The metrics JSONs of every experiment and VR export in one zip (entry names are
 * workspace-relative paths): `artifacts/release_assets/metrics_jsons.zip` by default.
 */
export function metricsZip(opts: MetricsZipOptions = {}): Target {
  return zipFiles({
    name: opts.name ?? 'metrics-zip',
    inputs: opts.inputs ?? [METRICS_JSON_GLOB],
    output: opts.output ?? 'artifacts/release_assets/metrics_jsons.zip',
    description: 'zip every metrics JSON (experiments and VR exports) for the release',
    tags: ['release'],
  });
}

/** The in-process action: reads only ctx (params, inputs, outputs), so its fingerprint covers all it uses. */
async function zipAction(ctx: ActionContext): Promise<void> {
  const base = String(ctx.params.base ?? '.');
  const baseRel = base === '.' ? '' : base;
  const output = ctx.outputs[0]!;
  const files = await expandInputs(ctx.root, ctx.inputs, new Set(ctx.outputs));
  const escaping: string[] = [];
  const entries: ZipSource[] = [];
  for (const f of files) {
    const name = entryName(f.rel, baseRel);
    if (name === undefined) escaping.push(f.rel);
    else entries.push({ name, abs: f.abs, size: f.size });
  }
  if (escaping.length) {
    throw new BadInputError(
      `zip '${output}': ${escaping.length === 1 ? 'this file lies' : `${escaping.length} files lie`} outside the base '${base}', so ${escaping.length === 1 ? 'its entry' : 'their entries'} would escape the archive: ` +
        `${escaping.slice(0, 10).map((e) => `'${e}'`).join(', ')}${escaping.length > 10 ? ` and ${escaping.length - 10} more` : ''}. Move ${escaping.length === 1 ? 'it' : 'them'} under '${base}', or set \`base\` to a folder that holds every input.`,
    );
  }
  if (entries.length === 0) {
    throw new BadInputError(`zip '${output}': the inputs hold no files, so the archive would be empty. Check the inputs (${ctx.inputs.map((i) => `'${i}'`).join(', ') || 'none'}).`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await writeZip(entries, ctx.path(output), { store: ctx.params.store === true, forceZip64: ctx.params.forceZip64 === true, signal: ctx.signal });
  ctx.log(`wrote ${output}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
}

export interface ZipSource {
  /** Entry name inside the archive (posix, relative). */
  name: string;
  /** Absolute path of the file to read. */
  abs: string;
  /** Its size in bytes (checked while streaming). */
  size: number;
}

/**
 * Writes `entries` (in the given order) to `outAbs` deterministically: a temp file in the
 * same folder, renamed into place once complete.
 */
export async function writeZip(entries: ZipSource[], outAbs: string, opts: { store?: boolean; forceZip64?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  const dir = path.dirname(outAbs);
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(outAbs)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  const failed = new Promise<never>((_, reject) => zip.on('error', reject));
  // 1980-01-01 00:00:00 in local time: yazl encodes the DOS date with local getters, so a date
  // built from local fields gives the same bytes in every time zone (checked for all of them).
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const forceZip64 = opts.forceZip64 === true;
  const fileOpts = { mtime, mode: ZIP_ENTRY_MODE, forceDosTimestamp: true, forceZip64Format: forceZip64 };
  for (const e of entries) {
    zip.addReadStreamLazy(
      e.name,
      { ...fileOpts, size: e.size, ...(opts.store ? { compress: false } : { compress: true, compressionLevel: 6 }) },
      (cb) => {
        const rs = fs.createReadStream(e.abs);
        rs.on('error', (err) => zip.emit('error', err));
        cb(null, rs);
      },
    );
  }
  zip.end({ forceZip64Format: forceZip64, comment: '' });
  const out = fs.createWriteStream(tmp);
  try {
    await Promise.race([pipeline(zip.outputStream, out, opts.signal ? { signal: opts.signal } : {}), failed]);
    await fs.promises.rename(tmp, outAbs);
  } catch (err) {
    (zip.outputStream as unknown as { destroy?: () => void }).destroy?.();
    out.destroy();
    await fs.promises.rm(tmp, { force: true });
    const e = err as Error;
    if (/unexpected number of bytes/.test(e?.message ?? '')) throw new Error(`an input file changed size while it was being zipped into ${outAbs}; build again once it is stable`);
    throw err;
  }
}

/** Entry name of workspace file `rel` under `base` ('' = root), or undefined when it would escape. */
export function entryName(rel: string, base: string): string | undefined {
  let name: string;
  if (base === '') name = rel;
  else if (rel.startsWith(base + '/')) name = rel.slice(base.length + 1);
  else return undefined;
  if (name === '' || path.posix.isAbsolute(name) || /^[A-Za-z]:/.test(name) || name.split('/').some((s) => s === '..' || s === '.' || s === '')) return undefined;
  return name;
}

/** The files behind resolved inputs: folders (other targets' output folders) are walked. Sorted, unique. */
async function expandInputs(root: string, inputs: string[], exclude: Set<string>): Promise<Array<{ rel: string; abs: string; size: number }>> {
  const found = new Map<string, { rel: string; abs: string; size: number }>();
  const seenDirs = new Set<string>();
  const visit = async (rel: string): Promise<void> => {
    if (exclude.has(rel) || found.has(rel)) return;
    const abs = path.join(root, rel);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(abs);
    } catch {
      throw new BadInputError(`the input '${rel}' does not exist (it was removed while the build ran). Restore it and build again.`);
    }
    if (st.isFile()) {
      found.set(rel, { rel, abs, size: st.size });
    } else if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seenDirs.has(id)) return; // a linked folder loop
      seenDirs.add(id);
      const names = (await fs.promises.readdir(abs)).sort();
      for (const n of names) await visit(`${rel}/${n}`);
    }
  };
  for (const i of inputs) await visit(i);
  return [...found.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Validates and normalises a workspace-relative path given to a rule ('' = the root). */
export function workspacePath(p: unknown, what: string): string {
  if (typeof p !== 'string' || p === '') throw new Error(`${what} must be a non-empty workspace-relative path.`);
  if (path.isAbsolute(p) || /^[A-Za-z]:/.test(p) || p.includes('\\')) {
    throw new Error(`${what} must be a workspace-relative posix path (got ${JSON.stringify(p)}); write it relative to the folder holding tasks.config.ts.`);
  }
  const n = path.posix.normalize(p).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new Error(`${what} leaves the workspace (got ${JSON.stringify(p)}); use a path inside it.`);
  return n === '.' ? '' : n;
}

// ---------------------------------------------------------------------------------------------
// Reading: enough of the format to say whether a file is a zip, and how many entries it has.

export interface ZipInfo {
  /** Size of the file in bytes. */
  bytes: number;
  /** Number of entries in the central directory. */
  entries: number;
  /** True when the archive has zip64 end records. */
  zip64: boolean;
}

/** Why a file is not a readable zip (the message is the problem, without the file's name). */
export class ZipFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipFormatError';
  }
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIZE = 22;
/** Largest central directory that is walked record by record (bigger ones: the first record is checked). */
const WALK_LIMIT = 64 * 1024 * 1024;

/**
 * Reads the end-of-central-directory record (and the zip64 one when present) and checks the
 * central directory it points at. Throws ZipFormatError saying what is wrong.
 */
export async function inspectZip(file: string): Promise<ZipInfo> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw new ZipFormatError('empty file (0 bytes)');
    const read = async (pos: number, len: number): Promise<Buffer> => {
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      if (bytesRead !== len) throw new ZipFormatError('truncated (a record runs past the end of the file)');
      return buf;
    };
    // The EOCD is the last 22 bytes plus a comment of up to 65535 bytes.
    const tailLen = Math.min(size, EOCD_SIZE + 0xffff);
    const tailPos = size - tailLen;
    const tail = await read(tailPos, tailLen);
    let at = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG && i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tailLen) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new ZipFormatError('not a zip archive (no end-of-central-directory record; truncated or another format)');
    const eocdPos = tailPos + at;
    if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) throw new ZipFormatError('a multi-disk (split) archive, which is not supported');
    let entries = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    let zip64 = false;
    let cdEnd = eocdPos;
    if (eocdPos >= 20 && (await read(eocdPos - 20, 4)).readUInt32LE(0) === ZIP64_LOCATOR_SIG) {
      const loc = await read(eocdPos - 20, 20);
      const recPos = readU64(loc, 8);
      if (recPos + 56 > eocdPos - 20) throw new ZipFormatError('corrupt zip64 end-of-central-directory locator');
      const rec = await read(recPos, 56);
      if (rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new ZipFormatError('corrupt zip64 end-of-central-directory record');
      entries = readU64(rec, 32);
      cdSize = readU64(rec, 40);
      cdOffset = readU64(rec, 48);
      zip64 = true;
      cdEnd = recPos;
    } else if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new ZipFormatError('corrupt zip (zip64 sizes without a zip64 end-of-central-directory record)');
    }
    if (entries === 0) throw new ZipFormatError('a zip archive with no entries');
    if (cdOffset + cdSize > cdEnd) throw new ZipFormatError('corrupt zip (the central directory runs past its end record)');
    if (cdSize <= WALK_LIMIT) {
      const cd = await read(cdOffset, cdSize);
      let p = 0;
      let n = 0;
      while (p < cd.length) {
        if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw new ZipFormatError(`corrupt central directory (bad record at entry ${n + 1})`);
        p += 46 + cd.readUInt16LE(p + 28) + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
        n++;
      }
      if (p !== cd.length || n !== entries) throw new ZipFormatError(`corrupt central directory (${n} records where the end record says ${entries})`);
    } else if ((await read(cdOffset, 4)).readUInt32LE(0) !== CENTRAL_SIG) {
      throw new ZipFormatError('corrupt central directory (no record where the end record points)');
    }
    return { bytes: size, entries, zip64 };
  } finally {
    await fh.close();
  }
}

function readU64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('corrupt zip64 record (a size beyond 2^53)');
  return Number(v);
}
