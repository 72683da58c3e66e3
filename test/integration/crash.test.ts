// kill -9 of sbuild and its children mid-build: a rerun keeps every target that finished
// (replayed from the journal) and reruns exactly the interrupted and unstarted ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { killWithJobs, sh, useRigs, waitFor } from '../helpers/rig.js';

const rig = useRigs();


test('kill -9 mid-build, then a rerun runs exactly the unfinished targets; no half-written output is fresh', async () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  const quick = (n: number) => `{ name: 'q${n}', inputs: ['a.txt'], outputs: ['o/q${n}'], run: ${JSON.stringify(sh(`q${n}`, `cp a.txt o/q${n}`))} },`;
  r.config(`{
    default: 'all',
    targets: [
      ${[1, 2, 3].map(quick).join('\n')}
      { name: 'half', inputs: ['o/q1'], outputs: ['o/half.bin'], run: ${JSON.stringify(sh('half', 'echo partial > o/half.bin; if [ -e slow ]; then sleep 37; fi; cat a.txt >> o/half.bin'))} },
      { name: 'after', inputs: ['o/half.bin', 'o/q2'], outputs: ['o/after'], run: ${JSON.stringify(sh('after', 'cat o/half.bin o/q2 > o/after'))} },
      { name: 'all', deps: ['after', 'q3'] },
    ],
  }`);
  // A complete first build, so the interrupted target has an old record that must not vouch for it.
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  r.write('a.txt', 'b\n');
  r.write('slow', '');
  const child = r.spawn(['-j', '2']);
  await waitFor(() => r.exists('runs.log') && r.read('runs.log').includes('half') && r.read('o/q3') === 'b\n' && r.read('o/q2') === 'b\n');
  // The quick ones are journaled as they finish.
  await waitFor(() => r.buildFile('journal') !== undefined && r.read(r.buildFile('journal')!).split('\n').filter(Boolean).length === 3);
  // sbuild and the whole job tree it started (each job has its own process group).
  // A duration no other test uses: pgrep must find this test's job only (tests run side by side).
  await killWithJobs(child, '^sleep 37$', r.dir);
  assert.deepEqual(r.takeRuns(), ['half', 'q1', 'q2', 'q3']);
  assert.ok(r.buildFile('journal'), 'the journal survived the crash');
  assert.ok(r.buildFile('registration'), 'the dead build left its registration behind');
  fs.rmSync(r.path('slow'));
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /warning: recovered 3 finished target\(s\) from the journal of an interrupted build/);
  assert.deepEqual(r.takeRuns(), ['after', 'half'], 'finished targets kept; the half-written one reran');
  assert.equal(r.read('o/half.bin'), 'partial\nb\n');
  assert.equal(r.buildFile('journal'), undefined, 'journal folded into sbuild.lock');
  assert.deepEqual(fs.readdirSync(r.path('.sbuild/builds')), [], 'the dead build\'s files are gone');
});
