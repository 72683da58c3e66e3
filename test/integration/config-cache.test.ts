// The compiled-config cache (.sbuild/config/) is verified like every other state file: a
// truncated, garbage or empty bundle or meta file is compiled again, never fatal. And a config
// that throws shows the user's message and frames only, none of sbuild's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { sh, useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

const bundleOf = (r: Rig) => {
  const b = fs.readdirSync(r.path('.sbuild/config')).filter((f) => /^bundle-[0-9a-f]{16}\.mjs$/.test(f));
  assert.equal(b.length, 1, `one bundle: ${b.join(', ')}`);
  return `.sbuild/config/${b[0]}`;
};
const META = '.sbuild/config/meta.json';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test('a truncated, garbage or empty compiled config (bundle or meta file) is compiled again: same outputs, nothing reruns', () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  r.write('lib/names.ts', "export const out = (n: string) => `o/${n}`;\n");
  r.config(`{ default: 'a', targets: [
    { name: 'a', inputs: ['a.txt'], outputs: [out('a')], run: ${JSON.stringify(sh('a', 'mkdir -p o; cp a.txt o/a'))} },
  ] }`, "import { out } from './lib/names.js';");
  const first = r.run([]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(r.takeRuns(), ['a']);
  const bundle = bundleOf(r);
  const good = fs.readFileSync(r.path(bundle));
  const goodMeta = r.read(META);

  const cases: Array<[string, () => void]> = [
    ['bundle truncated', () => fs.writeFileSync(r.path(bundle), good.subarray(0, good.length >> 1))],
    ['bundle random bytes', () => fs.writeFileSync(r.path(bundle), randomBytes(good.length))],
    ['bundle empty', () => fs.writeFileSync(r.path(bundle), '')],
    ['bundle missing', () => fs.rmSync(r.path(bundle))],
    ['meta truncated', () => r.write(META, goodMeta.slice(0, goodMeta.length >> 1))],
    ['meta random bytes', () => fs.writeFileSync(r.path(META), randomBytes(200))],
    ['meta empty', () => r.write(META, '')],
    ['meta null', () => r.write(META, 'null')],
    ['meta with wrong shapes', () => r.write(META, JSON.stringify({ ...JSON.parse(goodMeta), sources: null, bundle: '../../tasks.config.ts' }))],
    // Verification passes (the meta records the garbage's hash), so the import itself fails:
    // not the user's code throwing, so it is compiled once more.
    ['bundle garbage that the meta vouches for', () => {
      const junk = 'export default {;\n';
      fs.writeFileSync(r.path(bundle), junk);
      r.write(META, JSON.stringify({ ...JSON.parse(goodMeta), bundleSha256: sha(junk) }));
    }],
    ['bundle without a default export that the meta vouches for', () => {
      const junk = 'export const x = 1;\n';
      fs.writeFileSync(r.path(bundle), junk);
      r.write(META, JSON.stringify({ ...JSON.parse(goodMeta), bundleSha256: sha(junk) }));
    }],
  ];
  for (const [what, corrupt] of cases) {
    corrupt();
    for (const round of ['healed', 'cached again']) {
      const res = r.run([]);
      assert.equal(res.code, 0, `${what} (${round}): ${res.stdout}${res.stderr}`);
      assert.match(res.stdout, /^sbuild: 0 ran, 1 fresh/m, `${what} (${round})`);
      assert.equal(res.stderr, '', `${what} (${round})`);
      assert.deepEqual(r.takeRuns(), [], `${what} (${round})`);
      assert.equal(r.read('o/a'), 'a\n');
    }
    assert.deepEqual(fs.readFileSync(r.path(bundleOf(r))), good, `${what}: the same bundle again`);
    assert.equal(JSON.parse(r.read(META)).bundleSha256, sha(good), `${what}: the meta records its hash`);
  }
  // A real change still rebuilds what it should.
  r.write('a.txt', 'b\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['a']);
});

test('a config that throws: the message, then only the user\'s stack lines (no sbuild frames); evaluated once', () => {
  const r = rig();
  r.write('helper.ts', "export function boom(): never {\n  throw new Error('kaput in helper');\n}\n");
  r.write('tasks.config.ts', [
    "import fs from 'node:fs';",
    "import { defineConfig } from 'sbuild';",
    "import { boom } from './helper.js';",
    "fs.appendFileSync('evaluated.log', 'x\\n');",
    'const targets = boom();',
    'export default defineConfig({ targets });',
    '',
  ].join('\n'));
  for (const round of ['compiled', 'cached']) {
    const res = r.run([]);
    assert.equal(res.code, 2, `${round}: ${res.stdout}${res.stderr}`);
    assert.equal(
      res.stderr,
      'helper.ts:2:9: error: tasks.config.ts threw while loading: kaput in helper. Fix the error at the location shown.\n' +
        '    at boom (helper.ts:2:9)\n' +
        '    at <anonymous> (tasks.config.ts:5:17)\n',
      round,
    );
    assert.doesNotMatch(res.stderr, /dist\/|chunk-|node:internal|node_modules|file:\/\//, round);
  }
  assert.equal(r.read('evaluated.log'), 'x\nx\n', 'a config that throws is not evaluated a second time');
  assert.ok(!r.exists('sbuild.lock'), 'nothing written');

  // A thrown non-Error has no frames: the paragraph alone, pointing at the config.
  r.write('tasks.config.ts', "import { defineConfig } from 'sbuild';\nif (Date.now() > 0) throw 'not an Error';\nexport default defineConfig({ targets: [] });\n");
  const res = r.run([]);
  assert.equal(res.code, 2);
  assert.equal(res.stderr, 'tasks.config.ts: error: tasks.config.ts threw while loading: not an Error. Fix the error at the location shown.\n');
});

test('data the config imports (JSON, text) keys the compiled config: an edit there is a new config, in a build and in status', () => {
  const r = rig();
  r.write('params.json', '{ "lr": 0.1 }\n');
  r.write('note.txt', 'first\n');
  r.config(`{ default: 't', targets: [
    { name: 't', outputs: ['o/t'], params: { lr: p.lr, note: note.trim() }, run: ${JSON.stringify(sh('t', 'mkdir -p o; echo {params.lr} {params.note} > o/t'))} },
  ] }`, "import p from './params.json';\nimport note from './note.txt';");
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['t']);
  assert.equal(r.read('o/t'), '0.1 first\n');
  r.write('params.json', '{ "lr": 0.2 }\n');
  assert.match(r.run(['status']).stdout, /^stale +t .*param lr changed/m);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['t']);
  assert.equal(r.read('o/t'), '0.2 first\n');
  r.write('note.txt', 'second\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['t']);
  assert.equal(r.read('o/t'), '0.2 second\n');
  // Unchanged since: the cached compile is used, and nothing runs.
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), []);
});
