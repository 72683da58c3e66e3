// sbuild deletes and writes only inside the workspace: outputs reached through a folder linked
// elsewhere are refused (the build fails that target as bad input, exit 2, and -k builds the rest; clean skips it and exits 1), an output
// that is itself a link is deleted as a link, target names that would make paths leave
// .sbuild/logs/ are config errors, and any name gets its log inside .sbuild/logs/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Rig, sh, useRigs } from '../helpers/rig.js';

const rig = useRigs();

/** A workspace `ws/` with a folder `out/` beside it (outside the workspace) holding precious files. */
function withOutside(): { r: Rig; top: string; out: string } {
  const r = rig('ws');
  const top = path.dirname(r.dir);
  const out = path.join(top, 'out');
  fs.mkdirSync(path.join(out, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(out, 'd.txt'), 'precious\n');
  fs.writeFileSync(path.join(out, 'sub', 'e.txt'), 'precious too\n');
  return { r, top, out };
}

function intact(out: string): void {
  assert.equal(fs.readFileSync(path.join(out, 'd.txt'), 'utf8'), 'precious\n', 'the file outside is intact');
  assert.equal(fs.readFileSync(path.join(out, 'sub', 'e.txt'), 'utf8'), 'precious too\n', 'the folder outside is intact');
}

const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('clean and build never delete or write through a folder linked outside the workspace', () => {
  const { r, out } = withOutside();
  fs.symlinkSync(out, r.path('ext'), 'dir');
  r.config(`{
    targets: [
      { name: 'x', outputs: ['ext/d.txt'], run: ${JSON.stringify(sh('x', 'echo new > ext/d.txt'))} },
      { name: 'w', outputs: ['ext/sub'], run: ${JSON.stringify(sh('w', 'mkdir -p ext/sub; echo new > ext/sub/e.txt'))} },
      { name: 'y', outputs: ['y.txt'], run: ${JSON.stringify(sh('y', 'echo y > y.txt'))} },
    ],
  }`);
  const cleaned = r.run(['clean']);
  assert.equal(cleaned.code, 1, cleaned.stdout + cleaned.stderr);
  assert.match(cleaned.stderr, new RegExp(`not removing the output 'ext/d\\.txt' of target 'x': it resolves to ${re(path.join(out, 'd.txt'))}, outside the workspace ${re(r.dir)} \\(a folder on its way is a symbolic link\\)\\.`));
  assert.match(cleaned.stderr, new RegExp(`not removing the output 'ext/sub' of target 'w': it resolves to ${re(path.join(out, 'sub'))}`));
  assert.match(cleaned.stdout, /removed 0 output\(s\); skipped 2 that resolve\(s\) outside the workspace/);
  intact(out);

  const built = r.run(['-k', 'x', 'w', 'y']);
  assert.equal(built.code, 2, built.stdout + built.stderr);
  assert.match(built.stdout, new RegExp(`✖ x: .*refusing to delete the output 'ext/d\\.txt' of target 'x': it resolves to ${re(path.join(out, 'd.txt'))}, outside the workspace`));
  assert.match(built.stdout, /✖ w: .*refusing to delete the output 'ext\/sub' of target 'w'/);
  assert.deepEqual(r.takeRuns(), ['y'], 'the refused targets did not run; the others did');
  intact(out);
  const lock = JSON.parse(r.read('sbuild.lock'));
  assert.deepEqual(Object.keys(lock.targets), ['y']);
});

test('a cached output is never restored through a folder that became a link', () => {
  const { r, out } = withOutside();
  fs.mkdirSync(r.path('ext'));
  const config = (v: number) => r.config(`{ targets: [
    { name: 'x', outputs: ['ext/d.txt'], params: { v: ${v} }, run: ${JSON.stringify(sh('x', `echo v${v} > ext/d.txt`))} },
  ] }`);
  config(1);
  assert.equal(r.run(['x']).code, 0);
  config(2);
  assert.equal(r.run(['x']).code, 0);
  assert.deepEqual(r.takeRuns(), ['x', 'x']);
  fs.rmSync(r.path('ext'), { recursive: true });
  fs.symlinkSync(out, r.path('ext'), 'dir');
  config(1); // the cache holds this fingerprint's output
  const res = r.run(['x']);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stdout, /refusing to delete the output 'ext\/d\.txt' of target 'x'/);
  assert.doesNotMatch(res.stdout, /restored from cache/);
  assert.deepEqual(r.takeRuns(), []);
  intact(out);
});

test("an output linked into sbuild's own state is refused", () => {
  const r = rig('ws');
  r.config(`{ targets: [ { name: 's', outputs: ['st/logs'], run: ${JSON.stringify(sh('s', 'true'))} } ] }`);
  fs.mkdirSync(r.path('.sbuild/logs'), { recursive: true });
  fs.writeFileSync(r.path('.sbuild/logs/keep.log'), 'kept\n');
  fs.symlinkSync(r.path('.sbuild'), r.path('st'), 'dir');
  const res = r.run(['s']);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stdout, /refusing to delete the output 'st\/logs' of target 's': it resolves to .*\.sbuild\/logs, inside sbuild's own state or \.git/);
  assert.equal(r.read('.sbuild/logs/keep.log'), 'kept\n');
});

test('an output that is itself a link is deleted as a link, never what it points to', () => {
  const { r, out } = withOutside();
  // A link to a folder outside (as a dataset link is) and a link to a file outside.
  fs.symlinkSync(out, r.path('lnk'), 'dir');
  fs.symlinkSync(path.join(out, 'd.txt'), r.path('f.txt'));
  r.config(`{ targets: [
    { name: 'l', outputs: ['lnk'], run: ${JSON.stringify(sh('l', `ln -s ${out} lnk`))} },
    { name: 'f', outputs: ['f.txt'], run: ${JSON.stringify(sh('f', 'echo mine > f.txt'))} },
  ] }`);
  let res = r.run(['l', 'f']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['f', 'l']);
  intact(out);
  assert.equal(r.read('f.txt'), 'mine\n');
  assert.ok(fs.lstatSync(r.path('lnk')).isSymbolicLink());
  res = r.run(['-B', 'l']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  intact(out);
  res = r.run(['clean', 'l']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /removed 1 output\(s\)/);
  assert.ok(!fs.existsSync(r.path('lnk')) && fs.lstatSync(r.path('lnk'), { throwIfNoEntry: false }) === undefined, 'the link is gone');
  intact(out);
  // A broken link as the output is deleted too.
  fs.symlinkSync(path.join(out, 'nowhere'), r.path('lnk'));
  res = r.run(['clean', 'l']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /removed 1 output\(s\)/);
  intact(out);
});

const HOSTILE: Array<[string, RegExp]> = [
  ['../x', /parts may not be '\.' or '\.\.'/],
  ['../../../victim', /parts may not be '\.' or '\.\.'/],
  ['a/../b', /parts may not be '\.' or '\.\.'/],
  ['a//b', /parts may not be empty/],
  ['.', /parts may not be '\.' or '\.\.'/],
  ['a\\b', /may not hold a backslash/],
  ['a\u0007b', /may not hold control characters/],
];

test('target names that would make paths leave .sbuild/logs are config errors at file:line', () => {
  for (const [name, rule] of HOSTILE) {
    const r = rig('ws');
    const top = path.dirname(r.dir);
    r.config(`{
    targets: [
      { name: 'ok', outputs: ['ok.txt'], run: ${JSON.stringify(sh('ok', 'echo > ok.txt'))} },
      { name: ${JSON.stringify(name)}, outputs: ['o.txt'], run: ${JSON.stringify(sh('bad', 'echo > o.txt'))} },
    ],
  }`);
    const res = r.run(['clean']);
    assert.equal(res.code, 2, `${JSON.stringify(name)}: ${res.stdout}${res.stderr}`);
    const shown = JSON.stringify(name).slice(1, -1);
    assert.match(res.stderr, new RegExp(`^tasks\\.config\\.ts:6:\\d+: error: target '${re(shown)}': `), JSON.stringify(name));
    assert.match(res.stderr, rule, JSON.stringify(name));
    assert.match(res.stderr, /A name becomes a path \(its log is \.sbuild\/logs\/<name>\.log\), so it must stay one\. Rename it/);
    assert.equal(res.stderr.trim().split('\n').length, 1, 'one paragraph');
    for (const args of [[], ['ok'], ['list']]) assert.equal(r.run(args).code, 2);
    assert.ok(!r.exists('sbuild.lock'), 'no lock written');
    assert.ok(!r.exists('runs.log'), 'nothing ran');
    assert.ok(!r.exists('.sbuild/logs'), 'no log written');
    assert.deepEqual(fs.readdirSync(top).sort(), ['node_modules', 'ws'], 'nothing written outside');
  }
});

test('a very long name still gets its log inside .sbuild/logs', () => {
  const r = rig();
  const name = `exp/${'n'.repeat(300)}/eval`;
  r.config(`{ targets: [
    { name: '${name}', outputs: ['o.txt'], run: ${JSON.stringify(sh('long', 'echo long-log-line; exit 3'))} },
    { name: 'exp/short', outputs: ['s.txt'], run: ${JSON.stringify(sh('short', 'echo short-log-line; exit 3'))} },
  ] }`);
  const res = r.run(['-k', name, 'exp/short']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  const logs = [...res.stdout.matchAll(/^ {2}log: (.*)$/gm)].map((m) => m[1]!);
  assert.equal(logs.length, 2, res.stdout);
  assert.ok(logs.includes(r.path('.sbuild/logs/exp/short.log')), 'an ordinary name keeps .sbuild/logs/<name>.log');
  const long = logs.find((l) => !l.endsWith('short.log'))!;
  assert.equal(path.dirname(long), r.path('.sbuild/logs'));
  assert.ok(path.basename(long).length < 255, long);
  assert.match(fs.readFileSync(long, 'utf8'), /long-log-line/);
  assert.match(res.stdout, /│ long-log-line/);
});

test('a folder declared in linkedFolders (work_dirs → scratch storage) is written and cleaned where it leads; nothing else outside is', () => {
  const { r, out } = withOutside();
  const scratch = path.join(path.dirname(r.dir), 'scratch');
  fs.mkdirSync(scratch);
  fs.symlinkSync(scratch, r.path('work_dirs'), 'dir');
  fs.symlinkSync(out, r.path('ext'), 'dir');
  const targets = `[
      { name: 'train', outputs: ['work_dirs/a/epoch_1.pth'], run: ${JSON.stringify(sh('train', 'mkdir -p work_dirs/a; echo weights > work_dirs/a/epoch_1.pth'))} },
      { name: 'x', outputs: ['ext/d.txt'], run: ${JSON.stringify(sh('x', 'echo new > ext/d.txt'))} },
    ]`;
  // Without the declaration the link is refused, with the fix in the message.
  r.config(`{ targets: ${targets} }`);
  let res = r.run(['train']);
  assert.equal(res.code, 2);
  assert.match(res.stdout + res.stderr, /name it in the config's `linkedFolders` \(e\.g\. `linkedFolders: \['work_dirs'\]`\)/);
  assert.deepEqual(r.takeRuns(), []);
  r.config(`{ linkedFolders: ['work_dirs'], targets: ${targets} }`);
  res = r.run(['-k', 'train', 'x']);
  assert.equal(res.code, 2, 'ext is not declared: still refused');
  assert.deepEqual(r.takeRuns(), ['train']);
  assert.equal(fs.readFileSync(path.join(scratch, 'a', 'epoch_1.pth'), 'utf8'), 'weights\n');
  intact(out);
  res = r.run(['clean', 'train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(!fs.existsSync(path.join(scratch, 'a', 'epoch_1.pth')), 'cleaned where the link leads');
  assert.ok(fs.lstatSync(r.path('work_dirs')).isSymbolicLink(), 'the link itself stays');
  r.config(`{ linkedFolders: ['../elsewhere'], targets: ${targets} }`);
  res = r.run(['list']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /`linkedFolders` must be a list of workspace folders that are links to storage elsewhere, e\.g\. \['work_dirs'\]; "\.\.\/elsewhere" is not one/);
});
