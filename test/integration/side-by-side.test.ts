// Builds side by side in one workspace (engine/live-builds.ts): while a training runs, a build
// of something else finishes at once; one that needs the training waits for that target
// alone; every record lands in sbuild.lock. And the randomized check: rounds of overlapping
// invocations with random selections after random edits, each round compared with what had to
// run (every stale selected action exactly once) and with a clean build's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { CLI, collect, sh, useRigs, waitFor, type Rig } from '../helpers/rig.js';

const rig = useRigs();


const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const lockTargets = (r: Rig) => Object.keys(JSON.parse(r.read('sbuild.lock')).targets).sort();

test('a training under way: a disjoint build finishes at once; one that needs it waits for that target alone; every record lands', async () => {
  const r = rig();
  r.write('cfg.txt', 'lr=0.1\n');
  r.write('table.src', 'rows\n');
  // train and the first eval hold until the test lets them go (o/go, o/go-eval).
  const hold = (flag: string) => `touch o/${flag}.started; while [ ! -e o/${flag} ]; do sleep 0.02; done`;
  r.config(`{
    targets: [
      { name: 'train', inputs: ['cfg.txt'], outputs: ['o/ckpt'], run: ${JSON.stringify(sh('train', `${hold('go')}; cat cfg.txt > o/ckpt`))} },
      { name: 'eval', inputs: ['o/ckpt'], outputs: ['o/metrics'], run: ${JSON.stringify(sh('eval', `${hold('go-eval')}; cat o/ckpt > o/metrics`))} },
      { name: 'viz', inputs: ['o/ckpt'], outputs: ['o/viz'], run: ${JSON.stringify(sh('viz', 'cat o/ckpt > o/viz'))} },
      { name: 'table', inputs: ['table.src'], outputs: ['o/table'], run: ${JSON.stringify(sh('table', 'cat table.src > o/table'))} },
      { name: 'all', deps: ['eval', 'viz', 'table'] },
    ],
  }`);
  fs.mkdirSync(r.path('o'));
  const a = r.spawn(['eval']);
  const aDone = collect(a);
  await waitFor(() => r.exists('o/go.started'));

  // Disjoint: runs and records while the training runs.
  const t = r.run(['table']);
  assert.equal(t.code, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /1 ran, 0 fresh/);
  assert.doesNotMatch(t.stderr, /waiting/);
  assert.deepEqual(r.takeRuns(), ['table', 'train'], 'table ran while train still held');
  assert.ok(!r.exists('o/ckpt'), 'the training is still under way');
  assert.deepEqual(lockTargets(r), ['table'], 'the disjoint build\'s record is in sbuild.lock already');
  // status says what the build under way is doing, and what it will do.
  const st = r.run(['status', 'all']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`running train — being built now by another sbuild \\(pid ${a.pid}\\)`));
  assert.match(st.stdout, new RegExp(`\\n\\s+— the build under way \\(\`sbuild eval\`, pid ${a.pid}\\) will build it\\n`));
  assert.match(st.stdout, /\nmissing viz — input o\/ckpt is missing \(an output of train\)\n {12}— never built \(no record in sbuild.lock\)\nsbuild:/, "viz: no build claims it");
  // An exclusive command does not run beside a build.
  const cl = r.run(['clean', '--no-wait']);
  assert.equal(cl.code, 2, cl.stdout + cl.stderr);
  assert.match(cl.stderr, new RegExp(`^error: A build is under way in this workspace \\(.*\\): \`sbuild eval\` \\(pid ${a.pid}\\)\\. \`sbuild clean\` runs only when none is\\.`));
  assert.ok(r.exists('o/table'), 'nothing cleaned');

  // Needs the training: waits for it, saying so, and for nothing else of that build.
  const c = r.spawn(['viz']);
  const cDone = collect(c);
  let cErr = '';
  c.stderr!.on('data', (d) => (cErr += d));
  await waitFor(() => cErr.includes(`waiting for train (in use by \`sbuild eval\`, pid ${a.pid})…`));
  await new Promise((res) => setTimeout(res, 300));
  assert.ok(!r.exists('runs.log'), 'viz did not run before train finished');
  r.write('o/go', '');
  // train done; the first build's eval still holds, and viz goes ahead.
  const cRes = await cDone;
  assert.equal(cRes.code, 0, cRes.stdout + cRes.stderr);
  assert.match(cRes.stdout, /1 ran, 1 fresh/, 'train taken as the first build recorded it');
  assert.ok(r.exists('o/go-eval.started') && !r.exists('o/metrics'), 'the first build is still running its eval');
  assert.equal(r.read('o/viz'), 'lr=0.1\n');

  r.write('o/go-eval', '');
  const aRes = await aDone;
  assert.equal(aRes.code, 0, aRes.stdout + aRes.stderr);
  assert.match(aRes.stdout, /2 ran, 0 fresh/);
  assert.deepEqual(r.takeRuns(), ['eval', 'viz'], 'each ran once (train was counted above)');
  assert.deepEqual(lockTargets(r), ['eval', 'table', 'train', 'viz'], 'three builds\' records merged');
  assert.deepEqual(fs.readdirSync(r.path('.sbuild/builds')), [], 'every build unregistered');
  const all = r.run(['all']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /0 ran, 4 fresh/);
  assert.deepEqual(r.takeRuns(), []);
});

test('a build killed while another runs: its finished records are folded in by the next command; the live one is untouched', async () => {
  const r = rig();
  r.write('a.txt', 'a\n');
  r.write('b.txt', 'b\n');
  r.config(`{
    targets: [
      { name: 'slow', inputs: ['a.txt'], outputs: ['o/slow'], run: ${JSON.stringify(sh('slow', 'touch o/slow.started; while [ ! -e o/go ]; do sleep 0.02; done; cat a.txt > o/slow'))} },
      { name: 'b1', inputs: ['b.txt'], outputs: ['o/b1'], run: ${JSON.stringify(sh('b1', 'cat b.txt > o/b1'))} },
      { name: 'b2', inputs: ['o/b1'], outputs: ['o/b2'], run: ${JSON.stringify(sh('b2', 'if [ ! -e o/b2.started ]; then touch o/b2.started; sleep 31; fi; cat o/b1 > o/b2'))} },
    ],
  }`);
  fs.mkdirSync(r.path('o'));
  const a = r.spawn(['slow']);
  const aDone = collect(a);
  await waitFor(() => r.exists('o/slow.started'));
  const b = r.spawn(['b2']);
  await waitFor(() => r.exists('o/b2.started'));
  // kill -9 of the second build and its job.
  process.kill(b.pid!, 'SIGKILL');
  await new Promise((res) => b.on('exit', res));
  const status = r.run(['status', 'b1']);
  assert.match(status.stdout, /fresh {3}b1/, 'status reads the killed build\'s journal');
  // The next build folds b's journal (b1 stays built), stops b2's job, and leaves slow alone.
  const again = r.run(['b2']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /recovered 1 finished target\(s\) from the journal of an interrupted build/);
  assert.deepEqual(r.takeRuns().filter((n) => n !== 'slow'), ['b1', 'b2', 'b2'], 'b1 once; b2 again after the kill');
  assert.ok(!r.exists('o/slow'), 'the live build still runs');
  r.write('o/go', '');
  const aRes = await aDone;
  assert.equal(aRes.code, 0, aRes.stdout + aRes.stderr);
  assert.deepEqual(lockTargets(r), ['b1', 'b2', 'slow']);
});

// ---------------------------------------------------------------------------------------------
// Randomized: overlapping invocations

/** Source files, and targets: each concatenates its inputs and its name (a double run would show in the order of runs.log only, so runs are counted). */
const SOURCES = ['s1', 's2', 's3', 's4'];
const GRAPH: Record<string, string[]> = {
  a: ['s1'],
  b: ['s2'],
  c: ['a', 'b'],
  d: ['c', 's3'],
  e: ['s3'],
  f: ['e', 'a'],
  g: ['d', 'f'],
  h: ['s4'],
  i: ['h', 'e'],
};
const TARGETS = Object.keys(GRAPH);
const SELECTIONS = [['a'], ['c'], ['d'], ['e'], ['f'], ['g'], ['i'], ['h'], ['b', 'f'], ['all'], ['d', 'i']];

const pathOf = (x: string) => (GRAPH[x] ? `o/${x}` : `src/${x}`);

function randomGraphRig(): Rig {
  const r = rig();
  r.config(`{
    targets: [
      ${TARGETS.map((t) => {
        const ins = GRAPH[t]!.map(pathOf);
        // A short, random sleep makes the builds overlap in many ways.
        const body = `sleep 0.$(printf %02d $(( $$ % 15 ))); cat ${ins.join(' ')} > o/${t}.part; echo ${t} >> o/${t}.part; mv o/${t}.part o/${t}`;
        return `{ name: '${t}', inputs: ${JSON.stringify(ins)}, outputs: ['o/${t}'], run: ${JSON.stringify(sh(t, `mkdir -p o; ${body}`))} },`;
      }).join('\n      ')}
      { name: 'all', deps: ${JSON.stringify(TARGETS)} },
    ],
  }`);
  return r;
}

/** What a clean build writes for target t, given the sources' contents. */
function bytesOf(t: string, src: Record<string, string>): string {
  return GRAPH[t]!.map((x) => (GRAPH[x] ? bytesOf(x, src) : src[x]!)).join('') + `${t}\n`;
}

/** Targets in the closure of a selection. */
function closureOf(sel: string[]): Set<string> {
  const out = new Set<string>();
  const stack = sel.flatMap((s) => (s === 'all' ? TARGETS : [s]));
  while (stack.length) {
    const t = stack.pop()!;
    if (out.has(t)) continue;
    out.add(t);
    for (const x of GRAPH[t]!) if (GRAPH[x]) stack.push(x);
  }
  return out;
}

/** A small seeded generator, so a failing round can be replayed (SIDE_BY_SIDE_SEED). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const ROUNDS = Number(process.env.SIDE_BY_SIDE_ROUNDS ?? 100);

test(`randomized: ${ROUNDS} rounds of 2–4 overlapping invocations with random selections after random edits: every stale selected action runs exactly once, bytes equal a clean build's, and the next build runs nothing`, { timeout: 30 * 60_000 }, async () => {
  const seed = Number(process.env.SIDE_BY_SIDE_SEED ?? Date.now() % 1_000_000);
  const rand = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const r = randomGraphRig();
  const src: Record<string, string> = {};
  let v = 0;
  for (const s of SOURCES) r.write(`src/${s}`, (src[s] = `${s}.${v++}\n`));
  /** The sources each target's bytes on disk were built from (by the model); undefined: never built. */
  const built = new Map<string, string>();
  const stale = (t: string) => built.get(t) !== bytesOf(t, src);
  for (let round = 0; round < ROUNDS; round++) {
    const what = `seed ${seed}, round ${round}`;
    // Random edits: new content (touches and reverts are the fuzz test's; here the builds overlap).
    for (const s of SOURCES) if (rand() < 0.35) r.write(`src/${s}`, (src[s] = `${s}.${v++}\n`));
    if (round > 0 && rand() < 0.15) {
      // A deleted output: restored from the local cache (not run) by whichever build needs
      // it, unless its inputs changed too.
      const t = pick(TARGETS);
      if (r.exists(`o/${t}`)) fs.rmSync(r.path(`o/${t}`));
    }
    const n = 2 + Math.floor(rand() * 3);
    const sels = Array.from({ length: n }, () => pick(SELECTIONS));
    const union = new Set(sels.flatMap((sel) => [...closureOf(sel)]));
    const mustRun = [...union].filter(stale).sort();
    const runs = sels.map(async (sel, k) => {
      await new Promise((res) => setTimeout(res, k === 0 ? 0 : Math.floor(rand() * 150)));
      return collect(spawn(process.execPath, [CLI, '-j', '2', ...sel], { cwd: r.dir, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }));
    });
    const results = await Promise.all(runs);
    results.forEach((res, k) => assert.equal(res.code, 0, `${what}: sbuild ${sels[k]!.join(' ')}:\n${res.stdout}${res.stderr}`));
    const shown = () => results.map((res, k) => `--- sbuild ${sels[k]!.join(' ')}\n${res.stdout}${res.stderr}`).join('');
    assert.deepEqual(r.takeRuns(), mustRun, `${what}: selections ${JSON.stringify(sels)} ran exactly what was stale, once each\n${shown()}`);
    for (const t of union) {
      assert.equal(r.read(`o/${t}`), bytesOf(t, src), `${what}: o/${t}`);
      built.set(t, bytesOf(t, src));
    }
    assert.deepEqual(fs.readdirSync(r.path('.sbuild/builds')), [], `${what}: every build unregistered`);
    // Every build's records merged, none lost (a lost one would be restored from the cache
    // next time, not rerun, so it is checked here): each selected target's record names the
    // bytes on disk.
    const lock = JSON.parse(r.read('sbuild.lock')).targets as Record<string, { outputs: Record<string, { hash: string }> }>;
    for (const t of union) assert.equal(lock[t]?.outputs[`o/${t}`]?.hash, sha256(r.read(`o/${t}`)), `${what}: sbuild.lock's record of ${t}\n${shown()}`);
    // No wrong "fresh": what the builds left is what the lock and the files say.
    if (round % 5 === 4 || round === ROUNDS - 1) {
      const next = r.run(['all']);
      assert.equal(next.code, 0, next.stderr);
      const shouldRun = TARGETS.filter(stale).sort();
      assert.deepEqual(r.takeRuns(), shouldRun, `${what}: sbuild all after the round ran exactly the never-selected stale ones`);
      for (const t of TARGETS) {
        built.set(t, bytesOf(t, src));
        assert.equal(r.read(`o/${t}`), bytesOf(t, src), `${what}: o/${t} after sbuild all`);
      }
      const again = r.run(['all']);
      assert.match(again.stdout, /\b0 ran\b/, `${what}: then nothing`);
      assert.deepEqual(r.takeRuns(), []);
    }
  }
});
