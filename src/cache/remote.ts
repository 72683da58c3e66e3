// A remote cache speaking Bazel's HTTP cache protocol: GET/PUT/HEAD `/ac/<sha256>` (action
// results; here sbuild's own JSON manifest) and `/cas/<sha256>` (blobs). Off-the-shelf servers
// work: nginx with WebDAV PUT, or bazel-remote started with --disable_http_ac_validation
// (bazel-remote otherwise expects /ac/ entries to be REAPI ActionResult protobufs).
// Every downloaded blob is verified against its hash, and every action result is checked
// before use (outputs.ts, verify.ts): a bad one is refused with one warning. The first network or server error turns
// the remote off for the rest of the run with one warning: the build goes on locally.
import { createHash } from 'node:crypto';
import type { Sha256 } from '../hashing/sha256.js';
import type { ActionResult } from './cache.js';

export interface RemoteOptions {
  url: string;
  /** Value for the Authorization header (from the environment variable the config names). */
  authorization: string | undefined;
  upload: boolean;
  warn: (message: string) => void;
}

export class RemoteCache {
  private broken = false;
  private readonly base: string;
  /** Action results refused this run (warned about once). */
  private readonly refusedEntries = new Set<string>();

  /** Aborted on Ctrl-C, so no request outlives the build. */
  private readonly stop = new AbortController();

  constructor(private readonly opts: RemoteOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  /** Cancels every request in flight and any later one. */
  cancel(): void {
    this.broken = true;
    this.stop.abort();
  }

  /** Whether the entry for this fingerprint was refused earlier in this run. */
  refused(fingerprint: string): boolean {
    return this.refusedEntries.has(fingerprint);
  }

  /** Refuses the entry for this fingerprint for the rest of the run, with one warning. */
  refuse(fingerprint: string, message: string): void {
    if (this.refusedEntries.has(fingerprint)) return;
    this.refusedEntries.add(fingerprint);
    this.opts.warn(message);
  }

  get enabled(): boolean {
    return !this.broken;
  }

  get uploads(): boolean {
    return this.opts.upload && !this.broken;
  }

  private headers(): Record<string, string> {
    return this.opts.authorization ? { authorization: this.opts.authorization } : {};
  }

  private fail(what: string, err: unknown): undefined {
    if (!this.broken) {
      this.broken = true;
      const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      this.opts.warn(`remote cache ${this.base} ${what} failed (${why}); continuing without it`);
    }
    return undefined;
  }

  private async request(method: string, path: string, body?: Uint8Array): Promise<Response | undefined> {
    if (this.broken) return undefined;
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...this.headers(), ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
        ...(body ? { body: body as unknown as BodyInit } : {}),
        signal: AbortSignal.any([AbortSignal.timeout(60_000), this.stop.signal]),
      });
      if (res.status >= 500 || res.status === 401 || res.status === 403) {
        await res.arrayBuffer().catch(() => undefined);
        return this.fail(`${method} ${path.split('/')[1]}`, new Error(`HTTP ${res.status}`));
      }
      return res;
    } catch (err) {
      if (this.stop.signal.aborted) return undefined;
      return this.fail(`${method} ${path.split('/')[1]}`, err);
    }
  }

  async getAction(fingerprint: string): Promise<ActionResult | undefined> {
    const res = await this.request('GET', `/ac/${fingerprint}`);
    if (!res || res.status !== 200) {
      await res?.arrayBuffer().catch(() => undefined);
      return undefined;
    }
    try {
      const r = JSON.parse(await res.text()) as ActionResult;
      return r && typeof r.outputs === 'object' ? r : undefined;
    } catch {
      this.opts.warn(`remote cache entry ${fingerprint.slice(0, 12)} is not an sbuild action result; ignoring it`);
      return undefined;
    }
  }

  /** The blob, verified; undefined when absent or when its content does not match its hash. */
  async getBlob(hash: Sha256): Promise<Buffer | undefined> {
    const res = await this.request('GET', `/cas/${hash}`);
    if (!res || res.status !== 200) {
      await res?.arrayBuffer().catch(() => undefined);
      return undefined;
    }
    const data = Buffer.from(await res.arrayBuffer());
    const got = createHash('sha256').update(data).digest('hex');
    if (got !== hash) {
      this.opts.warn(`remote cache blob ${hash.slice(0, 12)} was rejected: its content hashes to ${got.slice(0, 12)}`);
      return undefined;
    }
    return data;
  }

  async hasBlob(hash: Sha256): Promise<boolean> {
    const res = await this.request('HEAD', `/cas/${hash}`);
    return res?.status === 200;
  }

  async putBlob(hash: Sha256, data: Uint8Array): Promise<void> {
    if (await this.hasBlob(hash)) return;
    const res = await this.request('PUT', `/cas/${hash}`, data);
    if (res && res.status >= 300) this.fail('PUT cas', new Error(`HTTP ${res.status}`));
  }

  async putAction(fingerprint: string, result: ActionResult): Promise<void> {
    const res = await this.request('PUT', `/ac/${fingerprint}`, Buffer.from(JSON.stringify(result)));
    if (res && res.status >= 300) this.fail('PUT ac', new Error(`HTTP ${res.status}`));
  }
}
