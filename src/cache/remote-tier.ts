// The remote cache as a tier: a lookup copies a hit (manifest and blobs) into the local store
// and answers with the local store's checked entry; keeping a result uploads it.
import type { GraphNode } from '../graph/graph.js';
import type { Sha256 } from '../hashing/sha256.js';
import type { ActionCache, ActionResult } from './cache.js';
import type { LocalStore } from './local-store.js';
import { fetchRemote, upload } from './outputs.js';
import type { RemoteCache } from './remote.js';
import type { VerifiedResult } from './verify.js';

export class RemoteTier implements ActionCache {
  readonly tier = 'remote' as const;
  constructor(readonly remote: RemoteCache, private readonly store: LocalStore) {}

  get enabled(): boolean {
    return this.remote.enabled;
  }

  /** Whether results built here are uploaded. */
  get writable(): boolean {
    return this.remote.uploads;
  }

  async lookup(fingerprint: Sha256, node: GraphNode): Promise<VerifiedResult | undefined> {
    if (!(await fetchRemote(this.remote, this.store, node, fingerprint))) return undefined;
    return this.store.lookup(fingerprint, node);
  }

  keep(fingerprint: Sha256, result: ActionResult): Promise<void> {
    return upload(this.remote, this.store, fingerprint, result);
  }
}
