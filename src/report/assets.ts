// The page's script: src/report/client.ts as compiled to dist/, bundled with the parts of
// Chart.js it uses into one minified IIFE by esbuild (a dependency already) when a report is
// generated. No build step, and nothing fetched when the page opens.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SbuildError } from '../errors.js';

/** Chart.js (MIT) and its colour helper (MIT) are inlined: their notices go with them. */
const NOTICE = '/* Includes Chart.js (c) 2014-2024 Chart.js Contributors, MIT License; @kurkle/color (c) 2018-2024 Jukka Kurkela, MIT License. */';

let cached: Promise<string> | undefined;

export function clientScript(): Promise<string> {
  cached ??= bundle();
  return cached;
}

async function bundle(): Promise<string> {
  const entry = path.join(packageRoot(), 'dist', 'src', 'report', 'client.js');
  if (!fs.existsSync(entry)) throw new SbuildError('usage', `the report's page script ${entry} is missing; build sbuild first (npm run build)`);
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return `${NOTICE}\n${r.outputFiles[0]!.text}`;
}

/** The folder of sbuild's package.json, above this module (dist/src/report or the bundled dist/cli). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sbuild') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find sbuild's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
