// The no-op snapshot answers "nothing changed" without evaluating the graph. Every kind of
// change must fall back to the full path (and rerun exactly what the change stales).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Rig, ageAll, collect, sh, twoCopies, useRigs, waitFor } from '../helpers/rig.js';

const rig = useRigs();

/** Builds until a snapshot is recorded, then returns whether the next build used it. */
function settle(r: Rig, args: string[] = [], env: NodeJS.ProcessEnv = {}): void {
  r.run(args, env);
  ageAll(r.dir);
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
    ['same-size content edit with an old mtime', () => { r.write('a.txt', 'jello\n'); ageAll(r.dir); }, ['table', 'upper']],
    ['a new file matching the glob', () => { r.write('m/y_metrics.json', '2\n'); ageAll(r.dir); }, ['table']],
    ['a matching file removed (back to an earlier state: restored)', () => { fs.rmSync(r.path('m/y_metrics.json')); ageAll(r.dir); }, []],
    ['an output deleted (restored from the cache)', () => fs.rmSync(r.path('out/table.txt')), []],
    ['an output modified (restored from the cache; table stays fresh)', () => { r.write('out/upper.txt', 'XXXXXX\n'); ageAll(r.dir); }, []],
    ['the config', () => { r.write('tasks.config.ts', r.read('tasks.config.ts').replace("cat m/", "cat  m/")); ageAll(r.dir); }, ['table']],
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
  ageAll(r.dir);
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

/** How many targets the build judged, and of how many (from SBUILD_TIMING's plan line); undefined: answered by the snapshot. */
function judged(r: Rig, env: NodeJS.ProcessEnv = {}): string | undefined {
  const res = r.run([], { ...env, SBUILD_TIMING: '1' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  return /plan \((\d+\/\d+) judged\)/.exec(res.stderr)?.[1];
}

test('dirty-set planning: after a change, only what it touches and what is downstream is judged', () => {
  const r = rig();
  const chain = (k: number) => `
      { name: 'prep${k}', inputs: ['in/${k}.txt'], outputs: ['out/${k}/prep.txt'], run: ${JSON.stringify(sh(`prep${k}`, `mkdir -p out/${k} && cp in/${k}.txt out/${k}/prep.txt`))} },
      { name: 'train${k}', inputs: ['out/${k}/prep.txt'], outputs: ['out/${k}/model.txt'], env: ['SEED${k}'], run: ${JSON.stringify(sh(`train${k}`, `cat out/${k}/prep.txt out/${k}/prep.txt > out/${k}/model.txt`))} },`;
  for (let k = 0; k < 4; k++) r.write(`in/${k}.txt`, `${k}\n`);
  r.write('notes/keep.md', 'x\n');
  r.config(`{
    default: 'all',
    targets: [${[0, 1, 2, 3].map(chain).join('')}
      { name: 'table', inputs: ['out/*/model.txt'], outputs: ['out/table.txt'], run: ${JSON.stringify(sh('table', 'cat out/*/model.txt > out/table.txt'))} },
      { name: 'all', deps: ['table'] },
    ],
  }`);
  /** Ages every file, judges everything once (a snapshot of old stats), and checks the next build is answered by it. */
  const settleOld = (env: NodeJS.ProcessEnv = {}) => {
    ageAll(r.dir);
    assert.equal(judged(r, env), '9/9', 'every stat moved: everything is judged (by content: nothing runs)');
    assert.equal(judged(r, env), undefined, 'answered by the snapshot');
    assert.deepEqual(r.takeRuns(), []);
  };
  /** Writes a file with an old mtime, so only its own stat differs (and it is not too young to vouch for). */
  const edit = (rel: string, content: string) => {
    r.write(rel, content);
    const past = new Date(Date.now() - 5_000);
    fs.utimesSync(r.path(rel), past, past);
  };
  assert.equal(judged(r), '9/9', 'the first build judges everything');
  assert.equal(r.takeRuns().length, 9);
  // Right after a build, outputs younger than the timestamp slack cannot vouch for their content:
  // their targets and what is downstream are judged again (on a fast machine every output is
  // that young: all 9); with none that young, the snapshot answers. Nothing runs either way.
  assert.match(judged(r) ?? 'snapshot', /^([1-9]\/9|snapshot)$/);
  assert.deepEqual(r.takeRuns(), []);
  settleOld();
  // One input edited: its chain and the table are judged, the other three chains are not.
  edit('in/2.txt', 'two\n');
  assert.equal(judged(r), '3/9');
  assert.deepEqual(r.takeRuns(), ['prep2', 'table', 'train2']);
  // The next build judges at most what that build wrote (if still too young to vouch for).
  assert.match(judged(r) ?? 'snapshot', /^([1-3]\/9|snapshot)$/);
  assert.deepEqual(r.takeRuns(), []);
  settleOld();
  // A reverted edit: judged again, restored from the cache, nothing runs.
  edit('in/2.txt', '2\n');
  assert.equal(judged(r), '3/9');
  assert.deepEqual(r.takeRuns(), []);
  settleOld();
  // A declared env value: its target and what is downstream are judged; train1 reruns and, as
  // it writes the same bytes, the table stays fresh (early cutoff).
  assert.equal(judged(r, { SEED1: 'x' }), '2/9');
  assert.deepEqual(r.takeRuns(), ['train1']);
  settleOld({ SEED1: 'x' });
  // An output deleted by hand: its owner and what is downstream; the cache brings it back.
  fs.rmSync(r.path('out/0/prep.txt'));
  assert.equal(judged(r, { SEED1: 'x' }), '3/9');
  assert.equal(r.read('out/0/prep.txt'), '0\n');
  assert.deepEqual(r.takeRuns(), []);
  settleOld({ SEED1: 'x' });
  // A new file where the table's glob looks: the table is judged (and runs), nothing else.
  edit('out/9/model.txt', '9\n');
  assert.equal(judged(r, { SEED1: 'x' }), '1/9');
  assert.deepEqual(r.takeRuns(), ['table']);
  settleOld({ SEED1: 'x' });
  // A file no target reads is never looked at: the snapshot still answers.
  edit('notes/keep.md', 'y\n');
  assert.equal(judged(r, { SEED1: 'x' }), undefined);
  // Another config setting: everything is judged.
  r.write('tasks.config.ts', r.read('tasks.config.ts').replace("default: 'all',", "default: 'all', gpus: [],"));
  assert.equal(judged(r, { SEED1: 'x' }), '9/9');
  assert.deepEqual(r.takeRuns(), []);
  // sbuild.lock rewritten with the same content (a checkout and back): still a delta, not a full judgment.
  settleOld({ SEED1: 'x' });
  const lock = r.read('sbuild.lock');
  fs.rmSync(r.path('sbuild.lock'));
  r.write('sbuild.lock', lock);
  edit('in/3.txt', 'three\n');
  assert.equal(judged(r, { SEED1: 'x' }), '3/9');
  assert.deepEqual(r.takeRuns(), ['prep3', 'table', 'train3']);
  // ... and with other content (an entry gone): everything.
  settleOld({ SEED1: 'x' });
  const l = JSON.parse(r.read('sbuild.lock'));
  delete l.targets.prep0;
  r.write('sbuild.lock', JSON.stringify(l, null, 2));
  assert.equal(judged(r, { SEED1: 'x' }), '9/9');
  assert.deepEqual(r.takeRuns(), []);
});

test('dirty-set planning: an absent intermediate is produced when a dependent that reads it must run', () => {
  const r = rig();
  r.write('in/a.txt', 'A\n');
  r.write('in/b.txt', 'B\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'a', inputs: ['in/a.txt'], outputs: ['o/a'], run: ${JSON.stringify(sh('a', 'mkdir -p o; cp in/a.txt o/a'))} },
      { name: 'b', inputs: ['in/b.txt'], outputs: ['o/b'], run: ${JSON.stringify(sh('b', 'mkdir -p o; cp in/b.txt o/b'))} },
      { name: 'cat', inputs: ['o/a', 'o/b'], outputs: ['o/cat'], run: ${JSON.stringify(sh('cat', 'cat o/a o/b > o/cat'))} },
      { name: 'all', deps: ['cat'] },
    ],
  }`);
  assert.equal(judged(r), '3/3');
  assert.deepEqual(r.takeRuns(), ['a', 'b', 'cat']);
  // a's output gone and in no cache: a stays absent (fresh by its record), and the snapshot
  // recorded after that build says so.
  fs.rmSync(r.path('.sbuild/cache'), { recursive: true, force: true });
  fs.rmSync(r.path('o/a'));
  ageAll(r.dir);
  judged(r);
  ageAll(r.dir);
  judged(r);
  assert.equal(judged(r), undefined, 'answered by the snapshot');
  assert.ok(!r.exists('o/a'));
  // cat must run: a is judged (not taken from its entry), found absent, and produced first.
  r.write('in/b.txt', 'B2\n');
  const past = new Date(Date.now() - 5_000);
  fs.utimesSync(r.path('in/b.txt'), past, past);
  const res = r.run([], { SBUILD_TIMING: '1' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stderr, /plan \(3\/3 judged\)/);
  assert.deepEqual(r.takeRuns(), ['a', 'b', 'cat']);
  assert.equal(r.read('o/cat'), 'A\nB2\n');
});


test('a file added to a listed folder while a build runs is not taken as seen by the snapshot', async () => {
  // The table's glob is listed when the build starts; `slow` then runs for a while, and a
  // new metrics file lands meanwhile. The folder's stat recorded in the snapshot must be the
  // one from before its listing, or the next build takes the table as fresh without the file.
  const r = rig();
  r.write('a.txt', 'one\n');
  r.write('m/x_metrics.json', '1\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'slow', inputs: ['a.txt'], outputs: ['out/slow.txt'], run: ${JSON.stringify(sh('slow', 'sleep 1.2; cp a.txt out/slow.txt; sleep 0.3'))} },
      { name: 'table', inputs: ['m/*_metrics.json'], outputs: ['out/table.txt'], run: ${JSON.stringify(sh('table', 'cat m/*_metrics.json > out/table.txt'))} },
      { name: 'all', deps: ['slow', 'table'] },
    ],
  }`);
  settle(r);
  assert.ok(usesSnapshot(r));
  r.write('a.txt', 'two\n');
  ageAll(r.dir);
  const child = r.spawn([]);
  const done = collect(child);
  await waitFor(() => r.exists('runs.log') && r.read('runs.log').includes('slow'));
  r.write('m/y_metrics.json', '2\n');
  const res = await done;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['slow']);
  // Whatever the snapshot recorded, the next build sees the new file.
  const next = r.run([]);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.deepEqual(r.takeRuns(), ['table']);
  assert.equal(r.read('out/table.txt'), '1\n2\n');
});

/** Makes `rel` a named pipe whose reader gets `text`; `hold()` waits until a reader has it open (then the reader is blocked), `release()` lets it read. */
function pipe(r: Rig, rel: string): { hold(): Promise<void>; release(text: string): void } {
  const file = r.path(rel);
  fs.rmSync(file, { force: true });
  execFileSync('mkfifo', [file]);
  let fd: number | undefined;
  return {
    // Opening the pipe for writing succeeds once the build has it open for reading.
    hold: () => waitFor(() => {
      try {
        fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        return true;
      } catch {
        return false;
      }
    }),
    release(text) {
      fs.writeSync(fd!, text);
      fs.closeSync(fd!);
    },
  };
}

test('dirty-set planning: a build or command that started after the snapshot was checked voids what the check saw', async () => {
  // A build reads the snapshot, stats its paths, reads the stat cache, then plans. Here the
  // snapshot and the stat cache are named pipes, so the build waits on each; meanwhile
  // "another command" takes the next build number (as every build and writing command does),
  // once while the snapshot is read and once while the stat cache is, and removes q's output
  // without touching sbuild.lock (what a build whose job failed, or `sbuild clean`, leaves).
  // Planned from the stale check, q would be taken as fresh with its output gone.
  const r = rig();
  twoCopies(r);
  settle(r);
  // What a writing command does to the build number.
  const { lastSeq, nextSeq } = await import('../../src/engine/live-builds.js');
  const before = lastSeq(r.dir);
  assert.equal(r.run(['clean', 'q']).code, 0);
  assert.equal(lastSeq(r.dir), before + 1, '`sbuild clean` takes a build number');
  for (const when of ['snapshot', 'stat cache'] as const) {
    settle(r);
    assert.equal(r.read('out/q.txt'), 'q\n');
    // A change to p: the next build plans from the snapshot's delta.
    r.write('p.txt', `p ${when}\n`);
    const past = new Date(Date.now() - 5_000);
    fs.utimesSync(r.path('p.txt'), past, past);
    const snapshotText = r.read('.sbuild/noop.json');
    const snapshot = pipe(r, '.sbuild/noop.json');
    const cache = pipe(r, '.sbuild/stat-cache.json');
    const done = collect(r.spawn([], { SBUILD_TIMING: '1' }));
    await snapshot.hold();
    if (when === 'snapshot') nextSeq(r.dir);
    snapshot.release(snapshotText);
    await cache.hold();
    // Read: a plain file again (the build reads it once more when it writes the next snapshot).
    fs.writeFileSync(r.path('.sbuild/noop.json.tmp'), snapshotText);
    fs.renameSync(r.path('.sbuild/noop.json.tmp'), r.path('.sbuild/noop.json'));
    if (when === 'stat cache') nextSeq(r.dir);
    fs.rmSync(r.path('out/q.txt'));
    cache.release('{"format":2,"entries":{}}');
    const res = await done;
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stderr, /plan \(2\/2 judged\)/, `number taken while the ${when} is read: every target is judged`);
    assert.equal(r.read('out/q.txt'), 'q\n', 'q is made whole again, not taken as fresh');
    assert.equal(r.read('out/p.txt'), `p ${when}\n`);
  }
});

test('dirty-set planning: a target the snapshot never checked (newly in the selection) is judged, not taken from its old entry', () => {
  const r = rig();
  r.write('a.txt', 'a1\n');
  r.write('b.txt', 'b1\n');
  const config = (members: string) => r.config(`{
    default: 'all',
    targets: [
      { name: 'a', inputs: ['a.txt'], outputs: ['out/a.txt'], run: ${JSON.stringify(sh('a', 'mkdir -p out && cp a.txt out/a.txt'))} },
      { name: 'b', inputs: ['b.txt'], outputs: ['out/b.txt'], run: ${JSON.stringify(sh('b', 'mkdir -p out && cp b.txt out/b.txt'))} },
      { name: 'all', deps: [${members}] },
    ],
  }`);
  config("'a'");
  assert.equal(r.run(['b']).code, 0); // b has an entry in sbuild.lock
  settle(r); // the snapshot checked a (the selection 'all' holds only a)
  assert.deepEqual(r.takeRuns(), []);
  // b goes stale and its output goes missing, then the group takes b in.
  r.write('b.txt', 'b2\n');
  config("'a', 'b'");
  assert.equal(judged(r), '1/2', 'b is judged; a is as the snapshot checked it');
  assert.deepEqual(r.takeRuns(), ['b']);
  assert.equal(r.read('out/b.txt'), 'b2\n');
  // a leaves the selection, its output is deleted, and it comes back.
  config("'b'");
  settle(r);
  fs.rmSync(r.path('out/a.txt'));
  config("'a', 'b'");
  assert.equal(judged(r), '1/2', 'a is judged; b is as the snapshot checked it');
  assert.deepEqual(r.takeRuns(), [], 'a is restored from the cache, not run');
  assert.equal(r.read('out/a.txt'), 'a1\n');
});

test('a glob whose folder is absent, or whose matching link leads nowhere, sees what appears there later', () => {
  const r = rig();
  r.write('data/a.txt', 'A\n');
  fs.symlinkSync('../ext/x.txt', r.path('data/link.txt')); // ext/x.txt does not exist yet
  r.config(`{
    default: 'all',
    targets: [
      { name: 'cat', inputs: ['data/*.txt'], outputs: ['out/cat.txt'], run: ${JSON.stringify(sh('cat', 'mkdir -p out && cat data/*.txt > out/cat.txt 2>/dev/null || true'))} },
      { name: 'gen', outputs: ['gen/a.txt'], cache: false, run: ${JSON.stringify(sh('gen', 'mkdir -p gen && echo G > gen/a.txt'))} },
      { name: 'list', inputs: ['gen/**/*.txt'], outputs: ['out/list.txt'], run: ${JSON.stringify(sh('list', 'mkdir -p out && ls -R gen > out/list.txt'))} },
      { name: 'all', deps: ['cat', 'list'] },
    ],
  }`);
  assert.equal(r.run([]).code, 0);
  fs.rmSync(r.path('gen'), { recursive: true }); // an absent intermediate: the glob's base is gone
  settle(r);
  assert.equal(r.read('out/cat.txt'), 'A\n');
  // The link's file appears outside the listed folder, and the glob's absent base appears:
  // neither changes a stat the listings recorded.
  r.write('ext/x.txt', 'X\n');
  r.write('gen/sub/extra.txt', 'E\n');
  assert.equal(usesSnapshot(r), false);
  assert.deepEqual(r.takeRuns().sort(), ['cat', 'gen', 'list']);
  assert.equal(r.read('out/cat.txt'), 'A\nX\n');
  assert.match(r.read('out/list.txt'), /^gen:\na\.txt\nsub\n\ngen\/sub:\nextra\.txt\n$/);
});
