// The planner, in process: plan() over a memory workspace (test/helpers/memory-workspace.ts),
// with builds run by the fake executor. Asserts each target's need and reasons exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../../src/hashing/sha256.js';
import type { Plan } from '../../src/engine/plan.js';
import { selection } from '../../src/engine/selection.js';
import { select } from '../../src/graph/select.js';
import { localCacheDir } from '../../src/engine/state-paths.js';
import { cmd, useMemoryWorkspaces, type MemoryWorkspace } from '../helpers/memory-workspace.js';

const workspace = useMemoryWorkspaces();

/** Each step as `name: need`, in the order judged (dependencies first). */
function needs(p: Plan): string[] {
  return [...p.steps.values()].map((s) => `${s.name}: ${s.need}`);
}

function reasonsOf(p: Plan, name: string): unknown[] {
  const step = [...p.steps.values()].find((s) => s.name === name);
  assert.ok(step, `no step '${name}' in the plan`);
  return step.reasons;
}

function settledNames(p: Plan, ws: { graph: { nodes: Array<{ name: string }> } }): string[] {
  return [...p.settled].map((id) => ws.graph.nodes[id]!.name).sort();
}

/** src.txt → a → b → c (c also reads c.txt), and d from d.txt on its own. */
async function chain(): Promise<MemoryWorkspace> {
  const m = workspace({
    targets: [
      cmd('a', ['src.txt'], ['out/a']),
      cmd('b', ['out/a'], ['out/b']),
      cmd('c', ['out/b', 'c.txt'], ['out/c']),
      cmd('d', ['d.txt'], ['out/d']),
    ],
  });
  m.write('src.txt', 'source\n');
  m.write('c.txt', 'c\n');
  m.write('d.txt', 'd\n');
  return m;
}

test('plan: never built → every target runs, dependents waiting on absent upstream outputs', async () => {
  const m = await chain();
  const p = await m.plan();
  assert.deepEqual(needs(p), ['a: run', 'd: run', 'b: run', 'c: run']);
  assert.deepEqual(reasonsOf(p, 'a'), [{ kind: 'never-built' }]);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'input-missing', path: 'out/a', producer: 'a' }, { kind: 'never-built' }]);
  assert.deepEqual(reasonsOf(p, 'c'), [{ kind: 'input-missing', path: 'out/b', producer: 'b' }, { kind: 'never-built' }]);
  assert.deepEqual(p.toDo.map((s) => s.name), ['a', 'd', 'b', 'c']);
  assert.deepEqual(p.fresh, []);
  assert.equal(p.settled.size, 0);
});

test('plan: after a build everything is fresh and settled; an edit runs its target and marks the rest upstream-will-run; reverting it is fresh again', async () => {
  const m = await chain();
  const built = await m.build();
  assert.deepEqual(built.ran, ['a', 'd', 'b', 'c']);
  const ws = await m.open();
  let p = await m.plan();
  assert.deepEqual(needs(p), ['a: fresh', 'd: fresh', 'b: fresh', 'c: fresh']);
  assert.deepEqual(settledNames(p, ws), ['a', 'b', 'c', 'd']);
  assert.deepEqual(p.toDo, []);

  m.write('src.txt', 'edited\n');
  p = await m.plan();
  assert.deepEqual(needs(p), ['a: run', 'd: fresh', 'b: run', 'c: run']);
  assert.deepEqual(reasonsOf(p, 'a'), [{ kind: 'input-changed', path: 'src.txt', old: sha256('source\n'), new: sha256('edited\n') }]);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'upstream-will-run', dep: 'a' }]);
  assert.deepEqual(reasonsOf(p, 'c'), [{ kind: 'upstream-will-run', dep: 'b' }]);
  assert.deepEqual(settledNames(p, ws), ['d']);

  // c's own edit stays its own reason, even with its upstream running.
  m.write('c.txt', 'c2\n');
  p = await m.plan();
  assert.deepEqual(reasonsOf(p, 'c'), [{ kind: 'input-changed', path: 'c.txt', old: sha256('c\n'), new: sha256('c2\n') }]);

  m.write('src.txt', 'source\n');
  m.write('c.txt', 'c\n');
  p = await m.plan();
  assert.deepEqual(needs(p), ['a: fresh', 'd: fresh', 'b: fresh', 'c: fresh']);
  assert.deepEqual(settledNames(p, ws), ['a', 'b', 'c', 'd']);
});

test('plan: a deleted output is restored from the cache whether requested or not; without a cache a requested target runs', async () => {
  const m = await chain();
  await m.build();
  m.remove('out/b');
  // Requested (everything is): the cache holds b's outputs for its fingerprint.
  let p = await m.plan();
  assert.deepEqual(needs(p), ['a: fresh', 'd: fresh', 'b: restore', 'c: fresh']);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'output-missing', path: 'out/b' }]);
  // c reads b's recorded bytes, which the restore brings back: fresh, but not settled.
  const ws = await m.open();
  assert.deepEqual(settledNames(p, ws), ['a', 'd']);
  // Not requested (only c is): the same restore, so the workspace is whole again.
  p = await m.plan(['c']);
  assert.deepEqual(needs(p), ['a: fresh', 'b: restore', 'c: fresh']);
  assert.deepEqual(settledNames(p, ws), ['a']);
  // No cache, requested: b runs; c, reading the bytes b's record vouches for, stays fresh.
  m.remove(localCacheDir(m.root).slice(m.root.length + 1));
  p = await m.plan(['b']);
  assert.deepEqual(needs(p), ['a: fresh', 'b: run']);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'output-missing', path: 'out/b' }]);
});

test('plan: on a fresh clone (outputs and cache gone) a requested target runs, and the absent upstreams it reads run needed-by it', async () => {
  const m = await chain();
  await m.build();
  for (const o of ['out/a', 'out/b', 'out/c', 'out/d']) m.remove(o);
  m.remove('.sbuild');
  const p = await m.plan(['c']);
  assert.deepEqual(needs(p), ['a: run', 'b: run', 'c: run']);
  assert.deepEqual(p.toDo.map((s) => s.name), ['a', 'b', 'c']);
  assert.deepEqual(reasonsOf(p, 'a'), [{ kind: 'output-missing', path: 'out/a' }, { kind: 'needed-by', dependent: 'b' }]);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'output-missing', path: 'out/b' }, { kind: 'needed-by', dependent: 'c' }]);
  assert.deepEqual(reasonsOf(p, 'c'), [{ kind: 'output-missing', path: 'out/c' }]);
  assert.deepEqual(p.fresh, []);
});

test('plan: absent upstreams become run needed-by the dependent that must run (transitively)', async () => {
  const m = await chain();
  const built = await m.build();
  assert.deepEqual(built.failed, []);
  const cBytes = m.read('out/c');
  for (const o of ['out/a', 'out/b']) m.remove(o);
  m.remove('.sbuild');
  let p = await m.plan(['c']);
  assert.deepEqual(needs(p), ['a: absent', 'b: absent', 'c: fresh']);
  assert.deepEqual(p.fresh.map((s) => s.name), ['a', 'b', 'c']);
  // Fresh, but standing on absent upstreams: not settled.
  assert.deepEqual([...p.settled], []);
  assert.equal(m.read('out/c'), cBytes);

  m.write('c.txt', 'c edited\n');
  p = await m.plan(['c']);
  assert.deepEqual(needs(p), ['a: run', 'b: run', 'c: run']);
  assert.deepEqual(p.toDo.map((s) => s.name), ['a', 'b', 'c']);
  assert.deepEqual(reasonsOf(p, 'a'), [{ kind: 'output-missing', path: 'out/a' }, { kind: 'needed-by', dependent: 'b' }]);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'output-missing', path: 'out/b' }, { kind: 'needed-by', dependent: 'c' }]);
  assert.deepEqual(reasonsOf(p, 'c'), [{ kind: 'input-changed', path: 'c.txt', old: sha256('c\n'), new: sha256('c edited\n') }]);
  assert.deepEqual(p.fresh, []);
});

test('plan: an input nothing produces blocks its target; a dependent of it is not blocked, only waiting', async () => {
  const m = workspace({
    targets: [
      cmd('ok', ['here.txt'], ['out/ok']),
      cmd('needs-file', ['nowhere.txt', 'here.txt'], ['out/nf']),
      cmd('after', ['out/nf'], ['out/after']),
    ],
  });
  m.write('here.txt', 'x\n');
  const p = await m.plan();
  assert.deepEqual(needs(p), ['ok: run', 'needs-file: blocked', 'after: run']);
  assert.deepEqual(reasonsOf(p, 'needs-file'), [{ kind: 'input-missing', path: 'nowhere.txt' }, { kind: 'never-built' }]);
  assert.deepEqual(reasonsOf(p, 'after'), [{ kind: 'input-missing', path: 'out/nf', producer: 'needs-file' }, { kind: 'never-built' }]);
});

test('plan: settled holds exactly the fresh targets with nothing to do anywhere upstream (groups included)', async () => {
  const m = workspace({
    targets: [
      cmd('root1', ['r1.txt'], ['out/r1']),
      cmd('root2', ['r2.txt'], ['out/r2']),
      cmd('mid', ['out/r1', 'out/r2'], ['out/mid']),
      cmd('leaf', ['out/mid'], ['out/leaf']),
      cmd('side', ['out/r2'], ['out/side']),
      { name: 'g-side', deps: ['side'] },
      { name: 'g-leaf', deps: ['leaf'] },
    ],
  });
  m.write('r1.txt', '1\n');
  m.write('r2.txt', '2\n');
  await m.build();
  const ws = await m.open();
  assert.deepEqual(settledNames(await m.plan(), ws), ['g-leaf', 'g-side', 'leaf', 'mid', 'root1', 'root2', 'side']);
  // root1 runs: mid and leaf would be fresh by their records, but wait on it.
  m.write('r1.txt', '1 edited\n');
  let p = await m.plan();
  assert.deepEqual(settledNames(p, ws), ['g-side', 'root2', 'side']);
  assert.deepEqual(p.toDo.map((s) => s.name), ['root1', 'mid', 'leaf']);
  // mid's output deleted (cache holds it): upstream is settled, mid restores, leaf waits.
  m.write('r1.txt', '1\n');
  m.remove('out/mid');
  p = await m.plan();
  assert.deepEqual(p.toDo.map((s) => `${s.name}: ${s.need}`), ['mid: restore']);
  assert.deepEqual(settledNames(p, ws), ['g-side', 'root1', 'root2', 'side']);
});

test('plan: -B forces exactly the requested targets (a group\'s members, not what they depend on)', async () => {
  const m = await chain();
  m.config.targets.push({ name: 'grp', deps: ['b', 'd'] });
  await m.build();
  const ws = await m.open();
  const sel = selection(ws.graph, select(ws.graph, ['grp']), true);
  const names = (ids: Set<number>) => [...ids].map((id) => ws.graph.nodes[id]!.name).sort();
  assert.deepEqual(names(sel.forced), ['b', 'd', 'grp']);
  assert.deepEqual(names(sel.selected), ['a', 'b', 'd', 'grp']);
  let p = await m.plan(['grp'], true);
  assert.deepEqual(needs(p), ['a: fresh', 'd: run', 'b: run']);
  assert.deepEqual(reasonsOf(p, 'b'), [{ kind: 'forced' }]);
  assert.deepEqual(reasonsOf(p, 'd'), [{ kind: 'forced' }]);
  assert.deepEqual(settledNames(p, ws), ['a']);
  // Forced targets are never restored, though the cache holds them.
  p = await m.plan(['c'], true);
  assert.deepEqual(needs(p), ['a: fresh', 'b: fresh', 'c: run']);
  assert.deepEqual(reasonsOf(p, 'c'), [{ kind: 'forced' }]);
  // Without -B the same selection is all fresh.
  assert.deepEqual(needs(await m.plan(['grp'])), ['a: fresh', 'd: fresh', 'b: fresh']);
});
