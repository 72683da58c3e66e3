// Moving a target's outputs into and out of the store.
import fs from 'node:fs';
import path from 'node:path';
import type { GraphNode } from '../graph/graph.js';
import type { FileHasher } from '../hashing/file-hasher.js';
import type { Sha256 } from '../hashing/sha256.js';
import type { ActionResult, CachedOutput } from './cache.js';
import type { LocalStore } from './local-store.js';
import type { RemoteCache } from './remote.js';

/** Stores the (just hashed) outputs of a target under its fingerprint. */
export function storeOutputs(store: LocalStore, hasher: FileHasher, root: string, node: GraphNode, fingerprint: Sha256): ActionResult | undefined {
  const outputs: Record<string, CachedOutput> = {};
  for (const o of node.outputs) {
    const fh = hasher.hashFile(o);
    if (fh) {
      store.putBlob(fh.hash, path.join(root, o));
      outputs[o] = { kind: 'file', hash: fh.hash, size: fh.size, mode: hasher.stat(o)!.mode };
      continue;
    }
    const tree = hasher.hashTree(o);
    if (!tree) return undefined; // vanished: nothing trustworthy to store
    const files: Record<string, { hash: Sha256; size: number; mode: number }> = {};
    for (const [f, h] of tree.entries) {
      store.putBlob(h, path.join(root, f));
      const st = hasher.stat(f)!;
      files[f.slice(o.length + 1)] = { hash: h, size: st.size, mode: st.mode };
    }
    outputs[o] = { kind: 'dir', hash: tree.hash, size: tree.size, files };
  }
  const result = { outputs };
  store.putAction(fingerprint, result);
  return result;
}

/** Copies an action result and its blobs from the remote into the local store; false on any miss. */
export async function fetchRemote(remote: RemoteCache, store: LocalStore, node: GraphNode, fingerprint: Sha256): Promise<boolean> {
  const result = await remote.getAction(fingerprint);
  if (!result) return false;
  const declared = [...node.outputs].sort().join('\n');
  if (Object.keys(result.outputs).sort().join('\n') !== declared) return false;
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

/** Whether every blob of the result is in the store (checked before touching the work tree). */
export function complete(store: LocalStore, result: ActionResult, node: GraphNode): boolean {
  const declared = [...node.outputs].sort().join('\n');
  if (Object.keys(result.outputs).sort().join('\n') !== declared) return false;
  return store.blobsOf(result).every((b) => store.hasBlob(b.hash));
}

/** Replaces the target's outputs with the cached ones (each blob verified while copied). */
export function restoreOutputs(store: LocalStore, hasher: FileHasher, root: string, result: ActionResult): void {
  for (const [o, c] of Object.entries(result.outputs)) {
    const abs = path.join(root, o);
    fs.rmSync(abs, { recursive: true, force: true });
    hasher.forget(o);
    if (c.kind === 'file') {
      if (!store.restoreBlob(c.hash, abs, c.mode)) throw new Error(`blob ${c.hash} vanished`);
    } else {
      fs.mkdirSync(abs, { recursive: true });
      for (const [rel, f] of Object.entries(c.files)) {
        if (!store.restoreBlob(f.hash, path.join(abs, rel), f.mode)) throw new Error(`blob ${f.hash} vanished`);
      }
    }
  }
}
