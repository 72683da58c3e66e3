// Which config file a command loads and which folder is the workspace root: where the
// config's paths start, and where `.sbuild/` and `sbuild.lock` live. `--root DIR` says it;
// without it the root is the folder holding the config (found upwards from the current
// folder, or given by `--config FILE`). A `--config` elsewhere while the current folder is
// inside another workspace is refused rather than guessed: outputs would land below the
// config's folder while the user reads the paths against the current one.
import fs from 'node:fs';
import path from 'node:path';
import { SbuildError } from '../errors.js';
import { CONFIG_NAMES } from './root.js';

/** The command-line flags that choose a workspace (`Options` has both). */
export interface WorkspaceFlags {
  config?: string | undefined;
  root?: string | undefined;
}

export interface WorkspaceLocation {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute workspace root. */
  root: string;
}

const NAMES = CONFIG_NAMES.join(', ');

export function locateWorkspace(cwd: string, flags: WorkspaceFlags = {}): WorkspaceLocation {
  const root = flags.root === undefined ? undefined : rootFolder(cwd, flags.root);
  if (flags.config !== undefined) {
    const file = path.resolve(cwd, flags.config);
    if (!fs.existsSync(file)) {
      throw new SbuildError('config-not-found', `The config file given by --config does not exist: ${file}. Check the path.`);
    }
    if (root !== undefined) return { file, root };
    checkUnambiguous(cwd, flags.config, path.dirname(file));
    return { file, root: path.dirname(file) };
  }
  if (root !== undefined) {
    const file = configIn(root);
    if (file === undefined) {
      throw new SbuildError('config-not-found', `--root ${flags.root}: ${root} holds no config (${NAMES}). Pass --config FILE as well to use a config kept elsewhere, or name the folder that holds the workspace's config.`);
    }
    return { file, root };
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const file = configIn(dir);
    if (file !== undefined) return { file, root: dir };
    if (path.dirname(dir) === dir) break;
  }
  throw new SbuildError(
    'config-not-found',
    `No tasks.config.ts found in ${cwd} or any folder above it. Create one (\`sbuild init\`, or see the README's example) or pass --config PATH.`,
  );
}

/** `--root DIR`, resolved: an existing folder, or a usage error naming it. */
export function rootFolder(cwd: string, flag: string): string {
  const abs = path.resolve(cwd, flag);
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new SbuildError('usage', `--root ${flag}: there is no folder ${abs}. Pass the folder that is the workspace root (where sbuild.lock and .sbuild/ live), e.g. --root .`);
  if (!st.isDirectory()) throw new SbuildError('usage', `--root ${flag}: ${abs} is a file, not a folder. Pass the folder that is the workspace root (where sbuild.lock and .sbuild/ live), e.g. --root .`);
  return abs;
}

function configIn(dir: string): string | undefined {
  for (const n of CONFIG_NAMES) {
    const f = path.join(dir, n);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

/** What makes a folder a workspace of its own: a config of the usual names, or a lock. */
function workspaceMarker(dir: string): string | undefined {
  return [...CONFIG_NAMES, 'sbuild.lock'].find((n) => fs.existsSync(path.join(dir, n)));
}

/**
 * `--config FILE` without `--root`: FILE's folder is the root, unless the current folder lies
 * in another workspace (it, or a folder above it before FILE's folder is reached, holds a
 * config or a lock). The current folder inside FILE's folder, or in no workspace: unambiguous.
 */
function checkUnambiguous(cwd: string, flag: string, configDir: string): void {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  const target = real(configDir);
  for (let dir = real(path.resolve(cwd)); ; dir = path.dirname(dir)) {
    if (dir === target) return;
    const marker = workspaceMarker(dir);
    if (marker !== undefined) {
      const rel = (p: string) => path.relative(cwd, p) || '.';
      throw new SbuildError(
        'usage',
        `--config ${flag} leaves the workspace root ambiguous: the current folder belongs to the workspace ${dir} (it holds ${marker}), ` +
          `while the config lies in ${target}. The root is where the config's paths start and where .sbuild/ and sbuild.lock live. ` +
          `Pass --root ${rel(dir)} to use ${dir}, or --root ${rel(target)} (or run sbuild from ${rel(target)}/) to use ${target}.`,
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}
