// The demo's tool bundle (the `tools` target) must declare every source file esbuild puts in
// it: a file it bundles but does not list would leave the bundle wrongly fresh after an edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';
import picomatch from 'picomatch';
import { REPO } from '../helpers/rig.js';
import { useClones } from '../helpers/clone.js';

const freshClone = useClones();

test("the demo's tools target lists every source file esbuild bundles into the demo's programs", async () => {
  const dir = freshClone();
  const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), 'list', '--inputs', '--json', 'tools'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SARDET_ROOT: '' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const inputs = (JSON.parse(r.stdout.trim().split('\n')[0]!) as { inputs: string[] }).inputs;
  const declared = picomatch(inputs);
  const res = await build({ absWorkingDir: REPO, entryPoints: ['tools/sardet.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, metafile: true, logLevel: 'silent', outfile: 'bundle.mjs' });
  const sources = Object.keys(res.metafile.inputs);
  const own = sources.filter((f) => !f.startsWith('node_modules/'));
  assert.ok(own.includes('tools/sardet.ts') && own.some((f) => f.startsWith('src/')), `esbuild's inputs: ${own.join(', ')}`);
  assert.deepEqual(own.filter((f) => !declared(f)), [], 'bundled but not an input of the tools target');
  // Packages it bundles change only with package-lock.json.
  if (sources.some((f) => f.startsWith('node_modules/'))) assert.ok(inputs.includes('package-lock.json'));
});
