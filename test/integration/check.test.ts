// `sbuild check`: the git policy in a real repository (git init in a temp workspace). Every
// violation's printed fix, applied as printed, makes the check pass; violations that share a fix
// print it once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
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

/** The .gitignore edits of a fix in words (as `describeEdit` writes them), applied in order. */
function applyEditText(root: string, text: string): void {
  for (const part of text.split(', then ')) {
    const ticks = (s: string) => [...s.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
    let m: RegExpMatchArray | null;
    let edit: { file: string; action: string; line?: number; old?: string; lines: string[] };
    if ((m = part.match(/^in (\S+) replace line (\d+) \(`(.*?)`\) with the lines? (.*)$/))) edit = { file: m[1]!, action: 'replace', line: +m[2]!, old: m[3]!, lines: ticks(m[4]!) };
    else if ((m = part.match(/^add the lines? (.*) to (\S+) after line (\d+) \(`(.*?)`\)$/))) edit = { file: m[2]!, action: 'insert-after', line: +m[3]!, old: m[4]!, lines: ticks(m[1]!) };
    else if ((m = part.match(/^add the lines? (.*) to (\S+)$/))) edit = { file: m[2]!, action: 'append', lines: ticks(m[1]!) };
    else throw new Error(`not an edit: ${part}`);
    const file = path.resolve(root, edit.file);
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n') : [];
    if (edit.action === 'append') lines.push(...edit.lines);
    else {
      assert.equal(lines[edit.line! - 1], edit.old, `line ${edit.line} of ${edit.file}`);
      lines.splice(edit.line! - (edit.action === 'replace' ? 1 : 0), edit.action === 'replace' ? 1 : 0, ...edit.lines);
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
  }
}

/**
 * Applies the fixes of the text report as a user would, in the order printed: a one-line
 * violation's `Fix: <edit>, then <command>`, and an entry's `Fix: <edit>, then run:` followed by
 * its command (continued over lines with ` \`), run by the shell as printed.
 */
function applyPrinted(r: Rig, stdout: string): void {
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const one = lines[i]!.match(/^  \S.*?\. Fix: (.*)$/);
    if (one) {
      // `<edit>, then git …`, `git rm … (the file stays on disk), and <edit>`, or an edit alone.
      const m = one[1]!.match(/^(?:(.*?), then )?(git .*?)(?: \(the file stays on disk[^)]*\))?(?:, and (.*)|; .*)?$/);
      if (!m) applyEditText(r.dir, one[1]!);
      for (const edit of [m?.[1], m?.[3]]) if (edit) applyEditText(r.dir, edit);
      if (m) execSync(m[2]!, { cwd: r.dir, stdio: 'ignore' });
      continue;
    }
    const fix = lines[i]!.match(/^    Fix(?:: (.*?))?:?$/);
    if (!fix) continue;
    const said = fix[1]?.replace(/(^|, then )run( \(.*\))?$/, '');
    if (said) applyEditText(r.dir, said);
    const cmd: string[] = [];
    while (lines[i + 1]?.startsWith('      ')) cmd.push(lines[++i]!);
    if (cmd.length) execSync(cmd.join('\n'), { cwd: r.dir, stdio: 'ignore' });
  }
}

function passes(r: Rig, tracked: number, ignored: number): void {
  const res = check(r);
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  assert.equal(res.stdout, `check: ${n(tracked, 'tracked paper-facing file')}, ${n(ignored, 'ignored output')}, policy satisfied\n`, res.stderr);
  assert.equal(res.code, 0);
}

test('a repository that follows the policy passes', () => {
  const r = repo();
  // A nested repository is its own business, even with files the policy names.
  r.write('artifacts/work_dirs/vendored/test_metrics.json', '{}\n');
  execFileSync('git', ['init', '-q'], { cwd: r.path('artifacts/work_dirs/vendored') });
  passes(r, 5, 5);
  const json = JSON.parse(check(r, '--json').stdout);
  assert.deepEqual(json, { ok: true, trackedPaperFacing: 5, ignoredOutputs: 5, maxFileMB: 100, violations: [], gitignore: [], externalInputs: [] });
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
  applyPrinted(r, res.stdout);
  passes(r, 5, 5);
});

test('metrics JSONs inside an ignored folder: the folder rule is rewritten once, one git add for all', () => {
  // The usual first .gitignore of a paper repo: the whole artifacts folder.
  const r = repo({ ignore: ['node_modules/', '.sbuild/', 'artifacts/', 'data/'] });
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Paper-facing files not tracked in git (policy.tracked):',
    '  4 paper-facing files (policy.tracked `artifacts/experiments/experiment.md`, `artifacts/experiments/experiment_results.{tsv,md}`, ' +
      '`artifacts/visualizations/VR/*/*/metrics.json`, `artifacts/work_dirs/**/{smoke,val,test}_metrics.json`) not tracked in git: ' +
      'git ignores the folder artifacts/ above them by .gitignore:3 `artifacts/` and never looks inside an ignored folder.',
    '    Fix: in .gitignore replace line 3 (`artifacts/`) with the lines `**/artifacts/**`, `!**/artifacts/**/`, `!/artifacts/experiments/experiment.md`, ' +
      '`!/artifacts/experiments/experiment_results.tsv`, `!/artifacts/experiments/experiment_results.md`, `!/artifacts/visualizations/VR/*/*/metrics.json`, ' +
      '`!/artifacts/work_dirs/**/smoke_metrics.json`, `!/artifacts/work_dirs/**/val_metrics.json`, `!/artifacts/work_dirs/**/test_metrics.json`, then run:',
    '      git add -- artifacts/experiments/experiment.md artifacts/experiments/experiment_results.tsv \\',
    '        artifacts/visualizations/VR/cfar/val/metrics.json artifacts/work_dirs/cfar/val_metrics.json',
    '    Files:',
    '      artifacts/experiments/experiment.md',
    '      artifacts/experiments/experiment_results.tsv',
    '      artifacts/visualizations/VR/cfar/val/metrics.json',
    '      artifacts/work_dirs/cfar/val_metrics.json',
    '',
    'check: 4 policy violations (4 paper-facing files not tracked); 1 tracked paper-facing file, 5 ignored outputs',
    '',
  ].join('\n'));
  // --json still has one record per file, each with its whole fix.
  const json = JSON.parse(check(r, '--json').stdout);
  assert.equal(json.violations.length, 4);
  assert.equal(json.violations[3].fix.text.replace(/^.*, then /, ''), 'git add -- artifacts/work_dirs/cfar/val_metrics.json');
  applyPrinted(r, res.stdout);
  passes(r, 5, 5);
  assert.ok(git(r, 'check-ignore', 'artifacts/work_dirs/cfar/epoch_12.pth'), 'checkpoints stay ignored');
});

test('the JSON fixes, applied, also make the check pass', () => {
  const r = repo({ ignore: ['node_modules/', '.sbuild/', 'artifacts/', 'data/'] });
  applyFixes(r);
  passes(r, 5, 5);
});

test('many paper-facing files hidden by one rule: the edit once, one wrapped git add, the first paths listed', () => {
  const r = rig();
  git(r, 'init', '-q');
  git(r, 'config', 'user.name', 'Check Test');
  git(r, 'config', 'user.email', 'check@example.com');
  r.config(`{ targets: [], policy: { tracked: ['artifacts/tables/*.tsv', 'notes/*.md'], ignored: ['artifacts/**'] } }`);
  r.write('.gitignore', ['node_modules/', '.sbuild/', '*.tmp', '*.bak', '.DS_Store', 'artifacts/'].join('\n') + '\n');
  const tables = [...Array.from({ length: 18 }, (_, i) => `artifacts/tables/table_${String(i + 1).padStart(2, '0')}.tsv`), "artifacts/tables/it's an ablation.tsv"];
  for (const t of tables) r.write(t, 'exp\tAP\n');
  r.write('artifacts/run/model.pth', 'weights\n');
  for (const n of ['intro', 'method']) r.write(`notes/${n}.md`, '# notes\n');
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Paper-facing files not tracked in git (policy.tracked):',
    '  19 paper-facing files (policy.tracked `artifacts/tables/*.tsv`) not tracked in git: git ignores the folder artifacts/ above them by ' +
      '.gitignore:6 `artifacts/` and never looks inside an ignored folder.',
    '    Fix: in .gitignore replace line 6 (`artifacts/`) with the lines `**/artifacts/**`, `!**/artifacts/**/`, `!/artifacts/tables/*.tsv`, then run:',
    "      git add -- 'artifacts/tables/it'\\''s an ablation.tsv' artifacts/tables/table_01.tsv \\",
    '        artifacts/tables/table_02.tsv artifacts/tables/table_03.tsv artifacts/tables/table_04.tsv \\',
    '        artifacts/tables/table_05.tsv artifacts/tables/table_06.tsv artifacts/tables/table_07.tsv \\',
    '        artifacts/tables/table_08.tsv artifacts/tables/table_09.tsv artifacts/tables/table_10.tsv \\',
    '        artifacts/tables/table_11.tsv artifacts/tables/table_12.tsv artifacts/tables/table_13.tsv \\',
    '        artifacts/tables/table_14.tsv artifacts/tables/table_15.tsv artifacts/tables/table_16.tsv \\',
    '        artifacts/tables/table_17.tsv artifacts/tables/table_18.tsv',
    '    Files:',
    "      artifacts/tables/it's an ablation.tsv",
    ...tables.slice(0, 9).map((t) => `      ${t}`),
    '      … and 9 more',
    '  2 paper-facing files (policy.tracked `notes/*.md`) not tracked in git (no ignore rule hides them).',
    '    Fix:',
    '      git add -- notes/intro.md notes/method.md',
    '    Files:',
    '      notes/intro.md',
    '      notes/method.md',
    '',
    'check: 21 policy violations (21 paper-facing files not tracked); 0 tracked paper-facing files, 1 ignored output',
    '',
  ].join('\n'));
  assert.equal(res.stdout.split('\n').filter((l) => l.includes('Fix:')).length, 2, 'one fix per shared edit');
  assert.equal(res.stdout.split('\n').filter((l) => l.includes('git add')).length, 2, 'one git add per fix');
  assert.ok(res.stdout.split('\n').filter((l) => l.endsWith(' \\')).every((l) => l.length <= 108), 'commands are wrapped');
  // --json keeps one record (with its own fix) per file, and the one edit.
  const json = JSON.parse(check(r, '--json').stdout);
  assert.equal(json.violations.length, 21);
  assert.ok(json.violations.every((v: { fix: { commands: string[] }; path: string }) => v.fix.commands.length === 1 && v.fix.commands[0]!.startsWith('git add -- ')));
  assert.equal(json.gitignore.length, 1);
  applyPrinted(r, res.stdout);
  passes(r, 21, 1);
  assert.ok(git(r, 'check-ignore', 'artifacts/run/model.pth'), 'run outputs stay ignored');
});

test('files hidden by several rules: one entry per rule, from the bottom of .gitignore up', () => {
  const r = repo({ ignore: ['node_modules/', '.sbuild/', 'artifacts/experiments/', 'data/', 'artifacts/work_dirs/', 'artifacts/visualizations/', 'artifacts/weights/'] });
  const res = check(r);
  assert.equal(res.code, 1);
  const lines = res.stdout.split('\n');
  assert.deepEqual(lines.filter((l) => l.includes('Fix:')).map((l) => l.match(/line (\d+) \(`([^`]*)`\)/)!.slice(1).join(' ')), [
    '6 artifacts/visualizations/', '5 artifacts/work_dirs/', '3 artifacts/experiments/',
  ]);
  assert.deepEqual(lines.slice(3, -3), [
    '  2 paper-facing files (policy.tracked `artifacts/experiments/experiment.md`, `artifacts/experiments/experiment_results.{tsv,md}`) not tracked in git: ' +
      'git ignores the folder artifacts/experiments/ above them by .gitignore:3 `artifacts/experiments/` and never looks inside an ignored folder.',
    '    Fix: in .gitignore replace line 3 (`artifacts/experiments/`) with the lines `artifacts/experiments/**`, `!artifacts/experiments/**/`, ' +
      '`!/artifacts/experiments/experiment.md`, `!/artifacts/experiments/experiment_results.tsv`, `!/artifacts/experiments/experiment_results.md`, then run:',
    '      git add -- artifacts/experiments/experiment.md artifacts/experiments/experiment_results.tsv',
    '    Files:',
    '      artifacts/experiments/experiment.md',
    '      artifacts/experiments/experiment_results.tsv',
  ]);
  applyPrinted(r, res.stdout);
  passes(r, 5, 5);
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
  applyPrinted(r, res.stdout);
  passes(r, 5, 5);
  assert.equal(r.read('artifacts/work_dirs/cfar/epoch_12.pth'), 'weights\n');
});

test('many tracked run outputs: one entry, one git rm over pathspecs that spare the paper-facing files', () => {
  const r = repo();
  for (let i = 0; i < 6; i++) r.write(`artifacts/visualizations/sample500/${i}.png`, 'png\n');
  git(r, 'add', '-f', 'artifacts/visualizations');
  const res = check(r);
  assert.equal(res.code, 1);
  const rm = "git rm -r --cached --quiet -- ':(glob)artifacts/visualizations/**' ':(exclude,glob)artifacts/visualizations/VR/*/*/metrics.json'";
  assert.equal(res.stdout, [
    'Run outputs tracked in git (policy.ignored):',
    '  7 run outputs (policy.ignored `artifacts/visualizations/**`) tracked in git; .gitignore:8 `/artifacts/visualizations/**` already ignores them.',
    '    Fix: run (the files stay on disk):',
    `      ${rm}`,
    '    Files:',
    '      artifacts/visualizations/VR/cfar/val/0001.png',
    ...[0, 1, 2, 3, 4, 5].map((i) => `      artifacts/visualizations/sample500/${i}.png`),
    '',
    'check: 7 policy violations (7 run outputs tracked); 5 tracked paper-facing files, 4 ignored outputs',
    '',
  ].join('\n'));
  assert.equal(JSON.parse(check(r, '--json').stdout).violations.length, 7);
  applyPrinted(r, res.stdout);
  passes(r, 5, 11);
  assert.ok(git(r, 'ls-files', 'artifacts/visualizations/VR/cfar/val/metrics.json'), 'the VR metrics stay tracked');
});

test('a few tracked run outputs, and tracked files over the limit: one git rm over their paths per fix', () => {
  const r = repo({ policy: { ...sardetPolicy, maxFileMB: 0.01 } });
  git(r, 'add', '-f', 'artifacts/work_dirs/cfar/epoch_12.pth', 'artifacts/work_dirs/cfar/20250101.log');
  r.write('docs/figure 1.tiff', 'x'.repeat(20_000));
  r.write('docs/figure2.tiff', 'x'.repeat(30_000));
  git(r, 'add', 'docs');
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Run outputs tracked in git (policy.ignored):',
    '  2 run outputs (policy.ignored `artifacts/work_dirs/**`) tracked in git; .gitignore:3 `/artifacts/work_dirs/**` already ignores them.',
    '    Fix: run (the files stay on disk):',
    '      git rm --cached -- artifacts/work_dirs/cfar/20250101.log artifacts/work_dirs/cfar/epoch_12.pth',
    '    Files:',
    '      artifacts/work_dirs/cfar/20250101.log',
    '      artifacts/work_dirs/cfar/epoch_12.pth',
    '',
    'Tracked files over 0.01 MB (policy.maxFileMB):',
    '  2 tracked files over the 0.01 MB per-file limit (policy.maxFileMB; GitHub rejects larger files).',
    "    Fix: add the lines `/docs/figure 1.tiff`, `/docs/figure2.tiff` to .gitignore, then run (the files stay on disk; publish them as release assets):",
    "      git rm --cached -- 'docs/figure 1.tiff' docs/figure2.tiff",
    '    Files:',
    '      docs/figure 1.tiff (0.019 MB)',
    '      docs/figure2.tiff (0.029 MB)',
    '',
    'check: 4 policy violations (2 run outputs tracked, 2 files over 0.01 MB); 5 tracked paper-facing files, 3 ignored outputs',
    '',
  ].join('\n'));
  applyPrinted(r, res.stdout);
  passes(r, 5, 5);
  assert.ok(r.exists('docs/figure 1.tiff') && r.exists('artifacts/work_dirs/cfar/epoch_12.pth'), 'the files stay on disk');
});

test('a checkpoint git does not ignore: the folder-level .gitignore lines, paper-facing files kept', () => {
  const r = repo({ ignore: GOOD_IGNORE.filter((l) => !l.includes('work_dirs')), commit: false });
  const res = check(r);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, [
    'Paper-facing files not tracked in git (policy.tracked):',
    '  5 paper-facing files (policy.tracked `artifacts/experiments/experiment.md`, `artifacts/experiments/experiment_results.{tsv,md}`, ' +
      '`artifacts/visualizations/VR/*/*/metrics.json`, `artifacts/work_dirs/**/{smoke,val,test}_metrics.json`, `sbuild.lock`) not tracked in git (no ignore rule hides them).',
    '    Fix:',
    '      git add -- artifacts/experiments/experiment.md artifacts/experiments/experiment_results.tsv \\',
    '        artifacts/visualizations/VR/cfar/val/metrics.json artifacts/work_dirs/cfar/val_metrics.json \\',
    '        sbuild.lock',
    '    Files:',
    '      artifacts/experiments/experiment.md',
    '      artifacts/experiments/experiment_results.tsv',
    '      artifacts/visualizations/VR/cfar/val/metrics.json',
    '      artifacts/work_dirs/cfar/val_metrics.json',
    '      sbuild.lock',
    '',
    'Run outputs git does not ignore (policy.ignored):',
    '  2 run outputs (policy.ignored `artifacts/work_dirs/**`) that git does not ignore, so `git add -A` would commit them.',
    '    Fix: add the lines `/artifacts/work_dirs/**`, `!/artifacts/work_dirs/**/`, `!/artifacts/work_dirs/**/smoke_metrics.json`, ' +
      '`!/artifacts/work_dirs/**/val_metrics.json`, `!/artifacts/work_dirs/**/test_metrics.json` to .gitignore',
    '    Files:',
    '      artifacts/work_dirs/cfar/20250101.log',
    '      artifacts/work_dirs/cfar/epoch_12.pth',
    '',
    'check: 7 policy violations (5 paper-facing files not tracked, 2 run outputs not ignored); 0 tracked paper-facing files, 3 ignored outputs',
    '',
  ].join('\n'));
  applyPrinted(r, res.stdout);
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
  applyPrinted(r, res.stdout);
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

test('inputs outside the workspace are named as not portable, with the targets reading them (exit code unchanged)', () => {
  const r = repo();
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'shared-weights-'));
  fs.writeFileSync(path.join(shared, 'epoch_100.pth'), 'weights');
  const w = path.join(shared, 'epoch_100.pth');
  r.config(`{ targets: [
    { name: 'a', inputs: [${JSON.stringify(w)}], outputs: ['artifacts/work_dirs/a/x'], run: 'true' },
    { name: 'b', inputs: [${JSON.stringify(w)}, '/nonexistent/elsewhere.pth'], outputs: ['artifacts/work_dirs/b/x'], run: 'true' },
  ], policy: ${JSON.stringify(sardetPolicy)} }`);
  git(r, 'add', 'tasks.config.ts');
  git(r, 'commit', '-qm', 'config');
  const json = JSON.parse(check(r, '--json').stdout);
  assert.deepEqual(json.externalInputs, [
    { path: '/nonexistent/elsewhere.pth', targets: ['b'] },
    { path: w, targets: ['a', 'b'] },
  ]);
  const res = check(r);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(res.stdout.includes(`not portable: 2 input(s) outside the workspace; a clone on another machine has them only at the same path (copy them into the repository, or publish them and say where):\n  /nonexistent/elsewhere.pth  (b)\n  ${w}  (a, b)\n`), res.stdout);
});
