// Bundles the demo's programs (tools/sardet.ts and what it imports) into one ES module, so
// each job starts one small file. The demo graph runs this as its first target: editing a
// tool rebuilds the bundle, and a bundle that comes out byte-identical (a comment edit)
// reruns nothing downstream.
import path from 'node:path';
import { build } from 'esbuild';

const out = process.argv[2] ?? 'dist/demo/sardet.mjs';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
await build({
  absWorkingDir: root,
  entryPoints: ['tools/sardet.ts'],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  // pngjs and jpeg-js are CommonJS: give the bundle a require() for Node built-ins.
  banner: { js: "import { createRequire as __sbuildRequire } from 'node:module'; const require = __sbuildRequire(import.meta.url);" },
  logLevel: 'warning',
  // Module paths as node_modules/… whatever that folder links to (a shared or pnpm store): the
  // bundle's text, so the demo's fingerprints, are the same in every checkout.
  preserveSymlinks: true,
});
