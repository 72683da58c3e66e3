// Bad input: a clear one-paragraph error naming the file, target or flag and the fix,
// exit code 2, and nothing written (no lock, no outputs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, useRigs } from '../helpers/rig.js';

const rig = useRigs();

function failsWith(body: string, args: string[], pattern: RegExp, files: Record<string, string> = {}): Rig {
  const r = rig();
  for (const [f, c] of Object.entries(files)) r.write(f, c);
  r.write('tasks.config.ts', body);
  const res = r.run(args);
  assert.equal(res.code, 2, `exit code for ${pattern}: ${res.stdout}${res.stderr}`);
  assert.match(res.stderr, pattern);
  assert.ok(!res.stderr.includes('bug in sbuild'), res.stderr);
  assert.ok(!r.exists('sbuild.lock'), 'nothing written');
  assert.ok(!r.exists('runs.log'), 'nothing ran');
  return r;
}

const head = "import { defineConfig } from 'sbuild';\n";
const target = (extra: string) => `${head}export default defineConfig({ targets: [\n  { name: 'a', outputs: ['o/a'], run: 'echo a >> runs.log; touch o/a' },\n  ${extra}\n] });\n`;

test('a syntax error points at file:line:col with the line and a caret', () => {
  failsWith(`${head}export default defineConfig({ targets: [ { name: 'a' run: 'x' } ] });\n`, [], /^tasks\.config\.ts:2:\d+: error: Syntax error in the config: Expected "}" but found "run"[^]*\n\s+2 \| export default[^]*\^/);
});

test('an exception while loading the config names the file and line', () => {
  failsWith(`${head}const x: any = undefined;\nexport default defineConfig({ targets: x.map((t: any) => t) });\n`, [], /^tasks\.config\.ts:3:\d+: error: tasks\.config\.ts threw while loading: Cannot read properties of undefined/);
});

test('a wrongly typed field names the target, the field and the line', () => {
  failsWith(target(`{ name: 'b', inputs: 'a.txt', run: 'true' },`), ['b'], /^tasks\.config\.ts:4:\d+: error: target 'b': `inputs` must be an array of non-empty strings\./);
  failsWith(target(`{ name: 'b', ouputs: ['x'], run: 'true' },`), ['b'], /target 'b' has an unknown field `ouputs`\. Did you mean 'outputs'\?/);
  failsWith(target(`{ name: 'b', params: { lr: () => 1 }, run: 'true' },`), ['b'], /target 'b': params\.lr is not a JSON value/);
});

test('duplicate target names', () => {
  failsWith(target(`{ name: 'a', run: 'true' },`), [], /^tasks\.config\.ts:3:\d+: error: Two targets are named 'a' \(targets\[0\] and targets\[1\]\)\. Target names must be unique; rename one\./);
});

test('two targets claiming one output, or nested outputs', () => {
  failsWith(target(`{ name: 'b', outputs: ['o/a'], run: 'true' },`), ['b'], /Targets 'a' and 'b' both declare the output 'o\/a'\. Each file has one producer/);
  failsWith(target(`{ name: 'b', outputs: ['o/a/inner'], run: 'true' },`), ['b'], /Target 'b' declares the output 'o\/a\/inner', which lies inside 'o\/a', an output folder of 'a'/);
});

test('a cycle is printed', () => {
  failsWith(`${head}export default defineConfig({ targets: [
  { name: 'x', inputs: ['o/z'], outputs: ['o/x'], run: 'true' },
  { name: 'y', inputs: ['o/x'], outputs: ['o/y'], run: 'true' },
  { name: 'z', inputs: ['o/y'], outputs: ['o/z'], run: 'true' },
] });\n`, ['x'], /The targets form a cycle: (x → y → z → x|y → z → x → y|z → x → y → z)\. Break it/);
});

test('an output outside the workspace, or a glob as an output', () => {
  failsWith(target(`{ name: 'b', outputs: ['../escape.txt'], run: 'true' },`), ['b'], /target 'b': output '\.\.\/escape\.txt' is outside the workspace/);
  failsWith(target(`{ name: 'b', outputs: ['/etc/passwd'], run: 'true' },`), ['b'], /target 'b': output '\/etc\/passwd' is outside the workspace/);
  failsWith(target(`{ name: 'b', outputs: ['o/*.txt'], run: 'true' },`), ['b'], /target 'b': output 'o\/\*\.txt' is a glob/);
});

test('an input glob that matches nothing is a config error; a missing input file blocks only its target', () => {
  failsWith(target(`{ name: 'b', inputs: ['configs/**/*.py'], outputs: ['o/b'], run: 'true' },`), ['b'], /The input glob 'configs\/\*\*\/\*\.py' of target 'b' matches no file on disk and no declared output\./);
  const r = rig();
  r.write('tasks.config.ts', target(`{ name: 'b', inputs: ['nope.txt'], outputs: ['o/b'], run: 'echo b >> runs.log; mkdir -p o; touch o/b' }, { name: 'c', deps: ['b'], outputs: ['o/c'], run: 'echo c >> runs.log; touch o/c' },`));
  let res = r.run(['list']);
  assert.equal(res.code, 0, res.stderr);
  res = r.run(['status']);
  assert.match(res.stdout, /^blocked b — missing input nope\.txt \(nothing produces it\)$/m);
  res = r.run(['-k', 'a', 'c']);
  assert.equal(res.code, 1);
  assert.match(res.stdout + res.stderr, /blocked: missing input 'nope\.txt' of target 'b' \(no target produces it, or an upstream target did not\)\. Put the file back, or fix the input list\./);
  assert.deepEqual(r.takeRuns(), ['a'], 'only the independent target ran');
  r.write('nope.txt', 'here now');
  assert.equal(r.run(['c']).code, 0);
  assert.deepEqual(r.takeRuns(), ['b', 'c']);
});

test('an unknown target or dependency suggests the nearest names', () => {
  failsWith(target(`{ name: 'train/full', outputs: ['o/t'], run: 'true' },`), ['train/ful'], /^error: There is no target named 'train\/ful'\. Did you mean 'train\/full'\? Run `sbuild list`/);
  failsWith(target(`{ name: 'b', deps: ['aa'], run: 'true' },`), ['b'], /Target 'b' lists the dependency 'aa', which is not a target\. Did you mean 'a'\?/);
  failsWith(target(''), ['tag:smok'], /No target has the tag 'smok'/);
  failsWith(target(''), ['exp/*'], /The pattern 'exp\/\*' matches no target name/);
});

test('bad flags name the flag', () => {
  failsWith(target(''), ['--jbos', '2'], /Unknown option '--jbos'\. Did you mean '--jobs'/);
  failsWith(target(''), ['-j', 'many'], /-j\/--jobs takes a whole number ≥ 1, got 'many'/);
  failsWith(target(''), ['graph', '--format', 'png'], /--format must be dot, mermaid or json, got 'png'/);
});

test('no config anywhere up the tree', () => {
  const r = rig();
  const res = r.run([]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /No tasks\.config\.ts found in .* or any folder above it/);
});

test('bad cache and remote input: flags, config, commands that need a remote, git-only commands', () => {
  failsWith(target(''), ['--remote-cache', 'ftp://x'], /--remote-cache takes an http:\/\/ or https:\/\/ URL, got 'ftp:\/\/x'/);
  failsWith(target(''), ['gc', '--max-size', '5 parsecs'], /--max-size takes a size such as 500MB or 5GB, got '5 parsecs'/);
  failsWith(`${head}export default defineConfig({ remoteCache: { uri: 'http://x' } as any, targets: [] });\n`, ['list'], /The config's `remoteCache` must be \{ url: "http:\/\/…", tokenEnv\?: "NAME", upload\?: boolean \}/);
  failsWith(target(''), ['push'], /`sbuild push` needs a remote cache: pass --remote-cache URL or set `remoteCache: \{ url \}` in tasks\.config\.ts/);
  failsWith(target(''), ['merge-lock', 'only-one'], /`sbuild merge-lock` is a git merge driver: it takes %O %A %B \[%P\]/);
  failsWith(target(''), ['init'], /is not inside a git repository\. Run `git init` first/);
});

test('values validation must see first: targets not a list, a BigInt, a cycle or a class instance in params (the no-op shortcut never hashes them)', () => {
  // Each twice: the second run would take the no-op shortcut if the first had recorded anything.
  const cases: Array<[string, RegExp]> = [
    [`${head}export default { targets: 3 } as any;\n`, /The config must have `targets: \[\.\.\.\]` \(an array of targets\); found number\./],
    [`${head}export default { targets: { a: 1 } } as any;\n`, /The config must have `targets: \[\.\.\.\]` \(an array of targets\); found object\./],
    [`${head}export default defineConfig({ targets: [{ name: 'a', outputs: ['o/a'], run: 'true', params: { n: 10n as any } }] });\n`, /target 'a': params\.n is not a JSON value/],
    [`${head}const p: any = { x: 1 }; p.self = p;\nexport default defineConfig({ targets: [{ name: 'a', outputs: ['o/a'], run: 'true', params: p }] });\n`, /target 'a': params\.self \(it contains itself\) is not a JSON value/],
    [`${head}export default defineConfig({ targets: [{ name: 'a', outputs: ['o/a'], run: 'true', params: { when: new Date(0) as any } }] });\n`, /target 'a': params\.when is not a JSON value/],
  ];
  for (const [body, pattern] of cases) {
    failsWith(body, [], pattern);
    const r = failsWith(body, [], pattern);
    assert.ok(!r.exists('o'), 'no output written');
  }
});

test('a config that throws shows the user\'s frames, not sbuild\'s', () => {
  const r = failsWith(`${head}function helper(): never { throw new Error('no such dataset'); }\nexport default defineConfig({ targets: helper() });\n`, [], /^tasks\.config\.ts:2:\d+: error: tasks\.config\.ts threw while loading: no such dataset\. Fix the error at the location shown\./);
  const res = r.run([]);
  assert.doesNotMatch(res.stderr, /dist\/|chunk-|node_modules\/sbuild/, res.stderr);
});
