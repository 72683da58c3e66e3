// `-c FILE` and the workspace root: a config in a subfolder while the current folder is another
// workspace is refused (which folder its paths start from is the user's call: `--root`);
// `--root DIR` sets the root for every command; from inside the config's folder it is that folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, useRigs, type Rig, type RunResult } from '../helpers/rig.js';

const rig = useRigs();

/** The layout: a workspace at the top, and sub/gpu.config.ts whose output is declared as `sub/out/x`. */
function layout(): Rig {
  const r = rig();
  r.config(`{ targets: [{ name: 'top', outputs: ['out/top'], run: 'mkdir -p out && echo top > out/top' }] }`);
  // It records the root the config saw while loading (workspaceRoot(): SBUILD_ROOT) and the one its job sees.
  r.write('sub/gpu.config.ts', `import { defineConfig, workspaceRoot } from 'sbuild';
export default defineConfig({
  default: 'x',
  targets: [{ name: 'x', outputs: ['sub/out/x'], params: { root: workspaceRoot() },
    run: ['sh', '-c', 'echo x >> runs.log; mkdir -p sub/out && printf "%s\\\\n%s\\\\n" "$1" "$SBUILD_ROOT" > sub/out/x', 'sh', '{params.root}'] }],
});
`);
  return r;
}

/** The CLI run from a folder of the workspace. */
function runIn(r: Rig, rel: string, args: string[]): RunResult {
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd: r.path(rel), encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const ambiguous = (r: Rig, marker: string) =>
  `error: --config sub/gpu.config.ts leaves the workspace root ambiguous: the current folder belongs to the workspace ${r.dir} (it holds ${marker}), ` +
  `while the config lies in ${r.dir}/sub. The root is where the config's paths start and where .sbuild/ and sbuild.lock live. ` +
  `Pass --root . to use ${r.dir}, or --root sub (or run sbuild from sub/) to use ${r.dir}/sub.\n`;

test('-c sub/gpu.config.ts from a workspace\'s top is refused, naming both roots and both fixes; nothing is written', () => {
  const r = layout();
  for (const args of [['-c', 'sub/gpu.config.ts'], ['status', '--config', 'sub/gpu.config.ts'], ['list', '-c', 'sub/gpu.config.ts']]) {
    const res = r.run(args);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.equal(res.stderr, ambiguous(r, 'tasks.config.ts'));
    assert.equal(res.stdout, '');
  }
  for (const p of ['.sbuild', 'sbuild.lock', 'sub/.sbuild', 'sub/sbuild.lock', 'sub/out', 'sub/sub', 'runs.log']) assert.ok(!r.exists(p), `${p} was written`);
});

test('--root . puts the output at sub/out/x and the lock at the top; the config and its job see that root; every command takes it', () => {
  const r = layout();
  const flags = ['-c', 'sub/gpu.config.ts', '--root', '.'];
  let res = r.run(flags);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(r.read('sub/out/x'), `${r.dir}\n${r.dir}\n`, 'workspaceRoot() while loading, and SBUILD_ROOT in the job');
  assert.ok(r.exists('sbuild.lock') && r.exists('.sbuild'));
  for (const p of ['sub/.sbuild', 'sub/sbuild.lock', 'sub/sub']) assert.ok(!r.exists(p), `${p} was written`);
  assert.deepEqual(Object.keys((JSON.parse(r.read('sbuild.lock')) as { targets: object }).targets), ['x']);
  assert.deepEqual(r.takeRuns(), ['x']);
  res = r.run(['status', ...flags]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^fresh {3}x$/m);
  res = r.run(['explain', 'x', ...flags]);
  assert.match(res.stdout, /^x: fresh$/m);
  res = r.run(['list', '--inputs', ...flags]);
  assert.match(res.stdout, /^ {4}output sub\/out\/x$/m);
  res = r.run(['graph', '--format', 'json', ...flags]);
  assert.equal(res.code, 0, res.stderr);
  res = r.run(['clean', 'x', ...flags]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(!r.exists('sub/out/x'), 'clean removed the output where the build put it');
  // A folder holding only sbuild.lock is a workspace too.
  fs.rmSync(r.path('tasks.config.ts'));
  res = r.run(['-c', 'sub/gpu.config.ts']);
  assert.equal(res.code, 2);
  assert.equal(res.stderr, ambiguous(r, 'sbuild.lock'));
});

test('from inside sub/, -c gpu.config.ts is unambiguous: sub/ is the root', () => {
  const r = layout();
  const res = runIn(r, 'sub', ['-c', 'gpu.config.ts']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const sub = path.join(r.dir, 'sub');
  // Its paths start at sub/, as the config's folder: the declared `sub/out/x` is sub/sub/out/x.
  assert.equal(r.read('sub/sub/out/x'), `${sub}\n${sub}\n`);
  assert.ok(r.exists('sub/sbuild.lock') && !r.exists('sbuild.lock') && !r.exists('.sbuild'));
});

test('--root naming a missing folder, a file, or a folder without a config: exit 2 naming it', () => {
  const r = layout();
  const fails = (args: string[], expected: string) => {
    const res = r.run(args);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.equal(res.stderr, expected);
  };
  const fix = 'Pass the folder that is the workspace root (where sbuild.lock and .sbuild/ live), e.g. --root .\n';
  fails(['--root', 'missing'], `error: --root missing: there is no folder ${r.dir}/missing. ${fix}`);
  fails(['status', '-c', 'sub/gpu.config.ts', '--root', 'missing'], `error: --root missing: there is no folder ${r.dir}/missing. ${fix}`);
  fails(['--root', 'tasks.config.ts'], `error: --root tasks.config.ts: ${r.dir}/tasks.config.ts is a file, not a folder. ${fix}`);
  fails(['list', '--root', 'sub'], `error: --root sub: ${r.dir}/sub holds no config (tasks.config.ts, tasks.config.mts, tasks.config.js, tasks.config.mjs). Pass --config FILE as well to use a config kept elsewhere, or name the folder that holds the workspace's config.\n`);
  for (const p of ['.sbuild', 'sbuild.lock', 'sub/.sbuild', 'missing']) assert.ok(!r.exists(p), `${p} was written`);
});
