// Release assets: a check that every asset is a readable, non-empty zip (with a record of
// what was checked), and the release bundle — a folder holding a copy of each asset, a
// manifest tying every file to the target and fingerprint that built it and recording the
// source it was built from (commit, and the files that differed from it), and SHA256SUMS.
// Both are byte-identical for identical inputs: sorted, no timestamps.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { BadInputError, type ActionContext, type Target } from '../src/index.js';
import { inspectZip, workspacePath, ZipFormatError } from './zip.js';
import { contentOf, gitSource, type ChangeKind } from './source.js';
import { zipEntryHashes, ZipReadError } from '../src/release/zip-entries.js';
import { sha256File } from '../src/release/publish.js';

// ---------------------------------------------------------------------------------------------
// releaseCheck

export interface ReleaseCheckOptions {
  /** Target name (default 'release-check'). */
  name?: string;
  /** Zip files to check (workspace-relative paths, normally other targets' outputs). */
  assets: string[];
  /** Where the record goes (default 'artifacts/release_assets/release_check.json'). */
  output?: string;
}

/** One asset as recorded by the check. */
export interface CheckedAsset {
  /** Workspace-relative path. */
  name: string;
  bytes: number;
  sha256: string;
  entries: number;
}

/** The content of the check's record: `{ assets: [...] }`, sorted by name. */
export interface ReleaseCheckRecord {
  assets: CheckedAsset[];
}

export const DEFAULT_CHECK_OUTPUT = 'artifacts/release_assets/release_check.json';

/**
 * Checks that each asset is present, non-empty and a readable zip with at least one entry;
 * writes a JSON record of each asset's name, size, SHA-256 and entry count. Every problem
 * found is reported at once (exit 2).
 */
export function releaseCheck(opts: ReleaseCheckOptions): Target {
  const name = opts?.name ?? 'release-check';
  const what = `releaseCheck(${JSON.stringify(name)})`;
  const assets = assetList(opts?.assets, what);
  const output = workspacePath(opts.output ?? DEFAULT_CHECK_OUTPUT, `${what}: \`output\``);
  if (assets.includes(output)) throw new Error(`${what}: \`output\` '${output}' is also one of the assets; write the record elsewhere.`);
  return {
    name,
    inputs: [...assets],
    outputs: [output],
    params: { assets },
    rule: { id: 'sbuild/rules/releaseCheck', version: 1, module: import.meta.url },
    description: `check the release assets (${assets.length}) and record their sizes and SHA-256`,
    tags: ['release'],
    run: releaseCheckAction,
  };
}

async function releaseCheckAction(ctx: ActionContext): Promise<void> {
  const assets = (ctx.params.assets as string[]).slice().sort();
  const problems: string[] = [];
  const records: CheckedAsset[] = [];
  for (const asset of assets) {
    const abs = ctx.path(asset);
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st) {
      problems.push(`${asset}: missing`);
      continue;
    }
    if (!st.isFile()) {
      problems.push(`${asset}: not a file`);
      continue;
    }
    try {
      const info = await inspectZip(abs);
      records.push({ name: asset, bytes: info.bytes, sha256: await sha256Of(ctx, asset), entries: info.entries });
    } catch (err) {
      if (!(err instanceof ZipFormatError)) throw err;
      problems.push(`${asset}: ${err.message}`);
    }
  }
  if (problems.length) {
    throw new BadInputError(
      `the release check found ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}\n` +
        `Rebuild or replace ${problems.length === 1 ? 'that asset' : 'those assets'}, or drop ${problems.length === 1 ? 'it' : 'them'} from \`assets\`.`,
    );
  }
  const record: ReleaseCheckRecord = { assets: records };
  await ctx.writeFile(ctx.outputs[0]!, JSON.stringify(record, null, 2) + '\n');
  ctx.log(`checked ${records.length} asset(s)`);
}

// ---------------------------------------------------------------------------------------------
// releaseBundle

export interface ReleaseBundleOptions {
  /** Target name (default 'release-bundle'). */
  name?: string;
  /** Release version: names the folder; letters, digits, '.', '_', '-'. */
  version: string;
  /**
   * Files to ship (workspace-relative; each lands in the bundle under its file name), or the
   * `zipFiles` targets that write them: a zip given as its target is described in the
   * manifest entry by entry (each entry's workspace path, SHA-256 and the target that built
   * it), so that `sbuild fetch` can put its files back where the graph expects them.
   */
  assets: Array<string | Target>;
  /**
   * For zips given as paths: the folder their entry names are relative to (the zip's `base`),
   * keyed by the asset's path. Zips given as `zipFiles` targets need no entry here.
   */
  unpack?: { [asset: string]: string };
  /**
   * The record written by `releaseCheck` (its output path). The bundle then waits for the check
   * and refuses any asset the check did not record with the same SHA-256.
   */
  check?: string;
  /**
   * Left out (the default), the manifest records the source the bundle was built from, read
   * when it is built: HEAD of the git repository holding the workspace, and the source files
   * that differ from it. Given, the manifest records this commit instead (null: none) with
   * `dirty` and `changed` null, as the tree is not compared with it; it is a param, so
   * changing it rebuilds the bundle. For a build outside git that knows its commit
   * (`commit: process.env.SOURCE_COMMIT`).
   */
  commit?: string | null;
  /** The bundle folder (default 'artifacts/release/<version>'). */
  outDir?: string;
}

/** A file inside one of the bundle's zips, as listed in manifest.json. */
export interface ManifestContent {
  /** Name inside the zip. */
  entry: string;
  /** Workspace-relative path it unpacks to (the zip's base joined with the entry name). */
  path: string;
  bytes: number;
  sha256: string;
  /** The target whose output it is and that target's fingerprint (null for a file no target declares). */
  target: string | null;
  fingerprint: string | null;
}

/** One file of the bundle, as listed in manifest.json. */
export interface ManifestFile {
  /** Name inside the bundle folder. */
  path: string;
  bytes: number;
  sha256: string;
  /** Workspace-relative path it was copied from. */
  source: string;
  /** The target that built it and that target's fingerprint (null for a file no target declares). */
  target: string | null;
  fingerprint: string | null;
  /** For a zip whose base is known: the folder its entries unpack below, and each entry. */
  unpack?: { base: string; files: ManifestContent[] };
}

/** A source file that differed from the manifest's commit when the bundle was built. */
export interface ChangedFile {
  /** Workspace-relative path. */
  path: string;
  status: ChangeKind;
  /** For `renamed` and `copied`: the path it came from. */
  from?: string;
  /**
   * SHA-256 of its bytes in the work tree then (a symbolic link: of its target's text); null
   * when it was deleted, or is a folder (a submodule or a nested repository).
   */
  sha256: string | null;
}

/** manifest.json of a release bundle. */
export interface ReleaseManifest {
  version: string;
  /** The workspace-relative folder the bundle was built in (where `sbuild fetch` puts it). */
  folder: string;
  /**
   * The commit checked out when the bundle was built (HEAD), or the `commit` option. Null: no
   * commit known (outside a git repository, before the first commit, or `commit: null`).
   */
  commit: string | null;
  /**
   * Whether the workspace's source differed from `commit` then: `changed` is not empty. Null:
   * unknown (outside a git repository, no `git` program, or a `commit` given in the config).
   */
  dirty: boolean | null;
  /** Those source files, sorted by path: [] when clean, null when unknown (as `dirty`). */
  changed: ChangedFile[] | null;
  files: ManifestFile[];
  /** Every target the bundle depends on, transitively, with its fingerprint; sorted by name. */
  lineage: Array<{ target: string; fingerprint: string }>;
}

const VERSION_RE = /^[A-Za-z0-9._-]+$/;
const GENERATED = new Set(['manifest.json', 'SHA256SUMS']);

/**
 * The release folder (default `artifacts/release/<version>/`): a copy of each asset,
 * `manifest.json` and `SHA256SUMS` (`sha256sum -c SHA256SUMS` verifies it). No timestamps, so two
 * clean builds give identical folders. The source (commit, dirty, changed files) is read when
 * it runs and is no part of its fingerprint: a new commit leaves the bundle fresh, and its
 * manifest keeps naming the source its bytes came from (`sbuild -B` records the new one).
 */
export function releaseBundle(opts: ReleaseBundleOptions): Target {
  const name = opts?.name ?? 'release-bundle';
  const what = `releaseBundle(${JSON.stringify(name)})`;
  const version = opts?.version;
  if (typeof version !== 'string' || !VERSION_RE.test(version) || version.includes('..')) {
    throw new Error(
      `${what}: \`version\` must be a non-empty string of letters, digits, '.', '_' and '-' without '..' (it names the bundle folder); ` +
        `got ${JSON.stringify(version)}. Use e.g. 'v1.0.0'.`,
    );
  }
  const { paths: assets, unpack } = bundleAssets(opts.assets, opts.unpack, what);
  const byName = new Map<string, string>();
  for (const a of assets) {
    const base = path.posix.basename(a);
    if (GENERATED.has(base)) throw new Error(`${what}: the asset '${a}' would overwrite the bundle's own ${base}; rename the asset.`);
    if (base !== base.trim()) throw new Error(`${what}: the asset '${a}' has a name that starts or ends with a space, which SHA256SUMS and the stores cannot keep apart; rename it.`);
    if (base.startsWith('.')) throw new Error(`${what}: the asset '${a}' has a name starting with '.', which \`sbuild fetch\` refuses (dot files mean something to other programs); rename it.`);
    if (/[\n\r\\]/.test(base)) throw new Error(`${what}: the asset name ${JSON.stringify(base)} holds a newline or backslash, which SHA256SUMS cannot list; rename it.`);
    const prev = byName.get(base);
    if (prev !== undefined) throw new Error(`${what}: the assets '${prev}' and '${a}' would both be '${base}' in the bundle; rename one of them.`);
    byName.set(base, a);
  }
  const outDir = workspacePath(opts.outDir ?? `artifacts/release/${version}`, `${what}: \`outDir\``);
  if (outDir === '') throw new Error(`${what}: \`outDir\` must be a folder below the workspace root, e.g. 'artifacts/release/${version}'.`);
  for (const a of assets) {
    if (a === outDir || a.startsWith(outDir + '/')) throw new Error(`${what}: the asset '${a}' lies inside the bundle folder '${outDir}'; keep assets outside it.`);
  }
  const check = opts.check === undefined ? undefined : workspacePath(opts.check, `${what}: \`check\``);
  const commit = commitOverride(opts.commit, what);
  return {
    name,
    inputs: check ? [...assets, check] : [...assets],
    outputs: [outDir],
    // No commit unless the config gives one: a commit alone changes no byte of the bundle.
    params: { version, assets, check: check ?? null, ...commit, ...(Object.keys(unpack).length ? { unpack } : {}) },
    // The manifest lists every upstream fingerprint: rebuild it when any changes.
    lineage: true,
    rule: { id: 'sbuild/rules/releaseBundle', version: 2, module: import.meta.url },
    description: `release bundle ${version}: ${assets.length} asset(s), manifest.json, SHA256SUMS in ${outDir}/`,
    tags: ['release'],
    run: releaseBundleAction,
  };
}

/** The `commit` option as params: `{}` when left out, `{ commit }` when given. */
function commitOverride(commit: unknown, what: string): { commit?: string | null } {
  if (commit === undefined) return {};
  if (commit === null || (typeof commit === 'string' && commit !== '')) return { commit };
  throw new Error(
    `${what}: \`commit\` must be a commit id string, or null to record none; got ${JSON.stringify(commit) ?? String(commit)}. ` +
      'Leave it out to record the checked-out commit and the changed files when the bundle is built.',
  );
}

async function releaseBundleAction(ctx: ActionContext): Promise<void> {
  const version = ctx.params.version as string;
  const assets = ctx.params.assets as string[];
  const check = ctx.params.check as string | null;
  const unpack = (ctx.params.unpack ?? {}) as { [asset: string]: string };
  const outDir = ctx.outputs[0]!;

  const problems: string[] = [];
  const sources: Array<{ asset: string; name: string; bytes: number }> = [];
  for (const asset of assets) {
    const st = fs.statSync(ctx.path(asset), { throwIfNoEntry: false });
    if (!st) problems.push(`${asset}: missing`);
    else if (!st.isFile()) problems.push(`${asset}: not a file`);
    else sources.push({ asset, name: path.posix.basename(asset), bytes: st.size });
  }
  const hashes = new Map<string, string>();
  for (const s of sources) hashes.set(s.asset, await sha256Of(ctx, s.asset));
  if (check) {
    let rec: ReleaseCheckRecord | undefined;
    try {
      rec = JSON.parse(fs.readFileSync(ctx.path(check), 'utf8')) as ReleaseCheckRecord;
    } catch (err) {
      problems.push(`${check}: not a readable release check record (${(err as Error).message})`);
    }
    if (rec) {
      const checked = new Map((Array.isArray(rec.assets) ? rec.assets : []).map((a) => [a.name, a.sha256]));
      for (const s of sources) {
        const h = checked.get(s.asset);
        if (h === undefined) problems.push(`${s.asset}: not checked by ${check}`);
        else if (h !== hashes.get(s.asset)) problems.push(`${s.asset}: changed since ${check} checked it`);
      }
    }
  }
  if (problems.length) {
    throw new BadInputError(
      `release bundle ${version}: ${problems.length} problem${problems.length === 1 ? '' : 's'} with the assets:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }

  const source = await sourceRecord(ctx);

  // Built in a sibling temp folder and renamed into place: never a half-made bundle.
  const final = ctx.path(outDir);
  const tmp = path.join(path.dirname(final), `.${path.basename(final)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.promises.mkdir(tmp, { recursive: true });
  try {
    const files: ManifestFile[] = [];
    for (const s of sources) {
      ctx.signal.throwIfAborted();
      await fs.promises.copyFile(ctx.path(s.asset), path.join(tmp, s.name), fs.constants.COPYFILE_FICLONE);
      const prov = ctx.provenance(s.asset);
      const base = unpack[s.asset];
      files.push({
        path: s.name,
        bytes: s.bytes,
        sha256: hashes.get(s.asset)!,
        source: s.asset,
        target: prov?.target ?? null,
        fingerprint: prov?.fingerprint ?? null,
        ...(base !== undefined ? { unpack: { base, files: await zipContents(ctx, s.asset, base) } } : {}),
      });
    }
    files.sort((a, b) => cmp(a.path, b.path));
    const lineage = ctx
      .lineage()
      .map((l) => ({ target: l.target, fingerprint: l.fingerprint }))
      .sort((a, b) => cmp(a.target, b.target));
    const manifest: ReleaseManifest = { version, folder: outDir, ...source, files, lineage };
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    await fs.promises.writeFile(path.join(tmp, 'manifest.json'), manifestText);
    const sums = [...files.map((f) => [f.path, f.sha256] as const), ['manifest.json', createHash('sha256').update(manifestText).digest('hex')] as const]
      .sort((a, b) => cmp(a[0], b[0]))
      .map(([n, h]) => `${h}  ${n}\n`)
      .join('');
    await fs.promises.writeFile(path.join(tmp, 'SHA256SUMS'), sums);
    await fs.promises.rm(final, { recursive: true, force: true });
    await fs.promises.rename(tmp, final);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  ctx.log(`bundle ${outDir}: ${sources.length} asset(s), manifest.json, SHA256SUMS`);
}

type SourceRecord = Pick<ReleaseManifest, 'commit' | 'dirty' | 'changed'>;

/** The manifest's source fields: the `commit` option as given, else what git says now. */
async function sourceRecord(ctx: ActionContext): Promise<SourceRecord> {
  if (Object.hasOwn(ctx.params, 'commit')) {
    ctx.log('source: the commit given in the config; the work tree is not compared with it (dirty: null)');
    return { commit: ctx.params.commit as string | null, dirty: null, changed: null };
  }
  const git = await gitSource(ctx.root, ctx.signal);
  if (!git.ok) {
    ctx.log(`source: ${git.why}, so whether the tree differs from its commit is unknown (dirty: null)`);
    return { commit: git.commit, dirty: null, changed: null };
  }
  const changed: ChangedFile[] = [];
  const seen = new Set<string>();
  for (const c of git.changes) {
    if (seen.has(c.path) || derived(ctx, c.path)) continue;
    seen.add(c.path);
    const sha256 = await contentHash(ctx, c.path);
    // A path deleted in the index but present again on disk differs from the commit by content.
    const status: ChangeKind = c.status === 'deleted' && sha256 !== null ? 'modified' : c.status;
    changed.push({ path: c.path, status, ...(c.from !== undefined ? { from: c.from } : {}), sha256 });
  }
  changed.sort((a, b) => cmp(a.path, b.path));
  return { commit: git.commit, dirty: changed.length > 0, changed };
}

/**
 * Whether a changed path is derived rather than source: a declared output of some target (or
 * below one), `sbuild.lock`, sbuild's state in `.sbuild/`, or the temp file of one of those
 * being written. They follow from the source and the builds, so they neither make the tree
 * dirty nor belong in the list: a tracked results table rebuilt after a config edit is
 * explained by the config's entry, and `sbuild.lock` changes with every build.
 */
function derived(ctx: ActionContext, rel: string): boolean {
  const plain = (p: string) =>
    p === 'sbuild.lock' || p === '.sbuild' || p.startsWith('.sbuild/') || ctx.outputs.some((o) => p === o || p.startsWith(o + '/')) || ctx.provenance(p) !== undefined;
  return plain(rel) || tempStandIns(rel).some(plain);
}

/**
 * The paths a temp file or folder may stand in for while it is written beside them
 * (`x.json.tmp-12-0` → `x.json`; `.bundle.tmp-12-ab/f` → `bundle`, `.bundle`).
 */
function tempStandIns(rel: string): string[] {
  const parts = rel.split('/');
  const i = parts.findIndex((p) => p.includes('.tmp-'));
  if (i < 0) return [];
  const base = parts[i]!.slice(0, parts[i]!.indexOf('.tmp-'));
  const dir = parts.slice(0, i).map((p) => p + '/').join('');
  return base.startsWith('.') ? [dir + base, dir + base.slice(1)] : [dir + base];
}

/** SHA-256 of a changed path's content now; null when it is gone or a folder. */
async function contentHash(ctx: ActionContext, rel: string): Promise<string | null> {
  const c = contentOf(ctx.path(rel));
  if (c === undefined) return null;
  return 'text' in c ? createHash('sha256').update(c.text).digest('hex') : sha256File(c.file, ctx.signal);
}

/** Each file entry of a bundled zip: where it unpacks, its hash, and the target that built it. */
async function zipContents(ctx: ActionContext, asset: string, base: string): Promise<ManifestContent[]> {
  let entries;
  try {
    entries = await zipEntryHashes(ctx.path(asset));
  } catch (err) {
    if (err instanceof ZipReadError) throw new BadInputError(`release bundle: the asset '${asset}' cannot be described entry by entry: ${err.message}.`);
    throw err;
  }
  return entries
    .map((e) => {
      const rel = base === '' ? e.name : `${base}/${e.name}`;
      const prov = ctx.provenance(rel);
      return { entry: e.name, path: rel, bytes: e.bytes, sha256: e.sha256, target: prov?.target ?? null, fingerprint: prov?.fingerprint ?? null };
    })
    .sort((a, b) => cmp(a.path, b.path));
}

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * The bundle's asset paths, and the base of each zip whose entries the manifest describes:
 * from a `zipFiles` target given as an asset, or from the `unpack` option.
 */
function bundleAssets(given: unknown, unpackOpt: unknown, what: string): { paths: string[]; unpack: { [asset: string]: string } } {
  const unpack: { [asset: string]: string } = {};
  const raw = Array.isArray(given)
    ? given.map((a: unknown) => {
        if (a === null || typeof a !== 'object') return a;
        const t = a as Target;
        if (t.rule?.id !== 'sbuild/rules/zipFiles' || !Array.isArray(t.outputs) || t.outputs.length !== 1) {
          throw new Error(`${what}: an asset given as a target must be a zipFiles(...) target (its archive is shipped); got ${JSON.stringify(t.name ?? t)}. Give other files by path.`);
        }
        const out = workspacePath(t.outputs[0], `${what}: the asset target ${JSON.stringify(t.name)}'s output`);
        const base = String(t.params?.base ?? '.');
        unpack[out] = base === '.' ? '' : base;
        return out;
      })
    : given;
  const paths = assetList(raw, what);
  if (unpackOpt !== undefined) {
    if (unpackOpt === null || typeof unpackOpt !== 'object' || Array.isArray(unpackOpt)) {
      throw new Error(`${what}: \`unpack\` must map asset paths to the folder their entry names are relative to, e.g. { 'artifacts/release_assets/checkpoints.zip': 'artifacts/work_dirs' }.`);
    }
    for (const [asset, base] of Object.entries(unpackOpt as { [k: string]: unknown })) {
      const a = workspacePath(asset, `${what}: each key of \`unpack\``);
      if (!paths.includes(a)) throw new Error(`${what}: \`unpack\` names '${a}', which is not one of the assets; list it in \`assets\` or drop it from \`unpack\`.`);
      unpack[a] = base === '' || base === '.' ? '' : workspacePath(base, `${what}: \`unpack['${a}']\``);
    }
  }
  return { paths, unpack };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Normalised, unique, glob-free asset paths, in the order given. */
function assetList(assets: unknown, what: string): string[] {
  if (!Array.isArray(assets) || assets.length === 0) throw new Error(`${what}: \`assets\` must be a non-empty array of workspace-relative file paths.`);
  const out: string[] = [];
  for (const a of assets) {
    const n = workspacePath(a, `${what}: each asset`);
    if (n === '' || /[*?[\]{}]/.test(n) || n.startsWith('!')) {
      throw new Error(`${what}: the asset ${JSON.stringify(a)} is not a file path; list each asset file (globs are not allowed, so a missing one is caught).`);
    }
    if (out.includes(n)) throw new Error(`${what}: the asset '${n}' is listed twice; list it once.`);
    out.push(n);
  }
  return out;
}

/** SHA-256 of an input: the hash the build fingerprinted, else read from disk. */
async function sha256Of(ctx: ActionContext, rel: string): Promise<string> {
  const known = ctx.hashes?.[rel];
  if (typeof known === 'string' && /^[0-9a-f]{64}$/.test(known)) return known;
  return sha256File(ctx.path(rel), ctx.signal);
}

/** SHA-256 (hex) of a file, streamed (also for rules' users, through sbuild/rules). */
export { sha256File };

