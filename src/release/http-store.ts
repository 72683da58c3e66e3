// A release store on a plain HTTP(S) server: a folder URL that answers GET and HEAD, and PUT
// and DELETE to publish (nginx with WebDAV, any WebDAV server). A bearer token, when the store
// names its environment variable and that is set, goes with every request to this origin (not
// across redirects to another), never over plain http to another machine, and is never printed.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TransferError, type Progress, type ReleaseStore } from './store.js';
import { quoteArg } from '../hashing/fingerprint.js';

export class HttpStore implements ReleaseStore {
  readonly label: string;

  constructor(
    private readonly folderUrl: string,
    private readonly tokenEnv: string | undefined,
  ) {
    this.label = folderUrl;
  }

  private token(): string | undefined {
    const token = this.tokenEnv ? process.env[this.tokenEnv] : undefined;
    if (!token) return undefined;
    const u = new URL(this.folderUrl);
    const loopback = u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\./.test(u.hostname);
    if (u.protocol !== 'https:' && !loopback) {
      throw new TransferError(`${this.label}: the token in $${this.tokenEnv} is not sent over plain http to ${u.hostname} (anyone on the way could read it); use an https:// URL.`);
    }
    return token;
  }

  private url(name: string): string {
    return new URL(name.split('/').map(encodeURIComponent).join('/'), this.folderUrl).href;
  }

  private headers(): Record<string, string> {
    const token = this.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** A refused, failed or unreachable request, said with the fix. */
  private refused(what: string, status: number, statusText: string): TransferError {
    if (status === 401 || status === 403) {
      const has = !!(this.tokenEnv && process.env[this.tokenEnv]);
      const fix = has
        ? `It does not accept the token in $${this.tokenEnv}; check that token's rights.`
        : this.tokenEnv
          ? `It wants a token: set $${this.tokenEnv} to a bearer token it accepts.`
          : 'It wants a token: name the environment variable that holds it (`--token-env NAME` for sbuild fetch, `{ url, tokenEnv }` in the config).';
      return new TransferError(`${this.label}: the server refused to ${what} (${status} ${statusText}). ${fix}`);
    }
    return new TransferError(`${this.label}: could not ${what} (${status} ${statusText})`);
  }

  private async request(method: 'GET' | 'HEAD', name: string, signal: AbortSignal): Promise<Response | undefined> {
    let res: Response;
    const headers = this.headers();
    try {
      // fetch follows redirects (a release download URL usually redirects) and drops the
      // authorization header when one leads to another origin.
      res = await fetch(this.url(name), { method, headers, signal, redirect: 'follow' });
    } catch (err) {
      if (signal.aborted) throw new TransferError(`${this.label}: interrupted`);
      throw unreachable(this.label, err);
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.refused(method === 'HEAD' ? `say whether it holds ${name}` : `let ${name} be read`, res.status, res.statusText);
    }
    return res;
  }

  async sizes(names: string[], signal: AbortSignal): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of names) {
      const res = await this.request('HEAD', n, signal);
      const len = res?.headers.get('content-length');
      if (res && len !== null && len !== undefined && /^\d+$/.test(len)) out.set(n, Number(len));
    }
    return out;
  }

  async readText(name: string, signal: AbortSignal): Promise<string | undefined> {
    const res = await this.request('GET', name, signal);
    return res ? await res.text() : undefined;
  }

  async get(name: string, destAbs: string, progress: Progress, signal: AbortSignal): Promise<void> {
    const res = await this.request('GET', name, signal);
    if (!res || !res.body) throw new TransferError(`${this.label}: ${name} is not there (404)`, { notThere: true });
    const total = Number(res.headers.get('content-length') ?? NaN);
    let done = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    body.on('data', (c: Buffer) => {
      done += c.length;
      progress(done, Number.isFinite(total) ? total : undefined);
    });
    try {
      await pipeline(body, fs.createWriteStream(destAbs, { flags: 'wx' }), { signal });
    } catch (err) {
      if (signal.aborted) throw new TransferError(`${this.label}: interrupted`);
      throw new TransferError(`${this.label}: the download of ${name} broke off: ${(err as Error).message}`);
    }
  }

  put(localAbs: string, name: string, bytes: number, progress: Progress, signal: AbortSignal): Promise<void> {
    const url = new URL(this.url(name));
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<void>((resolve, reject) => {
      let headers: Record<string, string>;
      try {
        headers = this.headers();
      } catch (err) {
        reject(err);
        return;
      }
      const req = mod.request(url, { method: 'PUT', headers: { ...headers, 'content-length': String(bytes), 'content-type': 'application/octet-stream' }, signal }, (res) => {
        res.resume();
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) resolve();
          else reject(this.refused(`store ${name}`, s, res.statusMessage ?? ''));
        });
      });
      req.on('error', (err) => reject(signal.aborted ? new TransferError(`${this.label}: interrupted`) : unreachable(this.label, err)));
      const file = fs.createReadStream(localAbs);
      let done = 0;
      file.on('data', (c) => {
        done += c.length;
        progress(done, bytes);
      });
      file.on('error', (err) => req.destroy(err));
      file.pipe(req);
    });
  }

  async remove(name: string, signal: AbortSignal): Promise<void> {
    const url = new URL(this.url(name));
    const mod = url.protocol === 'https:' ? https : http;
    const headers = this.headers();
    await new Promise<void>((resolve, reject) => {
      const req = mod.request(url, { method: 'DELETE', headers, signal }, (res) => {
        res.resume();
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          if ((s >= 200 && s < 300) || s === 404) resolve();
          else reject(this.refused(`delete ${name}`, s, res.statusMessage ?? ''));
        });
      });
      req.on('error', (err) => reject(signal.aborted ? new TransferError(`${this.label}: interrupted`) : unreachable(this.label, err)));
      req.end();
    });
  }

  async verify(files: Array<{ name: string; sha256: string; bytes: number }>, signal: AbortSignal): Promise<string[]> {
    // Read back and hashed: the server may hold what it was sent only in part.
    const problems: string[] = [];
    for (const f of files) {
      const res = await this.request('GET', f.name, signal);
      if (!res || !res.body) {
        problems.push(`${f.name}: missing at the destination`);
        continue;
      }
      const h = createHash('sha256');
      let n = 0;
      for await (const c of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream)) {
        h.update(c as Buffer);
        n += (c as Buffer).length;
      }
      if (n !== f.bytes || h.digest('hex') !== f.sha256) problems.push(`${f.name}: differs from the local file (${n} bytes read back, ${f.bytes} sent)`);
    }
    return problems;
  }

  putCommands(files: Array<{ name: string; localAbs: string }>): string[] {
    const auth = !this.tokenEnv ? 'without a token' : process.env[this.tokenEnv] ? `with the bearer token in $${this.tokenEnv}` : `without a token ($${this.tokenEnv} is not set)`;
    return files.map((f) => `PUT ${this.url(f.name)} ← ${quoteArg(f.localAbs)} (${auth})`);
  }
}

function unreachable(label: string, err: unknown): TransferError {
  const e = err as Error & { cause?: { code?: string; message?: string }; code?: string };
  const code = e?.cause?.code ?? e?.code;
  const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'no such host' : code === 'ETIMEDOUT' ? 'timed out' : (e?.cause?.message ?? e?.message ?? String(err));
  return new TransferError(`${label}: the server could not be reached (${why}). Check the URL and that the server is up.`);
}
