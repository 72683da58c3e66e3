// The demo workspace: the SARDet artifact workflow on SARDet-mini, end to end with
// `npx sbuild release`. Set SARDET_ROOT to a SARDet-100K folder to run it on the real data.
import { defineConfig, type Target } from 'sbuild';
import {
  dataset, experiment, demoRunner, resultsTable, ledger,
  vrExport, subset, sample500, gradcam, demoVisCommands,
  zipFiles, metricsZip, releaseCheck, releaseBundle, releasePublish, sardetPolicy, htmlReport,
} from 'sbuild/rules';

const TOOL = 'dist/demo/sardet.mjs';
const VERSION = 'v0.1.0';

// The demo's programs, bundled from tools/ (TypeScript) into one module every job runs.
const tools: Target = {
  name: 'tools',
  // Every source the bundle holds (test/unit/demo-tools.test.ts checks this list against
  // esbuild's own), and the lock file for the packages it bundles.
  inputs: [
    'tools/**/*.ts', 'rules/mmconfig.ts', 'rules/mmconfig/evaluate.py', 'rules/metrics-format.ts',
    'src/errors.ts', 'src/config/settings.ts', 'src/config/reads.ts', 'src/hashing/sha256.ts', 'src/engine/state-paths.ts',
    'scripts/bundle-tools.mjs', 'package-lock.json',
  ],
  outputs: [TOOL],
  run: ['node', 'scripts/bundle-tools.mjs', TOOL],
  description: 'bundle the demo programs (CFAR detectors, COCO evaluation, renderers)',
};

const data = dataset({
  generate: { dir: 'data/SARDet-mini', command: ['node', TOOL, 'generate', '--out', 'data/SARDet-mini'], inputs: [TOOL] },
});

// The "pretrained weights" the configs name with checkpoint='…': clutter statistics of the train split.
const prior: Target = {
  name: 'weights/clutter-prior',
  inputs: [TOOL, data.manifests.train!],
  outputs: ['artifacts/weights/sardet_mini_clutter_prior.json'],
  run: ['node', TOOL, 'prior', '--data', data.root, '--split', 'train', '--out', 'artifacts/weights/sardet_mini_clutter_prior.json'],
  description: 'clutter statistics the detectors start from',
};

const runner = demoRunner(TOOL);
const experiments = ['global_threshold', 'cfar_ca', 'cfar_os'].map((name) =>
  experiment({ name, config: `configs/sardet_mini/${name}.py`, dataset: data, runner }),
);

const vis = demoVisCommands(TOOL);
const testSubset = subset({ dataset: data, split: 'test' });
const visTargets: Target[] = [testSubset.target];
const gradcamZips: string[] = [];
const sampleDirs: string[] = [];
for (const e of experiments) {
  for (const split of ['val', 'test']) {
    const vr = vrExport({ experiment: e, dataset: data, split, command: vis.vr, inputs: [TOOL] });
    visTargets.push(vr.target);
    if (split !== 'test') continue;
    const s = sample500({ experiment: e, vr, split, subset: testSubset });
    sampleDirs.push(s.outputs![0]!);
    const g = gradcam({ experiment: e, dataset: data, split, command: vis.saliency, inputs: [TOOL], subset: testSubset });
    gradcamZips.push(g.zip);
    visTargets.push(s, ...g.targets);
  }
}

const table = resultsTable({ experiments });
const book = ledger({ experiments });

// Release assets: checkpoints, logs, visualisations and metrics, each one deterministic zip.
const assets = 'artifacts/release_assets';
const zips: Target[] = [
  zipFiles({ name: 'release/checkpoints', inputs: experiments.flatMap((e) => e.checkpoints), output: `${assets}/sardet_mini_checkpoints.zip`, base: 'artifacts/work_dirs' }),
  zipFiles({ name: 'release/logs', inputs: experiments.flatMap((e) => e.logs), output: `${assets}/sardet_mini_logs.zip`, base: 'artifacts/work_dirs' }),
  zipFiles({ name: 'release/visualizations', inputs: [...sampleDirs, ...gradcamZips], output: `${assets}/sardet_mini_visualizations.zip`, base: 'artifacts/visualizations', store: true }),
  metricsZip({ name: 'release/metrics', inputs: [...experiments.flatMap((e) => e.metrics), ...visTargets.flatMap((t) => (t.outputs ?? []).filter((o) => o.endsWith('/metrics.json')))] }),
];
const assetFiles = zips.map((z) => z.outputs![0]!);
const check = releaseCheck({ name: 'release/check', assets: assetFiles });
// Given as targets, the zips are described entry by entry in the manifest (for `sbuild fetch`).
const bundle = releaseBundle({ name: 'release/bundle', version: VERSION, assets: zips, check: check.outputs![0]! });
// `npx sbuild publish` uploads the bundle (not part of `release`: it needs credentials). Where
// to: SARDET_PUBLISH_TO, space-separated (rclone:REMOTE:PATH, gh:OWNER/REPO@TAG, an https://
// folder taking PUT); by default the rclone remote `sardet-release` (define it: `rclone config`).
const publishTo = (process.env.SARDET_PUBLISH_TO ?? `rclone:sardet-release:sardet-mini/${VERSION}`).split(/\s+/).filter(Boolean);
const publish = releasePublish({ name: 'release/publish', bundle, to: publishTo });
// The HTML report (`npx sbuild report/html`, or `npx sbuild report` after any build). It carries
// build timings, so it stays out of the bundle, which two clean builds make byte-identical.
const report = htmlReport({ deps: [table.name] });

export default defineConfig({
  default: 'release',
  policy: sardetPolicy,
  targets: [
    tools,
    ...data.targets,
    prior,
    ...experiments.flatMap((e) => e.targets),
    ...visTargets,
    table,
    book,
    ...zips,
    check,
    bundle,
    publish,
    report,
    { name: 'smoke', deps: experiments.flatMap((e) => e.variants.smoke!.evals.map((x) => x.target.name)), description: 'every smoke evaluation' },
    { name: 'full', deps: experiments.flatMap((e) => e.variants.full!.evals.map((x) => x.target.name)), description: 'every full evaluation' },
    { name: 'tables', deps: [table.name, book.name], description: 'the paper table and the ledger' },
    { name: 'release', deps: [bundle.name, table.name, book.name], description: `the release bundle artifacts/release/${VERSION}/, the table and the ledger` },
  ],
});
