// The demo workspace: a tiny detection study, built end to end with `npx sbuild release`.
import { defineConfig, type Target } from 'sbuild';

const experiments = ['global', 'global_fine'];
const splits = ['train', 'val'] as const;

const data: Target[] = splits.map((split, i) => ({
  name: `data/${split}`,
  inputs: ['tools/make-data.mjs'],
  outputs: [`data/mini/${split}`],
  run: ['node', 'tools/make-data.mjs', `data/mini/${split}`, String(i + 1)],
  description: `synthetic ${split} split`,
}));

const exps: Target[] = experiments.flatMap((exp) => [
  {
    name: `exp/${exp}/train`,
    inputs: [`configs/${exp}.json`, 'tools/train.mjs', 'data/mini/train'],
    outputs: [`artifacts/work_dirs/${exp}/model.json`],
    run: ['node', 'tools/train.mjs', 'data/mini/train', `configs/${exp}.json`, `artifacts/work_dirs/${exp}/model.json`],
    tags: ['train'],
  },
  {
    name: `exp/${exp}/eval-val`,
    inputs: ['tools/eval.mjs', 'data/mini/val', `artifacts/work_dirs/${exp}/model.json`],
    outputs: [`artifacts/work_dirs/${exp}/val_metrics.json`],
    run: ['node', 'tools/eval.mjs', 'data/mini/val', `artifacts/work_dirs/${exp}/model.json`, `artifacts/work_dirs/${exp}/val_metrics.json`],
    resources: { gpu: 1 },
    cpuFallback: true,
    tags: ['eval'],
  },
]);

export default defineConfig({
  default: 'release',
  targets: [
    ...data,
    ...exps,
    {
      name: 'results-table',
      inputs: ['artifacts/work_dirs/**/*_metrics.json'],
      outputs: ['artifacts/experiments/experiment_results.tsv'],
      rule: { id: 'results-table', version: 1 },
      run: async (ctx) => {
        const fs = await import('node:fs');
        const rows = ctx.inputs.map((f) => {
          const m = JSON.parse(fs.readFileSync(ctx.path(f), 'utf8')) as Record<string, number | string>;
          return [f.split('/')[2], m.detector, m.precision, m.recall, m.f1].join('\t');
        });
        await ctx.writeFile('artifacts/experiments/experiment_results.tsv', ['experiment\tdetector\tprecision\trecall\tf1', ...rows].join('\n') + '\n');
      },
      description: 'the paper table',
    },
    { name: 'release', deps: ['results-table'], description: 'everything a release needs' },
  ],
});
