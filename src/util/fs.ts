// File-system helpers shared by the engine: atomic writes and workspace paths.
import fs from 'node:fs';
import path from 'node:path';

let counter = 0;
const CLEAN_REL = /^[^/\\]+(\/[^/\\]+)*$/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/** Write via a temp file in the same folder and rename, so readers never see half a file. */
export function writeFileAtomic(file: string, data: string | Uint8Array, makeDir = true): void {
  if (makeDir) fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Async variant for in-process actions. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Normalise a workspace path to posix, relative, without `./` or a trailing slash.
 * Returns undefined when it leaves the workspace.
 */
export function normalizeRel(root: string, p: string): string | undefined {
  // Fast path: already a clean relative posix path (the common case, thousands per config).
  if (CLEAN_REL.test(p) && !DOT_SEGMENT.test(p)) return p;
  const abs = path.resolve(root, p);
  const rel = path.relative(root, abs);
  if (rel === '' ) return '';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/**
 * Absolute path of a workspace path. Inputs outside the workspace (weights on shared storage)
 * are kept as absolute posix paths; everything else is workspace-relative.
 */
export function absPath(root: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(root, p);
}

/**
 * An input path: workspace-relative when inside the workspace, else absolute (an external
 * input, fingerprinted by content like any other). Undefined for the workspace root itself.
 */
export function normalizeInput(root: string, p: string): string | undefined {
  const rel = normalizeRel(root, p);
  if (rel !== undefined) return rel === '' ? undefined : rel;
  return path.resolve(root, p).split(path.sep).join('/');
}

/** True for a fast-glob pattern (as opposed to a plain path). */
export function isGlob(p: string): boolean {
  return /[*?[\]{}]/.test(p) || p.startsWith('!') || /[@!+]\(/.test(p);
}
