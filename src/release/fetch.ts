// Downloading a published bundle into a staging folder, every file checked before anything
// is used: SHA256SUMS first, then manifest.json against it, then each asset against both. A
// file that does not match is deleted and the download refused, naming it. Everything read
// from a store is untrusted: names must be plain file names.
import fs from 'node:fs';
import path from 'node:path';
import { fmtBytes, parseSums, TransferError, type ReleaseStore } from './store.js';
import { rate, sha256File } from './publish.js';
import type { ReleaseManifest } from '../../rules/release.js';

export interface FetchHooks {
  signal: AbortSignal;
  line: (text: string) => void;
  progress: (text: string) => void;
  /** SHA-256 the store's SHA256SUMS must have (pins the whole bundle). */
  sha256sums?: string;
}

export interface StagedBundle {
  /** The staging folder holding the bundle's files. */
  dir: string;
  manifest: ReleaseManifest;
  /** name → SHA-256, as SHA256SUMS lists them. */
  sums: Map<string, string>;
}

/**
 * A bundle file name as SHA256SUMS may list it: one plain name, no folders, and no dot file
 * (`.git`, `.envrc`: names that mean something to other programs where the folder lands).
 */
function plainName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name !== '' && !name.startsWith('.') && !/[/\\\u0000-\u001f\u007f-\u009f]/.test(name) && name !== 'SHA256SUMS';
}

/** Why a downloaded manifest does not have the shape sbuild writes, or undefined. */
function manifestShape(m: unknown): string | undefined {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return 'it is not an object';
  const o = m as { [k: string]: unknown };
  if (typeof o.version !== 'string') return '`version` is not a string';
  if (o.folder !== undefined && typeof o.folder !== 'string') return '`folder` is not a string';
  if (o.commit !== null && o.commit !== undefined && typeof o.commit !== 'string') return '`commit` is not a string or null';
  if (!Array.isArray(o.files)) return '`files` is not a list';
  const str = (v: unknown) => typeof v === 'string';
  const strOrNull = (v: unknown) => v === null || v === undefined || typeof v === 'string';
  for (const [i, f] of (o.files as unknown[]).entries()) {
    if (f === null || typeof f !== 'object') return `files[${i}] is not an object`;
    const x = f as { [k: string]: unknown };
    if (!str(x.path) || !str(x.sha256) || typeof x.bytes !== 'number' || !strOrNull(x.source) || !strOrNull(x.target) || !strOrNull(x.fingerprint)) return `files[${i}] lacks a string path, sha256, source or a number of bytes`;
    if (x.unpack === undefined) continue;
    const u = x.unpack as { [k: string]: unknown } | null;
    if (u === null || typeof u !== 'object' || !str(u.base) || !Array.isArray(u.files)) return `files[${i}].unpack lacks a base or a list of files`;
    for (const [j, c] of (u.files as unknown[]).entries()) {
      const y = c as { [k: string]: unknown } | null;
      if (y === null || typeof y !== 'object' || !str(y.entry) || !str(y.path) || !str(y.sha256) || typeof y.bytes !== 'number' || !strOrNull(y.target) || !strOrNull(y.fingerprint)) {
        return `files[${i}].unpack.files[${j}] lacks a string entry, path, sha256 or a number of bytes`;
      }
    }
  }
  return undefined;
}

/** Downloads the bundle at `store` into `dir` (created; must not exist), verified. */
export async function downloadBundle(store: ReleaseStore, dir: string, hooks: FetchHooks): Promise<StagedBundle> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir);
  try {
    const sumsAbs = path.join(dir, 'SHA256SUMS');
    await getOne(store, 'SHA256SUMS', sumsAbs, hooks, true);
    const sumsHash = await sha256File(sumsAbs);
    if (hooks.sha256sums && sumsHash !== hooks.sha256sums) {
      throw new TransferError(`${store.label}: its SHA256SUMS has SHA-256 ${sumsHash}, not the pinned ${hooks.sha256sums}; the bundle there is not the one asked for.`);
    }
    const sums = parseSums(fs.readFileSync(sumsAbs, 'utf8'), store.label);
    const badNames = [...sums.keys()].filter((n) => !plainName(n));
    if (badNames.length) throw new TransferError(`${store.label}: SHA256SUMS lists ${badNames.map((n) => JSON.stringify(n)).join(', ')}, which ${badNames.length === 1 ? 'is' : 'are'} not a plain file name (no folders, no leading dot); the bundle is refused.`);
    if (!sums.has('manifest.json')) throw new TransferError(`${store.label}: SHA256SUMS does not list manifest.json; this is not a release bundle sbuild made.`);
    await getChecked(store, 'manifest.json', dir, sums, hooks);
    let manifest: ReleaseManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
    } catch {
      throw new TransferError(`${store.label}: manifest.json is not JSON; the bundle is refused.`);
    }
    const bad = manifestShape(manifest);
    if (bad) throw new TransferError(`${store.label}: manifest.json is not a bundle manifest sbuild can read (${bad}); the bundle is refused.`);
    const listed = Array.isArray(manifest.files) ? manifest.files : [];
    const problems: string[] = [];
    for (const f of listed) {
      if (typeof f?.path !== 'string' || !sums.has(f.path)) problems.push(`manifest.json lists ${JSON.stringify(f?.path)}, which SHA256SUMS does not`);
      else if (f.sha256 !== sums.get(f.path)) problems.push(`${f.path}: manifest.json and SHA256SUMS give different SHA-256`);
    }
    for (const n of sums.keys()) if (n !== 'manifest.json' && !listed.some((f) => f?.path === n)) problems.push(`SHA256SUMS lists ${n}, which manifest.json does not`);
    if (problems.length) throw new TransferError(`${store.label}: the bundle's manifest.json and SHA256SUMS disagree, so it is refused:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    for (const f of listed) await getChecked(store, f.path, dir, sums, hooks);
    return { dir, manifest, sums };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Downloads one listed file and checks it against SHA256SUMS; a mismatch is deleted and refused. */
async function getChecked(store: ReleaseStore, name: string, dir: string, sums: Map<string, string>, hooks: FetchHooks): Promise<void> {
  const abs = path.join(dir, name);
  await getOne(store, name, abs, hooks, false);
  const h = await sha256File(abs, hooks.signal);
  if (h !== sums.get(name)) {
    fs.rmSync(abs, { force: true });
    throw new TransferError(`${store.label}: ${name} does not match SHA256SUMS (its SHA-256 is ${h}, SHA256SUMS says ${sums.get(name)}); it was deleted and nothing was installed. The file at the store is damaged or was replaced: publish the bundle again.`);
  }
}

async function getOne(store: ReleaseStore, name: string, abs: string, hooks: FetchHooks, quiet: boolean): Promise<void> {
  const t0 = performance.now();
  try {
    await store.get(name, abs, (done, total) => hooks.progress(rate(`receiving ${name}`, done, total, t0)), hooks.signal);
  } catch (err) {
    fs.rmSync(abs, { recursive: true, force: true });
    if (name === 'SHA256SUMS' && (err as { notThere?: unknown }).notThere === true) {
      throw new TransferError(`${store.label}: no SHA256SUMS there, so there is no release bundle to fetch (check the path or tag).`);
    }
    throw err;
  }
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    fs.rmSync(abs, { recursive: true, force: true });
    throw new TransferError(`${store.label}: ${name} is not a file there; the bundle is refused.`);
  }
  if (!quiet) {
    const bytes = st.size;
    const s = (performance.now() - t0) / 1000;
    hooks.line(`received ${name} (${fmtBytes(bytes)} in ${s.toFixed(1)} s)`);
  }
}
