// The cache interface: action results (fingerprint → output manifest) and content-addressed
// blobs. The local store lives under .sbuild/cache/; a remote one speaks the same shape.
import type { Sha256 } from '../hashing/sha256.js';

/** One output as the cache knows it: a file, or a folder with every file inside it. */
export type CachedOutput =
  | { kind: 'file'; hash: Sha256; size: number; mode: number }
  | { kind: 'dir'; hash: Sha256; size: number; files: Record<string, { hash: Sha256; size: number; mode: number }> };

export interface ActionResult {
  /** Output path (workspace-relative) → content. */
  outputs: Record<string, CachedOutput>;
}
