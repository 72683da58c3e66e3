// The rebuilder and scheduler through the real CLI: which targets run, and why.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Rig, sh, twoCopies, useRigs } from '../helpers/rig.js';

const rig = useRigs();

/** a.txt → upper → count → report; b.txt → other; all = {report, other}. */
function chain(r: Rig, params = '{ width: 1 }'): void {
  r.config(`{
    default: 'all',
    targets: [
      { name: 'upper', inputs: ['a.txt'], outputs: ['out/upper.txt'], run: ${JSON.stringify(sh('upper', 'tr a-z A-Z < a.txt > out/upper.txt'))} },
      { name: 'count', inputs: ['out/upper.txt'], outputs: ['out/count.txt'], params: ${params}, run: ${JSON.stringify(sh('count', 'wc -c < out/upper.txt > out/count.txt'))} },
      { name: 'report', inputs: ['out/count.txt'], outputs: ['out/report.txt'], run: ${JSON.stringify(sh('report', 'cat out/count.txt > out/report.txt'))} },
      { name: 'other', inputs: ['b.txt'], outputs: ['out/other.txt'], run: ['sh', '-c', ${JSON.stringify(sh('other', 'cp b.txt out/other.txt'))}] },
      { name: 'all', deps: ['report', 'other'] },
    ],
  }`);
}

/** The chain, built once, with runs.log cleared. */
function builtChain(): Rig {
  const r = rig();
  r.write('a.txt', 'hello\n');
  r.write('b.txt', 'b\n');
  chain(r);
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  return r;
}

test('first build runs every target once; a second runs none', () => {
  const r = rig();
  r.write('a.txt', 'hello\n');
  r.write('b.txt', 'b\n');
  chain(r);
  const first = r.run([]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(r.takeRuns(), ['count', 'other', 'report', 'upper']);
  assert.equal(r.read('out/upper.txt'), 'HELLO\n');
  assert.equal(r.read('out/report.txt').trim(), '6');
  const second = r.run([]);
  assert.equal(second.code, 0);
  assert.deepEqual(r.takeRuns(), []);
  assert.match(second.stdout, /0 ran, 4 fresh/);
});

test('editing an input reruns exactly its downstream; touch reruns nothing', () => {
  const r = builtChain();
  r.write('a.txt', 'longer text\n');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['count', 'report', 'upper']);
  const now = new Date();
  fs.utimesSync(r.path('a.txt'), now, now);
  fs.utimesSync(r.path('b.txt'), now, now);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), []);
});

test('an upstream rebuilt to identical bytes stops there (early cutoff)', () => {
  const r = builtChain();
  r.write('a.txt', 'world\n'); // same length: count's output is unchanged
  const res = r.run([]);
  assert.equal(res.code, 0);
  assert.deepEqual(r.takeRuns(), ['count', 'upper']);
  assert.match(res.stdout, /2 ran, 2 fresh/);
});

test('a param change reruns the target and explain shows old → new', () => {
  const r = builtChain();
  chain(r, '{ width: 2 }');
  const ex = r.run(['explain', 'count']);
  assert.equal(ex.code, 0);
  assert.match(ex.stdout, /^count: would run \(stale\)$/m);
  assert.match(ex.stdout, /param width changed: 1 → 2/);
  assert.deepEqual(r.takeRuns(), [], 'explain runs nothing');
  const dry = r.run(['-n']);
  assert.match(dry.stdout, /would run count\n\s+param width changed: 1 → 2/);
  assert.match(dry.stdout, /would run report\n\s+upstream count will run/);
  assert.deepEqual(r.takeRuns(), [], 'dry run runs nothing');
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['count']); // same output bytes: report stays fresh
  // Key order of params does not matter.
  chain(r, '{ "width": 2 }');
  r.run([]);
  assert.deepEqual(r.takeRuns(), []);
});

test('explain names the changed input with old → new hashes, a missing or modified output, and forcing', () => {
  const r = builtChain();
  const lock = JSON.parse(r.read('sbuild.lock'));
  const oldHash: string = lock.targets.upper.inputs['a.txt'];
  r.write('a.txt', 'changed\n');
  const ex = r.run(['explain', 'upper']);
  assert.match(ex.stdout, new RegExp(`input a.txt changed: ${oldHash.slice(0, 12)} → [0-9a-f]{12}`));
  r.write('a.txt', 'hello\n');
  fs.rmSync(r.path('out/other.txt'));
  assert.match(r.run(['explain', 'other']).stdout, /output out\/other.txt is missing/);
  r.write('out/report.txt', 'tampered\n');
  assert.match(r.run(['explain', 'report']).stdout, /output out\/report.txt was modified: recorded [0-9a-f]{12}, now [0-9a-f]{12}/);
  const fixed = r.run([]);
  assert.deepEqual(r.takeRuns(), [], 'a missing or modified output is restored from the cache, not rerun');
  assert.match(fixed.stdout, /↺ other restored from cache/);
  assert.match(fixed.stdout, /↺ report restored from cache/);
  assert.equal(r.read('out/report.txt').trim(), '6');
  fs.rmSync(r.path('.sbuild/cache'), { recursive: true });
  fs.rmSync(r.path('out/other.txt'));
  r.run([]);
  assert.deepEqual(r.takeRuns(), ['other'], 'without a cache entry it reruns');
  const forced = r.run(['-B', 'count']);
  assert.match(forced.stdout, /▶ count — forced/);
  assert.deepEqual(r.takeRuns(), ['count']);
});

test('a failed command leaves no fresh record; -k finishes the independent branches', () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  r.config(`{
    targets: [
      { name: 'bad', inputs: ['a.txt'], outputs: ['out/bad.txt'], run: ${JSON.stringify(sh('bad', 'echo partial > out/bad.txt; echo boom >&2; exit 3'))} },
      { name: 'after-bad', inputs: ['out/bad.txt'], outputs: ['out/after.txt'], run: ${JSON.stringify(sh('after-bad', 'cp out/bad.txt out/after.txt'))} },
      { name: 'slow-ok', inputs: ['a.txt'], outputs: ['out/ok1.txt'], run: ${JSON.stringify(sh('slow-ok', 'sleep 0.3; cp a.txt out/ok1.txt'))} },
      { name: 'ok2', inputs: ['out/ok1.txt'], outputs: ['out/ok2.txt'], run: ${JSON.stringify(sh('ok2', 'cp out/ok1.txt out/ok2.txt'))} },
      { name: 'all', deps: ['after-bad', 'ok2'] },
    ],
  }`);
  const plain = r.run(['all', '-j', '2']);
  assert.equal(plain.code, 1);
  assert.match(plain.stdout, /✖ bad: command failed with exit code 3/);
  assert.match(plain.stdout, /command: echo bad >> runs.log/);
  assert.match(plain.stdout, /│ boom/);
  // Without -k nothing new starts after the failure: ok2 never runs (slow-ok was already running).
  assert.deepEqual(r.takeRuns(), ['bad', 'slow-ok']);
  const lock = JSON.parse(r.read('sbuild.lock'));
  assert.equal(lock.targets.bad, undefined, 'a failed target has no record');
  assert.ok(lock.targets['slow-ok'], 'a target that finished is recorded');
  const kg = r.run(['all', '-k']);
  assert.equal(kg.code, 1);
  assert.deepEqual(r.takeRuns(), ['bad', 'ok2']);
  assert.match(kg.stdout, /after-bad: not run, dependency bad failed/);
  assert.ok(r.exists('out/ok2.txt'));
  assert.deepEqual(r.takeRuns(), []);
  r.run(['all', '-k']);
  assert.deepEqual(r.takeRuns(), ['bad'], 'the failed target is retried, never fresh');
});

test('a declared output that the command did not produce fails the build (exit 1)', () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  r.config(`{ targets: [ { name: 'lazy', inputs: ['a.txt'], outputs: ['out/x.txt', 'out/y.txt'], run: ${JSON.stringify(sh('lazy', 'cp a.txt out/x.txt'))} } ] }`);
  const res = r.run(['lazy']);
  assert.equal(res.code, 1);
  assert.match(res.stdout, /✖ lazy: the command succeeded but did not produce the declared output\(s\) 'out\/y.txt'/);
  assert.ok(!r.exists('sbuild.lock') || JSON.parse(r.read('sbuild.lock')).targets.lazy === undefined);
  assert.equal(r.run(['lazy']).code, 1, 'never recorded fresh');
});

test('input globs match declared outputs of other targets before they exist', () => {
  const r = rig();
  r.write('cfg/a.txt', '1\n');
  r.write('cfg/b.txt', '22\n');
  r.config(`{
    default: 'table',
    targets: [
      ...['a', 'b'].map((e) => ({ name: 'exp/' + e, inputs: ['cfg/' + e + '.txt'], outputs: ['work_dirs/' + e + '/val_metrics.json'],
        run: 'echo exp/' + e + ' >> runs.log; wc -c < cfg/' + e + '.txt > work_dirs/' + e + '/val_metrics.json' })),
      { name: 'table', inputs: ['work_dirs/**/*_metrics.json'], outputs: ['results.tsv'],
        run: async (ctx) => { const fs = await import('node:fs'); fs.appendFileSync(ctx.path('runs.log'), 'table\\n');
          await ctx.writeFile('results.tsv', ctx.inputs.map((f) => f + '\\t' + fs.readFileSync(ctx.path(f), 'utf8').trim()).join('\\n') + '\\n'); } },
    ],
  }`);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['exp/a', 'exp/b', 'table']);
  assert.equal(r.read('results.tsv'), 'work_dirs/a/val_metrics.json\t2\nwork_dirs/b/val_metrics.json\t3\n');
  r.write('cfg/b.txt', '333\n');
  r.run([]);
  assert.deepEqual(r.takeRuns(), ['exp/b', 'table']);
  assert.equal(r.read('results.tsv'), 'work_dirs/a/val_metrics.json\t2\nwork_dirs/b/val_metrics.json\t4\n');
});

test('in-process actions rerun when their code changes; env values are fingerprinted', () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  const cfg = (body: string) => r.config(`{
    targets: [ { name: 'fn', inputs: ['a.txt'], outputs: ['out/fn.txt'], env: ['MODE'],
      run: async (ctx) => { const fs = await import('node:fs'); fs.appendFileSync(ctx.path('runs.log'), 'fn\\n'); await ctx.writeFile('out/fn.txt', ${body}); } } ],
  }`);
  cfg(`'v1:' + (process.env.MODE ?? '')`);
  r.run(['fn'], { MODE: 'x' });
  assert.equal(r.read('out/fn.txt'), 'v1:x');
  r.run(['fn'], { MODE: 'x' });
  assert.deepEqual(r.takeRuns(), ['fn']);
  const ex = r.run(['explain', 'fn'], { MODE: 'y' });
  assert.match(ex.stdout, /env MODE changed/);
  assert.doesNotMatch(ex.stdout, /\by\b.*→/);
  r.run(['fn'], { MODE: 'y' });
  assert.deepEqual(r.takeRuns(), ['fn']);
  cfg(`'v2:' + (process.env.MODE ?? '')`);
  const ex2 = r.run(['explain', 'fn'], { MODE: 'y' });
  assert.match(ex2.stdout, /command changed: fn: fn@0 source=\w+ config=\w+ → fn: fn@0 source=\w+ config=\w+/);
  r.run(['fn'], { MODE: 'y' });
  assert.deepEqual(r.takeRuns(), ['fn']);
  assert.equal(r.read('out/fn.txt'), 'v2:y');
});

test('status reports fresh, stale and missing; --exit-code fails when anything is not fresh', () => {
  const r = builtChain();
  const ok = r.run(['status', '--exit-code']);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /4 fresh, 0 stale, 0 missing/);
  fs.rmSync(r.path('out/other.txt'));
  r.write('a.txt', 'HELLO!\n');
  const bad = r.run(['status', '--exit-code']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^stale {3}upper — input a.txt changed/m);
  assert.match(bad.stdout, /^missing other — output out\/other.txt is missing/m);
  assert.match(bad.stdout, /^stale {3}count — upstream upper will run/m);
  assert.deepEqual(r.takeRuns(), []);
  assert.equal(r.run(['status']).code, 0, 'without --exit-code status succeeds');
});

test('selection by glob and tag; list and graph', () => {
  const r = rig();
  r.config(`{
    targets: [
      { name: 'exp/a/smoke', tags: ['smoke'], outputs: ['o/a-s'], run: ${JSON.stringify(sh('exp/a/smoke', 'touch o/a-s'))} },
      { name: 'exp/a/full', tags: ['full'], outputs: ['o/a-f'], run: ${JSON.stringify(sh('exp/a/full', 'touch o/a-f'))}, description: 'full run of a' },
      { name: 'exp/b/smoke', tags: ['smoke'], outputs: ['o/b-s'], run: ${JSON.stringify(sh('exp/b/smoke', 'touch o/b-s'))} },
      { name: 'exp/b/full', tags: ['full'], inputs: ['o/b-s'], outputs: ['o/b-f'], run: ${JSON.stringify(sh('exp/b/full', 'touch o/b-f'))} },
    ],
  }`);
  r.run(['tag:smoke']);
  assert.deepEqual(r.takeRuns(), ['exp/a/smoke', 'exp/b/smoke']);
  r.run(['exp/*/full']);
  assert.deepEqual(r.takeRuns(), ['exp/a/full', 'exp/b/full']);
  const list = r.run(['list']);
  assert.match(list.stdout, /exp\/a\/full\s+full run of a \[full\]/);
  const dot = r.run(['graph', '--format', 'dot']);
  assert.match(dot.stdout, /"exp\/b\/smoke" -> "exp\/b\/full";/);
  const mer = r.run(['graph', '--format', 'mermaid']);
  assert.match(mer.stdout, /^graph LR$/m);
  assert.match(mer.stdout, /n\d+ --> n\d+/);
  const js = JSON.parse(r.run(['graph', '--format', 'json']).stdout);
  assert.equal(js.nodes.length, 4);
  assert.deepEqual(js.edges, [{ from: 'exp/b/smoke', to: 'exp/b/full' }]);
});

test('--json prints one event per line: start, skipped with reason, done with duration', () => {
  const r = rig();
  r.write('a.txt', 'hello\n');
  r.write('b.txt', 'b\n');
  chain(r);
  r.run(['other']);
  const res = r.run(['--json']);
  const events = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.some((e) => e.type === 'skipped' && e.name === 'other' && e.reason === 'fresh'));
  const start = events.find((e) => e.type === 'start' && e.name === 'upper');
  assert.deepEqual(start.why, ['never built (no record in sbuild.lock)']);
  assert.ok(events.some((e) => e.type === 'done' && e.name === 'report' && typeof e.ms === 'number'));
  assert.equal(events.at(-1).type, 'summary');
});

test('clean removes declared outputs and keeps sbuild.lock; status then says missing', () => {
  const r = builtChain();
  const lockBefore = r.read('sbuild.lock');
  const res = r.run(['clean']);
  assert.match(res.stdout, /removed 4 output\(s\)/);
  assert.ok(!r.exists('out/upper.txt'));
  assert.equal(r.read('sbuild.lock'), lockBefore);
  assert.match(r.run(['status']).stdout, /0 fresh, \d+ stale, \d+ missing/);
  const res2 = r.run([]);
  assert.deepEqual(r.takeRuns(), [], 'cleaned outputs come back from the cache');
  // Intermediates come back too: the local cache holds them (a clone without it leaves them absent).
  assert.match(res2.stdout, /0 ran, 4 restored, 0 fresh/);
  assert.equal(r.read('out/report.txt').trim(), '6');
  assert.equal(r.read('out/upper.txt'), 'HELLO\n');
  fs.rmSync(r.path('.sbuild/cache'), { recursive: true });
  fs.rmSync(r.path('out/upper.txt'));
  assert.match(r.run([]).stdout, /0 ran, 0 restored, 4 fresh|0 ran, 4 fresh/, 'without the cache an absent intermediate stays absent until needed');
  assert.ok(!r.exists('out/upper.txt'));
  r.run(['upper']);
  assert.equal(r.read('out/upper.txt'), 'HELLO\n');
  assert.deepEqual(r.takeRuns(), ['upper'], 'asked for by name, it is produced');
});

test('sbuild.lock is deterministic: the same build in two workspaces gives the same bytes', () => {
  const a = rig();
  const b = rig();
  for (const r of [a, b]) {
    r.write('a.txt', 'hello\n');
    r.write('b.txt', 'b\n');
    chain(r);
    r.run(['-j', r === a ? '1' : '4']);
  }
  assert.equal(a.read('sbuild.lock'), b.read('sbuild.lock'));
  assert.match(a.read('sbuild.lock'), /^{\n  "format": 1,\n  "fingerprintFormat": 1,\n  "targets": {\n    "count": {/);
});

test('an inline in-process action reruns when a value it captured from the config changes; a declared rule does not', () => {
  const r = rig();
  const cfg = (label: string, other: string) => r.config(`{
    targets: [
      { name: 'inline', outputs: ['out/inline.txt'],
        run: async (ctx) => { const fs = await import('node:fs'); fs.appendFileSync(ctx.path('runs.log'), 'inline\\n'); await ctx.writeFile('out/inline.txt', label); } },
      { name: 'ruled', outputs: ['out/ruled.txt'], params: { text: 'p' }, rule: { id: 'copy-param', version: 1 },
        run: async (ctx) => { const fs = await import('node:fs'); fs.appendFileSync(ctx.path('runs.log'), 'ruled\\n'); await ctx.writeFile('out/ruled.txt', String(ctx.params.text)); } },
      { name: 'other', outputs: ['out/other.txt'], run: ${JSON.stringify(sh('other', `echo ${'${OTHER}'} > out/other.txt`))}.replace('\${OTHER}', ${JSON.stringify(other)}) },
    ],
  }`, `const label: string = ${JSON.stringify(label)};`);
  cfg('one', 'x');
  r.run(['inline', 'ruled', 'other']);
  assert.deepEqual(r.takeRuns(), ['inline', 'other', 'ruled']);
  cfg('two', 'x');
  const ex = r.run(['explain', 'inline']);
  assert.match(ex.stdout, /command changed: fn: inline@0 source=\w+ config=\w+ → fn: inline@0 source=\w+ config=\w+/);
  r.run(['inline', 'ruled', 'other']);
  assert.deepEqual(r.takeRuns(), ['inline'], 'only the action that may read the captured value reruns');
  assert.equal(r.read('out/inline.txt'), 'two');
  cfg('two', 'y');
  r.run(['inline', 'ruled', 'other']);
  assert.deepEqual(r.takeRuns(), ['inline', 'other']);
});

test('a folder input follows linked sub-folders (a dataset linked into data/)', () => {
  const r = rig();
  const ext = r.path('../' + path.basename(r.dir) + '-ext');
  fs.mkdirSync(ext, { recursive: true });
  fs.writeFileSync(path.join(ext, 'img.txt'), '1\n');
  r.write('data/readme.txt', 'x\n');
  fs.symlinkSync(ext, r.path('data/ds'), 'dir');
  r.config(`{ targets: [ { name: 'm', inputs: ['data'], outputs: ['m.txt'], run: ${JSON.stringify(sh('m', 'cat data/readme.txt data/ds/img.txt > m.txt'))} } ] }`);
  r.run(['m']);
  assert.deepEqual(r.takeRuns(), ['m']);
  fs.writeFileSync(path.join(ext, 'img.txt'), '2\n');
  r.run(['m']);
  assert.deepEqual(r.takeRuns(), ['m'], 'the linked image changed');
  assert.equal(r.read('m.txt'), 'x\n2\n');
  fs.rmSync(ext, { recursive: true });
});

test('lineage: a target that records provenance reruns when an upstream fingerprint changes, even with identical outputs', () => {
  const r = rig();
  r.write('src.txt', 'x\n');
  const config = (flag: string) => `{
    targets: [
      { name: 'a', inputs: ['src.txt'], outputs: ['a.txt'], run: ${JSON.stringify(sh('a', 'cp src.txt a.txt'))}, params: { flag: '${flag}' } },
      { name: 'plain', inputs: ['a.txt'], outputs: ['plain.txt'], run: ${JSON.stringify(sh('plain', 'cp a.txt plain.txt'))} },
      { name: 'manifest', inputs: ['a.txt'], outputs: ['manifest.txt'], lineage: true, run: ${JSON.stringify(sh('manifest', 'cp a.txt manifest.txt'))} },
    ],
  }`;
  r.config(config('1'));
  assert.equal(r.run(['plain', 'manifest']).code, 0);
  r.takeRuns();
  r.config(config('2'));
  const res = r.run(['plain', 'manifest', '-v']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['a', 'manifest'], 'early cutoff for plain, not for manifest');
  assert.match(res.stdout, /manifest — upstream a was rebuilt with another fingerprint: [0-9a-f]{12} → [0-9a-f]{12}/);
  assert.equal(r.run(['plain', 'manifest']).code, 0);
  assert.deepEqual(r.takeRuns(), []);
});

test('an entry of sbuild.lock that does not parse is said once, its target is judged never built, and the lock is written without it', () => {
  const r = rig();
  twoCopies(r);
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), ['p', 'q']);
  // A hand edit that keeps the lock's layout but breaks p's entry.
  const lock = r.read('sbuild.lock');
  const fp = (JSON.parse(lock) as { targets: Record<string, { fingerprint: string }> }).targets.p!.fingerprint;
  r.write('sbuild.lock', lock.replace(`"fingerprint": "${fp}"`, '"fingerprint": "abc"'));
  const said = "warning: sbuild.lock's entry for 'p' is corrupt; ignoring it ('p' is checked as never built, and the lock is rewritten without it)";
  const dry = r.run(['-n']);
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.equal((dry.stdout + dry.stderr).split('\n').filter((l) => l === said).length, 1, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /would restore p|would run p/);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal((res.stdout + res.stderr).split('\n').filter((l) => l === said).length, 1, res.stdout + res.stderr);
  // Restored from the local cache: nothing ran, and the lock holds p's entry again.
  assert.deepEqual(r.takeRuns(), []);
  assert.equal((JSON.parse(r.read('sbuild.lock')) as { targets: Record<string, { fingerprint: string }> }).targets.p!.fingerprint, fp);
  const again = r.run([]);
  assert.doesNotMatch(again.stdout + again.stderr, /corrupt/);
  assert.match(again.stdout, /0 ran, 2 fresh/);
});
