// Experiment variants under random use: `-S` requests on random experiments and settings,
// config edits and reverts, deleted work dirs, variants dropped from sbuild.variants.json, and
// builds of everything declared. After each build, exactly the jobs whose (config values,
// settings) pair was never built before ran (everything else was fresh or came back from the
// cache), and every job's output holds what its own config and settings give: a variant never
// shows another's results, and no setting is lost or leaks into the experiment as configured.
// Seeded; FUZZ_VARIANTS=N steps (default 24), FUZZ_VARIANTS_SEED=S.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { useRigs } from '../helpers/rig.js';
import { Rng } from './prng.js';
import { variantsWorkspace, EXPS } from '../helpers/variants-workspace.js';

const rig = useRigs();
const hasPython = spawnSync('python3', ['-c', '0']).status === 0;
const STEPS = Number(process.env.FUZZ_VARIANTS ?? 24);
const SEED = Number(process.env.FUZZ_VARIANTS_SEED ?? 4242);

interface Variant {
  name: string;
  experiment: string;
  k: number;
}

test(`variants under ${STEPS} random steps (seed ${SEED}): exactly the never-built (config, settings) pairs run, and every output is its own`, { skip: hasPython ? undefined : 'needs python3 (reads the configs)' }, () => {
  const r = variantsWorkspace(rig());
  const prng = new Rng(SEED);
  const rand = () => prng.float();
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const m: Record<string, number> = Object.fromEntries(EXPS.map((e) => [e, 1]));
  let variants: Variant[] = [];
  const built = new Set<string>(); // `${experiment} m=${m} k=${k}`: a train and its eval built once
  const keyOf = (e: string, k: number) => `${e} m=${m[e]} k=${k}`;
  const dirOf = (v: { name: string }) => `artifacts/work_dirs/${v.name}/full`;
  let tables = new Set<string>();
  const log: string[] = [];

  const build = (args: string[], expect: Array<{ name: string; experiment: string; k: number }>, what: string) => {
    const fresh = expect.filter((x) => !built.has(keyOf(x.experiment, x.k)));
    const res = r.run([...args, '-q']);
    assert.equal(res.code, 0, `${what}\n${log.join('\n')}\n${res.stdout}${res.stderr}`);
    const ran = r.takeRuns().filter((l) => !l.includes('results'));
    const want = fresh.flatMap((x) => [`eval ${dirOf(x)}/val_metrics.json`, `train ${dirOf(x)}/model.json`]).sort();
    assert.deepEqual(ran, want, `${what}: the jobs that ran (steps so far:\n${log.join('\n')})`);
    for (const x of expect) {
      built.add(keyOf(x.experiment, x.k));
      const model = JSON.parse(r.read(`${dirOf(x)}/model.json`)) as { m: number; k: number };
      assert.deepEqual([model.m, model.k], [m[x.experiment], x.k], `${what}: ${x.name}'s checkpoint is its own`);
      assert.equal(JSON.parse(r.read(`${dirOf(x)}/val_metrics.json`)).AP, (m[x.experiment]! * 10 + x.k) / 100);
    }
  };
  const declared = (): Array<{ name: string; experiment: string; k: number }> => [...EXPS.map((e) => ({ name: e, experiment: e, k: 1 })), ...variants];

  for (let step = 0; step < STEPS; step++) {
    const op = rand();
    if (op < 0.35) {
      const e = pick(EXPS);
      const k = pick([2, 3, 4]);
      const name = `${e}@model.k=${k}`;
      log.push(`${step}: sbuild exp/${e}/** -S model.k=${k}`);
      if (!variants.some((v) => v.name === name)) variants.push({ name, experiment: e, k });
      build([`exp/${e}/**`, '-S', `model.k=${k}`], [{ name, experiment: e, k }], log[log.length - 1]!);
    } else if (op < 0.5) {
      const e = pick(EXPS);
      m[e] = pick([1, 2, 3]);
      log.push(`${step}: configs/${e}.py m=${m[e]}`);
      r.write(`configs/${e}.py`, `_base_ = ['./base.py']\nmodel = dict(m=${m[e]})\n`);
    } else if (op < 0.62 && variants.length) {
      const v = pick(variants);
      log.push(`${step}: rm -r ${dirOf(v)}`);
      fs.rmSync(r.path(dirOf(v)), { recursive: true, force: true });
    } else if (op < 0.72 && variants.length) {
      const v = pick(variants);
      variants = variants.filter((x) => x !== v);
      log.push(`${step}: drop ${v.name} from sbuild.variants.json`);
      const doc = JSON.parse(r.read('sbuild.variants.json')) as { variants: Array<{ name: string }> };
      r.write('sbuild.variants.json', JSON.stringify({ variants: doc.variants.filter((x) => x.name !== v.name) }, null, 2) + '\n');
    } else {
      log.push(`${step}: sbuild (everything declared)`);
      build([], declared(), log[log.length - 1]!);
      // The table: one row per declared experiment and variant, its AP from that run's metrics.
      const [head, ...rows] = r.read('artifacts/experiments/experiment_results.tsv').trimEnd().split('\n').map((l) => l.split('\t'));
      const apCol = head!.indexOf('val_AP');
      assert.deepEqual(rows.map((c) => c[0]).sort(), declared().map((x) => x.name).sort(), `${log[log.length - 1]}: the table's rows`);
      tables = new Set(rows.map((c) => `${c[0]}=${c[apCol]}`));
      for (const x of declared()) assert.ok(tables.has(`${x.name}=${(m[x.experiment]! * 10 + x.k) / 100}`), `${x.name}'s row holds its AP`);
    }
  }
  // Finally everything declared is built and nothing more runs.
  build([], declared(), 'final build');
  const again = r.run(['-q']);
  assert.equal(again.code, 0);
  assert.deepEqual(r.takeRuns(), []);
});
