import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let memo: string | undefined;

/** sbuild's own package folder: the nearest package.json named sbuild above this module (bundled or not). */
export function packageRoot(): string | undefined {
  if (memo !== undefined) return memo;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'sbuild') return (memo = dir);
    } catch {
      /* keep walking */
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The folder holding the `sbuild` command that jobs find first on their PATH. */
export function jobBinDir(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : path.join(root, 'bin', 'path');
}
