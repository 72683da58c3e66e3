// Restoring a target from the cache, and keeping what a target produced. Each returns what
// happened (an outcome, a warning) and leaves the scheduling to the scheduler.
import type { GraphNode } from '../graph/graph.js';
import type { Sha256 } from '../hashing/sha256.js';
import type { ActionCache } from '../cache/cache.js';
import { CorruptEntry } from '../cache/local-store.js';
import { outputBlobs, restoreOutputs } from '../cache/outputs.js';
import type { VerifiedResult } from '../cache/verify.js';
import { removeInside } from '../util/fs.js';
import type { OutputRecord } from './lockfile.js';
import type { Workspace } from './workspace.js';
import { beforeRestore, finishResume } from './resume.js';
import { runFolderOutputs } from './run-folders.js';

export type RestoreOutcome =
  /** The outputs are back on disk, hashed as they now are. */
  | { kind: 'restored'; outputs: Record<string, OutputRecord> }
  /** Not restored (no entry, an incomplete one, or one that failed): the target runs. */
  | { kind: 'miss'; warning?: string };

const MISS: RestoreOutcome = { kind: 'miss' };

/** The local store's complete entry for this fingerprint, if any: a look, nothing restored, deleted or reported. */
export function peekLocal(ws: Workspace, node: GraphNode, fingerprint: Sha256): VerifiedResult | undefined {
  if (node.target.cache === false) return undefined;
  try {
    return ws.store.lookup(fingerprint, node, true);
  } catch {
    return undefined;
  }
}

/** Restores the target's outputs from the local store when it holds this exact fingerprint. */
export function restoreLocal(ws: Workspace, node: GraphNode, fingerprint: Sha256): RestoreOutcome {
  if (node.target.cache === false) return MISS;
  return settle(ws, node, fingerprint, () => ws.store.lookup(fingerprint, node));
}

/** The same through another tier (the remote): its hit lands in the local store, then on disk. */
export async function restoreFrom(tier: ActionCache, ws: Workspace, node: GraphNode, fingerprint: Sha256): Promise<RestoreOutcome> {
  if (node.target.cache === false || !tier.enabled) return MISS;
  let result: VerifiedResult | undefined;
  try {
    result = await tier.lookup(fingerprint, node);
  } catch {
    return MISS;
  }
  return result ? settle(ws, node, fingerprint, () => result) : MISS;
}

function settle(ws: Workspace, node: GraphNode, fingerprint: Sha256, get: () => VerifiedResult | undefined): RestoreOutcome {
  const root = ws.root;
  let result: VerifiedResult | undefined;
  try {
    result = get();
    if (!result) return MISS;
    putBack(ws, node, fingerprint, result);
  } catch (err) {
    for (const o of node.outputs) removeInside(root, o);
    return { kind: 'miss', warning: err instanceof CorruptEntry ? err.message : `cache restore of '${node.name}' failed: ${(err as Error).message}; running it` };
  }
  const { outputs, notProduced } = ws.rebuilder.hashOutputs(node, runFolderOutputs(node, result.outputs));
  if (notProduced.length) return MISS;
  if (node.resume) finishResume(root, node, fingerprint);
  return { kind: 'restored', outputs };
}

/**
 * Puts a verified result's outputs back in the workspace. A resumable job's folder is settled
 * first: another fingerprint's work goes aside (resume.ts); the caller marks it done once the
 * outputs are checked.
 */
export function putBack(ws: Workspace, node: GraphNode, fingerprint: Sha256, result: VerifiedResult): void {
  if (node.resume) {
    beforeRestore(ws.root, ws.graph, node, fingerprint);
    ws.hasher.forget(node.resume.dir);
    ws.rebuilder.outputsWritten([node.resume.dir]);
  }
  restoreOutputs(ws.store, ws.hasher, ws.root, result);
}

/** Cache entries made from a record (what a dry run would restore), with the files inside restored folders. */
export function recordsOf(result: VerifiedResult, overlay?: Map<string, Sha256>): Record<string, OutputRecord> {
  const out: Record<string, OutputRecord> = {};
  for (const [p, o] of Object.entries(result.outputs)) {
    out[p] = o.kind === 'file' ? { hash: o.hash, size: o.size } : { hash: o.hash, size: o.size, files: Object.keys(o.files).length };
    if (o.kind === 'dir' && overlay) for (const [f, c] of Object.entries(o.files)) overlay.set(`${p}/${f}`, c.hash);
  }
  return out;
}

/**
 * Keeps a target's fresh outputs in every tier: the local store now, the remote (when it takes
 * uploads) in the background. Returns the upload to wait for before the build ends, and a
 * warning when the outputs could not be stored.
 */
export function keepOutputs(ws: Workspace, node: GraphNode, fingerprint: Sha256, outputs: Record<string, OutputRecord>, tiers: readonly ActionCache[]): { upload?: Promise<void>; warning?: string } {
  if (node.target.cache === false) return {};
  try {
    const result = outputBlobs(ws.store, ws.hasher, ws.root, node, outputs);
    if (!result) return {};
    ws.store.keep(fingerprint, result);
    const uploads = tiers.filter((t) => t !== ws.store && t.enabled && t.writable);
    if (!uploads.length) return {};
    return { upload: Promise.all(uploads.map((t) => Promise.resolve(t.keep(fingerprint, result)).catch(() => undefined))).then(() => undefined) };
  } catch (err) {
    return { warning: `could not cache the outputs of '${node.name}': ${(err as Error).message}` };
  }
}
