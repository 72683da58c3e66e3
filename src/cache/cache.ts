// The cache interface: action results (fingerprint → output manifest) and content-addressed
// blobs. The local store lives under .sbuild/cache/; a remote one speaks the same shape, and
// both are tiers of one interface (ActionCache): look a fingerprint up, keep a result.
import type { GraphNode } from '../graph/graph.js';
import type { Sha256 } from '../hashing/sha256.js';
import type { VerifiedResult } from './verify.js';

/**
 * One file as the cache knows it. `data`: a small file's bytes (base64) kept in the action
 * result itself instead of in a blob, so caching a short job's output writes one file, not two
 * (creating files is most of what caching costs per job).
 */
export type CachedFile = { hash: Sha256; size: number; mode: number; data?: string };

/** One output as the cache knows it: a file, or a folder with every file inside it. */
export type CachedOutput =
  | ({ kind: 'file' } & CachedFile)
  | { kind: 'dir'; hash: Sha256; size: number; files: Record<string, CachedFile> };

/** Files up to this size are kept in their action result (copy mode only; see CachedFile). */
export const INLINE_MAX = 4096;
/** At most this many bytes are kept inline in one action result; larger files, and those past it, are blobs. */
export const INLINE_BUDGET = 64 * 1024;

/** Every file a result holds, with its workspace path: a file output, or each file of a folder output. */
export function* cachedFiles(result: ActionResult): Generator<[string, CachedFile]> {
  for (const [o, c] of Object.entries(result.outputs)) {
    if (c.kind === 'file') yield [o, c];
    else for (const [name, f] of Object.entries(c.files)) yield [`${o}/${name}`, f];
  }
}

export interface ActionResult {
  /** Output path (workspace-relative) → content. */
  outputs: Record<string, CachedOutput>;
}

/**
 * One tier of the cache. A lookup answers with a result that was checked (verify.ts) and whose
 * blobs are all in the local store, ready to restore (a remote tier copies them there first);
 * it may throw a CorruptEntry, which the caller reports. `keep` stores a result whose blobs
 * are already in the local store.
 */
export interface ActionCache {
  readonly tier: 'local' | 'remote';
  /** False once the tier cannot answer (a remote after a network error or Ctrl-C). */
  readonly enabled: boolean;
  /** Whether `keep` stores anything (a remote only when uploads are on). */
  readonly writable: boolean;
  lookup(fingerprint: Sha256, node: GraphNode): VerifiedResult | undefined | Promise<VerifiedResult | undefined>;
  keep(fingerprint: Sha256, result: ActionResult): void | Promise<void>;
}
