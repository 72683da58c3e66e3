// `sbuild results`: a row per experiment × run × commit, read from each commit's sbuild.lock
// and git objects (no checkout), with the params that set an experiment's rows apart. A test
// repository of three commits: a config change, a variant added, a metrics file edited by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { useRigs } from '../helpers/rig.js';
import { variantsWorkspace } from '../helpers/variants-workspace.js';
import { resultsHistory, configure } from '../helpers/results-history.js';

const rig = useRigs();
const history = () => resultsHistory(rig());

interface Json {
  sides: Array<{ label: string; commit: string | null; subject: string; recorded: boolean }>;
  rows: Array<{ experiment: string; base: string; run: string; side: number; metrics: Record<string, unknown>; params: Record<string, unknown>; declared: boolean; unrecorded: string[] }>;
  columns: string[];
  paramKeys: string[];
}

test('results --across three commits: a row per experiment × run × commit, the params that differ, every number', () => {
  const { r, c } = history();
  const res = r.run(['results', '--across', `${c[0]}..HEAD`, '--json']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const t = JSON.parse(res.stdout) as Json;
  assert.deepEqual(t.sides.map((s) => [s.commit, s.subject, s.recorded]), [[c[0], 'a at lr 1, b at lr 3', true], [c[1], 'a: lr 2', true], [c[2], 'variant a@lr=4; b val edited', true]]);
  assert.deepEqual(t.columns, ['val.AP', 'val.AP50', 'val.per_class_AP.ship', 'test.AP', 'test.AP50', 'test.per_class_AP.ship']);
  assert.deepEqual(t.paramKeys, ['lr']);
  const row = (e: string, side: number, lr: number | undefined, ap: [number, number, number, number], unrecorded: string[] = []) => ({
    experiment: e, base: e.split('@')[0], run: 'full', side,
    metrics: { 'val.AP': ap[0], 'val.AP50': ap[1], 'val.per_class_AP.ship': ap[0] === 0.99 ? 3 : lr ?? 3, 'test.AP': ap[2], 'test.AP50': ap[3], 'test.per_class_AP.ship': lr ?? 3 },
    params: lr === undefined ? {} : { lr }, declared: true, unrecorded,
  });
  assert.deepEqual(t.rows, [
    row('a', 0, 1, [0.1, 0.2, 0.2, 0.4]),
    row('a', 1, 2, [0.2, 0.4, 0.4, 0.8]),
    row('a', 2, 2, [0.2, 0.4, 0.4, 0.8]),
    row('a@lr=4', 2, 4, [0.4, 0.8, 0.8, 1.6]),
    // b's lr never changed: no params column for its rows. Its hand-edited file is marked.
    row('b', 0, undefined, [0.3, 0.6, 0.6, 1.2]),
    row('b', 1, undefined, [0.3, 0.6, 0.6, 1.2]),
    row('b', 2, undefined, [0.99, 0.6, 0.6, 1.2], ['work/b/val_metrics.json']),
  ]);

  // The same table as text: top-level numbers only, the commits listed under it.
  const s = (h: string | undefined) => h!.slice(0, 7);
  const text = r.run(['results', '--across', `${s(c[0])}..`]);
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.equal(text.stdout, [
    'experiment  run   commit   params  val.AP  val.AP50  test.AP  test.AP50',
    `a           full  ${s(c[0])}  lr=1       0.1       0.2      0.2        0.4`,
    `a           full  ${s(c[1])}  lr=2       0.2       0.4      0.4        0.8`,
    `a           full  ${s(c[2])}  lr=2       0.2       0.4      0.4        0.8`,
    `a@lr=4      full  ${s(c[2])}  lr=4       0.4       0.8      0.8        1.6`,
    `b           full  ${s(c[0])}  –          0.3       0.6      0.6        1.2`,
    `b           full  ${s(c[1])}  –          0.3       0.6      0.6        1.2`,
    `b *         full  ${s(c[2])}  –         0.99       0.6      0.6        1.2`,
    '',
    '* a metrics file differs from what sbuild.lock recorded there (edited by hand, or not rebuilt)',
    '',
    `${s(c[0])}  a at lr 1, b at lr 3`,
    `${s(c[1])}  a: lr 2`,
    `${s(c[2])}  variant a@lr=4; b val edited`,
    '',
  ].join('\n'));

  // Markdown: the same cells.
  const md = r.run(['results', '--across', 'HEAD~1..HEAD', '--md']).stdout.split('\n');
  assert.equal(md[0], '| experiment | run | commit | params | val.AP | val.AP50 | test.AP | test.AP50 |');
  assert.equal(md[1], '|---|---|---|---|---:|---:|---:|---:|');
  assert.equal(md[4], `| a@lr=4 | full | ${s(c[2])} | lr=4 | 0.4 | 0.8 | 0.8 | 1.6 |`);
});

test('results: the work tree by default; experiments no longer declared only with --all-variants; bad ranges are refused', () => {
  const { r, c } = history();
  // The variant dropped from the config (not committed): the work tree shows what is declared.
  configure(r, { a: 2, b: 3 });
  let res = r.run(['results', '--json']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  let t = JSON.parse(res.stdout) as Json;
  assert.deepEqual(t.sides, [{ label: 'worktree', commit: null, recorded: true }]);
  assert.deepEqual(t.rows.map((x) => x.experiment), ['a', 'b']);
  res = r.run(['results', '--across', 'HEAD', '--json']);
  assert.deepEqual((JSON.parse(res.stdout) as Json).rows.map((x) => x.experiment), ['a', 'b']);
  res = r.run(['results', '--across', 'HEAD', '--all-variants', '--json']);
  t = JSON.parse(res.stdout) as Json;
  assert.deepEqual(t.rows.map((x) => [x.experiment, x.declared]), [['a', true], ['a@lr=4', false], ['b', true]]);
  assert.match(r.run(['results', '--across', 'HEAD', '--all-variants']).stdout, /^a@lr=4 \(not declared now\) {2}full/m);

  // Errors: exit 2, one paragraph naming what to fix.
  res = r.run(['results', '--across', `HEAD..${c[0]}`]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, new RegExp(`^error: HEAD \\(${c[2]!.slice(0, 7)}\\) is not on the first-parent history of ${c[0]} \\(${c[0]!.slice(0, 7)}\\)`));
  res = r.run(['results', '--across', 'nope..HEAD']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /There is no revision 'nope' in the git repository/);
  res = r.run(['results', 'exp/a/**']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /`sbuild results` takes no targets \(got 'exp\/a\/\*\*'\)/);
});

test('the flags of results and variants are refused elsewhere, naming the command', () => {
  const r = rig();
  r.config(`{ targets: [{ name: 'x', outputs: ['x.txt'], run: 'echo x > x.txt' }] }`);
  let res = r.run(['status', '--across', 'HEAD']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^error: --across A\.\.B chooses the commits `sbuild results` and `sbuild report` read; `sbuild status` takes no --across\./);
  res = r.run(['list', '--all-variants']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^error: --all-variants is a flag of `sbuild results`/);
  res = r.run(['watch', 'x', '-S', 'a=1']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^error: -S makes a variant of experiments to build \(or to show with status, explain and list\); `sbuild watch` takes no -S\./);
  res = r.run(['x', '--name', 'v']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^error: --name names the variant that -S settings make/);
  assert.equal(r.exists('x.txt'), false);
});

test('sbuild variants lists the recorded variants; drop removes them; asked for again, a dropped variant comes back from the cache', { skip: spawnSync('python3', ['-c', '0']).status === 0 ? undefined : 'needs python3 (reads the configs)' }, () => {
  const r = variantsWorkspace(rig());
  let res = r.run(['variants']);
  assert.deepEqual([res.code, res.stdout], [0, "sbuild: no variants recorded in sbuild.variants.json; make one with sbuild 'exp/NAME/**' -S key=value.\n"]);
  assert.equal(r.run(['exp/a/**', '-S', 'model.k=3', '-q']).code, 0);
  assert.equal(r.run(['exp/b/**', '-S', 'model.k=2', '--name', 'b_k2', '-q']).code, 0);
  r.takeRuns();
  res = r.run(['variants']);
  assert.equal(res.stdout, 'a@model.k=3  a with model.k=3\nb_k2         b with model.k=2\n');
  res = r.run(['variants', 'drop', 'b_k2', 'nope']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^error: sbuild\.variants\.json has no variant 'nope' \(it has 'a@model\.k=3', 'b_k2'\)\./);
  res = r.run(['variants', 'drop', 'b_k2']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^sbuild: dropped b_k2 from sbuild\.variants\.json;/);
  assert.deepEqual(JSON.parse(r.read('sbuild.variants.json')).variants.map((v: { name: string }) => v.name), ['a@model.k=3']);
  assert.equal(r.run(['list', 'exp/b_k2/**']).code, 2, 'its targets left the graph');
  // Asked for again under its name, its outputs gone meanwhile: restored from the cache, nothing run.
  fs.rmSync(r.path('artifacts/work_dirs/b_k2'), { recursive: true });
  res = r.run(['exp/b/**', '-S', 'model.k=2', '--name', 'b_k2', '--json']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(r.takeRuns(), []);
  assert.equal(res.stdout.split('\n').filter((l) => l.includes('"type":"restored"')).length, 2);
  assert.equal(JSON.parse(r.read('artifacts/work_dirs/b_k2/full/model.json')).k, 2);
});
