// Publishing a built release bundle to a store, incrementally: a file the store already holds
// with the same SHA-256 (by its SHA256SUMS) and size is not sent again. Assets go first, then
// manifest.json, then SHA256SUMS, each read back and compared; SHA256SUMS is sent only once
// everything it lists has been verified, so a store's SHA256SUMS never vouches for a file
// that did not arrive whole, and a failed publish is simply run again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fmtBytes, parseSums, TransferError, type ReleaseStore } from './store.js';

export interface BundleFile {
  name: string;
  localAbs: string;
  sha256: string;
  bytes: number;
}

/** A built bundle folder, checked against its own SHA256SUMS. */
export interface LocalBundle {
  dir: string;
  version: string;
  commit: string | null;
  /** The assets and manifest.json, in the order they are sent (assets by name, manifest last). */
  files: BundleFile[];
  /** SHA256SUMS itself: sent after everything it lists. */
  sums: BundleFile & { text: string };
}

/** Reads a bundle folder and checks every file against its SHA256SUMS. */
export async function readLocalBundle(dirAbs: string, shown: string): Promise<LocalBundle> {
  const sumsAbs = path.join(dirAbs, 'SHA256SUMS');
  const sumsText = readOr(sumsAbs);
  if (sumsText === undefined) throw new TransferError(`${shown}: not a built release bundle (no SHA256SUMS there); build it first, e.g. \`sbuild release\`.`);
  const sums = parseSums(sumsText, shown);
  const manifestText = readOr(path.join(dirAbs, 'manifest.json'));
  if (manifestText === undefined || !sums.has('manifest.json')) throw new TransferError(`${shown}: the bundle has no manifest.json listed in its SHA256SUMS; rebuild it.`);
  let manifest: { version?: unknown; commit?: unknown };
  try {
    manifest = JSON.parse(manifestText) as typeof manifest;
  } catch {
    throw new TransferError(`${shown}/manifest.json is not JSON; rebuild the bundle.`);
  }
  const files: BundleFile[] = [];
  const bad: string[] = [];
  for (const [name, sha256] of sums) {
    const abs = path.join(dirAbs, name);
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      bad.push(`${name}: missing`);
      continue;
    }
    const h = await sha256File(abs);
    if (h !== sha256) bad.push(`${name}: differs from SHA256SUMS`);
    files.push({ name, localAbs: abs, sha256, bytes: st.size });
  }
  const extra = fs.readdirSync(dirAbs).filter((n) => n !== 'SHA256SUMS' && !sums.has(n));
  for (const n of extra) bad.push(`${n}: not listed in SHA256SUMS`);
  if (bad.length) throw new TransferError(`${shown}: the bundle does not match its SHA256SUMS, so it is not published:\n${bad.map((b) => `  ${b}`).join('\n')}\nRebuild it (\`sbuild -B\` on its target).`);
  files.sort((a, b) => (a.name === 'manifest.json' ? 1 : b.name === 'manifest.json' ? -1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    dir: dirAbs,
    version: typeof manifest.version === 'string' ? manifest.version : path.basename(dirAbs),
    commit: typeof manifest.commit === 'string' ? manifest.commit : null,
    files,
    sums: { name: 'SHA256SUMS', localAbs: sumsAbs, sha256: createHash('sha256').update(sumsText).digest('hex'), bytes: Buffer.byteLength(sumsText), text: sumsText },
  };
}

export interface PublishHooks {
  signal: AbortSignal;
  /** A line to keep: what was sent, what was already there. */
  line: (text: string) => void;
  /** Live progress (bytes and rate of the file being sent). */
  progress: (text: string) => void;
  /** Attempts per file before the publish fails (default 3). */
  attempts?: number;
  /** Wait before attempt n+1, in ms (default 1 s, 3 s, …). */
  backoffMs?: (attempt: number) => number;
}

export interface PublishResult {
  store: string;
  sent: string[];
  kept: string[];
}

/**
 * What a store lacks of the bundle: the files to send, SHA256SUMS last when anything changes;
 * `vouching`: the store holds a SHA256SUMS now (it is removed before anything it lists is replaced).
 */
export async function publishPlan(bundle: LocalBundle, store: ReleaseStore, signal: AbortSignal): Promise<{ send: BundleFile[]; kept: BundleFile[]; vouching: boolean }> {
  const remoteText = await store.readText('SHA256SUMS', signal);
  let remote = new Map<string, string>();
  if (remoteText !== undefined) {
    try {
      remote = parseSums(remoteText, store.label);
    } catch {
      remote = new Map(); // unreadable: every file is sent again
    }
  }
  const sizes = await store.sizes([...bundle.files.map((f) => f.name), 'SHA256SUMS'], signal);
  const send: BundleFile[] = [];
  const kept: BundleFile[] = [];
  for (const f of bundle.files) (remote.get(f.name) === f.sha256 && sizes.get(f.name) === f.bytes ? kept : send).push(f);
  if (send.length || remoteText !== bundle.sums.text || sizes.get('SHA256SUMS') !== bundle.sums.bytes) send.push(bundle.sums);
  return { send, kept, vouching: remoteText !== undefined };
}

/** Sends what the store lacks, verifies it, and returns what was sent. */
export async function publishBundle(bundle: LocalBundle, store: ReleaseStore, hooks: PublishHooks): Promise<PublishResult> {
  const { send, kept, vouching } = await publishPlan(bundle, store, hooks.signal);
  if (send.length === 0) {
    hooks.line(`${store.label}: holds all ${kept.length + 1} files already; nothing sent`);
    return { store: store.label, sent: [], kept: kept.map((f) => f.name) };
  }
  await store.prepare?.({ commit: bundle.commit, version: bundle.version }, hooks.signal);
  const body = send.filter((f) => f !== bundle.sums);
  // The store's SHA256SUMS must not vouch for a file while it is being replaced: were this
  // publish to fail half-way, a later one would trust it and keep the wrong bytes there.
  if (body.length && vouching) {
    await store.remove('SHA256SUMS', hooks.signal);
    hooks.line(`${store.label}: removed its SHA256SUMS until the new files are verified`);
  }
  for (const f of body) await sendOne(store, f, hooks);
  const problems = await store.verify(body, hooks.signal);
  if (problems.length) {
    throw new TransferError(
      `${store.label}: ${problems.length} file(s) did not arrive as sent:\n${problems.map((p) => `  ${p}`).join('\n')}\n` +
        'The store\'s SHA256SUMS was not updated, so nothing is recorded as published; publish again.',
    );
  }
  if (send.includes(bundle.sums)) {
    // Sent from the text read (and checked against) at the start, not the folder as it is now.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-sums-'));
    try {
      const file = path.join(dir, 'SHA256SUMS');
      fs.writeFileSync(file, bundle.sums.text);
      await sendOne(store, { ...bundle.sums, localAbs: file }, hooks);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const last = await store.verify([bundle.sums], hooks.signal);
    if (last.length) throw new TransferError(`${store.label}: SHA256SUMS did not arrive as sent (${last.join('; ')}); publish again.`);
  }
  hooks.line(`${store.label}: sent ${send.length} file(s)${kept.length ? `, ${kept.length} already there` : ''}; verified`);
  return { store: store.label, sent: send.map((f) => f.name), kept: kept.map((f) => f.name) };
}

/** One file, retried: a transfer that fails is sent again, up to `attempts` times. */
async function sendOne(store: ReleaseStore, f: BundleFile, hooks: PublishHooks): Promise<void> {
  const attempts = hooks.attempts ?? 3;
  const t0 = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await store.put(f.localAbs, f.name, f.bytes, (done, total) => hooks.progress(rate(`sending ${f.name}`, done, total ?? f.bytes, t0)), hooks.signal);
      break;
    } catch (err) {
      if (hooks.signal.aborted || attempt >= attempts || !(err instanceof TransferError) || /refused|not installed|no remote named/.test(err.message)) throw err;
      hooks.line(`${f.name}: attempt ${attempt} of ${attempts} failed (${err.message}); trying again`);
      await new Promise((r) => setTimeout(r, (hooks.backoffMs ?? ((n) => 1000 * (2 * n - 1)))(attempt)));
    }
  }
  const s = (performance.now() - t0) / 1000;
  hooks.line(`sent ${f.name} (${fmtBytes(f.bytes)} in ${s.toFixed(1)} s${s > 0.05 ? `, ${fmtBytes(f.bytes / s)}/s` : ''}) to ${store.label}`);
}

/** "sending x.zip 12.0/55.9 MB, 40.1 MB/s". */
export function rate(what: string, done: number, total: number | undefined, t0: number): string {
  const s = Math.max((performance.now() - t0) / 1000, 0.001);
  return `${what} ${fmtBytes(done)}${total !== undefined ? ` of ${fmtBytes(total)}` : ''}, ${fmtBytes(done / s)}/s`;
}

function readOr(abs: string): string | undefined {
  try {
    return fs.readFileSync(abs, 'utf8');
  } catch {
    return undefined;
  }
}

export async function sha256File(abs: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const c of fs.createReadStream(abs, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) h.update(c as Buffer);
  return h.digest('hex');
}
