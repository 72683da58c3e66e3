// `sbuild check`: the git policy in a real repository (git init in a temp workspace). Every
// violation's printed fix, applied as printed, makes the check pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, execSync } from 'node:child_process';
import { useRigs, type Rig } from '../helpers/rig.js';
import { sardetPolicy } from '../../rules/policy.js';

const rig = useRigs();

/** A .gitignore that satisfies sardetPolicy (what `sbuild check` suggests). */
const GOOD_IGNORE = [
  'node_modules/',
  '.sbuild/',
  '/artifacts/work_dirs/**',
  '!/artifacts/work_dirs/**/',
  '!/artifacts/work_dirs/**/smoke_metrics.json',
  '!/artifacts/work_dirs/**/val_metrics.json',
  '!/artifacts/work_dirs/**/test_metrics.json',
  '/artifacts/visualizations/**',
  '!/artifacts/visualizations/**/',
  '!/artifacts/visualizations/VR/*/*/metrics.json',
  '/artifacts/weights/**',
  '/data/**',
];

/** The SARDet layout: paper-facing files and run outputs. */
const FILES: Record<string, string> = {
  'artifacts/experiments/experiment.md': '# ledger\n',
  'artifacts/experiments/experiment_results.tsv': 'exp\tAP\ncfar\t0.4\n',
  'artifacts/work_dirs/cfar/val_metrics.json': '{"AP": 0.4}\n',
  'artifacts/work_dirs/cfar/epoch_12.pth': 'weights\n',
  'artifacts/work_dirs/cfar/20250101.log': 'log\n',
  'artifacts/visualizations/VR/cfar/val/metrics.json': '{"n": 1}\n',
  'artifacts/visualizations/VR/cfar/val/0001.png': 'png\n',
  'artifacts/weights/backbone.pth': 'weights\n',
  'data/SARDet/train/0001.png': 'png\n',
  'sbuild.lock': '{}\n',
};

const FILES_OUTSIDE_WORK_DIRS = Object.keys(FILES).filter((f) => f.startsWith('artifacts/') && !f.startsWith('artifacts/work_dirs/'));

function git(r: Rig, ...args: string[]): string {
  return execFileSync('git', args, { cwd: r.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A git repository holding the SARDet layout; `commit` tracks what the .gitignore lets through. */
function repo(opts: { ignore?: string[]; policy?: object; commit?: boolean; skip?: string[] } = {}): Rig {
  const r = rig();
  git(r, 'init', '-q');
  git(r, 'config', 'user.name', 'Check Test');
  git(r, 'config', 'user.email', 'check@example.com');
  git(r, 'config', 'commit.gpgsign', 'false');
  r.config(`{ targets: [], policy: ${JSON.stringify(opts.policy ?? sardetPolicy)} }`);
  r.write('.gitignore', (opts.ignore ?? GOOD_IGNORE).join('\n') + '\n');
  for (const [f, c] of Object.entries(FILES)) if (!opts.skip?.includes(f)) r.write(f, c);
  if (opts.commit ?? true) {
    git(r, 'add', '-A');
    git(r, 'commit', '-q', '-m', 'results');
  }
  return r;
}

function check(r: Rig, ...args: string[]) {
  return r.run(['check', ...args]);
}

/**
 * Applies every fix `check --json` gives (.gitignore edits in order, then the commands), in
 * the workspace root `ws` (relative to the rig), reaching it with `args` (e.g. --config).
 */
function applyFixes(r: Rig, ws = '.', args: string[] = []): void {
  const res = r.run(['check', '--json', ...args]);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  const root = path.join(r.dir, ws);
  const report = JSON.parse(res.stdout) as {
    gitignore: Array<{ file: string; action: string; line?: number; old?: string; lines: string[] }>;
    violations: Array<{ fix: { commands: string[] } }>;
  };
  for (const e of report.gitignore) {
    const file = path.resolve(root, e.file);
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n') : [];
    if (e.action === 'append') lines.push(...e.lines);
    else {
      assert.equal(lines[e.line! - 1], e.old, `line ${e.line} of ${e.file}`);
      if (e.action === 'replace') lines.splice(e.line! - 1, 1, ...e.lines);
      else lines.splice(e.line!, 0, ...e.lines);
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
  }
  for (const v of report.violations) for (const c of v.fix.commands) execSync(c, { cwd: root, stdio: 'ignore' });
}

function passes(r: Rig, tracked: number, ignored: number): void {
  const res = check(r);
  assert.equal(res.stdout, `check: ${tracked} tracked paper-facing files, ${ignored} ignored outputs, policy satisfied\n`, res.stderr);
  assert.equal(res.code, 0);
}

test('a repository that follows the policy passes', () => {
  const r = repo();
  // A nested repository is its own business, even with files the policy names.
  r.write('artifacts/work_dirs/vendored/test_metrics.json', '{}\n');
  execFileSync('git', ['init', '-q'], { cwd: r.path('artifacts/work_dirs/vendored') });
  passes(r, 5, 5);
  const json = JSON.parse(check(r, '--json').stdout);
  assert.deepEqual(json, { ok: true, trackedPaperFacing: 5, ignoredOutputs: 5, maxFileMB: 100, violations: [], gitignore: [] });
  assert.deepEqual(git(r, 'ls-files', 'artifacts').split('\n').filter(Boolean).sort(), [
    'artifacts/experiments/experiment.md',
    'artifacts/experiments/experiment_results.tsv',
    'artifacts/visualizations/VR/cfar/val/metrics.json',
    'artifacts/work_dirs/cfar/val_metrics.json',
  ]);
});

test('a metrics JSON hidden by an ignore rule: the rule, the ! lines after it, then git add', () => {
  const r = repo({ ignore: [...GOOD_IGNORE, '*_metrics.json'], skip: ['artifacts/work_dirs/cfar/val_metrics.json'] });
  r.write('artifacts/work_dirs/cfar/val_metrics.json', '{"AP": 0.4}\n');
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Paper-facing files not tracked in git (policy.tracked):',
    '  artifacts/work_dirs/cfar/val_metrics.json: paper-facing (policy.tracked `artifacts/work_dirs/**/{smoke,val,test}_metrics.json`) but not tracked in git: ' +
      'git ignores it by .gitignore:13 `*_metrics.json`. Fix: add the lines `!/artifacts/work_dirs/**/smoke_metrics.json`, `!/artifacts/work_dirs/**/val_metrics.json`, ' +
      '`!/artifacts/work_dirs/**/test_metrics.json` to .gitignore after line 13 (`*_metrics.json`), then git add -- artifacts/work_dirs/cfar/val_metrics.json',
    '',
    'check: 1 policy violation (1 paper-facing file not tracked); 4 tracked paper-facing files, 5 ignored outputs',
    '',
  ].join('\n'));
  applyFixes(r);
  passes(r, 5, 5);
});

test('metrics JSONs inside an ignored folder: the folder rule is rewritten so git looks inside', () => {
  // The usual first .gitignore of a paper repo: the whole artifacts folder.
  const r = repo({ ignore: ['node_modules/', '.sbuild/', 'artifacts/', 'data/'] });
  const res = check(r);
  assert.equal(res.code, 1);
  const lines = res.stdout.split('\n');
  assert.equal(lines[0], 'Paper-facing files not tracked in git (policy.tracked):');
  assert.equal(lines.filter((l) => l.startsWith('  ')).length, 4);
  const fix = 'Fix: in .gitignore replace line 3 (`artifacts/`) with the lines `**/artifacts/**`, `!**/artifacts/**/`, `!/artifacts/experiments/experiment.md`, ' +
    '`!/artifacts/experiments/experiment_results.tsv`, `!/artifacts/experiments/experiment_results.md`, `!/artifacts/visualizations/VR/*/*/metrics.json`, ' +
    '`!/artifacts/work_dirs/**/smoke_metrics.json`, `!/artifacts/work_dirs/**/val_metrics.json`, `!/artifacts/work_dirs/**/test_metrics.json`, then git add -- ';
  assert.equal(lines[4], '  artifacts/work_dirs/cfar/val_metrics.json: paper-facing (policy.tracked `artifacts/work_dirs/**/{smoke,val,test}_metrics.json`) but not tracked in git: ' +
    'git ignores the folder artifacts/ above it by .gitignore:3 `artifacts/` and never looks inside an ignored folder. ' + fix + 'artifacts/work_dirs/cfar/val_metrics.json');
  assert.equal(lines.at(-2), 'check: 4 policy violations (4 paper-facing files not tracked); 1 tracked paper-facing file, 5 ignored outputs');
  applyFixes(r);
  passes(r, 5, 5);
  assert.ok(git(r, 'check-ignore', 'artifacts/work_dirs/cfar/epoch_12.pth'), 'checkpoints stay ignored');
});

test('other folder rules: the ! lines that make git look inside, after the rule', () => {
  for (const [rule, lines] of [
    ['/artifacts', '`!/artifacts/`, `/artifacts/**`, `!/artifacts/**/`'],
    ['artifacts/**', '`!artifacts/**/`'],
  ] as const) {
    const r = repo({ ignore: ['node_modules/', '.sbuild/', rule, 'data/'], skip: FILES_OUTSIDE_WORK_DIRS });
    const res = check(r);
    assert.equal(res.code, 1);
    assert.ok(res.stdout.includes(`by .gitignore:3 \`${rule}\` and never looks inside an ignored folder. Fix: add the lines ${lines}, ` +
      '`!/artifacts/work_dirs/**/smoke_metrics.json`, `!/artifacts/work_dirs/**/val_metrics.json`, `!/artifacts/work_dirs/**/test_metrics.json` ' +
      `to .gitignore after line 3 (\`${rule}\`), then git add -- artifacts/work_dirs/cfar/val_metrics.json\n`), res.stdout);
    applyFixes(r);
    passes(r, 2, 3);
  }
});

test('a tracked checkpoint: git rm --cached keeps the file', () => {
  const r = repo();
  git(r, 'add', '-f', 'artifacts/work_dirs/cfar/epoch_12.pth');
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Run outputs tracked in git (policy.ignored):',
    '  artifacts/work_dirs/cfar/epoch_12.pth: a run output (policy.ignored `artifacts/work_dirs/**`) tracked in git. ' +
      'Fix: git rm --cached -- artifacts/work_dirs/cfar/epoch_12.pth (the file stays on disk); .gitignore:3 `/artifacts/work_dirs/**` already ignores it',
    '',
    'check: 1 policy violation (1 run output tracked); 5 tracked paper-facing files, 4 ignored outputs',
    '',
  ].join('\n'));
  applyFixes(r);
  passes(r, 5, 5);
  assert.equal(r.read('artifacts/work_dirs/cfar/epoch_12.pth'), 'weights\n');
});

test('many tracked run outputs: one line, one git rm over pathspecs that spare the paper-facing files', () => {
  const r = repo();
  for (let i = 0; i < 6; i++) r.write(`artifacts/visualizations/sample500/${i}.png`, 'png\n');
  git(r, 'add', '-f', 'artifacts/visualizations');
  const res = check(r);
  assert.equal(res.code, 1);
  const rm = "git rm -r --cached --quiet -- ':(glob)artifacts/visualizations/**' ':(exclude,glob)artifacts/visualizations/VR/*/*/metrics.json'";
  assert.equal(res.stdout, [
    'Run outputs tracked in git (policy.ignored):',
    `  artifacts/visualizations/VR/cfar/val/0001.png and 6 more: run outputs (policy.ignored \`artifacts/visualizations/**\`) tracked in git. Fix: ${rm} (the files stay on disk); git already ignores them`,
    '',
    'check: 7 policy violations (7 run outputs tracked); 5 tracked paper-facing files, 4 ignored outputs',
    '',
  ].join('\n'));
  assert.equal(JSON.parse(check(r, '--json').stdout).violations.length, 7);
  execSync(rm, { cwd: r.dir });
  passes(r, 5, 11);
  assert.ok(git(r, 'ls-files', 'artifacts/visualizations/VR/cfar/val/metrics.json'), 'the VR metrics stay tracked');
});

test('a checkpoint git does not ignore: the folder-level .gitignore lines, paper-facing files kept', () => {
  const r = repo({ ignore: GOOD_IGNORE.filter((l) => !l.includes('work_dirs')), commit: false });
  const res = check(r);
  assert.equal(res.code, 1);
  const fix = 'Fix: add the lines `/artifacts/work_dirs/**`, `!/artifacts/work_dirs/**/`, `!/artifacts/work_dirs/**/smoke_metrics.json`, ' +
    '`!/artifacts/work_dirs/**/val_metrics.json`, `!/artifacts/work_dirs/**/test_metrics.json` to .gitignore';
  assert.match(res.stdout, /^Paper-facing files not tracked in git \(policy\.tracked\):\n/);
  assert.ok(res.stdout.includes('\nRun outputs git does not ignore (policy.ignored):\n' +
    '  artifacts/work_dirs/cfar/20250101.log: a run output (policy.ignored `artifacts/work_dirs/**`) that git does not ignore, so `git add -A` would commit it. ' + fix + '\n' +
    '  artifacts/work_dirs/cfar/epoch_12.pth: a run output (policy.ignored `artifacts/work_dirs/**`) that git does not ignore, so `git add -A` would commit it. ' + fix + '\n'), res.stdout);
  assert.match(res.stdout, /\ncheck: 7 policy violations \(5 paper-facing files not tracked, 2 run outputs not ignored\); 0 tracked paper-facing files, 3 ignored outputs\n$/);
  applyFixes(r);
  passes(r, 5, 5);
  git(r, 'add', '-A');
  passes(r, 5, 5);
});

test('a tracked file over maxFileMB: git rm --cached and a .gitignore line', () => {
  const r = repo({ policy: { ...sardetPolicy, maxFileMB: 0.01 } });
  r.write('docs/figure.tiff', 'x'.repeat(20_000));
  git(r, 'add', 'docs/figure.tiff');
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Tracked files over 0.01 MB (policy.maxFileMB):',
    '  docs/figure.tiff: tracked, 0.019 MB, over the 0.01 MB per-file limit (policy.maxFileMB; GitHub rejects larger files). ' +
      'Fix: git rm --cached -- docs/figure.tiff (the file stays on disk; publish it as a release asset), and add the line `/docs/figure.tiff` to .gitignore',
    '',
    'check: 1 policy violation (1 file over 0.01 MB); 5 tracked paper-facing files, 5 ignored outputs',
    '',
  ].join('\n'));
  const json = JSON.parse(check(r, '--json').stdout);
  assert.equal(json.ok, false);
  assert.deepEqual(json.violations.map((v: { kind: string; path: string; sizeBytes: number }) => [v.kind, v.path, v.sizeBytes]), [['too-large', 'docs/figure.tiff', 20_000]]);
  assert.deepEqual(json.gitignore, [{ file: '.gitignore', action: 'append', lines: ['/docs/figure.tiff'] }]);
  applyFixes(r);
  passes(r, 5, 5);
  assert.ok(r.exists('docs/figure.tiff'));
});

test('a workspace in a subfolder of the repository: the top .gitignore is the one edited', () => {
  const r = rig();
  git(r, 'init', '-q');
  r.write('.gitignore', 'node_modules/\n.sbuild/\npaper/artifacts/\n');
  r.write('paper/tasks.config.ts', `import { defineConfig } from 'sbuild';\nexport default defineConfig({ targets: [], policy: { tracked: ['artifacts/*.tsv'], ignored: ['artifacts/**'] } });\n`);
  fs.symlinkSync(path.join(r.dir, 'node_modules'), path.join(r.dir, 'paper', 'node_modules'));
  r.write('paper/artifacts/results.tsv', 'a\t1\n');
  r.write('paper/artifacts/run/model.pth', 'w\n');
  const res = r.run(['check', '--config', 'paper/tasks.config.ts']);
  assert.equal(res.code, 1);
  assert.equal(res.stdout.split('\n')[2], '  artifacts/results.tsv: paper-facing (policy.tracked `artifacts/*.tsv`) but not tracked in git: git ignores the folder artifacts/ above it by ' +
    '../.gitignore:3 `paper/artifacts/` and never looks inside an ignored folder. Fix: in ../.gitignore replace line 3 (`paper/artifacts/`) with the lines ' +
    '`paper/artifacts/**`, `!paper/artifacts/**/`, `!/paper/artifacts/*.tsv`, then git add -- artifacts/results.tsv');
  applyFixes(r, 'paper', ['--config', 'paper/tasks.config.ts']);
  const after = r.run(['check', '--config', 'paper/tasks.config.ts']);
  assert.equal(after.stdout, 'check: 1 tracked paper-facing file, 1 ignored output, policy satisfied\n', after.stderr);
  assert.equal(after.code, 0);
});

test('outside a git work tree: exit 2', () => {
  const r = rig();
  r.config(`{ targets: [], policy: { tracked: ['*.tsv'] } }`);
  const res = r.run(['check'], { GIT_CEILING_DIRECTORIES: path.dirname(r.dir) });
  assert.equal(res.code, 2, res.stderr);
  assert.equal(res.stderr, `error: ${r.dir} is not inside a git work tree, so there is no tracked or ignored file to check. Run \`git init\` there (or run sbuild check in a clone of the repository).\n`);
});

test('no policy in the config: exit 2 saying how to add one', () => {
  const r = repo();
  r.config('{ targets: [] }');
  const res = check(r);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^tasks\.config\.ts: error: The config has no `policy`, so `sbuild check` has nothing to check\. Add one to defineConfig\(\{\.\.\.\}\): `policy: sardetPolicy` \(import \{ sardetPolicy \} from 'sbuild\/rules'\)/);
  assert.equal(res.stdout, '');
});

test('a badly typed policy: exit 2 naming the field and its line', () => {
  const bad = (policy: string, pattern: RegExp) => {
    const r = repo({ commit: false });
    r.write('tasks.config.ts', `import { defineConfig } from 'sbuild';\nexport default defineConfig({\n  targets: [],\n  policy: ${policy},\n});\n`);
    const res = check(r);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.match(res.stderr, pattern);
    assert.ok(!res.stderr.includes('bug in sbuild'), res.stderr);
    // Every command validates the config, not only check.
    assert.equal(r.run(['list']).code, 2);
  };
  bad(`{\n    tracked: ['a.tsv'],\n    maxFileMB: '100',\n  }`, /^tasks\.config\.ts:6:5: error: `policy\.maxFileMB` must be a number of megabytes > 0, e.g\. 100 \(GitHub's per-file limit\); found string\.\n$/);
  bad(`{ tracked: 'artifacts/**' }`, /^tasks\.config\.ts:4:13: error: `policy\.tracked` must be an array of non-empty glob strings, e\.g\. \['artifacts\/work_dirs\/\*\*'\]; found string\./);
  bad(`{ ignored: ['data/**', 3] }`, /^tasks\.config\.ts:4:13: error: `policy\.ignored` must be an array of non-empty glob strings.*found an array holding number\./);
  bad(`{ ignored: ['../elsewhere/**'] }`, /`policy\.ignored` holds '\.\.\/elsewhere\/\*\*'; globs are workspace-relative/);
  bad(`{ trackd: ['a.tsv'] }`, /^tasks\.config\.ts:4:13: error: The config's `policy` has an unknown field `trackd`\. Did you mean 'tracked'\? Allowed: tracked, ignored, maxFileMB\./);
  bad(`['a.tsv']`, /^tasks\.config\.ts:4:3: error: The config's `policy` must be an object \{ tracked\?: string\[\], ignored\?: string\[\], maxFileMB\?: number \}/);
});
