// `sbuild metrics diff`: the declared metrics JSONs of the work tree (or a revision) against a
// git revision, value by value, read from git objects without checking anything out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { CLI, useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

function git(r: Rig, ...args: string[]): string {
  const res = spawnSync('git', args, { cwd: r.dir, encoding: 'utf8' });
  assert.equal(res.status, 0, `git ${args.join(' ')}: ${res.stderr}`);
  return res.stdout.trim();
}

function gitInit(r: Rig): void {
  git(r, 'init', '-q');
  git(r, 'config', 'user.name', 'Metrics Test');
  git(r, 'config', 'user.email', 'metrics@example.com');
  git(r, 'config', 'commit.gpgsign', 'false');
  r.write('.gitignore', '.sbuild/\nnode_modules\nsrc-*/\n');
}

function commit(r: Rig, message: string): string {
  git(r, 'add', '-A');
  git(r, 'commit', '-q', '-m', message);
  return git(r, 'rev-parse', 'HEAD');
}

const CA = 'artifacts/work_dirs/cfar_ca/full/test_metrics.json';
const OS = 'artifacts/work_dirs/cfar_os/full/val_metrics.json';
const VR = 'artifacts/visualizations/VR/cfar_ca/test/metrics.json';
const SUMMARY = 'results/summary.json';

/** A metrics JSON as the demo's evaluations write it. */
function metrics(detector: string, ap: number, ship: number, aircraft: number | null = 0.299): string {
  return JSON.stringify({ detector, split: 'test', images: 60, AP: ap, AP50: 0.4223, AP75: 0.2674, per_class_AP: { ship, aircraft } }, null, 2) + '\n';
}

// Targets that write metrics JSONs by copying their sources (the src-* folders are git-ignored).
const CONFIG = `{ default: 'all', targets: [
  { name: 'all', deps: ['table', 'summary', 'vis/cfar_ca/vr-test'] },
  { name: 'exp/cfar_ca/full/eval-test', inputs: ['src-ca/m.json'], outputs: ['${CA}'], run: 'mkdir -p $(dirname ${CA}) && cp src-ca/m.json ${CA}' },
  { name: 'exp/cfar_os/full/eval-val', inputs: ['src-os/m.json'], outputs: ['${OS}'], run: 'mkdir -p $(dirname ${OS}) && cp src-os/m.json ${OS}' },
  { name: 'vis/cfar_ca/vr-test', inputs: ['src-vr/m.json'], outputs: ['artifacts/visualizations/VR/cfar_ca/test/images', '${VR}'],
    run: 'mkdir -p artifacts/visualizations/VR/cfar_ca/test/images && cp src-vr/m.json ${VR}' },
  { name: 'summary', inputs: ['src-sum/s.json'], outputs: ['${SUMMARY}', 'results/notes.txt'], metrics: ['${SUMMARY}'],
    run: 'mkdir -p results && cp src-sum/s.json ${SUMMARY} && echo notes > results/notes.txt' },
  { name: 'table', inputs: ['artifacts/work_dirs/**/*_metrics.json'], outputs: ['results/table.tsv'], run: 'cat artifacts/work_dirs/*/full/*.json > results/table.tsv' },
] }`;

/** A git repository whose workspace built its metrics and committed them; returns the commit. */
function setup(r: Rig): string {
  gitInit(r);
  r.config(CONFIG);
  r.write('src-ca/m.json', metrics('CACFAR', 0.2626, 0.3468));
  r.write('src-os/m.json', metrics('OSCFAR', 0.5802, 0.5756));
  r.write('src-vr/m.json', metrics('CACFAR', 0.2626, 0.3468));
  r.write('src-sum/s.json', JSON.stringify({ best: 'cfar_os', mean_AP: 0.4214, curve: [0.1, 0.2, 0.3] }) + '\n');
  const b = r.run([]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  return commit(r, 'results');
}

function diff(r: Rig, args: string[], code = 0) {
  const res = r.run(['metrics', 'diff', ...args]);
  assert.equal(res.code, code, res.stdout + res.stderr);
  if (code === 0) assert.equal(res.stderr, '');
  return res;
}

function failsWith(r: Rig, args: string[], pattern: RegExp): string {
  const res = r.run(args);
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stderr.trimEnd(), pattern);
  assert.equal(res.stderr.trim().split('\n').length, 1, `one paragraph: ${res.stderr}`);
  assert.ok(!res.stderr.includes('bug in sbuild'), res.stderr);
  return res.stderr;
}

test('a changed value: old, new and signed delta in the table, grouped by file, with the summary', () => {
  const r = rig();
  const head = setup(r);
  // Rebuild with one experiment's results changed: AP and one per-class AP.
  r.write('src-ca/m.json', metrics('CACFAR', 0.2749, 0.3401));
  assert.equal(r.run([]).code, 0);
  const res = diff(r, []);
  assert.equal(
    res.stdout,
    [
      `Metrics: HEAD (${head.slice(0, 7)}) → the work tree`,
      'file                                                key                   old     new  delta',
      'artifacts/work_dirs/cfar_ca/full/test_metrics.json  AP                 0.2626  0.2749  +0.0123 (+4.7%)',
      '                                                    per_class_AP.ship  0.3468  0.3401  -0.0067 (-1.9%)',
      '2 changed value(s) in 1 file(s); 3 unchanged file(s)',
      '',
    ].join('\n'),
  );
});

test('nothing changed: the summary says 0 changed, exit 0', () => {
  const r = rig();
  const head = setup(r);
  const res = diff(r, []);
  assert.equal(res.stdout, `Metrics: HEAD (${head.slice(0, 7)}) → the work tree\n0 changed value(s) in 0 file(s); 4 unchanged file(s)\n`);
});

test('-v lists unchanged values and files too, with delta 0', () => {
  const r = rig();
  setup(r);
  const lines = diff(r, ['-v']).stdout.split('\n');
  assert.ok(lines.some((l) => /^artifacts\/visualizations\/VR\/cfar_ca\/test\/metrics\.json +AP +0\.2626 +0\.2626 +0$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^ +detector +"CACFAR" +"CACFAR"$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^results\/summary\.json +best +"cfar_os" +"cfar_os"$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^ +curve\[2\] +0\.3 +0\.3 +0$/.test(l)), lines.join('\n'));
});

test('files are ordered by experiment, then path; keys naturally (curve[2] before curve[10])', () => {
  const r = rig();
  setup(r);
  const curve = Array.from({ length: 11 }, (_, i) => (i + 1) / 10); // curve[0..2] as committed
  r.write(SUMMARY, JSON.stringify({ best: 'cfar_ca', mean_AP: 0.4214, curve }) + '\n');
  r.write(CA, metrics('CACFAR', 0.2627, 0.3468));
  r.write(VR, metrics('CACFAR', 0.2627, 0.3468));
  r.write(OS, metrics('OSCFAR', 0.5803, 0.5756));
  const out = diff(r, []).stdout;
  const files = out.split('\n').map((l) => /^(\S+\.json)/.exec(l)?.[1]).filter(Boolean);
  // cfar_ca (VR, then work_dirs), cfar_os, then results/summary.json (no experiment folder: its path).
  assert.deepEqual(files, [VR, CA, OS, SUMMARY]);
  const keys = out.split('\n').map((l) => /\s(curve\[\d+\]|best|mean_AP)\s/.exec(l)?.[1]).filter(Boolean);
  assert.deepEqual(keys, ['best', 'curve[3]', 'curve[4]', 'curve[5]', 'curve[6]', 'curve[7]', 'curve[8]', 'curve[9]', 'curve[10]']);
  assert.match(out, /\nartifacts\/work_dirs\/cfar_ca\/full\/test_metrics\.json +AP +0\.2626 +0\.2627 +\+0\.0001 \(\+0\.038%\)\n/);
  assert.match(out, /\nresults\/summary\.json +best +"cfar_os" +"cfar_ca" +\(non-numeric\)\n +curve\[3\] +— +0\.4 +\(added\)\n/);
  assert.match(out, /\n +curve\[10\] +— +1\.1 +\(added\)\n/);
  assert.match(out, /\n12 changed value\(s\) in 4 file\(s\); 0 unchanged file\(s\)\n$/);
});

test('--json: { from, to, files: [{ path, target, status, values: [{ key, old, new, delta }] }] }', () => {
  const r = rig();
  const head = setup(r);
  r.write(CA, metrics('CACFAR', 0.2749, 0.3468));
  const doc = JSON.parse(diff(r, ['--json']).stdout);
  assert.equal(doc.from, 'HEAD');
  assert.equal(doc.to, 'worktree');
  assert.equal(doc.fromCommit, head);
  assert.equal(doc.toCommit, null);
  assert.deepEqual(
    doc.files.map((f: { path: string; target: string; status: string }) => [f.path, f.target, f.status]),
    [
      [VR, 'vis/cfar_ca/vr-test', 'unchanged'],
      [CA, 'exp/cfar_ca/full/eval-test', 'changed'],
      [OS, 'exp/cfar_os/full/eval-val', 'unchanged'],
      [SUMMARY, 'summary', 'unchanged'],
    ],
  );
  const ca = doc.files[1];
  assert.deepEqual(ca.values, [{ key: 'AP', old: 0.2626, new: 0.2749, delta: 0.0123, relative: ca.values[0].relative, change: 'changed', kind: 'number' }]);
  assert.ok(Math.abs(ca.values[0].relative - 0.0123 / 0.2626) < 1e-9);
  assert.deepEqual(doc.files[0].values, []);
  assert.deepEqual(doc.summary, { changedValues: 1, changedFiles: 1, unchangedFiles: 3, addedFiles: 0, removedFiles: 0 });
  // -v: every value, unchanged ones included.
  const all = JSON.parse(diff(r, ['--json', '-v']).stdout);
  assert.equal(all.files[0].values.length, 8);
  assert.deepEqual(all.files[0].values.find((v: { key: string }) => v.key === 'per_class_AP.ship'), { key: 'per_class_AP.ship', old: 0.3468, new: 0.3468, delta: 0, relative: 0, change: 'unchanged', kind: 'number' });
});

test('--md: a Markdown table for a pull request', () => {
  const r = rig();
  const head = setup(r);
  r.write(CA, metrics('CACFAR', 0.2626, 0.3501));
  assert.equal(
    diff(r, ['--md']).stdout,
    [
      `**Metrics:** HEAD (${head.slice(0, 7)}) → the work tree`,
      '',
      '| file | key | old | new | delta |',
      '|---|---|---:|---:|---:|',
      `| \`${CA}\` | \`per_class_AP.ship\` | 0.3468 | 0.3501 | +0.0033 (+0.95%) |`,
      '',
      '1 changed value(s) in 1 file(s); 3 unchanged file(s)',
      '',
    ].join('\n'),
  );
  failsWith(r, ['metrics', 'diff', '--md', '--json'], /^error: `sbuild metrics diff` takes --json or --md, not both\.$/);
});

test('two revisions: REV against REV2, whatever the work tree holds', () => {
  const r = rig();
  const first = setup(r);
  r.write(OS, metrics('OSCFAR', 0.5702, 0.5756));
  const second = commit(r, 'os results');
  r.write(OS, metrics('OSCFAR', 0.9, 0.9)); // uncommitted: not part of the comparison
  const res = diff(r, [first, second]);
  assert.equal(
    res.stdout,
    [
      `Metrics: ${first.slice(0, 7)} → ${second.slice(0, 7)}`,
      'file                                               key     old     new  delta',
      `${OS}  AP   0.5802  0.5702  -0.0100 (-1.7%)`,
      '1 changed value(s) in 1 file(s); 3 unchanged file(s)',
      '',
    ].join('\n'),
  );
  const back = JSON.parse(diff(r, ['HEAD', 'HEAD~1', '--json']).stdout);
  assert.equal(back.from, 'HEAD');
  assert.equal(back.to, 'HEAD~1');
  assert.equal(back.toCommit, first);
  assert.deepEqual(back.files[2].values, [{ key: 'AP', old: 0.5702, new: 0.5802, delta: 0.01, relative: back.files[2].values[0].relative, change: 'changed', kind: 'number' }]);
  // HEAD~1 against the work tree.
  assert.match(diff(r, ['HEAD~1']).stdout, /\n\S+val_metrics\.json +AP +0\.5802 +0\.9 +\+0\.3198 \(\+55\.1%\)\n +per_class_AP\.ship +0\.5756 +0\.9 +\+0\.3244 \(\+56\.4%\)\n/);
});

test('a metrics file missing on one side is reported as added or removed, not an error', () => {
  const r = rig();
  setup(r);
  git(r, 'rm', '-q', '--cached', VR);
  git(r, 'commit', '-q', '-m', 'untrack the VR metrics');
  fs.rmSync(r.path(CA));
  let res = diff(r, []);
  assert.match(res.stdout, /\nartifacts\/visualizations\/VR\/cfar_ca\/test\/metrics\.json +\(file added: not in HEAD \([0-9a-f]{7}\)\)\n +AP +— +0\.2626 +\(added\)\n/);
  assert.match(res.stdout, /\nartifacts\/work_dirs\/cfar_ca\/full\/test_metrics\.json +\(file removed: not in the work tree\)\n +AP +0\.2626 +— +\(removed\)\n/);
  assert.match(res.stdout, /\n16 changed value\(s\) in 2 file\(s\); 2 unchanged file\(s\); 1 file\(s\) added; 1 file\(s\) removed\n$/);
  const doc = JSON.parse(diff(r, ['--json']).stdout);
  assert.deepEqual(doc.files.map((f: { status: string }) => f.status), ['added', 'removed', 'unchanged', 'unchanged']);
  assert.deepEqual(doc.files[1].values[0], { key: 'AP', old: 0.2626, new: null, delta: null, relative: null, change: 'removed', kind: 'number' });
  // A declared metrics file on neither side is counted, not listed as a change.
  commit(r, 'track VR again, drop CA');
  fs.rmSync(r.path(VR));
  res = diff(r, ['--md']);
  assert.match(res.stdout, /\n\| `artifacts\/visualizations\/VR\/cfar_ca\/test\/metrics\.json` \| \*\(file removed: not in the work tree\)\* \| {2}\| {2}\| {2}\|\n/);
  assert.match(res.stdout, /\n8 changed value\(s\) in 1 file\(s\); 2 unchanged file\(s\); 1 file\(s\) removed; 1 declared file\(s\) on neither side\n$/);
  assert.doesNotMatch(res.stdout, /test_metrics/);
});

test('non-numeric values: strings and booleans listed as changed, number ↔ text marked, null ↔ number added/removed', () => {
  const r = rig();
  setup(r);
  r.write(SUMMARY, JSON.stringify({ best: 'cfar_os', mean_AP: 0.4214, curve: [0.1, 0.2, 0.3], ok: true }) + '\n');
  r.write(CA, metrics('CACFAR', 0.2626, 0.3468, null));
  commit(r, 'more');
  r.write(SUMMARY, JSON.stringify({ best: 'cfar_os', mean_AP: 'n/a', curve: [0.1, 0.2, 0.3], ok: false }) + '\n');
  r.write(CA, metrics('CACFAR', 0.2626, null as unknown as number, 0.31));
  const out = diff(r, []).stdout;
  assert.match(out, /\nartifacts\/work_dirs\/cfar_ca\/full\/test_metrics\.json +per_class_AP\.aircraft +null +0\.31 +\(added\)\n +per_class_AP\.ship +0\.3468 +null +\(removed\)\n/);
  assert.match(out, /\nresults\/summary\.json +mean_AP +0\.4214 +"n\/a" +\(new value is not a number\)\n +ok +true +false +\(non-numeric\)\n/);
  const doc = JSON.parse(diff(r, ['--json']).stdout);
  assert.deepEqual(doc.files[3].values, [
    { key: 'mean_AP', old: 0.4214, new: 'n/a', delta: null, relative: null, change: 'changed', kind: 'mixed' },
    { key: 'ok', old: true, new: false, delta: null, relative: null, change: 'changed', kind: 'text' },
  ]);
});

test('nested per-class keys and arrays are flattened to dotted keys; keys holding dots are quoted', () => {
  const r = rig();
  setup(r);
  r.write(SUMMARY, JSON.stringify({ per_class_AP: { ship: { small: 0.1, large: [0.5, 0.6] } }, 'mAP@0.5': 0.7 }) + '\n');
  commit(r, 'nested');
  r.write(SUMMARY, JSON.stringify({ per_class_AP: { ship: { small: 0.15, large: [0.5, 0.65] } }, 'mAP@0.5': 0.75 }) + '\n');
  const doc = JSON.parse(diff(r, ['--json']).stdout);
  assert.deepEqual(
    doc.files[3].values.map((v: { key: string; delta: number }) => [v.key, v.delta]),
    [['["mAP@0.5"]', 0.05], ['per_class_AP.ship.large[1]', 0.05], ['per_class_AP.ship.small', 0.05]],
  );
});

test('a file that is not valid JSON names the side and the file (exit 2)', () => {
  const r = rig();
  setup(r);
  r.write(OS, '{"AP": 0.5,');
  failsWith(r, ['metrics', 'diff'], /^error: The metrics file 'artifacts\/work_dirs\/cfar_os\/full\/val_metrics\.json' in the work tree is not valid JSON \([^)]+\)\. Fix the file or rebuild it \(`sbuild exp\/cfar_os\/full\/eval-val`\), then run `sbuild metrics diff` again\.$/);
  const bad = commit(r, 'broken');
  r.write(OS, metrics('OSCFAR', 0.5802, 0.5756));
  failsWith(r, ['metrics', 'diff'], new RegExp(`^error: The metrics file 'artifacts/work_dirs/cfar_os/full/val_metrics\\.json' at HEAD \\(${bad.slice(0, 7)}\\) is not valid JSON \\([^)]+\\)\\. That version cannot be compared; compare another revision \\(\`git log --oneline -- artifacts/work_dirs/cfar_os/full/val_metrics\\.json\` lists the commits that changed it\\)\\.$`));
  // The revision before it compares fine.
  assert.match(diff(r, ['HEAD~1']).stdout, /0 changed value\(s\) in 0 file\(s\); 4 unchanged file\(s\)/);
});

test('a revision that does not exist is named, with git log --oneline suggested (exit 2)', () => {
  const r = rig();
  setup(r);
  failsWith(r, ['metrics', 'diff', 'v9.9'], new RegExp(`^error: There is no revision 'v9\\.9' in the git repository of the workspace ${r.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it names no commit, branch or tag\\. \`git log --oneline\` lists the commits`));
  failsWith(r, ['metrics', 'diff', 'HEAD', 'HEAD~5'], /^error: There is no revision 'HEAD~5' in the git repository/);
  failsWith(r, ['metrics', 'diff', 'a', 'b', 'c'], /^error: `sbuild metrics diff` takes at most two revisions, got 3 \('a' 'b' 'c'\)\./);
  failsWith(r, ['metrics'], /^error: `sbuild metrics` needs a subcommand\. `sbuild metrics diff \[REV\] \[REV2\]` compares/);
  failsWith(r, ['metrics', 'dif'], /^error: `sbuild metrics` has no subcommand 'dif'\./);
});

test('a repository without commits, and a workspace outside any git repository (exit 2)', () => {
  const r = rig();
  r.config(CONFIG);
  for (const s of ['src-ca/m.json', 'src-os/m.json', 'src-vr/m.json', 'src-sum/s.json']) r.write(s, '{}');
  failsWith(r, ['metrics', 'diff'], /^error: `sbuild metrics diff` compares metrics files with their committed versions, but the workspace \S+ is not inside a git repository\. Run it in a clone, or start one here \(`git init`/);
  gitInit(r);
  failsWith(r, ['metrics', 'diff'], /^error: There is no revision 'HEAD' to compare with: the git repository of the workspace \S+ has no commits yet\. Commit the metrics files first/);
});

test('a workspace in a subfolder of the repository reads its files under that folder', () => {
  const r = rig();
  gitInit(r);
  r.write('ws/tasks.config.ts', `import { defineConfig } from 'sbuild';\nexport default defineConfig({ targets: [\n  { name: 'eval', outputs: ['out/eval_metrics.json'], run: 'true' },\n] });\n`);
  r.write('ws/out/eval_metrics.json', '{"AP": 0.25}\n');
  r.write('out/eval_metrics.json', '{"AP": 0.99}\n'); // same path at the top: must not be read
  commit(r, 'ws');
  r.write('ws/out/eval_metrics.json', '{"AP": 0.3}\n');
  const res = spawnSync(process.execPath, [CLI, 'metrics', 'diff'], { cwd: r.path('ws'), encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /\nout\/eval_metrics\.json +AP +0\.25 +0\.3 +\+0\.05 \(\+20\.0%\)\n1 changed value\(s\) in 1 file\(s\); 0 unchanged file\(s\)\n$/);
});
