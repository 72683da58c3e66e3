// The MMEngine config cache through the CLI: a build never takes a target as fresh from a
// cached evaluation of bytes that are no longer there (a config saved while Python evaluated
// it), nor from one that did not see a file the config looked for and that appeared since.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

/** One target whose param is a value of configs/x.py; its command logs the run and writes the value. */
function workspace(key: string, py: string): Rig {
  const r = rig();
  r.write('configs/x.py', py);
  r.config(
    `{ default: 't', targets: [{ name: 't', outputs: ['out/t.txt'], params: { v: String(c.values.${key}) },
       run: 'echo t >> runs.log; mkdir -p out; echo {params.v} > out/t.txt' }] }`,
    "import { readMmConfig } from 'sbuild/rules';\nconst c = readMmConfig('configs/x.py');",
  );
  return r;
}

function build(r: Rig, args: string[] = [], env: NodeJS.ProcessEnv = {}): string[] {
  const res = r.run(args, env);
  assert.equal(res.code, 0, res.stderr);
  return r.takeRuns();
}

test('a config saved while Python evaluates it: the next build uses the saved values, then is fresh', () => {
  // The config rewrites itself while it is evaluated, as an editor saving during a build would.
  const r = workspace('lr', "lr = 0.1\nopen('configs/x.py', 'w').write('lr = 0.2\\n')\n");
  assert.deepEqual(build(r), ['t']);
  assert.equal(r.read('out/t.txt'), '0.1\n');
  assert.deepEqual(build(r), ['t'], 'lr is 0.2 now');
  assert.equal(r.read('out/t.txt'), '0.2\n');
  assert.deepEqual(build(r), []);
  assert.match(r.run(['status']).stdout, /fresh\s+t/);
});

test('a file the config tried to open, missing then, reruns its target when it appears (also without the no-op snapshot)', () => {
  const r = workspace('extra', "try:\n    extra = open('configs/extra.txt').read().strip()\nexcept FileNotFoundError:\n    extra = 'none'\n");
  assert.deepEqual(build(r), ['t']);
  assert.equal(r.read('out/t.txt'), 'none\n');
  assert.deepEqual(build(r), []);
  r.write('configs/extra.txt', 'yes\n');
  assert.deepEqual(build(r, [], { SBUILD_NO_SNAPSHOT: '1' }), ['t']);
  assert.equal(r.read('out/t.txt'), 'yes\n');
  assert.deepEqual(build(r), []);
});
