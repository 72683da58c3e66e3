import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** sbuild's own version, from the nearest package.json above this module (bundled or not). */
export function version(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'sbuild') return `sbuild ${pkg.version}`;
    } catch {
      /* keep walking */
    }
    if (path.dirname(dir) === dir) return 'sbuild (unknown version)';
  }
}
