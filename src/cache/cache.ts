// The cache interface: action results (fingerprint → output manifest) and content-addressed
// blobs. The local store lives under .sbuild/cache/; a remote one speaks the same shape, and
// both are tiers of one interface (ActionCache): look a fingerprint up, keep a result.
import type { GraphNode } from '../graph/graph.js';
import type { Sha256 } from '../hashing/sha256.js';
import type { VerifiedResult } from './verify.js';

/** One output as the cache knows it: a file, or a folder with every file inside it. */
export type CachedOutput =
  | { kind: 'file'; hash: Sha256; size: number; mode: number }
  | { kind: 'dir'; hash: Sha256; size: number; files: Record<string, { hash: Sha256; size: number; mode: number }> };

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
