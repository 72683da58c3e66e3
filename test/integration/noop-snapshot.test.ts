// The no-op snapshot answers "nothing changed" without evaluating the graph. Every kind of
// change must fall back to the full path (and rerun exactly what the change stales).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Rig, sh, useRigs } from '../helpers/rig.js';

const rig = useRigs();

/** Moves every mtime in the workspace (but sbuild's state and node_modules) 10 s into the past. */
function ageAll(r: Rig): void {
  const past = new Date(Date.now() - 10_000);
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === '.sbuild') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      fs.utimesSync(p, past, past);
    }
    fs.utimesSync(dir, past, past);
  };
  walk(r.dir);
}

/** Builds until a snapshot is recorded, then returns whether the next build used it. */
function settle(r: Rig, args: string[] = [], env: NodeJS.ProcessEnv = {}): void {
  r.run(args, env);
  ageAll(r);
  const res = r.run(args, env);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(r.exists('.sbuild/noop.json'), 'snapshot recorded after an all-fresh build of old files');
  r.takeRuns();
}

function usesSnapshot(r: Rig, args: string[] = [], env: NodeJS.ProcessEnv = {}): boolean {
  const res = r.run(args, { ...env, SBUILD_TIMING: '1' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  // The full path builds the graph; the snapshot answers without it.
  return !/\bgraph\b/.test(res.stderr);
}

function setup(): Rig {
  const r = rig();
  r.write('a.txt', 'hello\n');
  r.write('m/x_metrics.json', '1\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'upper', inputs: ['a.txt'], outputs: ['out/upper.txt'], env: ['MODE'], run: ${JSON.stringify(sh('upper', 'tr a-z A-Z < a.txt > out/upper.txt'))} },
      { name: 'table', inputs: ['m/**/*_metrics.json', 'out/upper.txt'], outputs: ['out/table.txt'], run: ${JSON.stringify(sh('table', 'cat m/*_metrics.json out/upper.txt > out/table.txt'))} },
      { name: 'all', deps: ['table'] },
    ],
  }`);
  settle(r);
  return r;
}

test('an unchanged workspace is answered from the snapshot, and says the same thing', () => {
  const r = setup();
  const res = r.run([]);
  assert.match(res.stdout, /^sbuild: 0 ran, 2 fresh in \d+ms$/m);
  assert.ok(usesSnapshot(r));
  assert.deepEqual(r.takeRuns(), []);
});

test('every kind of change falls back to the full path and reruns exactly what it stales', () => {
  const r = setup();
  const cases: Array<[string, () => void, string[], NodeJS.ProcessEnv?]> = [
    ['same-size content edit with an old mtime', () => { r.write('a.txt', 'jello\n'); ageAll(r); }, ['table', 'upper']],
    ['a new file matching the glob', () => { r.write('m/y_metrics.json', '2\n'); ageAll(r); }, ['table']],
    ['a matching file removed (back to an earlier state: restored)', () => { fs.rmSync(r.path('m/y_metrics.json')); ageAll(r); }, []],
    ['an output deleted (restored from the cache)', () => fs.rmSync(r.path('out/table.txt')), []],
    ['an output modified (restored from the cache; table stays fresh)', () => { r.write('out/upper.txt', 'XXXXXX\n'); ageAll(r); }, []],
    ['the config', () => { r.write('tasks.config.ts', r.read('tasks.config.ts').replace("cat m/", "cat  m/")); ageAll(r); }, ['table']],
    ['a declared env value', () => {}, ['upper'], { MODE: 'fast' }],
  ];
  for (const [what, change, expected, env] of cases) {
    change();
    const res = r.run([], env ?? {});
    assert.equal(res.code, 0, `${what}: ${res.stdout}${res.stderr}`);
    assert.deepEqual(r.takeRuns(), expected, what);
    settle(r, [], env ?? {});
    assert.ok(usesSnapshot(r, [], env ?? {}), `${what}: settled again`);
  }
  // A different selection is a different build.
  assert.ok(!usesSnapshot(r, ['upper'], { MODE: 'fast' }));
  // sbuild.lock edited (e.g. by a git checkout) invalidates it.
  settle(r, [], { MODE: 'fast' });
  const lock = JSON.parse(r.read('sbuild.lock'));
  delete lock.targets.table;
  r.write('sbuild.lock', JSON.stringify(lock, null, 2));
  ageAll(r);
  const res = r.run([], { MODE: 'fast' });
  assert.match(res.stdout, /↺ table restored from cache/, 'the lock edit was noticed (its entry is back, from the cache)');
  assert.deepEqual(r.takeRuns(), []);
});

test('flags that need per-target output never use the snapshot', () => {
  const r = setup();
  for (const flags of [['-n'], ['--json'], ['-v'], ['-B', 'upper']]) {
    assert.ok(!usesSnapshot(r, flags), flags.join(' '));
  }
  assert.deepEqual(r.takeRuns(), ['upper']);
});
