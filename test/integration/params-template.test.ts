// `{params.KEY}` in a command target's `run`: the command receives the param's value (argv:
// as one argument, as is; shell string: inert values only, so a value cannot add shell syntax), a changed
// param reruns exactly its target and is reported as a param change, a placeholder naming no
// param is a config error, and the README's Plain-targets example passes its param as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

/** A node program that appends its target to runs.log and writes its arguments to `out/<name>.json`. */
const argvProgram = (name: string) =>
  `require('fs').appendFileSync('runs.log', '${name}\\n'); require('fs').mkdirSync('out', { recursive: true }); ` +
  `require('fs').writeFileSync('out/${name}.json', JSON.stringify(process.argv.slice(1)))`;

const INJECTION = "'; touch pwned; '";

function workspace(params: { a: string; b: string }): Rig {
  const r = rig();
  write(r, params);
  return r;
}

function write(r: Rig, params: { a: string; b: string }): void {
  const args = ['{params.n}', '{params.s}', '--lr={params.opt.lr}', '{params.list}', '{params.flag}', '{params.none}', '${params.n}', '{x}', 'n={params.n}/{params.opt.lr}'];
  r.config(`{
    default: 'all',
    targets: [
      { name: 'a', outputs: ['out/a.json'], params: ${params.a}, run: ${JSON.stringify([process.execPath, '-e', argvProgram('a'), ...args])} },
      { name: 'b', outputs: ['out/b.json'], params: ${params.b}, run: ${JSON.stringify([process.execPath, '-e', argvProgram('b'), '{params.n}'])} },
      { name: 'sh', outputs: ['out/sh.txt'], params: { v: 'run-1.5/a:b@c%d+e_f', n: 0.001 },
        run: ${JSON.stringify(`echo sh >> runs.log; mkdir -p out; printf '[%s]\\n' {params.v} '{params.v}' "{params.v}" x{params.n}y "$(echo {params.n})" "\${HOME:+home}" {x} > out/sh.txt`)} },
      { name: 'all', deps: ['a', 'b', 'sh'] },
    ],
  }`);
}

const A = `{ n: 0.5, s: 'it\\'s "a b" $HOME', opt: { lr: 1e-4 }, list: [1, 'x', { b: 2, a: null }], flag: false, none: null }`;
const B = '{ n: 7 }';

test('argv: each placeholder becomes the value as one argument (or part of one); other braces stay', () => {
  const r = workspace({ a: A, b: B });
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(JSON.parse(r.read('out/a.json')), [
    '0.5', 'it\'s "a b" $HOME', '--lr=0.0001', '[1,"x",{"a":null,"b":2}]', 'false', 'null', '${params.n}', '{x}', 'n=0.5/0.0001',
  ]);
  assert.deepEqual(JSON.parse(r.read('out/b.json')), ['7']);
  // The lock records the command that ran.
  const lock = JSON.parse(r.read('sbuild.lock')) as { targets: Record<string, { action: string }> };
  assert.match(lock.targets.b!.action, / 7$/);
});

test('a shell string: inert values go in as they are, wherever they land; any other value is refused, so none can inject a command', () => {
  const r = workspace({ a: A, b: B });
  const res = r.run(['sh']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const v = 'run-1.5/a:b@c%d+e_f';
  assert.equal(r.read('out/sh.txt'), `[${v}]\n[${v}]\n[${v}]\n[x0.001y]\n[0.001]\n[home]\n[{x}]\n`);
  assert.deepEqual(r.takeRuns(), ['sh']);
  // Values a shell would read something into, in every kind of spot: refused before anything runs.
  for (const [value, spot] of [[INJECTION, '{params.v}'], [INJECTION, "'{params.v}'"], [INJECTION, '"{params.v}"'], ['x; touch pwned', '{params.v}'], ['a b', 'x{params.v}y'], ['`touch pwned`', '"$(echo {params.v})"'], ['', '{params.v}'], ['a,b', '{{params.v}}']]) {
    const bad = rig();
    bad.config(`{ targets: [{ name: 't', outputs: ['out/t.txt'], params: { v: ${JSON.stringify(value)} }, run: ${JSON.stringify(`mkdir -p out; echo ${spot} > out/t.txt`)} }] }`);
    const res = bad.run([]);
    assert.equal(res.code, 2, `${JSON.stringify(value)} at ${spot}: ${res.stdout}${res.stderr}`);
    assert.ok(res.stderr.includes(`error: target 't': \`run\` is a shell string and uses {params.v}, whose value ${JSON.stringify(value)} ${value === '' ? 'is empty' : 'holds characters a shell reads'}; sbuild puts only values of letters, digits and . _ - / : @ % + into shell strings, so that no value can change the command. Give \`run\` as an argv array (each value then passes unchanged, as one argument), or change the value.`), res.stderr);
    assert.ok(!bad.exists('pwned') && !bad.exists('out') && !bad.exists('sbuild.lock'), 'nothing ran or was written');
  }
});

test('a changed param reruns exactly its target, reported as the param change; an edited command as a command change', () => {
  const r = workspace({ a: A, b: B });
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['a', 'b', 'sh']);
  write(r, { a: A, b: '{ n: 8 }' });
  let res = r.run(['status']);
  assert.match(res.stdout, /^stale {3}b — param n changed: 7 → 8$/m);
  res = r.run(['explain', 'b']);
  assert.match(res.stdout, /^ {2}- param n changed: 7 → 8$/m);
  assert.ok(!res.stdout.includes('command changed'), res.stdout);
  assert.match(res.stdout, /^command: exec: .* 8$/m);
  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['b']);
  assert.deepEqual(JSON.parse(r.read('out/b.json')), ['8']);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), [], 'nothing changed: nothing runs');
  // The template itself edited: a command change, with the command as it runs on both sides.
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace('"{params.n}"]', '"{params.n}","more"]'));
  res = r.run(['explain', 'b']);
  assert.match(res.stdout, /^ {2}- command changed: exec: .* 8 → exec: .* 8 more$/m);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['b']);
});

test('a placeholder that names no param: exit 2, nothing written', () => {
  const fails = (target: string, expected: string) => {
    const r = rig();
    r.write('tasks.config.ts', `import { defineConfig } from 'sbuild';\nexport default defineConfig({ targets: [\n  ${target},\n] });\n`);
    const res = r.run([]);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.equal(res.stderr, expected);
    assert.equal(res.stdout, '');
    assert.ok(!r.exists('sbuild.lock') && !r.exists('runs.log') && !r.exists('out'), 'nothing written or run');
  };
  fails(`{ name: 'exp/train', outputs: ['out/m'], params: { pfa: 0.001, opt: { lr: 0.1 } }, run: ['python', 'train.py', '--pfa', '{params.pf}'] }`,
    "tasks.config.ts:3:11: error: target 'exp/train': `run` uses {params.pf}, but the target has no param pf (its params: pfa, opt.lr). Add pf to its `params`, or correct the placeholder.\n");
  fails(`{ name: 't', outputs: ['out/m'], run: 'echo {params.opt.lr} > out/m' }`,
    "tasks.config.ts:3:11: error: target 't': `run` uses {params.opt.lr}, but the target has no params. Give it `params` holding opt.lr, or remove the placeholder.\n");

});

/** The code block under "## Plain targets" in README.md. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const m = /^## Plain targets\n\n```ts\n([^]*?)^```$/m.exec(readme);
  assert.ok(m, 'README.md has a ```ts block under "## Plain targets"');
  return m[1]!;
}

const python3 = spawnSync('python3', ['--version']).status === 0;

test("the README's Plain-targets example, as written: the training command receives its param", { skip: python3 ? false : 'python3 is not installed' }, () => {
  const r = rig();
  r.write('tasks.config.ts', readmeExample());
  r.write('configs/cfar.py', 'model = dict(type="CFAR")\n');
  r.write('data/train/img0.txt', 'pixels\n');
  // The example's train.py: it writes its arguments where the target's output is.
  r.write('train.py', 'import json, os, sys\nos.makedirs("work_dirs/cfar", exist_ok=True)\njson.dump(sys.argv[1:], open("work_dirs/cfar/model.json", "w"))\n');
  // `python` as the example calls it, whatever this machine names its interpreter.
  const bin = path.join(path.dirname(r.dir), 'python-bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'python'), '#!/bin/sh\nexec python3 "$@"\n', { mode: 0o755 });
  const res = r.run(['exp/cfar/train'], { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const pfa = /params: \{ pfa: ([^ ]+) \}/.exec(readmeExample())?.[1];
  assert.ok(pfa, 'the example declares params: { pfa: … }');
  assert.deepEqual(JSON.parse(r.read('work_dirs/cfar/model.json')), ['configs/cfar.py', '--pfa', String(Number(pfa))]);
});
