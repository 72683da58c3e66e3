// Two branches ran different experiments: git merges sbuild.lock with sbuild's driver,
// with no conflict to edit by hand, and `status` is right for both experiments after it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { sh, useRigs } from '../helpers/rig.js';

const rig = useRigs();

test('the merge driver merges two branches’ locks target by target; status is right for both', () => {
  const r = rig();
  const git = (...args: string[]) => execFileSync('git', args, { cwd: r.dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
  r.write('configs/a.py', 'a=1\n');
  r.write('configs/b.py', 'b=1\n');
  r.write('.gitignore', 'node_modules\n.sbuild\nruns.log\nmetrics/\n');
  const exp = (e: string) => `{ name: '${e}', inputs: ['configs/${e}.py'], outputs: ['metrics/${e}.json'], run: ${JSON.stringify(sh(e, `wc -c < configs/${e}.py > metrics/${e}.json`))} },`;
  r.config(`{ targets: [ ${exp('a')} ${exp('b')} ] }`);
  git('init', '-q', '-b', 'main');
  const init = r.run(['init']);
  assert.equal(init.code, 0, init.stderr);
  assert.match(r.read('.gitattributes'), /^sbuild\.lock merge=sbuild-lock$/m);
  // The driver runs the sbuild under test.
  git('config', 'merge.sbuild-lock.driver', `${process.execPath} ${r.path('node_modules/sbuild/bin/sbuild.js')} merge-lock %O %A %B %P`);
  r.run(['a', 'b']);
  git('add', '-A');
  git('commit', '-qm', 'base');
  git('checkout', '-qb', 'exp-a');
  r.write('configs/a.py', 'a=22\n');
  r.run(['a']);
  git('commit', '-qam', 'a');
  git('checkout', '-q', 'main');
  git('checkout', '-qb', 'exp-b');
  r.write('configs/b.py', 'b=333\n');
  r.run(['b']);
  git('commit', '-qam', 'b');
  git('checkout', '-q', 'exp-a');
  r.takeRuns();
  git('merge', '-q', '--no-edit', 'exp-b');
  const lock = r.read('sbuild.lock');
  assert.ok(!lock.includes('<<<<<<<'), 'no conflict markers');
  const status = r.run(['status', '--exit-code']);
  assert.equal(status.code, 0, status.stdout);
  assert.match(status.stdout, /2 fresh, 0 stale, 0 missing/);
  r.run(['a', 'b']);
  assert.deepEqual(r.takeRuns(), []);
  // Both branches changed one experiment differently: the entry matching the work tree wins.
  git('checkout', '-qb', 'x1');
  r.write('configs/a.py', 'a=4444\n');
  r.run(['a']);
  git('commit', '-qam', 'x1');
  git('checkout', '-q', 'exp-a');
  git('checkout', '-qb', 'x2');
  r.write('configs/a.py', 'a=55555\n');
  r.run(['a']);
  git('commit', '-qam', 'x2');
  let conflicted = false;
  try {
    git('merge', '-q', '--no-edit', 'x1');
  } catch {
    conflicted = true; // configs/a.py conflicts as text; sbuild.lock must not (outputs are untracked here)
  }
  assert.ok(conflicted);
  assert.ok(!r.read('sbuild.lock').includes('<<<<<<<'));
  r.write('configs/a.py', 'a=55555\n');
  assert.match(r.run(['status']).stdout, /^fresh {3}a$/m, 'ours matches the work tree (x2 built it)');
});
