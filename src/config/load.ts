// Loads the config that config/locate.ts chooses (`tasks.config.ts` upwards, or `--config`
// and `--root`): compiles it (with every local file it imports) to one ES module with
// esbuild, caches that bundle under `.sbuild/config/` keyed by the content
// of all its source files, and imports it. A no-op build only reads the small meta file,
// hashes the few source files and the bundle (whose SHA-256 the meta records: a truncated or
// garbage bundle, or a garbage meta file, is compiled again, never imported) and imports it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sha256 } from '../hashing/sha256.js';
import { SbuildError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Config } from './types.js';
import { configCacheDir } from '../engine/state-paths.js';
import { ownProcess } from './reads.js';

export { CONFIG_NAMES } from './root.js';
import { locateWorkspace, type WorkspaceFlags } from './locate.js';
const BUNDLE_FORMAT = 3;

export interface LoadedConfig {
  config: Config;
  /** Absolute workspace root (`--root`, else the folder holding the config: config/locate.ts). */
  root: string;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute paths of every local source file the config imported, with their text hashes. */
  sources: Map<string, string>;
}

interface BundleMeta {
  format: number;
  entry: string;
  /** `bundle-<first 16 hex of its SHA-256>.mjs` in the same folder. */
  bundle: string;
  /** Checked before every import: a truncated or overwritten bundle is compiled again. */
  bundleSha256: string;
  sources: Record<string, string>;
}

const BUNDLE_NAME = /^bundle-[0-9a-f]{16}\.mjs$/;
/** Temp files of writes that a killed process left; live ones exist for milliseconds. */
const LEFTOVER_MS = 10 * 60_000;

/**
 * `opts.generation`: a process that loads the config again (`sbuild watch`) imports it afresh
 * under a new URL; the module map would otherwise hand back the first evaluation, whose rules
 * read their files (Python configs) back then.
 */
export async function loadConfig(cwd: string, flags: WorkspaceFlags = {}, opts: { generation?: number } = {}): Promise<LoadedConfig> {
  const { file, root } = locateWorkspace(cwd, flags);
  const cacheDir = configCacheDir(root);
  const metaFile = path.join(cacheDir, 'meta.json');

  const cached = cachedBundle(file, cacheDir, metaFile);
  let bundle = cached ?? (await compile(file, root, cacheDir, metaFile));
  // Rules that read files while the config loads resolve them against this (`workspaceRoot()`).
  process.env.SBUILD_ROOT = root;
  process.setSourceMapsEnabled(true);
  let mod: { default?: unknown } | undefined;
  try {
    mod = await importBundle(bundle.bundleFile, 0, opts.generation);
  } catch (err) {
    if (userThrew(err, bundle)) throw loadError(err, file, cwd, bundle);
    // The bundle did not import for a reason in none of the user's files: it vanished (another
    // sbuild compiling a newer config removed it) or is otherwise unusable. Compile once more.
  }
  // A cached bundle without a config in it is not what esbuild wrote for this config either.
  if (!mod || (cached && !isObject(mod.default))) {
    bundle = await compile(file, root, cacheDir, metaFile);
    try {
      mod = await importBundle(bundle.bundleFile, 1, opts.generation);
    } catch (err) {
      throw loadError(err, file, cwd, bundle);
    }
  }
  try {
    settleTargets(mod.default);
  } catch (err) {
    throw loadError(err, file, cwd, bundle);
  }
  const config = mod.default;
  if (!isObject(config)) {
    throw new SbuildError('config-invalid', `${path.relative(cwd, file)} has no default export. Write \`export default defineConfig({ targets: [...] })\`.`, {
      location: path.relative(cwd, file),
    });
  }
  return { config: config as Config, root, file, sources: bundle.sources };
}

const isObject = (x: unknown): x is object => typeof x === 'object' && x !== null;

interface Bundle {
  bundleFile: string;
  sources: Map<string, string>;
}

/**
 * The compiled bundle recorded in the meta file, when the config's sources are unchanged and
 * the bundle still has the recorded SHA-256. Anything else (no meta, a garbage one, a changed
 * source, a missing, truncated or overwritten bundle) means: compile.
 */
function cachedBundle(file: string, cacheDir: string, metaFile: string): Bundle | undefined {
  const meta = readMeta(metaFile);
  if (!meta || meta.entry !== file || !sourcesUnchanged(meta.sources)) return undefined;
  const bundleFile = path.join(cacheDir, meta.bundle);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(bundleFile);
  } catch {
    return undefined;
  }
  if (sha256(bytes) !== meta.bundleSha256) return undefined;
  return { bundleFile, sources: new Map(Object.entries(meta.sources)) };
}

/** A second attempt gets its own URL: the module map keeps a failed import under the first. */
async function importBundle(bundleFile: string, attempt: number, generation = 0): Promise<{ default?: unknown }> {
  const query = [...(generation ? [`generation=${generation}`] : []), ...(attempt ? [`attempt=${attempt}`] : [])].join('&');
  const url = pathToFileURL(bundleFile).href + (query ? `?${query}` : '');
  return (await import(url)) as { default?: unknown };
}

interface Frame {
  /** The frame line as printed, without its location. */
  line: string;
  /** Where the location starts in `line`. */
  at: number;
  file: string;
  pos: string;
}

/** The frames of a stack whose location is a file (an absolute path or a file: URL). */
function framesOf(stack: string): Frame[] {
  const frames: Frame[] = [];
  for (const line of stack.split('\n')) {
    if (!/^\s+at /.test(line)) continue;
    // "at fn (LOCATION)" or "at LOCATION"; LOCATION is "path:line:col".
    const paren = line.endsWith(')') ? line.lastIndexOf('(') : -1;
    const at = paren >= 0 ? paren + 1 : line.indexOf('at ') + 3;
    const loc = line.slice(at, paren >= 0 ? -1 : undefined);
    const m = /^(.*):(\d+):(\d+)$/.exec(loc);
    if (!m) continue;
    let f = m[1]!;
    if (f.startsWith('file://')) {
      try {
        f = fileURLToPath(f.replace(/\?.*$/, ''));
      } catch {
        continue;
      }
    }
    if (!path.isAbsolute(f)) continue;
    frames.push({ line, at, file: f, pos: `${m[2]}:${m[3]}` });
  }
  return frames;
}

/** The user's own files: the config, the local files it imports, and their compiled bundle. */
function isUsers(f: Frame, bundle: Bundle): boolean {
  return bundle.sources.has(f.file) || f.file === bundle.bundleFile;
}

/** Whether the config's own code threw (not the bundle failing to load). */
function userThrew(err: unknown, bundle: Bundle): boolean {
  // Node's loader only throws Errors; a thrown string or object came from the config.
  if (!(err instanceof Error)) return true;
  if ((err as { badInput?: boolean }).badInput) return true;
  return framesOf(err.stack ?? '').some((f) => isUsers(f, bundle));
}

/**
 * The error for a config that threw while loading: one paragraph pointing at the user's line,
 * then the user's stack lines only (sbuild's own frames, rule libraries' and Node's are noise
 * to someone fixing their config).
 */
function loadError(err: unknown, file: string, cwd: string, bundle: Bundle): SbuildError {
  const e = (err instanceof Error ? err : new Error(String(err))) as Error & { badInput?: boolean; location?: string };
  // A rule's error that points into the user's own file (a Python config's line) says so itself.
  if (e.badInput && typeof e.location === 'string' && e.location !== '') {
    return new SbuildError('config-load', `${e.message.replace(/\.\s*$/, '')}.`, { location: e.location });
  }
  const own = framesOf(e.stack ?? '').filter((f) => isUsers(f, bundle));
  const rel = (f: string) => path.relative(cwd, f) || f;
  const stack = own.slice(0, 10).map((f) => `${f.line.slice(0, f.at)}${rel(f.file)}:${f.pos}${f.line.endsWith(')') ? ')' : ''}`).join('\n');
  const message = e.message.replace(/\.\s*$/, '');
  const first = own[0];
  // A rule reporting bad input said what to fix: no stack. Anything else: the user's frames help.
  return new SbuildError('config-load', e.badInput ? `${message}.` : `${path.basename(file)} threw while loading: ${message}. Fix the error at the location shown.`, {
    location: first ? `${rel(first.file)}:${first.pos}` : path.relative(cwd, file),
    ...(e.badInput || !stack ? {} : { detail: stack }),
  });
}

/**
 * Reads every field of every target once, while load errors are still reported as such: rule
 * libraries may fill fields lazily (configs evaluated in one batch), and their errors belong
 * to loading, not to whichever later step happens to read the field first.
 */
function settleTargets(config: unknown): void {
  const targets = (config as { targets?: unknown } | null | undefined)?.targets;
  if (!Array.isArray(targets)) return;
  for (const t of targets) {
    if (t === null || typeof t !== 'object') continue;
    for (const k of Object.keys(t)) void (t as Record<string, unknown>)[k];
  }
}

/** The meta file, if it is one this version wrote whole; anything else means "compile". */
function readMeta(metaFile: string): BundleMeta | undefined {
  let m: BundleMeta;
  try {
    m = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as BundleMeta;
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || m.format !== BUNDLE_FORMAT) return undefined;
  if (typeof m.entry !== 'string' || typeof m.bundle !== 'string' || !BUNDLE_NAME.test(m.bundle)) return undefined;
  if (typeof m.bundleSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.bundleSha256)) return undefined;
  if (typeof m.sources !== 'object' || m.sources === null || Array.isArray(m.sources)) return undefined;
  for (const [f, h] of Object.entries(m.sources)) if (!path.isAbsolute(f) || typeof h !== 'string') return undefined;
  return m;
}

function sourcesUnchanged(sources: Record<string, string>): boolean {
  for (const [f, h] of Object.entries(sources)) {
    let text: Buffer;
    try {
      text = fs.readFileSync(f);
    } catch {
      return false;
    }
    if (sha256(text) !== h) return false;
  }
  return true;
}

async function compile(file: string, root: string, cacheDir: string, metaFile: string) {
  const esbuild = await import('esbuild');
  const sources = new Map<string, string>();
  let result: import('esbuild').BuildResult<{ write: false; metafile: true }>;
  try {
    // esbuild's service process reads the config's source files, which watch hashes itself.
    result = await ownProcess(() => esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      // Sets where the source map's relative paths start from (the bundle lives there).
      outfile: path.join(cacheDir, 'bundle.mjs'),
      metafile: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'silent',
      absWorkingDir: root,
      plugins: [
        {
          // Each bundled file keeps its own import.meta.url/dirname/filename, so rules can
          // name their own module (its content is part of an in-process action's identity).
          name: 'sbuild-import-meta',
          setup(build: import('esbuild').PluginBuild) {
            build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args: import('esbuild').OnLoadArgs) => {
              if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
              const text = await fs.promises.readFile(args.path, 'utf8');
              sources.set(args.path, sha256(text));
              const contents = text
                .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
                .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
                .replaceAll('import.meta.filename', JSON.stringify(args.path));
              const ext = path.extname(args.path);
              return { contents, loader: ext.includes('t') ? 'ts' : 'js' };
            });
            // Data the config imports (`import p from './params.json'`) is bundled in too:
            // its bytes key the cached bundle like the code's, or an edit there would go unseen.
            build.onLoad({ filter: /\.(json|txt)$/ }, async (args: import('esbuild').OnLoadArgs) => {
              if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
              const bytes = await fs.promises.readFile(args.path);
              sources.set(args.path, sha256(bytes));
              return { contents: bytes, loader: args.path.endsWith('.json') ? 'json' : 'text' };
            });
          },
        },
      ],
    }));
  } catch (err) {
    const errors = (err as { errors?: import('esbuild').Message[] }).errors;
    const first = errors?.[0];
    if (!first) throw err;
    const loc = first.location;
    const where = loc ? `${loc.file}:${loc.line}:${loc.column + 1}` : path.relative(process.cwd(), file);
    const detail = loc ? `${String(loc.line).padStart(5)} | ${loc.lineText}\n      | ${' '.repeat(loc.column)}${'^'.repeat(Math.max(1, loc.length))}` : undefined;
    throw new SbuildError('config-syntax', `Syntax error in the config: ${first.text}. Fix it at the location shown.`, {
      location: where,
      ...(detail ? { detail } : {}),
    });
  }
  // Whatever else esbuild read into the bundle (a loader configured elsewhere): hashed now.
  for (const rel of Object.keys(result.metafile.inputs)) {
    const abs = path.resolve(root, rel);
    if (sources.has(abs) || abs.includes(`${path.sep}node_modules${path.sep}`)) continue;
    try {
      sources.set(abs, sha256(fs.readFileSync(abs)));
    } catch {
      /* not a file (a namespace of esbuild's own) */
    }
  }
  const out = result.outputFiles[0]!;
  const digest = sha256(out.contents);
  const bundleName = `bundle-${digest.slice(0, 16)}.mjs`;
  fs.mkdirSync(cacheDir, { recursive: true });
  const bundleFile = path.join(cacheDir, bundleName);
  writeFileAtomic(bundleFile, out.contents);
  const meta: BundleMeta = { format: BUNDLE_FORMAT, entry: file, bundle: bundleName, bundleSha256: digest, sources: Object.fromEntries(sources) };
  writeFileAtomic(metaFile, JSON.stringify(meta));
  // Old bundles are garbage once the meta points elsewhere. Only finished bundles: a temp
  // file may be another sbuild's write in progress (it compiles the same config at the same
  // moment), unless a killed process left it long ago.
  const now = Date.now();
  for (const f of fs.readdirSync(cacheDir)) {
    if (!f.startsWith('bundle-') || f === bundleName) continue;
    const abs = path.join(cacheDir, f);
    try {
      if (BUNDLE_NAME.test(f) || now - fs.statSync(abs).mtimeMs > LEFTOVER_MS) fs.rmSync(abs, { force: true });
    } catch {
      /* removed meanwhile */
    }
  }
  return { bundleFile, sources };
}

/** Hash of every local source file of the config (paths relative to the root, sorted). */
export function configHashOf(loaded: LoadedConfig): string {
  return sha256([...loaded.sources].map(([f, h]) => `${path.relative(loaded.root, f)}\0${h}`).sort().join('\n'));
}
