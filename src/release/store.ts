// Where release bundles are published and fetched from: one interface over an rclone remote,
// a GitHub release (gh) and a plain HTTP(S) folder, and the parser of the strings that name
// them. A store is a flat folder of files: the bundle's assets, manifest.json and SHA256SUMS.
import { SbuildError } from '../errors.js';

/** Bytes moved so far of one file, for progress lines. */
export type Progress = (done: number, total: number | undefined) => void;

export interface ReleaseStore {
  /** How the store is named to the user (never holds a token). */
  readonly label: string;
  /** Size of each of `names` the store holds (absent ones are left out). */
  sizes(names: string[], signal: AbortSignal): Promise<Map<string, number>>;
  /** A small text file's content (SHA256SUMS), or undefined when the store does not hold it. */
  readText(name: string, signal: AbortSignal): Promise<string | undefined>;
  /** Sends one local file as `name`. */
  put(localAbs: string, name: string, bytes: number, progress: Progress, signal: AbortSignal): Promise<void>;
  /**
   * Reads back what was sent and compares it with the SHA-256 and size recorded for it (not
   * with the local file, which may have changed since): each name that differs or is missing,
   * with why. Empty when all match.
   */
  verify(files: Array<{ name: string; sha256: string; bytes: number }>, signal: AbortSignal): Promise<string[]>;
  /** Deletes `name` from the store (nothing when it is not there). */
  remove(name: string, signal: AbortSignal): Promise<void>;
  /** Downloads `name` to `destAbs` (a new file). */
  get(name: string, destAbs: string, progress: Progress, signal: AbortSignal): Promise<void>;
  /** The command lines `put` would run for these files (a dry run prints them). */
  putCommands(files: Array<{ name: string; localAbs: string }>, release: { commit: string | null; version: string }): string[];
  /** Prepares the store to receive files (a GitHub release is created); called once before the first put. */
  prepare?(release: { commit: string | null; version: string }, signal: AbortSignal): Promise<void>;
}

/** Where a bundle goes or comes from, as written in a config or on the command line. */
export type StoreSpec =
  | { kind: 'rclone'; remote: string; path: string; text: string }
  | { kind: 'gh'; repo: string; tag: string; text: string }
  | { kind: 'http'; url: string; tokenEnv: string | undefined; text: string };

/** The environment variable an HTTP store's bearer token is read from, unless another is named. */
export const DEFAULT_TOKEN_ENV = 'SBUILD_RELEASE_TOKEN';

const FORMS =
  "rclone:REMOTE:PATH (a remote from your rclone config, e.g. rclone:s3:bucket/sardet/v0.1.0), gh:OWNER/REPO@TAG (a GitHub release, through gh), or an http(s):// URL of a folder (PUT to publish; a bearer token from $" +
  DEFAULT_TOKEN_ENV +
  ')';

/** A destination or source as a config gives it: the string, or `{ url, tokenEnv }` for HTTP. */
export type StoreInput = string | { url: string; tokenEnv?: string };

/**
 * Parses a store's name; `what` says where it was given (a flag, a rule option) for the error.
 * `tokenEnv`: the variable an HTTP store's token is read from unless the input names one (a
 * publish destination: $SBUILD_RELEASE_TOKEN); undefined: no token unless named, so that a
 * source of someone else's is never sent ours.
 */
export function parseStore(input: unknown, what: string, defaults: { tokenEnv?: string } = {}): StoreSpec {
  const fail = (why: string): never => {
    throw new SbuildError('usage', `${what}: ${why}. Name a store as ${FORMS}.`);
  };
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const o = input as { url?: unknown; tokenEnv?: unknown };
    if (typeof o.url !== 'string') return fail(`an object destination needs \`url\` (an http(s) URL), got ${JSON.stringify(input)}`);
    if (o.tokenEnv !== undefined && (typeof o.tokenEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.tokenEnv))) {
      return fail(`\`tokenEnv\` must name an environment variable (letters, digits, '_'), got ${JSON.stringify(o.tokenEnv)}`);
    }
    const spec = parseStore(o.url, what, defaults);
    if (spec.kind !== 'http') return fail(`\`url\` must be an http(s) URL, got ${JSON.stringify(o.url)}`);
    return { ...spec, tokenEnv: (o.tokenEnv as string | undefined) ?? defaults.tokenEnv };
  }
  if (typeof input !== 'string' || input.trim() === '') return fail(`expected a store name, got ${JSON.stringify(input) ?? String(input)}`);
  const text = input;
  if (text.startsWith('rclone:')) {
    const m = /^rclone:([A-Za-z0-9_. -][A-Za-z0-9_. -]*):(.*)$/.exec(text);
    if (!m || m[1]!.trim() === '') return fail(`${JSON.stringify(text)} does not name an rclone remote (rclone:REMOTE:PATH)`);
    const p = m[2]!.replace(/\/+$/, '');
    if (p.split('/').some((s) => s === '..')) return fail(`${JSON.stringify(text)}: the path holds '..'`);
    return { kind: 'rclone', remote: m[1]!, path: p, text };
  }
  if (text.startsWith('gh:')) {
    const m = /^gh:([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)@([^\s@~^:?*[\\]+)$/.exec(text);
    if (!m) return fail(`${JSON.stringify(text)} does not name a GitHub release (gh:OWNER/REPO@TAG)`);
    return { kind: 'gh', repo: m[1]!, tag: m[2]!, text };
  }
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return fail(`${JSON.stringify(text)} is not a valid URL`);
    }
    if (url.username || url.password) return fail(`${JSON.stringify(url.origin)}…: put no credentials in the URL; give a token through $${DEFAULT_TOKEN_ENV} (or \`tokenEnv\`)`);
    if (url.search || url.hash) return fail(`${JSON.stringify(text)}: a folder URL takes no query or fragment`);
    const folder = url.href.endsWith('/') ? url.href : url.href + '/';
    return { kind: 'http', url: folder, tokenEnv: defaults.tokenEnv, text };
  }
  return fail(`${JSON.stringify(text)} is not a store name`);
}

/** The store behind a spec. */
export async function openStore(spec: StoreSpec): Promise<ReleaseStore> {
  switch (spec.kind) {
    case 'rclone': return new (await import('./rclone-store.js')).RcloneStore(spec.remote, spec.path);
    case 'gh': return new (await import('./gh-store.js')).GhStore(spec.repo, spec.tag);
    case 'http': return new (await import('./http-store.js')).HttpStore(spec.url, spec.tokenEnv);
  }
}

/** A transfer problem: exit 1, said in one paragraph (never with a token in it). */
export class TransferError extends SbuildError {
  /** Said in full by its message: no stack in a target's log (the class may come from another bundle, so not instanceof). */
  readonly expected = true;
  /** The store does not hold what was asked for (read as a property, not from the message: a URL's port may hold '404'). */
  readonly notThere: boolean;
  constructor(message: string, opts: { notThere?: boolean } = {}) {
    super('transfer', message, { exitCode: 1 });
    this.name = 'TransferError';
    this.notThere = opts.notThere ?? false;
  }
}

/** `SHA256SUMS` text → name → hash. Lines that are not `<64 hex>  <name>` are refused. */
export function parseSums(text: string, where: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new TransferError(`${where}: line ${i + 1} of SHA256SUMS is not '<sha256>  <name>': ${JSON.stringify(line.slice(0, 120))}`);
    if (out.has(m[2]!)) throw new TransferError(`${where}: SHA256SUMS lists ${JSON.stringify(m[2])} twice`);
    out.set(m[2]!, m[1]!);
  }
  return out;
}

/** Text from a store (a manifest's version, a target's name) made safe to print: control characters escaped. */
export function shown(text: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Human size. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
