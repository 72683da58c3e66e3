// Property test of value-level config fingerprints: random MMEngine config trees (bases with
// disjoint keys, leaves inheriting a random list of them and overriding some keys, written in
// varied Python: literals, variables, arithmetic, comprehensions, dict()), random edits
// (comments and blank lines, reordered assignments, a value rewritten as an equal expression,
// a changed value in a base or a leaf, a revert to an earlier value), and after every edit the
// exact set of experiments that trained (runs.log) and that were restored from the cache must
// equal what a model of the merged configs predicts. The model is plain TypeScript: a leaf's
// merged config is its bases' keys overlaid with its own, so it never shares a bug with the
// evaluator under test.
//
//   CFG_FUZZ_SEEDS=1,2   seeds (default 1,2)      CFG_FUZZ_STEPS=12   edits per seed
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rig } from '../helpers/rig.js';
import { Rng } from './prng.js';

const SEEDS = (process.env.CFG_FUZZ_SEEDS ?? '1,2').split(',').map(Number).filter(Number.isInteger);
const STEPS = Number(process.env.CFG_FUZZ_STEPS ?? 12);

interface Base {
  file: string;
  /** key → value; assignment order is the array order. */
  keys: Array<[string, number]>;
}
interface Leaf {
  name: string;
  bases: number[];
  overrides: Array<[string, number]>;
}

/** Python text for `key = value`, in one of several equal spellings. */
function spell(rng: Rng, key: string, v: number): string {
  switch (rng.int(5)) {
    case 0: return `${key} = ${v}`;
    case 1: return `_half = ${v} / 2\n${key} = int(_half * 2)\ndel _half`;
    case 2: return `${key} = sum([1 for _ in range(${v})])`;
    case 3: return `${key} = dict(v=${v})['v']`;
    default: return `${key} = (${v} + 0)  # spelled with arithmetic`;
  }
}

function baseText(rng: Rng, b: Base): string {
  return b.keys.map(([k, v]) => spell(rng, k, v)).join('\n') + '\n';
}

function leafText(rng: Rng, bases: Base[], l: Leaf): string {
  const list = l.bases.map((i) => `'_base_/${bases[i]!.file}'`).join(', ');
  return `_base_ = [${list}]\n` + l.overrides.map(([k, v]) => spell(rng, k, v)).join('\n') + '\n';
}

/** The merged config of a leaf, as MMEngine builds it (keys are disjoint across bases). */
function merged(bases: Base[], l: Leaf): string {
  const m = new Map<string, number>();
  for (const i of l.bases) for (const [k, v] of bases[i]!.keys) m.set(k, v);
  for (const [k, v] of l.overrides) m.set(k, v);
  return JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
}

const RUNNER = `{
  id: 'fake', inputs: [], checkpoint: 'ckpt.txt',
  train: (j) => ['sh', '-c', 'echo ' + j.config + ' >> runs.log; mkdir -p ' + j.workDir + ' && echo trained > ' + j.checkpoint],
  test: (j) => ['sh', '-c', 'mkdir -p ' + j.workDir + ' && echo 1 > ' + j.metrics],
}`;

for (const seed of SEEDS) {
  test(`config edits, seed ${seed}: exactly the experiments whose merged config changed train (or come back from the cache)`, () => {
    const rng = new Rng(seed);
    const r = new Rig();
    try {
      const bases: Base[] = [0, 1, 2].map((i) => ({ file: `b${i}.py`, keys: [0, 1, 2].map((j): [string, number] => [`k${i}${j}`, rng.int(50)]) }));
      const leaves: Leaf[] = [0, 1, 2, 3, 4].map((i) => ({
        name: `e${i}`,
        bases: rng.shuffle([0, 1, 2]).slice(0, 1 + rng.int(3)),
        overrides: rng.chance(0.6) ? [[`k${rng.int(3)}${rng.int(3)}`, rng.int(50)]] : [],
      }));
      const writeAll = () => {
        for (const b of bases) r.write(`configs/_base_/${b.file}`, baseText(rng, b));
        for (const l of leaves) r.write(`configs/${l.name}.py`, leafText(rng, bases, l));
      };
      writeAll();
      r.write('tasks.config.ts', `import { defineConfig } from 'sbuild';
import { experiment } from 'sbuild/rules';
const runner = ${RUNNER};
const variants = { full: { evals: [{ name: 'eval', split: 'val', metrics: 'val_metrics.json' }] } };
const exps = ${JSON.stringify(leaves.map((l) => l.name))}.map((name) => experiment({ name, config: 'configs/' + name + '.py', runner, variants }));
export default defineConfig({ default: 'all', targets: [...exps.flatMap((e) => e.targets), { name: 'all', deps: exps.flatMap((e) => e.targets.map((t) => t.name)) }] });
`);
      // What each leaf was last built from, and every merged config the cache has seen.
      const built = new Map<string, string>();
      const seen = new Map<string, Set<string>>(leaves.map((l) => [l.name, new Set<string>()]));
      const counts = { ran: 0, restored: 0 };
      const build = (what: string) => {
        const res = r.run(['--json']);
        assert.equal(res.code, 0, `${what}\n${res.stdout}${res.stderr}`);
        const events = res.stdout.split('\n').filter((x) => x.startsWith('{')).map((x) => JSON.parse(x) as { type: string; name?: string });
        const restored = events.filter((e) => e.type === 'restored' && e.name?.endsWith('/train')).map((e) => e.name!.split('/')[1]!).sort();
        const trained = r.takeRuns().map((x) => x.replace(/^configs\/(.*)\.py$/, '$1')).sort();
        const expectRun: string[] = [];
        const expectRestore: string[] = [];
        for (const l of leaves) {
          const now = merged(bases, l);
          if (built.get(l.name) === now) continue;
          (seen.get(l.name)!.has(now) ? expectRestore : expectRun).push(l.name);
          built.set(l.name, now);
          seen.get(l.name)!.add(now);
        }
        if (what !== 'first build') counts.ran += expectRun.length;
        counts.restored += expectRestore.length;
        assert.deepEqual(trained, expectRun.sort(), `${what}: trained`);
        assert.deepEqual(restored, expectRestore.sort(), `${what}: restored from the cache`);
      };
      build('first build');
      const history: Array<() => void> = [];
      for (let step = 0; step < STEPS; step++) {
        const kind = rng.weighted([['comment', 2], ['reorder', 2], ['respell', 2], ['base-value', 3], ['leaf-value', 2], ['revert', 2]] as const);
        let what = `step ${step}: ${kind}`;
        if (kind === 'comment') {
          const f = rng.chance(0.5) ? `configs/_base_/${rng.pick(bases).file}` : `configs/${rng.pick(leaves).name}.py`;
          r.write(f, `# edited at step ${step}\n\n${r.read(f)}\n# end\n`);
          what += ` ${f}`;
        } else if (kind === 'reorder') {
          const b = rng.pick(bases);
          rng.shuffle(b.keys);
          r.write(`configs/_base_/${b.file}`, baseText(rng, b));
        } else if (kind === 'respell') {
          writeAll(); // every file spelled anew, same values
        } else if (kind === 'leaf-value' && rng.chance(0.3)) {
          // A new override in a leaf (a key of one of its bases, or a key of its own).
          const l = rng.pick(leaves);
          const entry: [string, number] = [`k${rng.int(4)}${rng.int(3)}`, rng.int(50)];
          l.overrides.push(entry);
          history.push(() => { l.overrides.splice(l.overrides.indexOf(entry), 1); });
          writeAll();
          what += ` ${l.name} adds ${entry[0]} = ${entry[1]}`;
        } else if (kind === 'base-value' || kind === 'leaf-value') {
          const withOverrides = leaves.filter((l) => l.overrides.length);
          const entry = kind === 'base-value' || withOverrides.length === 0 ? rng.pick(rng.pick(bases).keys) : rng.pick(rng.pick(withOverrides).overrides);
          const old = entry[1];
          entry[1] = (old + 1 + rng.int(5)) % 60;
          history.push(() => { entry[1] = old; });
          writeAll();
          what += ` ${entry[0]}: ${old} → ${entry[1]}`;
        } else if (kind === 'revert' && history.length) {
          history.pop()!();
          writeAll();
        }
        build(what);
      }
      assert.ok(counts.ran > 0, 'some edit changed a merged config (the seed is not vacuous)');
    } finally {
      r.cleanup();
    }
  });
}
