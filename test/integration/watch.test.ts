// `sbuild watch`: a resident process in a temp workspace. Each test waits on its output lines
// (never on fixed sleeps): the "watching" line after every build, the summary line naming what
// triggered it. Commands append to runs.log, so each build's work is counted exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sh, useRigs, waitFor, type Rig } from '../helpers/rig.js';

const rig = useRigs();

interface Watch {
  lines: string[];
  stderr: () => string;
  /** Resolves with the `n`-th line (1-based, counted from the start) matching `re`. */
  line(re: RegExp, n?: number): Promise<string>;
  count(re: RegExp): number;
  exited: Promise<number | null>;
  alive(): boolean;
  kill(sig?: NodeJS.Signals): void;
}

/** Starts `sbuild watch …` with a short debounce and collects its output. */
function watch(r: Rig, args: string[] = [], env: NodeJS.ProcessEnv = {}): Watch {
  const child = r.spawn(['watch', ...args], { SBUILD_WATCH_DEBOUNCE_MS: '30', ...env });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  let exitCode: number | null | undefined;
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      exitCode = code;
      for (const w of [...waiters]) w();
      res(code);
    }));
  const matching = (re: RegExp) => lines.filter((l) => re.test(l));
  const w: Watch = {
    lines,
    stderr: () => err,
    count: (re) => matching(re).length,
    line: (re, n = 1) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = matching(re);
          if (m.length >= n) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            resolve(m[n - 1]!);
          } else if (exitCode !== undefined) {
            waiters.splice(waiters.indexOf(check), 1);
            clearTimeout(timer);
            reject(new Error(`sbuild watch exited (${exitCode}) before line ${n} matching ${re}:\n${lines.join('\n')}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for line ${n} matching ${re}:\n${lines.join('\n')}\n${err}`));
        }, 60_000);
        waiters.push(check);
        check();
      }),
    exited,
    alive: () => exitCode === undefined,
    kill: (sig = 'SIGINT') => child.kill(sig),
  };
  return w;
}

const WATCHING = /^sbuild: watching \d+ files in \d+ folders for \d+ targets?; Ctrl-C stops$/;
const SUMMARY = /^sbuild: .*\d+ ran, .* fresh in /;

/** a ← in/a.txt, b ← in/b.txt, cat ← a + b + in/extra/*.txt; `all` builds cat. */
function threeTargets(r: Rig): void {
  r.write('in/a.txt', 'A\n');
  r.write('in/b.txt', 'B\n');
  r.write('in/extra/x.txt', 'X\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'a', inputs: ['in/a.txt'], outputs: ['o/a'], run: ${JSON.stringify(sh('a', 'mkdir -p o; cp in/a.txt o/a'))} },
      { name: 'b', inputs: ['in/b.txt'], outputs: ['o/b'], run: ${JSON.stringify(sh('b', 'mkdir -p o; cp in/b.txt o/b'))} },
      { name: 'cat', inputs: ['o/a', 'o/b', 'in/extra/*.txt'], outputs: ['o/cat'], run: ${JSON.stringify(sh('cat', 'cat o/a o/b in/extra/*.txt > o/cat'))} },
      { name: 'all', deps: ['cat'] },
    ],
  }`);
}

/** The `n`-th build's summary line, once watch is waiting again after it. */
async function built(w: Watch, n: number): Promise<string> {
  const summary = await w.line(SUMMARY, n);
  await w.line(WATCHING, n);
  return summary;
}

async function stop(w: Watch): Promise<void> {
  if (!w.alive()) return;
  w.kill('SIGINT');
  assert.equal(await w.exited, 130, w.lines.join('\n') + w.stderr());
}

test('an edit rebuilds exactly what reads it; touch, own outputs and unread files rebuild nothing; a deleted output comes back', async () => {
  const r = rig();
  threeTargets(r);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.deepEqual(r.takeRuns(), ['a', 'b', 'cat']);
    assert.match(w.lines.join('\n'), /watching 7 files in \d+ folders for 3 targets/);

    r.write('in/a.txt', 'A2\n');
    assert.match(await built(w, 2), /2 ran, 1 fresh in .* — after in\/a\.txt changed$/);
    assert.deepEqual(r.takeRuns(), ['a', 'cat']);
    assert.equal(r.read('o/cat'), 'A2\nB\nX\n');

    // Same bytes under a new stat, and a file no target reads: nothing. The next real edit is
    // the next build, and it names only its own file.
    const t = new Date(Date.now() + 2000);
    fs.utimesSync(r.path('in/b.txt'), t, t);
    r.write('notes.txt', 'not an input\n');
    r.write('in/extra/y.txt', 'Y\n'); // a new match of cat's glob
    assert.match(await built(w, 3), /1 ran, 2 fresh in .* — after in\/extra\/y\.txt changed$/);
    assert.deepEqual(r.takeRuns(), ['cat']);
    assert.equal(r.read('o/cat'), 'A2\nB\nX\nY\n');

    fs.rmSync(r.path('o/cat'));
    assert.match(await built(w, 4), /0 ran, 1 restored, 2 fresh in .* — after o\/cat changed$/);
    assert.equal(r.read('o/cat'), 'A2\nB\nX\nY\n');
    r.write('o/b', 'tampered\n');
    assert.match(await built(w, 5), /— after o\/b changed$/);
    assert.equal(r.read('o/b'), 'B\n');
    assert.deepEqual(r.takeRuns(), [], 'both came back from the cache');
    assert.equal(w.count(SUMMARY), 5, w.lines.join('\n'));
  } finally {
    await stop(w);
  }
});

test('after a build that did not leave everything fresh, the next one judges every target', async () => {
  const r = rig();
  r.write('in/a.txt', 'A\n');
  r.write('in/d.txt', 'D\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'a', inputs: ['in/a.txt'], outputs: ['o/a'], run: ${JSON.stringify(sh('a', 'mkdir -p o; cp in/a.txt o/a'))} },
      { name: 'd', inputs: ['in/d.txt'], outputs: ['o/d'], run: ${JSON.stringify(sh('d', 'mkdir -p o; cp in/d.txt o/d'))} },
      { name: 'all', deps: ['a', 'd'] },
    ],
  }`);
  const w = watch(r, ['-k']);
  try {
    await w.line(WATCHING);
    assert.deepEqual(r.takeRuns(), ['a', 'd']);
    // d's input is gone: d fails, and keeps the record of its last build (and its output).
    fs.rmSync(r.path('in/d.txt'));
    assert.match(await w.line(/^sbuild: \d+ ran, /, 2), /0 ran, 1 fresh, 1 failed, 1 not run \(dependency failed\) in .* — after in\/d\.txt changed$/);
    await w.line(WATCHING, 2);
    // An edit that touches only a: d is judged again too, and fails again (not "fresh").
    r.write('in/a.txt', 'A2\n');
    assert.match(await w.line(/^sbuild: \d+ ran, /, 3), /1 ran, 0 fresh, 1 failed, 1 not run \(dependency failed\) in .* — after in\/a\.txt changed$/);
    await w.line(WATCHING, 3);
    r.write('in/d.txt', 'D2\n');
    assert.match(await w.line(/^sbuild: \d+ ran, /, 4), /1 ran, 1 fresh in .* — after in\/d\.txt changed$/);
    await w.line(WATCHING, 4);
    assert.deepEqual(r.takeRuns(), ['a', 'd']);
    assert.equal(r.read('o/d'), 'D2\n');
  } finally {
    await stop(w);
  }
});

test('an absent intermediate (output deleted, not in the cache) is produced when a dependent that reads it runs', async () => {
  const r = rig();
  threeTargets(r);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.deepEqual(r.takeRuns(), ['a', 'b', 'cat']);
    fs.rmSync(r.path('.sbuild/cache'), { recursive: true, force: true });
    fs.rmSync(r.path('o/a'));
    // a is fresh by its record, its output not on disk and in no cache: left absent.
    assert.match(await built(w, 2), /0 ran, 3 fresh in .* — after o\/a changed$/);
    assert.ok(!r.exists('o/a'));
    // cat must run: it needs o/a, so a runs first.
    r.write('in/b.txt', 'B2\n');
    assert.match(await built(w, 3), /3 ran, 0 fresh in .* — after in\/b\.txt changed$/);
    assert.deepEqual(r.takeRuns(), ['a', 'b', 'cat']);
    assert.equal(r.read('o/cat'), 'A\nB2\nX\n');
  } finally {
    await stop(w);
  }
});

test('a glob into an output folder follows what the folder holds after each build', async () => {
  const r = rig();
  r.write('in/n.txt', '2\n');
  r.write('in/other.txt', 'o\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'gen', inputs: ['in/n.txt'], outputs: ['o/parts'], run: ${JSON.stringify(sh('gen', 'mkdir -p o/parts; for i in $(seq 1 $(cat in/n.txt)); do echo p$i > o/parts/p$i.txt; done'))} },
      { name: 'sum', inputs: ['o/parts/*.txt'], outputs: ['o/sum'], run: ${JSON.stringify(sh('sum', 'cat o/parts/*.txt > o/sum'))} },
      { name: 'other', inputs: ['in/other.txt'], outputs: ['o/other'], run: ${JSON.stringify(sh('other', 'cp in/other.txt o/other'))} },
      { name: 'all', deps: ['sum', 'other'] },
    ],
  }`);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.deepEqual(r.takeRuns(), ['gen', 'other', 'sum']);
    r.write('in/n.txt', '3\n');
    assert.match(await built(w, 2), /2 ran, 1 fresh in .* — after in\/n\.txt changed$/);
    assert.equal(r.read('o/sum'), 'p1\np2\np3\n');
    // The next build sees the three parts as they are: sum stays fresh.
    r.write('in/other.txt', 'o2\n');
    assert.match(await built(w, 3), /1 ran, 2 fresh in .* — after in\/other\.txt changed$/);
    assert.deepEqual(r.takeRuns(), ['gen', 'other', 'sum']);
  } finally {
    await stop(w);
  }
});

test('only the selection is built: an input of another target starts nothing', async () => {
  const r = rig();
  threeTargets(r);
  const w = watch(r, ['a']);
  try {
    await w.line(WATCHING);
    assert.deepEqual(r.takeRuns(), ['a']);
    r.write('in/b.txt', 'B2\n');
    r.write('in/a.txt', 'A2\n');
    assert.match(await built(w, 2), /1 ran, 0 fresh in .* — after in\/a\.txt changed$/);
    assert.deepEqual(r.takeRuns(), ['a']);
    assert.ok(!r.exists('o/b'));
  } finally {
    await stop(w);
  }
});

test('a config edit reloads it; a broken config is reported and waited on, not fatal', async () => {
  const r = rig();
  threeTargets(r);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    r.takeRuns();
    r.write('tasks.config.ts', r.read('tasks.config.ts').replace('cp in/b.txt o/b', 'cp in/b.txt o/b; echo more >> o/b'));
    assert.match(await built(w, 2), /2 ran, 1 fresh in .* — after tasks\.config\.ts changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns(), ['b', 'cat']);
    assert.equal(r.read('o/cat'), 'A\nB\nmore\nX\n');

    const good = r.read('tasks.config.ts');
    r.write('tasks.config.ts', good.replace("default: 'all',", "default: 'all',,"));
    await w.line(/^sbuild: waiting for a fix; Ctrl-C stops$/);
    assert.match(w.stderr(), /tasks\.config\.ts:\d+:\d+: error: Syntax error in the config/);
    r.write('in/a.txt', 'A3\n'); // not built while the config is broken
    r.write('tasks.config.ts', good.replace("default: 'all',", "default: 'b',"));
    assert.match(await built(w, 3), /0 ran, 1 fresh in .* — after tasks\.config\.ts changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns(), []);
    assert.ok(w.alive());
  } finally {
    await stop(w);
  }
});

test('a Python experiment config the config load evaluated: editing one of its bases reloads', async () => {
  const r = rig();
  r.write('configs/base.py', 'lr = 0.1\n');
  r.write('configs/exp.py', "_base_ = ['base.py']\nepochs = 2\n");
  r.config(`{
    targets: [
      { name: 'train', outputs: ['o/train'], run: ${'`'}echo train >> runs.log; mkdir -p o; echo \${cfg.values.lr} \${cfg.values.epochs} > o/train${'`'} },
    ],
    default: 'train',
  }`, "import { readMmConfig } from 'sbuild/rules';\nconst cfg = readMmConfig('configs/exp.py');");
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.equal(r.read('o/train'), '0.1 2\n');
    r.takeRuns();
    r.write('configs/base.py', 'lr = 0.2\n');
    assert.match(await built(w, 2), /1 ran, 0 fresh in .* — after configs\/base\.py changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns(), ['train']);
    assert.equal(r.read('o/train'), '0.2 2\n');
  } finally {
    await stop(w);
  }
});

test("a config that reads the file system itself reloads when what it read changes, and only then", async () => {
  // One experiment per file in exps/ (the folder is listed), a banner when a file exists, a
  // title read from a file: none of these is a target's input. It also starts a process.
  const r = rig();
  r.write('exps/a.txt', 'A\n');
  r.write('variants/v1.txt', ''); // listed, and no target reads anything there
  r.write('title.txt', 'T1\n');
  r.write('notes.txt', 'not read\n');
  r.config(`{
    default: 'table',
    targets: [
      ...names.map((f) => ({ name: 'run/' + f, inputs: ['exps/' + f], outputs: ['out/' + f], run: 'echo run/' + f + ' >> runs.log; mkdir -p out; cp exps/' + f + ' out/' + f })),
      { name: 'table', inputs: names.map((f) => 'out/' + f), outputs: ['table.txt'],
        run: "echo table >> runs.log; (echo '" + title + banner + ' ' + variants + "'; cat " + names.map((f) => 'out/' + f).join(' ') + ') > table.txt' },
    ],
  }`, [
    "import { readdirSync, existsSync } from 'node:fs';",
    "import { readFile } from 'node:fs/promises';",
    "import { execSync } from 'node:child_process';",
    "execSync('echo probe');",
    "const names = readdirSync('exps').sort();",
    "const banner = existsSync('flag') ? ' (flagged)' : '';",
    "const title = (await readFile('title.txt', 'utf8')).trim();",
    "const variants = readdirSync('variants').length;",
  ].join('\n'));
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.equal(r.read('table.txt'), 'T1 1\nA\n');
    r.takeRuns();
    // A file added to the folder the config listed: a new experiment, and a new table.
    r.write('exps/b.txt', 'B\n');
    assert.match(await built(w, 2), /2 ran, 1 fresh in .* — after exps changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns().sort(), ['run/b.txt', 'table']);
    assert.equal(r.read('table.txt'), 'T1 1\nA\nB\n');
    // A file the config only probed for appears.
    r.write('flag', '');
    assert.match(await built(w, 3), /1 ran, 2 fresh in .* — after flag changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns(), ['table']);
    assert.equal(r.read('table.txt'), 'T1 (flagged) 1\nA\nB\n');
    // A file the config read, edited.
    r.write('title.txt', 'T2\n');
    assert.match(await built(w, 4), /1 ran, 2 fresh in .* — after title\.txt changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns(), ['table']);
    assert.equal(r.read('table.txt'), 'T2 (flagged) 1\nA\nB\n');
    // A file added to a listed folder that holds no input.
    r.write('variants/v2.txt', '');
    assert.match(await built(w, 5), /1 ran, 2 fresh in .* — after variants changed \(config reloaded\)$/);
    assert.deepEqual(r.takeRuns(), ['table']);
    assert.equal(r.read('table.txt'), 'T2 (flagged) 2\nA\nB\n');
    // The same bytes under a new mtime, and a file beside them the config never read: no reload, no build.
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(r.dir, 'title.txt'), t, t);
    r.write('notes.txt', 'still not read\n');
    // A later change that does build shows that nothing was built in between.
    r.write('exps/a.txt', 'A2\n');
    assert.match(await built(w, 6), /2 ran, 1 fresh in .* — after exps\/a\.txt changed$/);
    assert.deepEqual(r.takeRuns().sort(), ['run/a.txt', 'table']);
    assert.equal(w.count(/config reloaded/), 4);
    // What a process the config started read is out of sight: said once, not at every reload.
    assert.equal(w.count(/^warning: the config ran `echo probe` while it loaded; watch does not see what that read: restart it after changing that\.$/), 1, w.lines.join('\n'));
  } finally {
    await stop(w);
  }
});

test('a folder swapped for one without a file, and inputs under .git/ and node_modules/, are changes', async () => {
  const r = rig();
  r.write('v1/x.txt', 'x\n');
  r.write('v1/y.txt', 'y\n');
  r.write('v2/x.txt', 'x\n');
  r.write('data/keep.txt', 'k\n');
  fs.symlinkSync('../v1', r.path('data/cur'));
  r.write('.git/HEAD', 'ref: refs/heads/main\n');
  r.write('node_modules/tool/version.txt', '1\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'list', inputs: ['data'], outputs: ['o/list'], run: ${JSON.stringify(sh('list', 'mkdir -p o; (cd data && find -L . -type f | sort) > o/list'))} },
      { name: 'head', inputs: ['.git/HEAD', 'node_modules/tool/version.txt'], outputs: ['o/head'], run: ${JSON.stringify(sh('head', 'mkdir -p o; cat .git/HEAD node_modules/tool/version.txt > o/head'))} },
      { name: 'all', deps: ['list', 'head'] },
    ],
  }`);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.equal(r.read('o/list'), './cur/x.txt\n./cur/y.txt\n./keep.txt\n');
    r.takeRuns();
    // The link now leads to a folder without y.txt: no event names y.txt.
    fs.symlinkSync('../v2', r.path('data/cur.new'));
    fs.renameSync(r.path('data/cur.new'), r.path('data/cur'));
    await built(w, 2);
    assert.deepEqual(r.takeRuns(), ['list']);
    assert.equal(r.read('o/list'), './cur/x.txt\n./keep.txt\n');
    r.write('.git/HEAD', 'ref: refs/heads/dev\n');
    await built(w, 3);
    assert.deepEqual(r.takeRuns(), ['head']);
    r.write('node_modules/tool/version.txt', '2\n');
    await built(w, 4);
    assert.deepEqual(r.takeRuns(), ['head']);
    assert.equal(r.read('o/head'), 'ref: refs/heads/dev\n2\n');
  } finally {
    await stop(w);
  }
});

test('an input that is a link: an edit where the file lies, and a retargeted link, are changes', async () => {
  const r = rig();
  r.write('ext/real.txt', 'r1\n');
  r.write('ext/other.txt', 'o1\n');
  fs.symlinkSync('ext/real.txt', r.path('in.txt'));
  r.config(`{
    default: 'copy',
    targets: [{ name: 'copy', inputs: ['in.txt'], outputs: ['o/copy'], run: ${JSON.stringify(sh('copy', 'mkdir -p o; cp in.txt o/copy'))} }],
  }`);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    r.takeRuns();
    r.write('ext/real.txt', 'r2\n'); // no target names ext/: only the link leads there
    await built(w, 2);
    assert.deepEqual(r.takeRuns(), ['copy']);
    assert.equal(r.read('o/copy'), 'r2\n');
    fs.symlinkSync('ext/other.txt', r.path('in.new'));
    fs.renameSync(r.path('in.new'), r.path('in.txt'));
    await built(w, 3);
    assert.deepEqual(r.takeRuns(), ['copy']);
    assert.equal(r.read('o/copy'), 'o1\n');
    // Where it leads now is what is watched.
    r.write('ext/other.txt', 'o2\n');
    await built(w, 4);
    assert.deepEqual(r.takeRuns(), ['copy']);
    assert.equal(r.read('o/copy'), 'o2\n');
  } finally {
    await stop(w);
  }
});

test('a config saved again while it loads is loaded again', async () => {
  // The config waits for the file 'go' after saying it is loading: the test saves a new
  // version of it in that window.
  const r = rig();
  const version = (v: string) => r.config(`{ default: 't', targets: [
    { name: 't', outputs: ['o/t'], run: ${JSON.stringify(sh('t', 'mkdir -p o; echo '))} + '${v} > o/t' },
  ] }`, [
    "import { existsSync, writeFileSync } from 'node:fs';",
    "writeFileSync('loading', '');",
    "while (!existsSync('go')) await new Promise((res) => setTimeout(res, 10));",
  ].join('\n'));
  r.write('go', '');
  version('v0');
  const w = watch(r);
  try {
    await w.line(WATCHING);
    assert.equal(r.read('o/t'), 'v0\n');
    fs.rmSync(r.path('go'));
    fs.rmSync(r.path('loading'));
    version('v1');
    await waitFor(() => r.exists('loading'));
    version('v2'); // saved while v1 loads
    r.write('go', '');
    await waitFor(() => r.exists('o/t') && r.read('o/t') === 'v2\n');
    await w.line(WATCHING, 3);
    assert.equal(r.read('o/t'), 'v2\n');
  } finally {
    await stop(w);
  }
});

test('changes during a build start exactly one more build after it', async () => {
  const r = rig();
  r.write('in/s.txt', 's0\n');
  r.write('in/t.txt', 't0\n');
  r.write('in/u.txt', 'u0\n');
  // slow reads t's output, so t has run before slow holds the build (until marks/go appears).
  r.config(`{
    default: 'all',
    targets: [
      { name: 't', inputs: ['in/t.txt'], outputs: ['o/t'], run: ${JSON.stringify(sh('t', 'mkdir -p o; cp in/t.txt o/t'))} },
      { name: 'slow', inputs: ['in/s.txt', 'o/t'], outputs: ['o/s'], run: ${JSON.stringify(sh('slow', 'mkdir -p marks; cat in/s.txt o/t > o/s; touch marks/started; while [ ! -e marks/go ]; do sleep 0.02; done; rm -f marks/go marks/started'))} },
      { name: 'u', inputs: ['in/u.txt'], outputs: ['o/u'], run: ${JSON.stringify(sh('u', 'mkdir -p o; cp in/u.txt o/u'))} },
      { name: 'all', deps: ['slow', 'u'] },
    ],
  }`);
  const w = watch(r);
  try {
    await waitFile(r, 'marks/started');
    r.write('in/s.txt', 's1\n');
    r.write('in/s.txt', 's2\n');
    r.write('in/t.txt', 't1\n');
    r.write('marks/go', '');
    await w.line(SUMMARY);
    await waitFile(r, 'marks/started');
    r.write('marks/go', '');
    assert.match(await built(w, 2), /2 ran, 1 fresh in .* — after in\/s\.txt and in\/t\.txt changed$/);
    assert.equal(r.read('o/s'), 's2\nt1\n');
    // Nothing else is queued: the next build is the next edit's.
    r.write('in/u.txt', 'u1\n');
    assert.match(await built(w, 3), /1 ran, 2 fresh in .* — after in\/u\.txt changed$/);
    assert.deepEqual(r.takeRuns(), ['slow', 'slow', 't', 't', 'u', 'u']);
    assert.equal(w.count(SUMMARY), 3);
  } finally {
    await stop(w);
  }
});

test('other sbuild commands work while watch waits; a build by another sbuild is taken as it is', async () => {
  const r = rig();
  threeTargets(r);
  // A long window: the other build below runs (and writes sbuild.lock) before watch looks.
  const w = watch(r, ['--debounce', '4000']);
  try {
    await w.line(WATCHING);
    r.takeRuns();
    const st = r.run(['status']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /fresh {3}cat/);
    r.write('in/a.txt', 'A2\n');
    const b = r.run(['--no-wait']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /2 ran, 1 fresh/);
    assert.deepEqual(r.takeRuns(), ['a', 'cat']);
    // Watch saw in/a.txt and the outputs change, re-read sbuild.lock, and found all fresh.
    assert.match(await built(w, 2), /0 ran, 3 fresh in /);
    const again = r.run(['--no-wait']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 ran, 3 fresh/);
    assert.deepEqual(r.takeRuns(), []);
    assert.equal(r.read('o/cat'), 'A2\nB\nX\n');
  } finally {
    await stop(w);
  }
  assert.equal(w.count(SUMMARY), 2, 'no build loop: ' + w.lines.join('\n'));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} stops watch with exit 130, idle or mid-build (the running job gets it)`, async () => {
    const r = rig();
    r.write('in/s.txt', 's0\n');
    r.config(`{
      default: 'slow',
      targets: [
        { name: 'slow', inputs: ['in/s.txt'], outputs: ['o/s'], run: ${JSON.stringify(sh('slow', 'mkdir -p o marks; cp in/s.txt o/s.part; if [ "$(cat in/s.txt)" = s1 ]; then touch marks/started; sleep 30; fi; mv o/s.part o/s'))} },
      ],
    }`);
    const idle = watch(r);
    await idle.line(WATCHING);
    idle.kill(signal);
    assert.equal(await idle.exited, 130);

    const busy = watch(r);
    await busy.line(WATCHING);
    r.write('in/s.txt', 's1\n');
    await waitFile(r, 'marks/started');
    const t0 = Date.now();
    busy.kill(signal);
    assert.equal(await busy.exited, 130, busy.lines.join('\n'));
    assert.ok(Date.now() - t0 < 10_000, 'the sleeping job was stopped, not waited for');
    assert.match(busy.lines.join('\n'), /interrupted: 0 ran/);
    assert.ok(!r.exists('o/s'), 'an interrupted target leaves no output');
  });
}

test('bad input: an unknown target, a bad flag, -n: the usual one-paragraph error and exit 2', () => {
  const r = rig();
  threeTargets(r);
  const unknown = r.run(['watch', 'cta']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: There is no target named 'cta'\. Did you mean .*'cat'/);
  const flag = r.run(['watch', '--debounce', 'soon']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^error: --debounce takes milliseconds/);
  const dry = r.run(['watch', '-n']);
  assert.equal(dry.code, 2);
  assert.match(dry.stderr, /does not take -n\/--dry-run/);
  assert.equal(r.takeRuns().length, 0);
});

async function waitFile(r: Rig, rel: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!fs.existsSync(path.join(r.dir, rel))) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${rel}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('an output folder its job made again is watched again: a hand edit inside it is restored', async () => {
  const r = rig();
  r.write('in/s.txt', 's0\n');
  r.config(`{
    default: 'split',
    targets: [
      { name: 'split', inputs: ['in/s.txt'], outputs: ['o/d'], run: ${JSON.stringify(sh('split', 'mkdir -p o/d/sub && cp in/s.txt o/d/head.txt && cp in/s.txt o/d/sub/tail.txt'))} },
    ],
  }`);
  const w = watch(r);
  try {
    await w.line(WATCHING);
    // The job runs again, after an input edit and after a config edit: sbuild removes o/d
    // first and the job makes it anew.
    r.write('in/s.txt', 's1\n');
    assert.match(await built(w, 2), /1 ran, 0 fresh in .* — after in\/s\.txt changed$/);
    r.write('tasks.config.ts', r.read('tasks.config.ts').replace('mkdir -p o/d/sub', 'mkdir -p  o/d/sub'));
    assert.match(await built(w, 3), /1 ran, 0 fresh in .* — after tasks\.config\.ts changed \(config reloaded\)$/);
    // Restored from the cache (removed and made again by sbuild), then edited by hand, in turn.
    for (const f of ['o/d/head.txt', 'o/d/sub/tail.txt', 'o/d/head.txt', 'o/d/sub/tail.txt']) {
      const n = w.count(SUMMARY) + 1;
      fs.rmSync(r.path(f));
      r.write(f, 'hand edit\n');
      assert.match(await w.line(SUMMARY, n), /0 ran, 1 restored, 0 fresh in .* — after o\/d\/.*changed$/);
      await w.line(WATCHING, n);
      assert.equal(r.read(f), 's1\n');
    }
    assert.deepEqual(r.takeRuns(), ['split', 'split', 'split']);
  } finally {
    await stop(w);
  }
});

test('an input edited and put back while its job ran: the target is built once more, from the bytes now there', async () => {
  const r = rig();
  r.write('in/cfg.txt', 'lr=1\n');
  r.config(`{
    default: 'train',
    targets: [
      { name: 'train', inputs: ['in/cfg.txt'], outputs: ['o/model'], run: ${JSON.stringify(sh('train', 'mkdir -p o marks; touch marks/started; sleep 0.6; cat in/cfg.txt > o/model; while [ ! -e marks/go ]; do sleep 0.02; done; rm -f marks/go marks/started'))} },
    ],
  }`);
  const w = watch(r);
  try {
    await waitFile(r, 'marks/started');
    r.write('marks/go', '');
    await w.line(WATCHING);
    r.takeRuns();
    // Saved while the training reads it, put back before it ends: the same bytes as recorded.
    r.write('in/cfg.txt', 'lr=2\n');
    await waitFile(r, 'marks/started');
    r.write('in/cfg.txt', 'lr=9\n');
    await new Promise((res) => setTimeout(res, 900));
    r.write('in/cfg.txt', 'lr=2\n');
    r.write('marks/go', '');
    assert.match(await w.line(/warning: train: in\/cfg\.txt changed while it ran/), /not recorded nor cached/);
    await w.line(WATCHING, 2);
    // The same bytes as judged, but no record vouches for what the job made: once more.
    await waitFile(r, 'marks/started');
    r.write('marks/go', '');
    assert.match(await built(w, 3), /1 ran, 0 fresh in .* — again for train, whose inputs changed while they ran$/);
    assert.equal(r.read('o/model'), 'lr=2\n');
    assert.deepEqual(r.takeRuns(), ['train', 'train']);
  } finally {
    await stop(w);
  }
});
