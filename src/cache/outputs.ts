// Moving a target's outputs into and out of the store. What comes out of a cache is
// untrusted: results are checked (verify.ts) before anything is fetched or written, outputs
// that resolve outside the workspace are never restored, and a folder is restored into a
// fresh real folder whose listing must be the entry's file list.
import fs from 'node:fs';
import path from 'node:path';
import { escapeMessage, outputEscape, OutputEscape, realPathOf, removeOutput } from '../util/fs.js';
import type { GraphNode } from '../graph/graph.js';
import { listFiles, type FileHasher } from '../hashing/file-hasher.js';
import type { Sha256 } from '../hashing/sha256.js';
import type { ActionResult, CachedOutput } from './cache.js';
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
 * Copies a target's (just hashed) outputs into the store's blobs; the manifest, or undefined
 * when one vanished. `hashed`: the records just taken of them (as written to the lock), so a
 * file written a moment ago (racily new to the stat cache) is not read and hashed again.
 */
export function outputBlobs(store: LocalStore, hasher: FileHasher, root: string, node: GraphNode, hashed?: Record<string, OutputRecord>): ActionResult | undefined {
  const outputs: Record<string, CachedOutput> = {};
  // The declared outputs, and the folders the run created in its run folders (run-folders.ts).
  for (const o of [...node.outputs, ...runFolderOutputs(node, hashed ?? {})]) {
    const rec = hashed?.[o];
    const fh = rec && rec.files === undefined && hasher.kind(o) === 'file' ? rec : hasher.hashFile(o);
    if (fh) {
      const mode = hasher.stat(o)!.mode & 0o777;
      if (store.putBlob(fh.hash, path.join(root, o))) hasher.relinked(o);
      outputs[o] = { kind: 'file', hash: fh.hash, size: fh.size, mode };
      continue;
    }
    const tree = hasher.hashTree(o);
    if (!tree) return undefined; // vanished: nothing trustworthy to store
    const files: Record<string, { hash: Sha256; size: number; mode: number }> = {};
    for (const [f, h] of tree.entries) {
      const st = hasher.stat(f)!;
      files[f.slice(o.length + 1)] = { hash: h, size: st.size, mode: st.mode & 0o777 };
      if (store.putBlob(h, path.join(root, f))) hasher.relinked(f);
    }
    outputs[o] = { kind: 'dir', hash: tree.hash, size: tree.size, files };
  }
  return { outputs };
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
  for (const b of store.blobsOf(result)) {
    if (!remote.uploads) return;
    const data = store.readBlob(b.hash);
    if (!data) return;
    await remote.putBlob(b.hash, data);
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
      if (!store.restoreBlob(c.hash, abs, c.mode)) throw new Error(`blob ${c.hash} vanished`);
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
      if (!store.restoreBlob(f.hash, path.join(abs, rel), f.mode)) throw new Error(`blob ${f.hash} vanished`);
    }
    const listed = listFiles(root, o) ?? [];
    const names = Object.keys(c.files);
    if (listed.length !== names.length || listed.some((f) => !(f.slice(o.length + 1) in c.files))) {
      throw new Error(`the restored folder '${o}' holds other files than its cache entry lists`);
    }
  }
}
