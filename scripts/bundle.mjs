// Bundles the CLI (and the execa/listr2/picomatch code it uses) into a few ES modules under
// dist/cli/, so starting sbuild resolves and loads a handful of files instead of hundreds.
// Code splitting keeps listr2 in chunks that load only when a target runs, and execa (the
// release stores' rclone and gh) in chunks that load only when a bundle is published or fetched.
import fs from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: start empty so old chunks never pile up or ship.
fs.rmSync('dist/cli', { recursive: true, force: true });

await build({
  entryPoints: { main: 'dist/src/cli/main.js' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // `sbuild init` uses the rule library as any config does, through the package's public name.
  external: ['esbuild', 'sbuild/rules'],
  // Some bundled CommonJS code calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __sbuildCreateRequire } from 'node:module'; const require = __sbuildCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
