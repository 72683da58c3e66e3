// A small workspace of experiments `a` and `b` through the experiment rule (configs read by
// Python), with fake jobs: train writes its merged-config value m and the setting model.k,
// eval derives AP from them. For the variant tests and the variants fuzz.
import type { Rig } from './rig.js';

// The jobs: train writes its merged-config facts and settings; eval derives metrics from them.
const JOB = `
import fs from 'node:fs';
import path from 'node:path';
const [cmd, a, b, ...rest] = process.argv.slice(2);
fs.mkdirSync(path.dirname(b), { recursive: true });
if (cmd === 'train') {
  const text = fs.readFileSync(a, 'utf8');
  const m = Number(/m=(\\d+)/.exec(text)[1]);
  const set = Object.fromEntries(rest.slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  fs.writeFileSync(b, JSON.stringify({ m, k: set['model.k'] ?? 1, set }) + '\\n');
  fs.appendFileSync('runs.log', 'train ' + b + '\\n');
} else {
  const c = JSON.parse(fs.readFileSync(a, 'utf8'));
  const ap = (c.m * 10 + c.k) / 100;
  fs.writeFileSync(b, JSON.stringify({ detector: 'D', split: 'val', images: 1, AP: ap, AP50: ap, AP75: ap, per_class_AP: {} }) + '\\n');
  fs.appendFileSync('runs.log', 'eval ' + b + '\\n');
}
`;

export const EXPS = ['a', 'b'];

export function variantsWorkspace(r: Rig): Rig {
  r.write('job.mjs', JOB);
  r.write('configs/base.py', 'model = dict(k=1, m=1)\n');
  for (const e of EXPS) r.write(`configs/${e}.py`, `_base_ = ['./base.py']\nmodel = dict(m=1)\n`);
  r.config(
    `{ default: 'all', targets: [...experiments.flatMap((e) => e.targets), resultsTable({ experiments, classes: [] }), { name: 'all', deps: ['results/table', ...experiments.flatMap((e) => [e, ...e.overrideVariants]).map((e) => \`exp/\${e.name}/full/eval\`)] }] }`,
    `import { experiment, resultsTable, cfgOptionValue, type Runner } from 'sbuild/rules';
const opts = (o: Record<string, unknown>) => { const k = Object.keys(o).sort(); return k.length ? ['--cfg-options', ...k.map((x) => \`\${x}=\${cfgOptionValue(o[x] as never)}\`)] : []; };
const runner: Runner = { id: 'fake', inputs: ['job.mjs'], checkpoint: 'model.json',
  train: (j) => ['node', 'job.mjs', 'train', j.config, j.checkpoint, ...opts(j.cfgOptions)],
  test: (j) => ['node', 'job.mjs', 'test', j.checkpoint, j.metrics] };
const experiments = ${JSON.stringify(EXPS)}.map((name) => experiment({ name, config: \`configs/\${name}.py\`, runner, evalGpus: 0,
  variants: { full: { evals: [{ name: 'eval', split: 'val', metrics: 'val_metrics.json' }] } } }));`,
  );
  return r;
}

