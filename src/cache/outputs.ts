// Moving a target's outputs into and out of the store. What comes out of a cache is
// untrusted: results are checked (verify.ts) before anything is fetched or written, outputs
// that resolve outside the workspace are never restored, and a folder is restored into a
// fresh real folder whose listing must be the entry's file list.
import fs from 'node:fs';
import path from 'node:path';
import { escapeMessage, outputEscape, OutputEscape, realPathOf, removeOutput } from '../util/fs.js';
import type { GraphNode } from '../graph/graph.js';
import { listFiles, type FileHasher } from '../hashing/file-hasher.js';
import { sha256, type Sha256 } from '../hashing/sha256.js';
import { cachedFiles, INLINE_BUDGET, INLINE_MAX, type ActionResult, type CachedFile, type CachedOutput } from './cache.js';
import type { LocalStore } from './local-store.js';
import type { OutputRecord } from '../engine/lockfile.js';
import type { RemoteCache } from './remote.js';
import { checkResult, type VerifiedResult } from './verify.js';
import { isRunFolderOutput, runFolderOutputs } from '../engine/run-folders.js';

/** Stores the (just hashed) outputs of a target under its fingerprint. */
export function storeOutputs(store: LocalStore, hasher: FileHasher, root: string, node: GraphNode, fingerprint: Sha256): ActionResult | undefined {
  const result = outputBlobs(store, hasher, root, node);
  if (result) store.keep(fingerprint, result);
  return result;
}

/**
 * Copies a target's (just hashed) outputs into the store's blobs, or keeps small files' bytes
 * in the manifest; the manifest, or undefined when one vanished or changed since it was
 * hashed. `hashed`: the records just taken of them (as written to the lock), so a file written
 * a moment ago (racily new to the stat cache) is not read and hashed again.
 */
export function outputBlobs(store: LocalStore, hasher: FileHasher, root: string, node: GraphNode, hashed?: Record<string, OutputRecord>): ActionResult | undefined {
  const outputs: Record<string, CachedOutput> = {};
  let budget = store.inlines ? INLINE_BUDGET : 0;
  /** One file into the store: inline while it is small and the budget lasts, else as a blob. */
  const keep = (rel: string, hash: Sha256, size: number): CachedFile | undefined => {
    const mode = hasher.stat(rel)!.mode & 0o777;
    const abs = path.join(root, rel);
    if (size <= INLINE_MAX && size <= budget) {
      const bytes = readSmall(abs, size);
      // Kept only as the bytes that were hashed: a file rewritten since is not cached at all.
      if (bytes === undefined || sha256(bytes) !== hash) return undefined;
      budget -= size;
      return { hash, size, mode, data: bytes.toString('base64') };
    }
    if (store.putBlob(hash, abs)) hasher.relinked(rel);
    return { hash, size, mode };
  };
  // The declared outputs, and the folders the run created in its run folders (run-folders.ts).
  for (const o of [...node.outputs, ...runFolderOutputs(node, hashed ?? {})]) {
    const rec = hashed?.[o];
    const fh = rec && rec.files === undefined && hasher.kind(o) === 'file' ? rec : hasher.hashFile(o);
    if (fh) {
      const file = keep(o, fh.hash, fh.size);
      if (!file) return undefined;
      outputs[o] = { kind: 'file', ...file };
      continue;
    }
    const tree = hasher.hashTree(o);
    if (!tree) return undefined; // vanished: nothing trustworthy to store
    const files: Record<string, CachedFile> = {};
    for (const [f, h] of tree.entries) {
      const file = keep(f, h, hasher.stat(f)!.size);
      if (!file) return undefined;
      files[f.slice(o.length + 1)] = file;
    }
    outputs[o] = { kind: 'dir', hash: tree.hash, size: tree.size, files };
  }
  return { outputs };
}

/** A small file's bytes, or undefined when it is gone or no longer `size` bytes long. */
function readSmall(abs: string, size: number): Buffer | undefined {
  try {
    const bytes = fs.readFileSync(abs);
    return bytes.length === size ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Copies an action result and its blobs from the remote into the local store; false on any
 * miss. A result that fails its checks is refused with one warning (once per run), and nothing
 * of it is fetched.
 */
export async function fetchRemote(remote: RemoteCache, store: LocalStore, node: GraphNode, fingerprint: Sha256): Promise<boolean> {
  if (remote.refused(fingerprint)) return false;
  const raw = await remote.getAction(fingerprint);
  if (!raw) return false;
  const checked = checkResult(raw);
  if ('problem' in checked) {
    remote.refuse(fingerprint, `remote cache entry ${fingerprint.slice(0, 12)} for '${node.name}' was refused: ${checked.problem}; not using it`);
    return false;
  }
  const result = checked.result;
  if (!declaresExactly(result, node)) return false;
  for (const b of store.blobsOf(result)) {
    if (store.hasBlob(b.hash)) continue;
    const data = await remote.getBlob(b.hash);
    if (!data) return false;
    store.putBlobData(b.hash, data);
  }
  store.putAction(fingerprint, result);
  return true;
}

/** Uploads an action result's blobs (those the server lacks), then the result itself. */
export async function upload(remote: RemoteCache, store: LocalStore, fingerprint: Sha256, result: ActionResult): Promise<void> {
  // Files kept inline go up as blobs too: a reader that does not take inline bytes finds them there.
  for (const [, f] of cachedFiles(result)) {
    if (!remote.uploads) return;
    const data = f.data !== undefined ? Buffer.from(f.data, 'base64') : store.readBlob(f.hash);
    if (!data) return;
    await remote.putBlob(f.hash, data);
  }
  if (remote.uploads) await remote.putAction(fingerprint, result);
}

function declaresExactly(result: ActionResult, node: GraphNode): boolean {
  const keys = Object.keys(result.outputs);
  // Besides every declared output, only folders directly inside a run folder (run-folders.ts).
  const declared = new Set(node.outputs);
  return node.outputs.every((o) => o in result.outputs) && keys.every((k) => declared.has(k) || isRunFolderOutput(node, k));
}

/**
 * Whether the result can be restored for this target: exactly its declared outputs, each
 * resolving inside the workspace, and every blob in the store (checked before touching the
 * work tree).
 */
export function complete(store: LocalStore, result: ActionResult, node: GraphNode): boolean {
  if (!declaresExactly(result, node)) return false;
  if (Object.keys(result.outputs).some((o) => outputEscape(store.root, o))) return false;
  return store.blobsOf(result).every((b) => store.hasBlob(b.hash));
}

/**
 * Replaces the target's outputs with the cached ones (each blob verified while copied). The
 * result is one the store checked when it read it (`VerifiedResult`: names confined, modes
 * permission bits only, tree hashes recomputed); every output's place is resolved before
 * anything is deleted: one that resolves outside the workspace throws OutputEscape. A folder
 * is made afresh and filled only with the files its entry lists, each below it; what is then
 * on disk must be exactly that list.
 */
export function restoreOutputs(store: LocalStore, hasher: FileHasher, root: string, result: VerifiedResult, target?: string): void {
  const whose = target ? ` of target '${target}'` : '';
  for (const o of Object.keys(result.outputs)) {
    const e = outputEscape(root, o);
    if (e) throw new OutputEscape(e, escapeMessage(e, root, `refusing to restore the output '${o}'${whose} from the cache`));
  }
  for (const [o, c] of Object.entries(result.outputs)) {
    const abs = path.join(root, o);
    removeOutput(root, o, target ?? o);
    hasher.forget(o);
    if (c.kind === 'file') {
      restoreFile(store, c, abs);
      continue;
    }
    fs.mkdirSync(abs, { recursive: true });
    const real = realPathOf(abs);
    // Folders below are made here, so each must be where its name says: nothing through a link.
    const made = new Set<string>(['']);
    for (const [rel, f] of Object.entries(c.files)) {
      const dir = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
      if (!made.has(dir)) {
        fs.mkdirSync(path.join(abs, dir), { recursive: true });
        if (real === undefined || realPathOf(path.join(abs, dir)) !== path.join(real, dir)) {
          throw new Error(`the folder '${o}/${dir}' did not stay a real folder while it was restored`);
        }
        made.add(dir);
      }
      restoreFile(store, f, path.join(abs, rel));
    }
    const listed = listFiles(root, o) ?? [];
    const names = Object.keys(c.files);
    if (listed.length !== names.length || listed.some((f) => !(f.slice(o.length + 1) in c.files))) {
      throw new Error(`the restored folder '${o}' holds other files than its cache entry lists`);
    }
  }
}

/** One file back from the store: its inline bytes, or its blob (verified while copied). */
function restoreFile(store: LocalStore, f: CachedFile, dest: string): void {
  if (f.data !== undefined) store.restoreInline(f.data, dest, f.mode);
  else if (!store.restoreBlob(f.hash, dest, f.mode)) throw new Error(`blob ${f.hash} vanished`);
}
