import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';

/** sbuild's own version, from the nearest package.json above this module (bundled or not). */
export function version(): string {
  const root = packageRoot();
  if (root === undefined) return 'sbuild (unknown version)';
  return `sbuild ${(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version}`;
}
