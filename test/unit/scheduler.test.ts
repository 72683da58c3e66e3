// The scheduler, in process: builds of a memory workspace (test/helpers/memory-workspace.ts)
// whose jobs are run by the fake executor (test/helpers/fake-executor.ts), so a test decides
// when each job ends and how. Asserts exact start orders, lists and failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { BuildEvent } from '../../src/engine/events.js';
import type { Failure } from '../../src/engine/failure.js';
import { failureMessage } from '../../src/ui/failure.js';
import { historyPath, journalPath } from '../../src/engine/state-paths.js';
import { FakeExecutor } from '../helpers/fake-executor.js';
import { cmd, useMemoryWorkspaces } from '../helpers/memory-workspace.js';

const workspace = useMemoryWorkspaces();
/** A build that never ends (a job nobody settles) fails its test instead of hanging the run. */
const T = { timeout: 10_000 };

function failureOf(events: BuildEvent[], name: string): Failure {
  const e = events.find((x): x is Extract<BuildEvent, { type: 'failed' }> => x.type === 'failed' && x.name === name);
  assert.ok(e, `no 'failed' event for '${name}'`);
  return e.failure;
}

function writeHistory(root: string, durations: Record<string, number>): void {
  fs.mkdirSync(path.dirname(historyPath(root)), { recursive: true });
  fs.writeFileSync(historyPath(root), JSON.stringify({ durations }));
}

test('scheduler: dependencies end before their dependents start', T, async () => {
  const m = workspace({
    targets: [
      cmd('c', ['out/b', 'out/a'], ['out/c']),
      cmd('b', ['out/a'], ['out/b']),
      cmd('a', ['src.txt'], ['out/a']),
      cmd('x', ['src.txt'], ['out/x']),
    ],
  });
  m.write('src.txt', 's\n');
  const r = await m.build([], { jobs: 4 });
  assert.deepEqual(r.ran, ['a', 'x', 'b', 'c']);
  const at = (e: string) => r.ex.log.indexOf(e);
  assert.ok(at('end:a') < at('start:b'), r.ex.log.join(' '));
  assert.ok(at('end:b') < at('start:c'), r.ex.log.join(' '));
  // a and x have no dependencies: both start in the first round, before anything ends.
  assert.deepEqual(r.ex.log.slice(0, 2), ['start:a', 'start:x']);
  assert.deepEqual(r.ex.log.filter((e) => e.startsWith('start:')), ['start:a', 'start:x', 'start:b', 'start:c']);
});

test('scheduler: with -j1 the longest remaining path (by recorded durations) starts first', T, async () => {
  const targets = [
    cmd('short1', ['s.txt'], ['out/s1']),
    cmd('long1', ['s.txt'], ['out/l1']),
    cmd('long2', ['out/l1'], ['out/l2']),
    cmd('long3', ['out/l2'], ['out/l3']),
    cmd('short2', ['s.txt'], ['out/s2']),
  ];
  // long1 → long2 → long3 takes 3 s (2 s from long2, 1 s from long3); the shorts 0.9 s each.
  const m = workspace({ targets });
  m.write('s.txt', 's\n');
  writeHistory(m.root, { short1: 900, short2: 900, long1: 1000, long2: 1000, long3: 1000 });
  let r = await m.build([], { jobs: 1 });
  assert.deepEqual(r.ex.started, ['long1', 'long2', 'long3', 'short1', 'short2']);
  // The same graph with short2 recorded as slow: it goes first, then the chain, then short1.
  const m2 = workspace({ targets });
  m2.write('s.txt', 's\n');
  writeHistory(m2.root, { short1: 900, short2: 5000, long1: 1000, long2: 1000, long3: 1000 });
  r = await m2.build([], { jobs: 1 });
  assert.deepEqual(r.ex.started, ['short2', 'long1', 'long2', 'long3', 'short1']);
  // The build records what it measured.
  const saved = JSON.parse(fs.readFileSync(historyPath(m2.root), 'utf8')) as { durations: Record<string, number> };
  assert.deepEqual(Object.keys(saved.durations).sort(), ['long1', 'long2', 'long3', 'short1', 'short2']);
  assert.ok(saved.durations.short2! < 5000, 'the recorded duration is the measured one');
});

test('scheduler: equal priorities start in arrival order (FIFO), not by name', T, async () => {
  const names = ['e', 'b', 'd', 'a', 'c'];
  const m = workspace({ targets: names.map((n) => cmd(n, ['in.txt'], [`out/${n}`])) });
  m.write('in.txt', 'i\n');
  const r = await m.build([], { jobs: 1 });
  assert.deepEqual(r.ex.started, names);
});

test('scheduler: -j caps the jobs running at once', T, async () => {
  const names = Array.from({ length: 7 }, (_, i) => `t${i}`);
  const m = workspace({ targets: names.map((n) => cmd(n, ['in.txt'], [`out/${n}`])) });
  m.write('in.txt', 'i\n');
  const auto = await m.build([], { jobs: 3 });
  assert.equal(auto.ex.maxRunning, 3);
  assert.deepEqual(auto.ran, names);

  // Controlled: two run; a third starts only when one of them ends. (Without the cache, and
  // without the durations the first build recorded, which would reorder the queue.)
  for (const n of names) m.remove(`out/${n}`);
  m.remove('.sbuild');
  const ex = new FakeExecutor();
  const b = await m.start([], { jobs: 2, executor: ex });
  await ex.waitRunning(2);
  assert.deepEqual(ex.runningNow, ['t0', 't1']);
  ex.finish('t1');
  await ex.waitStart('t2');
  assert.deepEqual(ex.runningNow, ['t0', 't2']);
  while (ex.started.length < names.length || ex.runningNow.length) {
    const next = ex.runningNow[0];
    if (next) ex.finish(next);
    await new Promise((r) => setImmediate(r));
  }
  const r = await b.done;
  assert.equal(ex.maxRunning, 2);
  assert.ok(ex.starts.every((s) => s.alongside.length <= 1));
  assert.deepEqual([...r.ran].sort(), names);
});

test('scheduler: GPU jobs never share a device while running; CUDA_VISIBLE_DEVICES names the job\'s ids', T, async () => {
  const m = workspace({
    targets: [
      ...['g0', 'g1', 'g2', 'g3'].map((n) => cmd(n, ['in.txt'], [`out/${n}`], { resources: { gpu: 1 } })),
      cmd('cpu', ['in.txt'], ['out/cpu']),
    ],
  });
  m.write('in.txt', 'i\n');
  const ex = new FakeExecutor();
  const b = await m.start([], { jobs: 8, gpuFlag: '0,1', executor: ex });
  await ex.waitRunning(3);
  assert.deepEqual(ex.starts.map((s) => [s.name, s.gpus, s.cuda]), [['g0', ['0'], '0'], ['g1', ['1'], '1'], ['cpu', [], '']]);
  ex.finish('g1');
  await ex.waitStart('g2');
  assert.deepEqual(ex.starts.at(-1)!.gpus, ['1'], 'g2 gets the device g1 released');
  ex.finish('g0');
  await ex.waitStart('g3');
  assert.deepEqual(ex.starts.at(-1)!.gpus, ['0']);
  for (const n of ['cpu', 'g2', 'g3']) ex.finish(n);
  const r = await b.done;
  assert.deepEqual(r.ran, ['g1', 'g0', 'cpu', 'g2', 'g3']);
  // No start ever found its device in use by a job running beside it.
  for (const s of ex.starts) {
    const busy = s.alongside.flatMap((n) => ex.starts.filter((o) => o.name === n).at(-1)!.gpus);
    assert.deepEqual(s.gpus.filter((g) => busy.includes(g)), [], `${s.name} shared a device`);
    assert.equal(s.cuda, s.gpus.join(','));
  }
});

test('scheduler: a target needing more GPUs than exist fails as impossible, without running', T, async () => {
  const m = workspace({
    targets: [cmd('big', ['in.txt'], ['out/big'], { resources: { gpu: 3 } }), cmd('small', ['in.txt'], ['out/small'], { resources: { gpu: 1 } })],
  });
  m.write('in.txt', 'i\n');
  const r = await m.build([], { gpuFlag: '0,1', keepGoing: true });
  assert.deepEqual(r.failed, ['big']);
  assert.deepEqual(r.ran, ['small']);
  assert.deepEqual(r.ex.started, ['small']);
  const f = failureOf(r.events, 'big');
  assert.deepEqual(f, { kind: 'impossible', why: 'needs 3 GPU(s) but the pool has 2 (0,1)', hint: 'too-few-gpus' });
  assert.equal(failureMessage(f, 'big'), "target 'big' needs 3 GPU(s) but the pool has 2 (0,1). Lower its `resources.gpu`, or pass more ids with --gpus.");
  // With no GPU at all the hint says how to get one.
  const none = await m.build(['big'], { gpuFlag: 'none' });
  assert.equal(failureMessage(failureOf(none.events, 'big'), 'big'), "target 'big' needs 3 GPU(s) but the pool has 0 (none detected). Run on a machine with a GPU, pass --gpus IDS, or set `cpuFallback: true` on the target to run it on the CPU.");
});

test('scheduler: a target that asks for zero of a resource runs like one without resources', T, async () => {
  const m = workspace({ targets: [cmd('zero', ['in.txt'], ['out/zero'], { resources: { gpu: 0 } }), cmd('empty', ['in.txt'], ['out/empty'], { resources: {} })] });
  m.write('in.txt', 'i\n');
  const r = await m.build([], { gpuFlag: '0' });
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.ran, ['zero', 'empty']);
  assert.deepEqual(r.ex.starts.map((s) => [s.name, s.gpus, s.cuda]), [['zero', [], ''], ['empty', [], '']]);
});

test('scheduler: early cutoff — an upstream that reruns with identical bytes leaves its dependent fresh', T, async () => {
  const m = workspace({ targets: [cmd('up', ['src.txt'], ['out/up']), cmd('down', ['out/up'], ['out/down'])] });
  m.write('src.txt', 'one\n');
  const same = () => new FakeExecutor({ auto: true }).content('up', 'always the same\n');
  let r = await m.build([], { executor: same() });
  assert.deepEqual(r.ran, ['up', 'down']);
  m.write('src.txt', 'two\n');
  r = await m.build([], { executor: same() });
  assert.deepEqual(r.ex.started, ['up']);
  assert.deepEqual(r.ran, ['up']);
  assert.deepEqual(r.fresh, ['down']);
  // Other bytes: the dependent runs.
  m.write('src.txt', 'three\n');
  r = await m.build([], { executor: new FakeExecutor({ auto: true }).content('up', 'different\n') });
  assert.deepEqual(r.ex.started, ['up', 'down']);
  assert.deepEqual(r.fresh, []);
});

/** bad → dep1 → dep2, and two independent targets; bad's chain is the critical path. */
function failing() {
  const m = workspace({
    targets: [
      cmd('good1', ['in.txt'], ['out/good1']),
      cmd('bad', ['in.txt'], ['out/bad']),
      cmd('dep1', ['out/bad'], ['out/dep1']),
      cmd('dep2', ['out/dep1', 'out/good1'], ['out/dep2']),
      cmd('good2', ['in.txt'], ['out/good2']),
    ],
  });
  m.write('in.txt', 'i\n');
  return m;
}

test('scheduler: -k — a failure blocks only its dependents; independent targets still run', T, async () => {
  const m = failing();
  const r = await m.build([], { jobs: 1, keepGoing: true, executor: new FakeExecutor({ auto: true }).outcome('bad', { ok: false, exitCode: 1 }) });
  assert.deepEqual(r.ex.started, ['bad', 'good1', 'good2']);
  assert.deepEqual(r.failed, ['bad']);
  assert.deepEqual(r.blocked, ['dep1', 'dep2']);
  assert.deepEqual(r.ran, ['good1', 'good2']);
  assert.deepEqual(r.events.filter((e) => e.type === 'blocked'), [{ type: 'blocked', name: 'dep1', dep: 'bad' }]);
  assert.deepEqual(m.lockedNames(), ['good1', 'good2']);
});

test('scheduler: without -k nothing new starts after a failure; what runs is waited for', T, async () => {
  const m = failing();
  const ex = new FakeExecutor();
  const b = await m.start([], { jobs: 2, executor: ex });
  await ex.waitRunning(2);
  assert.deepEqual(ex.runningNow, ['bad', 'good1']);
  ex.fail('bad', 1);
  // good1 still runs; give the scheduler every chance to start something else.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(ex.started, ['bad', 'good1']);
  ex.finish('good1');
  const r = await b.done;
  assert.deepEqual(ex.started, ['bad', 'good1']);
  assert.deepEqual(r.failed, ['bad']);
  assert.deepEqual(r.ran, ['good1']);
  assert.deepEqual(r.blocked, ['dep1', 'dep2']);
  assert.equal(r.interrupted, false);
  assert.deepEqual(m.lockedNames(), ['good1']);
});

test('scheduler: SIGINT mid-build signals running jobs, starts nothing new, keeps finished targets, moves partial outputs aside', T, async () => {
  const m = workspace({
    targets: [
      cmd('quick', ['in.txt'], ['out/quick']),
      cmd('slow', ['out/quick'], ['out/slow']),
      cmd('after', ['out/slow'], ['out/after']),
      cmd('side', ['in.txt'], ['out/side']),
    ],
  });
  m.write('in.txt', 'i\n');
  const ex = new FakeExecutor();
  const b = await m.start([], { jobs: 1, executor: ex });
  await ex.waitStart('quick');
  ex.finish('quick');
  await ex.waitStart('slow');
  // quick is in the journal already: a build killed now would keep it.
  const journal = fs.readFileSync(journalPath(m.root), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { name: string }).name);
  assert.deepEqual(journal, ['quick']);
  m.write('out/slow', 'half written\n');
  b.scheduler.interrupt('SIGINT');
  const r = await b.done;
  assert.deepEqual(ex.signals, ['SIGINT']);
  assert.deepEqual(ex.started, ['quick', 'slow']);
  assert.equal(r.interrupted, true);
  assert.deepEqual(r.ran, ['quick']);
  assert.deepEqual(r.failed, ['slow']);
  assert.deepEqual(r.blocked, ['after']);
  // An interrupt is not reported as failures.
  assert.deepEqual(b.events.filter((e) => e.type === 'failed' || e.type === 'blocked'), []);
  const summary = b.events.at(-1)!;
  assert.equal(summary.type === 'summary' ? summary.interrupted : undefined, true);
  assert.deepEqual(m.lockedNames(), ['quick']);
  assert.equal(m.exists('.sbuild/journal.jsonl'), false, 'the lock holds it now');
  assert.equal(m.exists('out/slow'), false);
  assert.equal(m.read('.sbuild/failed/slow/out/slow'), 'half written\n');
  assert.equal(ex.closed, 1);
  // The next build runs only what did not finish (slow → after is the longer path, then side
  // and after are equal and side was queued first).
  const again = await m.build();
  assert.deepEqual(again.ex.started, ['slow', 'side', 'after']);
  assert.deepEqual(again.fresh, ['quick']);
});

test('scheduler: deleted outputs come back from the local cache without running; cache: false reruns', T, async () => {
  const m = workspace({
    targets: [
      cmd('a', ['in.txt'], ['out/a']),
      cmd('b', ['out/a'], ['out/b']),
      cmd('nocache', ['out/a'], ['out/n'], { cache: false }),
    ],
  });
  m.write('in.txt', 'i\n');
  const first = await m.build();
  assert.deepEqual(first.ran, ['a', 'b', 'nocache']);
  const bytes = { a: m.read('out/a'), b: m.read('out/b') };
  for (const o of ['out/a', 'out/b', 'out/n']) m.remove(o);
  const r = await m.build();
  assert.deepEqual(r.restored, ['a', 'b']);
  assert.deepEqual(r.ex.started, ['nocache']);
  assert.deepEqual(r.ran, ['nocache']);
  assert.deepEqual({ a: m.read('out/a'), b: m.read('out/b') }, bytes);
  assert.deepEqual(r.events.filter((e) => e.type === 'restored').map((e) => e.type === 'restored' && e.reasons), [
    [{ kind: 'output-missing', path: 'out/a' }],
    [{ kind: 'output-missing', path: 'out/b' }],
  ]);
});

test('scheduler: on a fresh clone an absent upstream is run for the dependent that needs it (needed-by)', T, async () => {
  const m = workspace({ targets: [cmd('a', ['in.txt'], ['out/a']), cmd('b', ['out/a', 'b.txt'], ['out/b'])] });
  m.write('in.txt', 'i\n');
  m.write('b.txt', 'b\n');
  await m.build();
  m.remove('out/a');
  m.remove('.sbuild');
  // b's output is on disk and its record holds: a stays absent and nothing runs.
  let r = await m.build(['b']);
  assert.deepEqual(r.ex.started, []);
  assert.deepEqual(r.fresh, ['a', 'b']);
  assert.equal(m.exists('out/a'), false);
  m.write('b.txt', 'b2\n');
  r = await m.build(['b']);
  assert.deepEqual(r.ex.started, ['a', 'b']);
  const starts = r.events.filter((e): e is Extract<BuildEvent, { type: 'start' }> => e.type === 'start');
  assert.deepEqual(starts[0]!.reasons, [{ kind: 'output-missing', path: 'out/a' }, { kind: 'needed-by', dependent: 'b' }]);
  assert.deepEqual(r.ran, ['a', 'b']);
  assert.deepEqual(r.fresh, []);
});

test('scheduler: failure kinds — an exit code, a success that did not write a declared output, a missing input', T, async () => {
  const m = workspace({
    targets: [
      cmd('exits', ['in.txt'], ['out/e']),
      cmd('forgets', ['in.txt'], ['out/f1', 'out/f2']),
      cmd('reads-nothing-there', ['in.txt', 'nowhere.txt'], ['out/r']),
    ],
  });
  m.write('in.txt', 'i\n');
  const ex = new FakeExecutor();
  const b = await m.start([], { jobs: 2, keepGoing: true, executor: ex });
  await ex.waitRunning(2);
  ex.fail('exits', 3);
  ex.finish('forgets', { write: ['out/f1'] });
  const r = await b.done;
  assert.deepEqual(ex.started, ['exits', 'forgets']);
  assert.deepEqual(r.failed, ['reads-nothing-there', 'exits', 'forgets']);
  const missing = failureOf(b.events, 'reads-nothing-there');
  assert.deepEqual(missing, { kind: 'missing-input', paths: ['nowhere.txt'] });
  assert.match(failureMessage(missing, 'reads-nothing-there'), /^blocked: missing input 'nowhere.txt' of target 'reads-nothing-there'/);
  assert.deepEqual(r.ran, []);
  const exit = failureOf(b.events, 'exits');
  assert.deepEqual(exit, { kind: 'exit', exitCode: 3 });
  assert.equal(failureMessage(exit, 'exits'), 'command failed with exit code 3');
  const np = failureOf(b.events, 'forgets');
  assert.deepEqual(np, { kind: 'not-produced', paths: ['out/f2'], movedTo: '.sbuild/failed/forgets/' });
  assert.equal(failureMessage(np, 'forgets'), "the command succeeded but did not produce the declared output(s) 'out/f2'. Make it write them, or fix `outputs`. Partial outputs moved to .sbuild/failed/forgets/.");
  assert.equal(m.exists('out/f1'), false);
  assert.equal(m.exists('.sbuild/failed/forgets/out/f1'), true);
  assert.deepEqual(m.lockedNames(), []);
  // The exit failure carries the command for the reader.
  const ev = b.events.find((e) => e.type === 'failed' && e.name === 'exits');
  assert.equal(ev?.type === 'failed' ? ev.log?.command : undefined, 'make exits');
});
