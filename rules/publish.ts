// Publishing a release bundle (releasePublish) and fetching a published one (releaseFetch):
// targets over the stores of src/release/ (rclone remotes, GitHub releases through gh, HTTP
// folders that take PUT). `sbuild publish` builds the publish targets; `sbuild fetch` puts a
// published bundle's files back into a reader's clone.
import fs from 'node:fs';
import path from 'node:path';
import type { ActionContext, Target } from '../src/index.js';
import { DEFAULT_TOKEN_ENV, openStore, parseStore, type StoreInput, type StoreSpec } from '../src/release/store.js';
import { publishBundle, readLocalBundle } from '../src/release/publish.js';
import { downloadBundle } from '../src/release/fetch.js';
import { workspacePath } from './zip.js';

export interface ReleasePublishOptions {
  /** Target name (default 'release-publish'). */
  name?: string;
  /** The releaseBundle target (or its folder, workspace-relative). */
  bundle: Target | string;
  /**
   * Where to publish, one or more of: 'rclone:REMOTE:PATH' (any remote of the user's rclone
   * config), 'gh:OWNER/REPO@TAG' (a GitHub release, through gh), or an http(s) folder URL
   * that takes PUT, as a string (token from $SBUILD_RELEASE_TOKEN) or `{ url, tokenEnv }`.
   */
  to: StoreInput | StoreInput[];
  /** The record of what was published (default '<bundle folder>.published.json'). */
  output?: string;
}

/** A destination as the target's params keep it (an HTTP one with the name of its token variable, never the token). */
function specParam(s: StoreSpec): string | { url: string; tokenEnv?: string } {
  return s.kind === 'http' ? { url: s.url, ...(s.tokenEnv ? { tokenEnv: s.tokenEnv } : {}) } : s.text;
}

/**
 * Uploads the bundle's files to each destination: what a destination already holds with the
 * same SHA-256 is not sent, everything sent is read back and compared, and SHA256SUMS goes last.
 * Fresh while the bundle and the destinations are unchanged; never restored from the cache
 * (a record of a publish is only true when the publish ran). `sbuild publish -B` checks the
 * destinations again and sends what they lack.
 */
export function releasePublish(opts: ReleasePublishOptions): Target {
  const name = opts?.name ?? 'release-publish';
  const what = `releasePublish(${JSON.stringify(name)})`;
  const folder = bundleFolder(opts?.bundle, what);
  const given = Array.isArray(opts.to) ? opts.to : [opts.to];
  if (given.length === 0 || opts.to === undefined) throw new Error(`${what}: \`to\` must name at least one destination, e.g. 'rclone:s3:bucket/paper/v1.0.0' or 'gh:OWNER/REPO@v1.0.0'.`);
  const specs = given.map((d, i) => {
    try {
      return parseStore(d, `${what}: \`to\`${given.length > 1 ? `[${i}]` : ''}`, { tokenEnv: DEFAULT_TOKEN_ENV });
    } catch (err) {
      throw new Error((err as Error).message);
    }
  });
  const output = workspacePath(opts.output ?? `${folder}.published.json`, `${what}: \`output\``);
  if (output === folder || output.startsWith(folder + '/')) throw new Error(`${what}: \`output\` '${output}' lies inside the bundle folder; write the record beside it.`);
  return {
    name,
    inputs: [folder],
    outputs: [output],
    params: { folder, to: specs.map(specParam) },
    cache: false,
    rule: { id: 'sbuild/rules/releasePublish', version: 1, module: import.meta.url },
    description: `publish ${folder}/ to ${specs.map((s) => s.text).join(', ')}`,
    tags: ['publish'],
    run: publishAction,
  };
}

async function publishAction(ctx: ActionContext): Promise<void> {
  const folder = ctx.params.folder as string;
  const bundle = await readLocalBundle(ctx.path(folder), folder);
  const record: Array<{ to: unknown; files: Array<{ name: string; sha256: string; bytes: number }> }> = [];
  for (const to of ctx.params.to as Array<StoreInput>) {
    const store = await openStore(parseStore(to, 'releasePublish'));
    await publishBundle(bundle, store, {
      signal: ctx.signal,
      line: (text) => {
        ctx.log(text);
        ctx.progress(text, { line: true });
      },
      progress: (text) => ctx.progress(text),
    });
    record.push({ to, files: [...bundle.files, bundle.sums].map((f) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes })) });
  }
  await ctx.writeFile(ctx.outputs[0]!, JSON.stringify({ version: bundle.version, folder, commit: bundle.commit, published: record }, null, 2) + '\n');
}

export interface ReleaseFetchOptions {
  /** Target name. */
  name: string;
  /** Where the bundle is published: 'rclone:REMOTE:PATH', 'gh:OWNER/REPO@TAG' or an http(s) folder URL. */
  from: StoreInput;
  /** The folder to download it into (workspace-relative): its files, checked against its SHA256SUMS. */
  output: string;
  /** The SHA-256 of the bundle's SHA256SUMS, when known: pins the download to those exact bytes. */
  sha256sums?: string;
}

/**
 * Downloads a published bundle (another paper's baseline, pretrained weights) into a folder,
 * every file checked against SHA256SUMS and manifest.json. The download is the target's
 * output, cached like any other; `sbuild fetch` is the command that puts a bundle's files back
 * into a clone of the project that published it.
 */
export function releaseFetch(opts: ReleaseFetchOptions): Target {
  const what = `releaseFetch(${JSON.stringify(opts?.name ?? '')})`;
  if (typeof opts?.name !== 'string' || opts.name === '') throw new Error(`${what}: \`name\` must be a non-empty string (the target's name).`);
  let spec: StoreSpec;
  try {
    spec = parseStore(opts.from, `${what}: \`from\``);
  } catch (err) {
    throw new Error((err as Error).message);
  }
  const output = workspacePath(opts.output, `${what}: \`output\``);
  if (output === '') throw new Error(`${what}: \`output\` must be a folder below the workspace root, e.g. 'artifacts/baselines/v1.0.0'.`);
  if (opts.sha256sums !== undefined && !/^[0-9a-f]{64}$/.test(opts.sha256sums)) throw new Error(`${what}: \`sha256sums\` must be 64 lowercase hex digits (the SHA-256 of the bundle's SHA256SUMS).`);
  return {
    name: opts.name,
    inputs: [],
    outputs: [output],
    params: { from: specParam(spec), ...(opts.sha256sums ? { sha256sums: opts.sha256sums } : {}) },
    rule: { id: 'sbuild/rules/releaseFetch', version: 1, module: import.meta.url },
    description: `download the release bundle at ${spec.text} into ${output}/`,
    tags: ['fetch'],
    run: fetchAction,
  };
}

async function fetchAction(ctx: ActionContext): Promise<void> {
  const store = await openStore(parseStore(ctx.params.from, 'releaseFetch'));
  const out = ctx.path(ctx.outputs[0]!);
  const staged = await downloadBundle(store, path.join(ctx.tmpDir, 'bundle'), {
    signal: ctx.signal,
    line: (text) => {
      ctx.log(text);
      ctx.progress(text, { line: true });
    },
    progress: (text) => ctx.progress(text),
    ...(typeof ctx.params.sha256sums === 'string' ? { sha256sums: ctx.params.sha256sums } : {}),
  });
  await fs.promises.mkdir(path.dirname(out), { recursive: true });
  await fs.promises.rm(out, { recursive: true, force: true });
  await fs.promises.rename(staged.dir, out);
}

/** The bundle's folder: a releaseBundle target's output, or a path. */
function bundleFolder(bundle: unknown, what: string): string {
  if (typeof bundle === 'string') return nonRoot(workspacePath(bundle, `${what}: \`bundle\``), what);
  const t = bundle as Target | undefined;
  if (t && typeof t === 'object' && t.rule?.id === 'sbuild/rules/releaseBundle' && Array.isArray(t.outputs) && typeof t.outputs[0] === 'string') {
    return nonRoot(workspacePath(t.outputs[0], `${what}: \`bundle\``), what);
  }
  throw new Error(`${what}: \`bundle\` must be the releaseBundle(...) target or its folder (e.g. 'artifacts/release/v1.0.0').`);
}

function nonRoot(p: string, what: string): string {
  if (p === '') throw new Error(`${what}: \`bundle\` must be a folder below the workspace root.`);
  return p;
}
