// DESIGN "Staleness 5": a clone with sbuild.lock and the tracked small outputs but no
// checkpoints (and no .sbuild/) runs nothing whose recorded inputs still match; a missing
// intermediate is produced only when something that must run needs it, or when asked for.
// And the demo itself, in a fresh copy: what each group runs there is what the README says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, Rig, sh, useRigs } from '../helpers/rig.js';
import { useClones } from '../helpers/clone.js';

const rig = useRigs();
const demoClone = useClones();

/** data → {a,b}/train (checkpoint, untracked) → {a,b}/eval (metrics, tracked) → table (tracked). */
function workspace(): Rig {
  const r = rig();
  r.write('raw.txt', 'raw\n');
  r.write('configs/a.py', 'lr=1\n');
  r.write('configs/b.py', 'lr=2\n');
  const exp = (e: string) => `
      { name: '${e}/train', inputs: ['configs/${e}.py', 'data/ds.txt'], outputs: ['work_dirs/${e}/model.ckpt'], resources: { gpu: 1 }, cpuFallback: true,
        run: ${JSON.stringify(sh(`${e}/train`, `cat configs/${e}.py data/ds.txt > work_dirs/${e}/model.ckpt`))} },
      { name: '${e}/eval', inputs: ['work_dirs/${e}/model.ckpt'], outputs: ['work_dirs/${e}/val_metrics.json'],
        run: ${JSON.stringify(sh(`${e}/eval`, `wc -c < work_dirs/${e}/model.ckpt > work_dirs/${e}/val_metrics.json`))} },`;
  r.config(`{
    default: 'release',
    targets: [
      { name: 'data', inputs: ['raw.txt'], outputs: ['data/ds.txt'], run: ${JSON.stringify(sh('data', 'cp raw.txt data/ds.txt'))} },
      ${exp('a')}
      ${exp('b')}
      { name: 'table', inputs: ['work_dirs/**/*_metrics.json'], outputs: ['results.tsv'], run: ${JSON.stringify(sh('table', 'cat work_dirs/*/val_metrics.json > results.tsv'))} },
      { name: 'release', deps: ['table'] },
    ],
  }`);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['a/eval', 'a/train', 'b/eval', 'b/train', 'data', 'table']);
  // The clone: keep what git tracks (lock, configs, metrics, table); drop data, checkpoints, .sbuild.
  for (const p of ['.sbuild', 'data', 'work_dirs/a/model.ckpt', 'work_dirs/b/model.ckpt']) fs.rmSync(r.path(p), { recursive: true });
  return r;
}

test('nothing runs for release in a clone whose recorded inputs match', () => {
  const r = workspace();
  const dry = r.run(['--dry-run']);
  assert.match(dry.stdout, /dry run: 0 would run/);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), []);
  assert.match(res.stdout, /0 ran, 6 fresh/);
  assert.ok(!r.exists('work_dirs/a/model.ckpt'), 'no checkpoint was recreated');
  assert.match(r.run(['status']).stdout, /^missing a\/train — output work_dirs\/a\/model\.ckpt is missing$/m);
  // The CI guard: what the release needs matches its record; absent checkpoints do not fail it.
  const guard = r.run(['status', '--exit-code', 'release']);
  assert.equal(guard.code, 0, guard.stdout);
  assert.match(guard.stdout, /6 fresh, 0 stale, 0 missing/);
  r.write('configs/a.py', 'lr=9\n');
  assert.equal(r.run(['status', '--exit-code', 'release']).code, 1, 'a changed config fails the guard');
  r.write('configs/a.py', 'lr=1\n');
});

test('a changed config retrains only its experiment (producing the missing dataset it needs first)', () => {
  const r = workspace();
  r.write('configs/b.py', 'lr=33\n');
  const dry = r.run(['-n']);
  assert.match(dry.stdout, /^would run data\n\s+output data\/ds\.txt is missing\n\s+needed by b\/train, which must run$/m, 'the dry run lists the missing dataset too');
  assert.match(dry.stdout, /dry run: 4 would run/);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['b/eval', 'b/train', 'data', 'table']);
  assert.match(res.stdout, /▶ data — output data\/ds\.txt is missing \(\+1 more\)/);
  assert.ok(!r.exists('work_dirs/a/model.ckpt'), 'experiment a was not retrained');
  assert.equal(r.read('results.tsv'), '9\n10\n');
});

test('a missing intermediate is produced when asked for by name, or needed by a dependent that must run', () => {
  const r = workspace();
  r.run(['a/train']);
  assert.deepEqual(r.takeRuns(), ['a/train', 'data']);
  assert.equal(r.read('work_dirs/a/model.ckpt'), 'lr=1\nraw\n');
  fs.rmSync(r.path('work_dirs/a/val_metrics.json'));
  r.run([]);
  assert.deepEqual(r.takeRuns(), [], 'release does not need the deleted metrics: the table still matches its record');
  r.run(['a/eval']);
  assert.deepEqual(r.takeRuns(), ['a/eval'], 'asked for by name, it is rebuilt from the existing checkpoint');
  // A rerun that needs a missing checkpoint gets it from the cache when the cache has it.
  fs.rmSync(r.path('work_dirs/a/model.ckpt'));
  r.write('work_dirs/a/val_metrics.json', 'tampered\n');
  const res = r.run(['a/eval']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), []);
  assert.match(res.stdout, /↺ a\/eval restored from cache/);
  fs.rmSync(r.path('.sbuild/cache'), { recursive: true });
  fs.rmSync(r.path('work_dirs/a/model.ckpt'), { force: true });
  r.write('configs/a.py', 'lr=11\n');
  const res2 = r.run(['b/eval', 'a/eval']);
  assert.equal(res2.code, 0, res2.stdout + res2.stderr);
  assert.deepEqual(r.takeRuns(), ['a/eval', 'a/train']);
});

/** A workspace built once, then stripped of the named outputs and .sbuild/ (a clone). */
function stripped(targets: string, remove: string[], build: string[] = ['all']): Rig {
  const r = rig();
  r.config(`{ targets: [ ${targets} ] }`, "const V = process.env.CV ?? '1';");
  const res = r.run(build);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  r.takeRuns();
  for (const p of [...remove, '.sbuild']) fs.rmSync(r.path(p), { recursive: true, force: true });
  return r;
}

test('dependents that must run wait for an absent upstream that is already being produced', () => {
  const r = stripped(`
    { name: 'a', outputs: ['a.txt'], run: ${JSON.stringify(sh('a', 'sleep 0.5; echo A > a.txt'))} },
    { name: 'c', inputs: ['a.txt'], outputs: ['c.txt'], params: { v: V }, run: ${JSON.stringify(sh('c', 'cat a.txt > c.txt'))} },
    { name: 'd', inputs: ['a.txt'], outputs: ['d.txt'], params: { v: V }, run: ${JSON.stringify(sh('d', 'cat a.txt > d.txt'))} },
    { name: 'all', deps: ['c', 'd'] },`, ['a.txt']);
  const res = r.run(['all', '-j', '4'], { CV: '2' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['a', 'c', 'd']);
  assert.equal(r.read('d.txt'), 'A\n');
});

test('an absent upstream produced with other bytes than its record: fresh dependents are judged again', () => {
  const r = stripped(`
    { name: 'a', outputs: ['a.txt'], run: ${JSON.stringify(sh('a', 'date +%N > a.txt'))} },
    { name: 'c', inputs: ['a.txt'], outputs: ['c.txt'], run: ${JSON.stringify(sh('c', 'cat a.txt > c.txt'))} },
    { name: 'd', inputs: ['a.txt'], outputs: ['d.txt'], params: { v: V }, run: ${JSON.stringify(sh('d', 'cat a.txt > d.txt'))} },
    { name: 'all', deps: ['c', 'd'] },`, ['a.txt']);
  const res = r.run(['all', '-j', '1'], { CV: '2' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['a', 'c', 'd']);
  assert.equal(r.read('c.txt'), r.read('a.txt'));
  assert.equal(r.run(['status', '--exit-code', 'all'], { CV: '2' }).code, 0, 'one build leaves everything fresh');
});

test('a file read from inside an absent upstream output folder is trusted by its recorded folder hash', () => {
  const r = stripped(`
    { name: 'train', outputs: ['ck'], run: ${JSON.stringify(sh('train', 'mkdir -p ck; echo W > ck/model.bin; date +%N > ck/log.txt'))} },
    { name: 'eval', inputs: ['ck/model.bin'], outputs: ['metrics.json'], run: ${JSON.stringify(sh('eval', 'cat ck/model.bin > metrics.json'))} },`, ['ck'], ['eval']);
  const res = r.run(['eval']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), [], 'no retraining in a fresh clone');
  r.run(['train']);
  r.takeRuns();
  r.run(['eval']);
  assert.deepEqual(r.takeRuns(), [], 'a rerun that changes only the log leaves eval fresh');
});

test('a failed production keeps the records of absent targets that never ran', () => {
  const r = stripped(`
    { name: 'a', outputs: ['a.txt'], run: ${JSON.stringify(sh('a', 'test -z "$FAIL" && echo A > a.txt'))} },
    { name: 'b', inputs: ['a.txt'], outputs: ['b.txt'], run: ${JSON.stringify(sh('b', 'cat a.txt > b.txt'))} },
    { name: 'c', inputs: ['b.txt'], outputs: ['c.txt'], params: { v: V }, run: ${JSON.stringify(sh('c', 'cat b.txt > c.txt'))} },
    { name: 'd', inputs: ['b.txt'], outputs: ['d.txt'], run: ${JSON.stringify(sh('d', 'cat b.txt > d.txt'))} },
    { name: 'all', deps: ['c', 'd'] },`, ['a.txt', 'b.txt']);
  const res = r.run(['c', '-k'], { CV: '2', FAIL: '1' });
  assert.equal(res.code, 1);
  assert.match(res.stdout, /1 failed, 2 not run/);
  assert.deepEqual(r.takeRuns(), ['a']);
  const lock = JSON.parse(r.read('sbuild.lock'));
  assert.ok(lock.targets.b, 'b never ran: its record stays');
  r.run(['d']);
  assert.deepEqual(r.takeRuns(), [], 'd is still fresh on the records');
});

interface GroupRow {
  fresh: number;
  run: number;
  /** The row's last cell: what runs. */
  what: string;
}

/** README's table of what a fresh clone of the demo runs per group (`| \`group\` | fresh | to run | what |`). */
function documentedGroups(): Map<string, GroupRow> {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = /^## Cache, fresh clones, teams$([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README has a "Cache, fresh clones, teams" section');
  const rows = new Map<string, GroupRow>();
  for (const m of section.matchAll(/^\s*\| `([a-z]+)` \| (\d+) \| (\d+) \| (.+) \|$/gm)) rows.set(m[1]!, { fresh: Number(m[2]), run: Number(m[3]), what: m[4]! });
  return rows;
}

// The kinds of target the release row names, each with how the row counts it ("the 6 trainings";
// a kind named without a number is one target).
const KINDS: Array<[kind: RegExp, text: RegExp]> = [
  [/^exp\/[^/]+\/(smoke|full)\/train$/, /the (\d+) trainings/],
  [/^tools$/, /the demo programs/],
  [/^dataset(\/source)?$/, /the dataset \((\d+) targets\)/],
  [/^weights\/clutter-prior$/, /the clutter prior/],
  [/^vis\//, /the (\d+) visualisation targets/],
  [/^release\/(checkpoints|logs|visualizations|metrics)$/, /the (\d+) zips/],
  [/^release\/check$/, /the check/],
  [/^release\/bundle$/, /the bundle/],
];

test('a fresh copy of the demo: each group runs what the README documents (status and --dry-run), and the other docs give the same numbers', () => {
  const docs = documentedGroups();
  assert.deepEqual([...docs.keys()], ['tables', 'smoke', 'full', 'release'], 'the README documents every group of the demo');
  const dir = demoClone();
  const sbuild = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', SARDET_ROOT: '' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return r.stdout;
  };
  for (const [group, doc] of docs) {
    assert.match(sbuild(['--dry-run', group]), new RegExp(`^sbuild: dry run: ${doc.run} would run, ${doc.fresh} fresh$`, 'm'), group);
    // status says the same: what would run is stale, or missing (a recorded output that is gone).
    const status = sbuild(['status', group]);
    const summary = /^sbuild: (\d+) fresh, (\d+) stale, (\d+) missing$/m.exec(status);
    assert.ok(summary, status);
    assert.deepEqual([Number(summary[1]), Number(summary[2]) + Number(summary[3])], [doc.fresh, doc.run], `${group}: ${summary[0]}`);
    const toRun = [...status.matchAll(/^(?:stale|missing) +(\S+)/gm)].map((m) => m[1]!);
    assert.equal(toRun.length, doc.run, group);
    if (doc.run === 0) {
      assert.match(doc.what, /^nothing:/, `${group}: the row says nothing runs`);
      continue;
    }
    // Every target that runs is of a kind the row names, as many as it says.
    for (const [kind, text] of KINDS) {
      const said = text.exec(doc.what);
      assert.ok(said, `${group}: the row names ${text}`);
      assert.equal(toRun.filter((n) => kind.test(n)).length, said[1] === undefined ? 1 : Number(said[1]), `${group}: ${text}`);
    }
    assert.deepEqual(toRun.filter((n) => !KINDS.some(([kind]) => kind.test(n))), [], `${group}: no target of a kind the row leaves out`);
  }
  const release = docs.get('release')!;
  for (const file of ['docs/CI.md', 'docs/RESULTS_BUNDLE.md']) {
    const m = /runs (\d+) of (?:the|its) (\d+) targets/.exec(fs.readFileSync(path.join(REPO, file), 'utf8'));
    assert.ok(m, `${file} says how many targets release runs in a fresh clone`);
    assert.deepEqual([Number(m[1]), Number(m[2])], [release.run, release.run + release.fresh], file);
  }
});
