// sbuild installed into another repository from a tarball (`npm i -D sbuild-x.y.z.tgz`)
// works through `npx sbuild`, and its config imports `defineConfig` from 'sbuild'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { REPO } from '../helpers/rig.js';

test('npm i -D <tarball> in another repository, then npx sbuild', { timeout: 300_000 }, () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-consumer-')));
  try {
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--json'], { cwd: REPO, encoding: 'utf8' });
    const tgz = path.join(dir, JSON.parse(packed)[0].filename as string);
    const files = (JSON.parse(packed)[0].files as Array<{ path: string }>).map((f) => f.path);
    assert.ok(files.includes('dist/src/index.d.ts') && files.includes('bin/sbuild.js'));
    assert.ok(!files.some((f) => f.startsWith('dist/test/')), 'tests are not shipped');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'paper-repo', private: true, type: 'module' }));
    execFileSync('npm', ['i', '-D', tgz, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'pipe' });
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
    fs.writeFileSync(path.join(dir, 'tasks.config.ts'), `import { defineConfig, type Target } from 'sbuild';
const t: Target = { name: 'copy', inputs: ['in.txt'], outputs: ['out.txt'], run: ['cp', 'in.txt', 'out.txt'] };
export default defineConfig({ default: 'copy', targets: [t] });
`);
    const out = execFileSync('npx', ['sbuild'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    assert.match(out, /1 ran, 0 fresh/);
    assert.equal(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8'), 'x\n');
    assert.match(execFileSync('npx', ['sbuild'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } }), /0 ran, 1 fresh/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
