// Everything read from a cache, local or remote, is untrusted until checked here: an action
// result names the files sbuild will write and the modes it gives them. A result passes only
// when every output path and every file name in a folder is a plain relative path (no
// absolute path, no '.', '..' or empty part, no NUL), no name is both a file and a folder,
// every hash is a SHA-256, every size a whole number, every mode regular-file permission bits
// (no setuid, setgid or sticky bit), each folder's tree hash is the one its file list gives,
// and a file kept inline (its bytes in the result) has exactly the size and hash recorded for
// it. What passes is returned as a fresh object holding only those fields.
import { treeHash } from '../hashing/file-hasher.js';
import { sha256, type Sha256 } from '../hashing/sha256.js';
import { isSafeRelative } from '../util/fs.js';
import type { ActionResult, CachedFile, CachedOutput } from './cache.js';

const HEX64 = /^[0-9a-f]{64}$/;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** The problem of something that is not an action result at all. */
export const NOT_A_RESULT = 'it is not an sbuild action result';

export function isSha256(h: unknown): h is Sha256 {
  return typeof h === 'string' && HEX64.test(h);
}


/** The permission bits a cached file is given: rwx for owner, group and others, never more. */
export function fileMode(mode: number): number {
  return (mode & 0o777) | 0o400;
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isMode(m: unknown): m is number {
  if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 0) return false;
  const type = m & S_IFMT;
  return (type === 0 || type === S_IFREG) && (m & ~S_IFMT & ~0o777) === 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a name is shown in a message (quoted, control characters escaped, long ones cut). */
function shown(name: string): string {
  const s = JSON.stringify(name.length > 120 ? `${name.slice(0, 117)}...` : name).slice(1, -1);
  return `'${s}'`;
}

/** An action result that passed `checkResult`: only such a result is ever restored. */
export type VerifiedResult = ActionResult & { readonly __verified: true };

/** A checked copy of the result, or why it is refused (one clause, for a one-line warning). */
export function checkResult(raw: unknown): { result: VerifiedResult } | { problem: string } {
  if (!isObject(raw) || !isObject(raw.outputs)) return { problem: NOT_A_RESULT };
  const outputs: Record<string, CachedOutput> = Object.create(null);
  for (const [o, c] of Object.entries(raw.outputs)) {
    if (!isSafeRelative(o)) return { problem: `it names the output ${shown(o)}, which is not a plain path inside the workspace` };
    if (!isObject(c)) return { problem: `its record of ${shown(o)} is malformed` };
    if (c.kind === 'file') {
      const file = checkFile(o, c);
      if ('problem' in file) return file;
      outputs[o] = { kind: 'file', ...file };
      continue;
    }
    if (c.kind !== 'dir' || !isObject(c.files) || !isSha256(c.hash) || !isSize(c.size)) return { problem: `its record of ${shown(o)} is malformed` };
    const files: Record<string, CachedFile> = Object.create(null);
    for (const [name, f] of Object.entries(c.files)) {
      if (!isSafeRelative(name)) return { problem: `the folder ${shown(o)} lists the file ${shown(name)}, which leaves the folder or is not a plain relative path` };
      const file = checkFile(`${o}/${name}`, f);
      if ('problem' in file) return file;
      files[name] = file;
    }
    // A name that is also another's folder ('a' and 'a/b') cannot both be restored.
    for (const name of Object.keys(files)) {
      for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
        if (name.slice(0, i) in files) return { problem: `the folder ${shown(o)} lists ${shown(name.slice(0, i))} both as a file and as a folder` };
      }
    }
    const tree = treeHash(Object.keys(files).sort().map((name) => [name, files[name]!.hash]));
    if (tree !== c.hash) return { problem: `the tree hash of ${shown(o)} (${c.hash.slice(0, 12)}) is not that of its file list (${tree.slice(0, 12)})` };
    outputs[o] = { kind: 'dir', hash: c.hash, size: c.size, files };
  }
  return { result: { outputs } as VerifiedResult };
}

/** A file's record: hash, size and mode, and its inline bytes where it has them. */
function checkFile(p: string, f: unknown): CachedFile | { problem: string } {
  if (!isObject(f) || !isSha256(f.hash) || !isSize(f.size)) return { problem: `its record of ${shown(p)} is malformed` };
  if (!isMode(f.mode)) return { problem: `it gives ${shown(p)} the mode ${modeText(f.mode)}, which is more than permission bits` };
  if (f.data === undefined) return { hash: f.hash, size: f.size, mode: f.mode };
  // Restored as they stand: the bytes must be the ones the hash names (base64 in its one spelling).
  const bytes = typeof f.data === 'string' ? Buffer.from(f.data, 'base64') : undefined;
  if (!bytes || bytes.toString('base64') !== f.data || bytes.length !== f.size || sha256(bytes) !== f.hash) {
    return { problem: `its inline copy of ${shown(p)} is not the ${f.size} bytes its hash ${f.hash.slice(0, 12)} names` };
  }
  return { hash: f.hash, size: f.size, mode: f.mode, data: f.data };
}

function modeText(m: unknown): string {
  return typeof m === 'number' && Number.isSafeInteger(m) && m >= 0 ? `0o${m.toString(8)}` : JSON.stringify(m) ?? String(m);
}
