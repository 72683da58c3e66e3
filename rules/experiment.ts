// The `experiment` rule: one MMDetection-style config → a smoke and a full variant, each a
// training job and its evaluations, with the work dir layout of the paper repo
// (`artifacts/work_dirs/<exp>/<variant>/`). The config's `_base_` chain and the weights it
// names are read when the config loads and become inputs, so editing a base config stales
// exactly the experiments that inherit it.
import { BadInputError, type Target, type MaterializeContext } from '../src/index.js';
import { workspaceRoot } from '../src/index.js';
import { readMmConfig } from './mmconfig.js';
import type { Dataset } from './dataset.js';
import { metricsFromTable } from './results.js';

/** What a runner is told to do; paths are workspace-relative. */
export interface TrainJob {
  config: string;
  workDir: string;
  checkpoint: string;
  log: string | undefined;
  dataRoot: string;
  variant: string;
  /** The split training reads (default `train`; e.g. `trainval` for a final model). */
  split: string;
  limit: number | undefined;
  args: string[];
}

export interface TestJob extends Omit<TrainJob, 'log' | 'split'> {
  split: string;
  metrics: string;
}

/** How jobs become commands: the demo's CFAR tools, or MMDetection's tools/train.py and tools/test.py. */
export interface Runner {
  id: string;
  /** Files every job reads besides the config chain (the program itself). */
  inputs: string[];
  /** File name of the checkpoint a training job leaves in its work dir. */
  checkpoint: string;
  /** File name of the training log in the work dir, when the program writes one. */
  log?: string;
  train(job: TrainJob): string[];
  test(job: TestJob): string[];
}

export interface EvalSpec {
  /** Target name suffix, e.g. `eval-val`. */
  name: string;
  split: string;
  /** File name written in the variant's work dir, e.g. `val_metrics.json`. */
  metrics: string;
}

export interface VariantSpec {
  /** Images used for training and evaluation (a smoke run's subset); undefined: all. */
  limit?: number;
  trainArgs?: string[];
  testArgs?: string[];
  evals: EvalSpec[];
}

/** Smoke first (a quick check on a subset), then full; the metrics file names of the paper repo. */
export const DEFAULT_VARIANTS: Record<string, VariantSpec> = {
  smoke: { limit: 16, evals: [{ name: 'eval', split: 'val', metrics: 'smoke_metrics.json' }] },
  full: {
    evals: [
      { name: 'eval-val', split: 'val', metrics: 'val_metrics.json' },
      { name: 'eval-test', split: 'test', metrics: 'test_metrics.json' },
    ],
  },
};

export interface ExperimentOptions {
  /** Experiment name: `exp/<name>/…` targets and `artifacts/work_dirs/<name>/`. */
  name: string;
  /** The config file, workspace-relative (MMEngine-style Python). */
  config: string;
  dataset: Dataset;
  runner: Runner;
  /** Work dir root (default `artifacts/work_dirs`). */
  workDirs?: string;
  variants?: Record<string, VariantSpec>;
  /** GPUs per evaluation (default 1; they fall back to the CPU on a machine without one). */
  evalGpus?: number;
  /** GPUs per training job (default 0: the demo trains on the CPU). */
  trainGpus?: number;
  /** The results table that `sbuild materialize` reads metrics back from. */
  table?: string;
  /** Classes of the table's per-class columns (default SARDet's six), for `materialize`. */
  classes?: string[];
  /** The split training reads (default `train`). */
  trainSplit?: string;
  /** Workspace root the config paths are relative to (default: the folder holding tasks.config.ts, found from the current one upwards). */
  root?: string;
  description?: string;
}

export interface ExperimentVariant {
  train: Target;
  evals: Array<{ target: Target; split: string; metrics: string }>;
}

export interface Experiment {
  name: string;
  config: string;
  /** The config and every base it inherits from, in reading order. */
  chain: string[];
  /** Pretrained weights the chain names (local files are inputs; URLs are params). */
  weights: string[];
  runner: Runner;
  variants: Record<string, ExperimentVariant>;
  targets: Target[];
  /** Every metrics JSON this experiment writes. */
  metrics: string[];
  checkpoints: string[];
  logs: string[];
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function experiment(opts: ExperimentOptions): Experiment {
  if (typeof opts.name !== 'string' || !SEGMENT.test(opts.name)) {
    throw new BadInputError(`experiment(): name ${JSON.stringify(opts.name)} must be one path segment of letters, digits, '.', '_' or '-', starting with a letter or digit (it names artifacts/work_dirs/<name>/ and the exp/<name>/… targets); e.g. 'cfar_ca'.`);
  }
  const what = `experiment(${opts.name})`;
  // Paths in names and file names: a '/' or '..' would put outputs in another experiment's folder.
  for (const [variant, spec] of Object.entries(opts.variants ?? {})) {
    if (!SEGMENT.test(variant)) throw new BadInputError(`${what}: the variant name ${JSON.stringify(variant)} must be one path segment of letters, digits, '.', '_' or '-' (it names artifacts/work_dirs/${opts.name}/<variant>/); e.g. 'smoke' or 'full'.`);
    if (!Array.isArray(spec?.evals)) throw new BadInputError(`${what}: variant '${variant}' needs \`evals\`, a list of { name, split, metrics } (an empty list for none).`);
    for (const e of spec.evals) {
      if (!SEGMENT.test(String(e?.name)) || !SEGMENT.test(String(e?.metrics))) {
        throw new BadInputError(`${what}: an evaluation of variant '${variant}' has name ${JSON.stringify(e?.name)} and metrics ${JSON.stringify(e?.metrics)}; each must be one path segment of letters, digits, '.', '_' or '-' (e.g. name 'eval-val', metrics 'val_metrics.json').`);
      }
    }
  }
  // Every job reads a split: without its manifest as an input, changed images would leave it fresh.
  const splitsOf = Object.keys(opts.dataset.manifests);
  const needSplit = (split: string, job: string): string => {
    const m = opts.dataset.manifests[split];
    if (!m) throw new BadInputError(`${what}: ${job} reads the split '${split}', which the dataset does not have (it has ${splitsOf.map((k) => `'${k}'`).join(', ')}). Use one of those, or add '${split}' to the dataset's \`splits\`.`);
    return m;
  };
  const cfg = readMmConfig(opts.config, opts.root ?? workspaceRoot());
  const localWeights = cfg.weights.filter((w) => !isUrl(w));
  const urlWeights = cfg.weights.filter(isUrl);
  const workDirs = opts.workDirs ?? 'artifacts/work_dirs';
  const variants = opts.variants ?? DEFAULT_VARIANTS;
  const table = opts.table ?? 'artifacts/experiments/experiment_results.tsv';
  const r = opts.runner;
  const base = { dataRoot: opts.dataset.root, config: opts.config };
  const common = [...cfg.chain, ...localWeights, ...r.inputs];
  const params = urlWeights.length ? { weights: urlWeights } : undefined;
  const out: Experiment = { name: opts.name, config: opts.config, chain: cfg.chain, weights: cfg.weights, runner: r, variants: {}, targets: [], metrics: [], checkpoints: [], logs: [] };
  for (const [variant, spec] of Object.entries(variants)) {
    const workDir = `${workDirs}/${opts.name}/${variant}`;
    const checkpoint = `${workDir}/${r.checkpoint}`;
    const log = r.log ? `${workDir}/${r.log}` : undefined;
    const trainSplit = opts.trainSplit ?? 'train';
    const trainManifest = needSplit(trainSplit, `${variant} training`);
    const train: Target = {
      name: `exp/${opts.name}/${variant}/train`,
      inputs: [...common, trainManifest],
      outputs: [checkpoint, ...(log ? [log] : [])],
      run: r.train({ ...base, workDir, checkpoint, log, variant, split: trainSplit, limit: spec.limit, args: spec.trainArgs ?? [] }),
      tags: [variant, 'train'],
      description: `${opts.description ?? opts.name}: ${variant} training`,
      ...(params ? { params } : {}),
      ...(opts.trainGpus ? { resources: { gpu: opts.trainGpus }, cpuFallback: true } : {}),
    };
    const evals = spec.evals.map((e) => {
      const metrics = `${workDir}/${e.metrics}`;
      const manifest = needSplit(e.split, `the ${variant} evaluation '${e.name}'`);
      const target: Target = {
        name: `exp/${opts.name}/${variant}/${e.name}`,
        inputs: [...common, checkpoint, manifest],
        outputs: [metrics],
        run: r.test({ ...base, workDir, checkpoint, variant, limit: spec.limit, args: spec.testArgs ?? [], split: e.split, metrics }),
        resources: { gpu: opts.evalGpus ?? 1 },
        cpuFallback: true,
        tags: [variant, 'eval', 'gpu'],
        description: `${opts.description ?? opts.name}: ${variant} evaluation on ${e.split}`,
        ...(params ? { params } : {}),
        materialize: (ctx: MaterializeContext) => metricsFromTable(ctx, { table, experiment: opts.name, variant, split: e.split, metrics, ...(opts.classes ? { classes: opts.classes } : {}) }),
      };
      out.metrics.push(metrics);
      return { target, split: e.split, metrics };
    });
    out.variants[variant] = { train, evals };
    out.targets.push(train, ...evals.map((e) => e.target));
    out.checkpoints.push(checkpoint);
    if (log) out.logs.push(log);
  }
  return out;
}

/** The demo's classical detectors: `node <tool> calibrate|evaluate …` (see tools/sardet.ts). */
export function demoRunner(tool = 'dist/demo/sardet.mjs'): Runner {
  const limit = (n: number | undefined) => (n === undefined ? [] : ['--limit', String(n)]);
  return {
    id: 'sardet-demo',
    inputs: [tool],
    checkpoint: 'checkpoint.json',
    log: 'train.log',
    train: (j) => ['node', tool, 'calibrate', '--config', j.config, '--data', j.dataRoot, '--split', j.split, ...limit(j.limit), '--out', j.checkpoint, ...(j.log ? ['--log', j.log] : []), ...j.args],
    test: (j) => ['node', tool, 'evaluate', '--config', j.config, '--checkpoint', j.checkpoint, '--data', j.dataRoot, '--split', j.split, ...limit(j.limit), '--out', j.metrics, ...j.args],
  };
}

export interface MmdetOptions {
  /** The Python interpreter (default `python`). */
  python?: string;
  trainScript?: string;
  testScript?: string;
  /** Checkpoint file name the training leaves in `--work-dir` (default `latest.pth`). */
  checkpoint?: string;
}

/**
 * MMDetection: `python tools/train.py CONFIG --work-dir DIR` and
 * `python tools/test.py CONFIG CKPT --work-dir DIR --out-metrics FILE --split SPLIT`.
 * The scripts are inputs, so changing them reruns the jobs. The test script is expected
 * to write the metrics JSON it is given (as the SARDet paper repository's does).
 */
export function mmdetRunner(o: MmdetOptions = {}): Runner {
  const python = o.python ?? 'python';
  const trainScript = o.trainScript ?? 'tools/train.py';
  const testScript = o.testScript ?? 'tools/test.py';
  return {
    id: 'mmdetection',
    inputs: [trainScript, testScript],
    checkpoint: o.checkpoint ?? 'latest.pth',
    train: (j) => [python, trainScript, j.config, '--work-dir', j.workDir, ...j.args],
    test: (j) => [python, testScript, j.config, j.checkpoint, '--work-dir', j.workDir, '--out-metrics', j.metrics, '--split', j.split, ...j.args],
  };
}
