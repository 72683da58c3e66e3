// Finds `tasks.config.ts`, compiles it (with every local file it imports) to one ES
// module with esbuild, caches that bundle under `.sbuild/config/` keyed by the content
// of all its source files, and imports it. A no-op build only reads the small meta file,
// hashes the few source files and imports the cached bundle.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../hashing/sha256.js';
import { SbuildError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Config } from './types.js';

export { CONFIG_NAMES } from './root.js';
import { CONFIG_NAMES } from './root.js';
const BUNDLE_FORMAT = 2;

export interface LoadedConfig {
  config: Config;
  /** Absolute workspace root (the folder holding the config). */
  root: string;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute paths of every local source file the config imported, with their text hashes. */
  sources: Map<string, string>;
}

interface BundleMeta {
  format: number;
  entry: string;
  bundle: string;
  sources: Record<string, string>;
}

/** Walk up from `cwd` to the first folder holding a config file. */
export function findConfig(cwd: string, explicit?: string): string {
  if (explicit) {
    const abs = path.resolve(cwd, explicit);
    if (!fs.existsSync(abs)) {
      throw new SbuildError('config-not-found', `The config file given by --config does not exist: ${abs}. Check the path.`);
    }
    return abs;
  }
  let dir = path.resolve(cwd);
  for (;;) {
    for (const n of CONFIG_NAMES) {
      const f = path.join(dir, n);
      if (fs.existsSync(f)) return f;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new SbuildError(
    'config-not-found',
    `No tasks.config.ts found in ${cwd} or any folder above it. Create one (\`sbuild init\`, or see the README's example) or pass --config PATH.`,
  );
}

export async function loadConfig(cwd: string, explicit?: string): Promise<LoadedConfig> {
  const file = findConfig(cwd, explicit);
  const root = path.dirname(file);
  const cacheDir = path.join(root, '.sbuild', 'config');
  const metaFile = path.join(cacheDir, 'meta.json');

  let bundleFile: string | undefined;
  let sources: Map<string, string> | undefined;
  const meta = readMeta(metaFile);
  if (meta && meta.entry === file && sourcesUnchanged(meta.sources)) {
    bundleFile = path.join(cacheDir, meta.bundle);
    if (!fs.existsSync(bundleFile)) bundleFile = undefined;
    else sources = new Map(Object.entries(meta.sources));
  }
  if (!bundleFile || !sources) {
    ({ bundleFile, sources } = await compile(file, root, cacheDir, metaFile));
  }

  let mod: { default?: unknown };
  // Rules that read files while the config loads resolve them against this (`workspaceRoot()`).
  process.env.SBUILD_ROOT = root;
  try {
    process.setSourceMapsEnabled(true);
    mod = (await import(pathToFileURL(bundleFile).href)) as { default?: unknown };
    settleTargets(mod.default);
  } catch (err) {
    const e = err as Error & { badInput?: boolean; location?: string };
    // A rule's error that points into the user's own file (a Python config's line) says so itself.
    if (e.badInput && typeof e.location === 'string' && e.location !== '') {
      throw new SbuildError('config-load', `${e.message.replace(/\.\s*$/, '')}.`, { location: e.location });
    }
    const stack = (e.stack ?? String(e)).split('\n').filter((l) => !l.includes('node:internal')).slice(0, 6).join('\n');
    // Frames as absolute paths (file:// URLs included); the config's own line is the one to point at.
    const frames = [...stack.matchAll(/^\s+at .*?\(?(?:file:\/\/)?((?:\/|[A-Za-z]:)[^():]+):(\d+):(\d+)\)?$/gm)].map((m) => ({ file: m[1]!, line: m[2]!, col: m[3]! }));
    const own = frames.find((f) => sources!.has(f.file)) ?? frames[0];
    const message = e.message.replace(/\.\s*$/, '');
    // A rule reporting bad input said what to fix: no stack. Anything else: the stack helps.
    throw new SbuildError('config-load', e.badInput ? `${message}.` : `${path.basename(file)} threw while loading: ${message}. Fix the error at the location shown.`, {
      location: own ? `${path.relative(cwd, own.file)}:${own.line}:${own.col}` : path.relative(cwd, file),
      ...(e.badInput ? {} : { detail: stack }),
    });
  }
  const config = mod.default;
  if (!config || typeof config !== 'object') {
    throw new SbuildError('config-invalid', `${path.relative(cwd, file)} has no default export. Write \`export default defineConfig({ targets: [...] })\`.`, {
      location: path.relative(cwd, file),
    });
  }
  return { config: config as Config, root, file, sources };
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

function readMeta(metaFile: string): BundleMeta | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as BundleMeta;
    return m.format === BUNDLE_FORMAT && typeof m.sources === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
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
    result = await esbuild.build({
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
          },
        },
      ],
    });
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
  const out = result.outputFiles[0]!;
  const key = sha256(out.contents).slice(0, 16);
  const bundleName = `bundle-${key}.mjs`;
  fs.mkdirSync(cacheDir, { recursive: true });
  const bundleFile = path.join(cacheDir, bundleName);
  writeFileAtomic(bundleFile, out.contents);
  const meta: BundleMeta = { format: BUNDLE_FORMAT, entry: file, bundle: bundleName, sources: Object.fromEntries(sources) };
  writeFileAtomic(metaFile, JSON.stringify(meta));
  // Old bundles are garbage once the meta points elsewhere.
  for (const f of fs.readdirSync(cacheDir)) {
    if (f.startsWith('bundle-') && f !== bundleName) fs.rmSync(path.join(cacheDir, f), { force: true });
  }
  return { bundleFile, sources };
}

/** Hash of every local source file of the config (paths relative to the root, sorted). */
export function configHashOf(loaded: LoadedConfig): string {
  return sha256([...loaded.sources].map(([f, h]) => `${path.relative(loaded.root, f)}\0${h}`).sort().join('\n'));
}
