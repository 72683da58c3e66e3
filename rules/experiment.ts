// The `experiment` rule: one MMDetection-style config → a smoke and a full variant, each a
// training job and its evaluations. The config is evaluated by Python (rules/mmconfig.ts) and
// its targets fingerprint the merged config's values, not the bytes of its files: a comment,
// a blank line or a value moved between files reruns nothing, a changed value reruns exactly
// the experiments that see it, and `explain` names the keys. Pretrained weights the config
// names are inputs (files outside the workspace too); a weight another experiment trains
// (pretrain → fine-tune) is an edge to that experiment.
import os from 'node:os';
import path from 'node:path';
import { BadInputError, valuesParam, type Json, type Target, type MaterializeContext } from '../src/index.js';
import { workspaceRoot, declareExperiment, variantsOf, cfgValueText, VARIANT_NAME, VARIANTS_FILE } from '../src/index.js';
import { requestMmConfig, configValue, defaultPython, MmConfigError, type PyValue } from './mmconfig.js';
import type { Dataset } from './dataset.js';
import { metricsFromTable } from './results.js';
import { lazyFields } from './lazy.js';
import { customImportInputs } from './custom-imports.js';

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
  /** MMEngine `--cfg-options` for this job (a smoke run's smaller schedule and data), dotted keys. */
  cfgOptions: Record<string, PyValue>;
  /** GPUs the job is given (`trainGpus` / `evalGpus`; 0: the CPU). More than one: a distributed job. */
  gpus: number;
  /** The merged config, as evaluated. */
  values: Record<string, PyValue>;
}

export interface TestJob extends Omit<TrainJob, 'log' | 'split'> {
  split: string;
  metrics: string;
}

/** How jobs become commands: the demo's CFAR tools, or MMDetection's tools/train.py and tools/test.py. */
export interface Runner {
  id: string;
  /** Files every job reads besides the config (the program itself). */
  inputs: string[];
  /** Files training jobs read (default: `inputs`). */
  trainInputs?: string[];
  /** Files evaluation jobs read (default: `inputs`). */
  testInputs?: string[];
  /**
   * File name of the checkpoint a training job leaves in its work dir. `{a.b}` is a value of
   * the merged config (after the job's cfg-options), `{final}` MMEngine's name for the last
   * checkpoint: `epoch_{train_cfg.max_epochs}` or `iter_{train_cfg.max_iters}`.
   */
  checkpoint: string;
  /** File name of the training log in the work dir, when the program writes one. */
  log?: string;
  /**
   * How an interrupted training continues (the target's `resume`, with the variant's work dir
   * as its folder): the arguments that make the program resume from what its work dir holds,
   * and the file that says there is something to resume from. Without it, training always
   * starts from scratch.
   */
  resume?: { args: string[]; marker?: string };
  /**
   * The training program creates a folder of its own in its work dir on every run (MMEngine:
   * `work_dir/<timestamp>/` with the run's log and curves): that folder is recorded with the
   * training's outputs (the target's `runFolders`), cached and restored with the checkpoint.
   */
  runFolders?: boolean;
  /** The interpreter that evaluates configs (Python runners: the one that runs the jobs). */
  python?: string;
  /** `--cfg-options` that make a job of `limit` images a small one (smoke), from the merged config. */
  limitOptions?(values: Record<string, PyValue>, limit: number, job: 'train' | 'test'): Record<string, PyValue>;
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
  /** MMEngine `--cfg-options` of this variant's jobs, over those the runner derives from `limit`. */
  cfgOptions?: Record<string, PyValue>;
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
  /** Experiment name: `exp/<name>/…` targets and its work dirs. */
  name: string;
  /** The config file, workspace-relative (MMEngine-style Python). */
  config: string;
  /** The dataset rule whose split manifests jobs read; without one, changed images are not seen (the config's paths still are). */
  dataset?: Dataset;
  runner: Runner;
  /** Work dir root (default `artifacts/work_dirs`): `<workDirs>/<name>/<variant>/`. */
  workDirs?: string;
  /**
   * The repository's own layout instead: a template with `{name}` and `{variant}`
   * (`work_dirs/{name}/{variant}`), or one per variant (`{ full: 'work_dirs/{name}', smoke: 'work_dirs/smoke/{name}' }`).
   */
  workDir?: string | Record<string, string>;
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
  /**
   * Settings over the merged config (dotted keys, MMEngine's `--cfg-options`): a variant of the
   * config, in the fingerprint and passed to every job. `sweep()` and `sbuild … -S key=value` set it.
   */
  overrides?: Record<string, PyValue>;
  /** Keys of `overrides` that the config does not have (any other unknown key is refused as a typo). */
  newKeys?: string[];
  /** The experiment this one is a variant of (set for the variants of `sbuild.variants.json`). */
  variantOf?: string;
}

export interface ExperimentVariant {
  train: Target;
  evals: Array<{ target: Target; split: string; metrics: string }>;
  workDir: string;
}

export interface Experiment {
  name: string;
  config: string;
  /** Every file the config's evaluation read (the config, its bases, …), in reading order. */
  chain: string[];
  /** Pretrained weights the config names (local files and absolute paths are inputs; URLs are params). */
  weights: string[];
  /** The merged config (empty when the config could not be evaluated because a file is missing). */
  values: Record<string, PyValue>;
  /** Files the config's `custom_imports` load from the repository (inputs of every job). */
  configInputs: string[];
  /** `{ config: 'values:<sha256>' }`: the merged config as a param (for rules that run the config's model). */
  configParams: { [k: string]: Json };
  runner: Runner;
  variants: Record<string, ExperimentVariant>;
  targets: Target[];
  /** Every metrics JSON this experiment writes. */
  metrics: string[];
  checkpoints: string[];
  logs: string[];
  /** Its settings over the config (a variant's; empty for the experiment as configured). */
  overrides: Record<string, PyValue>;
  /**
   * The variants recorded for it in `sbuild.variants.json` (`sbuild … -S key=value`): each an
   * experiment of its own, whose targets are also in `targets`; the results table and the
   * ledger give each a row.
   */
  overrideVariants: Experiment[];
}

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A checkpoint path as the training program will see it: `~` expanded, relative paths from the workspace root. */
function weightPath(w: string): string {
  if (w === '~' || w.startsWith('~/')) return path.join(os.homedir(), w.slice(1));
  return w;
}

/** Merged config with dotted `--cfg-options` applied, as MMEngine applies them. */
export function withOptions(values: Record<string, PyValue>, options: Record<string, PyValue>): Record<string, PyValue> {
  if (Object.keys(options).length === 0) return values;
  const out = structuredClone(values);
  for (const [dotted, v] of Object.entries(options)) {
    const keys = dotted.split('.');
    let cur: Record<string, PyValue> = out;
    for (const k of keys.slice(0, -1)) {
      const next = cur[k];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
      cur = cur[k] as Record<string, PyValue>;
    }
    cur[keys[keys.length - 1]!] = v;
  }
  return out;
}

/** `epoch_12.pth`-style names: `{a.b}` from the config, `{final}` MMEngine's last checkpoint. */
export function checkpointName(template: string, values: Record<string, PyValue>, what: string): string {
  return template.replace(/\{([A-Za-z0-9_.]+)\}/g, (_, key: string) => {
    if (key === 'final') {
      const loop = values.train_cfg as Record<string, PyValue> | undefined;
      const iters = loop && typeof loop === 'object' ? loop.max_iters : undefined;
      const epochs = loop && typeof loop === 'object' ? loop.max_epochs : undefined;
      const byIter = typeof iters === 'number' || (loop && typeof loop === 'object' && typeof loop.type === 'string' && /Iter/.test(loop.type));
      if (byIter && typeof iters === 'number') return `iter_${iters}`;
      if (!byIter && typeof epochs === 'number') return `epoch_${epochs}`;
      throw new BadInputError(`${what}: the checkpoint name '${template}' uses {final}, but the merged config has neither train_cfg.max_epochs nor train_cfg.max_iters. Name the checkpoint file instead (the runner's \`checkpoint\` option).`);
    }
    const v = configValue(values, key);
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new BadInputError(`${what}: the checkpoint name '${template}' uses {${key}}, which the merged config ${v === undefined ? 'does not have' : 'holds as a ' + (Array.isArray(v) ? 'list' : v === null ? 'None' : typeof v)}. Use a key holding a number or string, or name the file.`);
    }
    return String(v);
  });
}

export function experiment(opts: ExperimentOptions): Experiment {
  if (typeof opts.name !== 'string' || !(opts.overrides ? VARIANT_NAME : SEGMENT).test(opts.name)) {
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
  if (typeof opts.config !== 'string' || opts.config === '') throw new BadInputError(`${what}: \`config\` must be the path of its config file, e.g. 'configs/sardet/${opts.name}.py'.`);
  // Every job reads a split: without its manifest as an input, changed images would leave it fresh.
  const ds = opts.dataset;
  const splitsOf = Object.keys(ds?.manifests ?? {});
  const needSplit = (split: string, job: string): string[] => {
    if (!ds) return [];
    const m = ds.manifests[split];
    if (!m) throw new BadInputError(`${what}: ${job} reads the split '${split}', which the dataset does not have (it has ${splitsOf.map((k) => `'${k}'`).join(', ')}). Use one of those, or add '${split}' to the dataset's \`splits\`.`);
    return [m];
  };
  const root = opts.root ?? workspaceRoot();
  const overrides = opts.overrides && Object.keys(opts.overrides).length ? opts.overrides : undefined;
  // A key the config lacks is a typo (`model.pfaa`) unless declared new: MMEngine would add it silently.
  const checkedOverrides = (values: Record<string, PyValue>): Record<string, PyValue> => {
    if (!overrides) return {};
    for (const key of Object.keys(overrides)) {
      if (opts.newKeys?.includes(key) || configValue(values, key) !== undefined) continue;
      const parent = key.includes('.') ? configValue(values, key.slice(0, key.lastIndexOf('.'))) : values;
      const near = parent && typeof parent === 'object' && !Array.isArray(parent) ? Object.keys(parent) : [];
      const where = opts.variantOf ? `the variant '${opts.name}' of experiment '${opts.variantOf}'` : `experiment '${opts.name}'`;
      throw new BadInputError(
        `${where} sets ${key}, which the merged config of ${opts.config} does not have${near.length ? ` (${key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : 'the config'} has ${near.join(', ')})` : ''}. ` +
          `Fix the key (-S, or the entry in ${VARIANTS_FILE}), or mark it new: -S +${key}=…${opts.variantOf ? ` ("add": ["${key}"] in ${VARIANTS_FILE})` : ` (\`newKeys: ['${key}']\`)`}.`,
      );
    }
    return overrides;
  };
  const r = opts.runner;
  const python = r.python ?? defaultPython();
  const loadConfig = requestMmConfig(opts.config, { root, python });
  const variants = opts.variants ?? DEFAULT_VARIANTS;
  const workDirOf = workDirs(opts, Object.keys(variants));
  const table = opts.table ?? 'artifacts/experiments/experiment_results.tsv';
  const trainSplit = opts.trainSplit ?? 'train';

  // The evaluated config, once: what every lazy field below is computed from. A missing base
  // blocks this experiment's jobs only (it becomes their missing input); any other error is
  // the user's to fix now.
  const evaluated = () => {
    const cfg = loadConfig();
    if (cfg instanceof MmConfigError) {
      if (cfg.missing === undefined) {
        throw new MmConfigError(`${cfg.message.replace(/\.\s*$/, '')} (the config of experiment '${opts.name}', evaluated by ${python}). Fix the config at the location shown.`, cfg.location);
      }
      return { ok: false, values: {}, weights: [], chain: [opts.config], local: [], params: {}, configInputs: [cfg.missing] };
    }
    const urls = cfg.weights.filter(isUrl);
    const values = withOptions(cfg.values, checkedOverrides(cfg.values));
    return {
      ok: true,
      values,
      weights: cfg.weights,
      chain: cfg.chain,
      local: cfg.weights.filter((w) => !isUrl(w)).map(weightPath),
      params: { config: valuesParam(values as Json, root), ...(urls.length ? { weights: urls } : {}), ...(overrides ? { overrides: overrides as Json } : {}) } as { [k: string]: Json },
      configInputs: customImportInputs(root, cfg.customImports),
    };
  };
  let memo: ReturnType<typeof evaluated> | undefined;
  const common = () => (memo ??= evaluated());

  const out = { name: opts.name, config: opts.config, runner: r, variants: {}, targets: [], metrics: [], logs: [], overrides: overrides ?? {}, overrideVariants: [] } as unknown as Experiment;
  lazyFields(out, ['chain', 'weights', 'values', 'configInputs', 'configParams'] as const, () => {
    const c = common();
    return { chain: c.chain, weights: c.weights, values: c.values, configInputs: c.configInputs, configParams: c.params };
  });
  const checkpoints: Array<() => string> = [];
  for (const [variant, spec] of Object.entries(variants)) {
    const workDir = workDirOf(variant);
    const log = r.log ? `${workDir}/${r.log}` : undefined;
    const trainManifest = needSplit(trainSplit, `${variant} training`);
    const options = (job: 'train' | 'test'): Record<string, PyValue> => {
      const derived = spec.limit !== undefined && r.limitOptions ? r.limitOptions(common().values, spec.limit, job) : {};
      // The variant's settings are the config (a smoke run's limits still apply over them).
      return { ...(overrides ?? {}), ...derived, ...(spec.cfgOptions ?? {}) };
    };
    let ckptMemo: string | undefined;
    const checkpoint = () => (ckptMemo ??= `${workDir}/${common().ok ? checkpointName(r.checkpoint, withOptions(common().values, options('train')), `${what} ${variant}`) : r.checkpoint.replace(/\{[^}]*\}/g, 'unknown')}`);
    checkpoints.push(checkpoint);
    const base = { dataRoot: ds?.root ?? '', config: opts.config, workDir, variant, limit: spec.limit };
    const train = lazyFields(
      {
        name: `exp/${opts.name}/${variant}/train`,
        tags: [variant, 'train'],
        description: `${opts.description ?? opts.name}: ${variant} training`,
        // A distributed training (2+ GPUs) has no CPU form: without GPUs it fails, saying so.
        ...(opts.trainGpus ? { resources: { gpu: opts.trainGpus }, cpuFallback: opts.trainGpus < 2 } : {}),
        // Its work dir holds one fingerprint's checkpoints: a rerun of it continues them, another never sees them.
        ...(r.resume ? { resume: { dir: workDir, args: r.resume.args, ...(r.resume.marker ? { marker: r.resume.marker } : {}) } } : {}),
        ...(r.runFolders ? { runFolders: [workDir] } : {}),
      } as Target,
      ['inputs', 'outputs', 'run', 'params'] as const,
      () => {
        const c = common();
        const ckpt = checkpoint();
        return {
          inputs: [...(r.trainInputs ?? r.inputs), ...c.configInputs, ...c.local, ...trainManifest],
          outputs: [ckpt, ...(log ? [log] : [])],
          run: r.train({ ...base, checkpoint: ckpt, log, split: trainSplit, args: spec.trainArgs ?? [], cfgOptions: options('train'), values: c.values, gpus: opts.trainGpus ?? 0 }),
          params: c.params,
        };
      },
    );
    const evals = spec.evals.map((e) => {
      const metrics = `${workDir}/${e.metrics}`;
      const manifest = needSplit(e.split, `the ${variant} evaluation '${e.name}'`);
      const target = lazyFields(
        {
          name: `exp/${opts.name}/${variant}/${e.name}`,
          outputs: [metrics],
          resources: { gpu: opts.evalGpus ?? 1 },
          cpuFallback: true,
          tags: [variant, 'eval', 'gpu'],
          description: `${opts.description ?? opts.name}: ${variant} evaluation on ${e.split}`,
          materialize: (ctx: MaterializeContext) => metricsFromTable(ctx, { table, experiment: opts.name, variant, split: e.split, metrics, ...(opts.classes ? { classes: opts.classes } : {}) }),
        } as Target,
        ['inputs', 'run', 'params'] as const,
        () => {
          const c = common();
          const ckpt = checkpoint();
          // Weights the config names only initialise training: an evaluation reads the checkpoint.
          return {
            inputs: [...(r.testInputs ?? r.inputs), ...c.configInputs, ckpt, ...manifest],
            run: r.test({ ...base, checkpoint: ckpt, args: spec.testArgs ?? [], split: e.split, metrics, cfgOptions: options('test'), values: c.values, gpus: opts.evalGpus ?? 1 }),
            params: c.params,
          };
        },
      );
      out.metrics.push(metrics);
      return { target, split: e.split, metrics };
    });
    out.variants[variant] = { train, evals, workDir };
    out.targets.push(train, ...evals.map((x) => x.target));
    if (log) out.logs.push(log);
  }
  lazyFields(out, ['checkpoints'] as const, () => ({ checkpoints: checkpoints.map((c) => c()) }));
  declareExperiment({
    name: out.name,
    runs: Object.fromEntries(Object.entries(out.variants).map(([run, v]) => [run, [v.train.name, ...v.evals.map((e) => e.target.name)]])),
    ...(opts.variantOf ? { variantOf: opts.variantOf, set: overrides as { [k: string]: Json }, ...(opts.newKeys?.length ? { add: opts.newKeys } : {}) } : {}),
  });
  if (!opts.variantOf) {
    for (const v of variantsOf(opts.name, root)) {
      const from = v.fromFlag ? `-S on the command line` : VARIANTS_FILE;
      const runs = v.only ?? Object.keys(variants);
      const unknown = runs.filter((x) => !(x in variants));
      if (unknown.length) throw new BadInputError(`${from}: the variant '${v.name}' asks for the run(s) ${unknown.map((x) => `'${x}'`).join(', ')} of experiment '${opts.name}', which has ${Object.keys(variants).map((x) => `'${x}'`).join(', ')}. Fix its "only" list.`);
      const child = experiment({
        ...opts,
        name: v.name,
        overrides: v.set as Record<string, PyValue>,
        ...(v.add?.length ? { newKeys: v.add } : {}),
        variants: Object.fromEntries(runs.map((x) => [x, variants[x]!])),
        variantOf: opts.name,
        description: `${opts.description ?? opts.name} with ${Object.entries(v.set).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(', ')}`,
      });
      out.overrideVariants.push(child);
      out.targets.push(...child.targets);
    }
  }
  return out;
}

/**
 * One experiment per point of a grid over config keys, each named `NAME@key=value,…`:
 * `sweep({ name: 'cfar_os', config, dataset, runner }, { 'model.pfa': [1e-3, 1e-2], 'model.guard': [4, 5] })`
 * gives four experiments (each its own targets, work dir, cache entries and row of the table).
 */
export function sweep(opts: ExperimentOptions, grid: Record<string, PyValue[]>): Experiment[] {
  const keys = Object.keys(grid).sort();
  if (!keys.length || keys.some((k) => !Array.isArray(grid[k]) || grid[k]!.length === 0)) {
    throw new BadInputError(`sweep(${opts.name}): the grid must map each config key to a non-empty list of values, e.g. { 'model.pfa': [1e-3, 1e-2] }.`);
  }
  let points: Array<Record<string, PyValue>> = [{}];
  for (const k of keys) points = points.flatMap((p) => grid[k]!.map((v) => ({ ...p, [k]: v })));
  return points.map((p) => {
    const name = `${opts.name}@${keys.map((k) => `${k}=${cfgOptionValue(p[k]!)}`).join(',')}`;
    if (!VARIANT_NAME.test(name)) throw new BadInputError(`sweep(${opts.name}): the point ${JSON.stringify(p)} makes the name '${name}', which holds characters a target name cannot; use values of letters, digits, '.', '_', '+' and '-', or declare that experiment with experiment({ name, overrides }).`);
    return experiment({ ...opts, name, overrides: p });
  });
}

/** Each variant's work dir, checked: inside the workspace, one per variant. */
function workDirs(opts: ExperimentOptions, variants: string[]): (variant: string) => string {
  const what = `experiment(${opts.name})`;
  const layout = opts.workDir ?? `${opts.workDirs ?? 'artifacts/work_dirs'}/{name}/{variant}`;
  const dirs = new Map<string, string>();
  for (const v of variants) {
    const template = typeof layout === 'string' ? layout : layout[v];
    if (typeof template !== 'string' || template === '') {
      throw new BadInputError(`${what}: \`workDir\` has no entry for the variant '${v}'. Give one per variant (${variants.map((x) => `${x}: '…'`).join(', ')}), or one template with {variant}.`);
    }
    const dir = template.replace(/\{name\}/g, opts.name).replace(/\{variant\}/g, v).replace(/\/+$/, '');
    if (/[{}]/.test(dir) || dir.startsWith('/') || dir.split('/').includes('..')) {
      throw new BadInputError(`${what}: the work dir '${template}' must be a workspace-relative path without '..', where {name} and {variant} are the only placeholders (e.g. 'work_dirs/{name}').`);
    }
    const clash = [...dirs].find(([, d]) => d === dir);
    if (clash) throw new BadInputError(`${what}: the variants '${clash[0]}' and '${v}' would share the work dir '${dir}'. Put {variant} in \`workDir\`, or give each variant its own.`);
    dirs.set(v, dir);
  }
  return (v) => dirs.get(v)!;
}

/** The demo's classical detectors: `node <tool> calibrate|evaluate …` (see tools/sardet.ts). */
export function demoRunner(tool = 'dist/demo/sardet.mjs'): Runner {
  const limit = (n: number | undefined) => (n === undefined ? [] : ['--limit', String(n)]);
  return {
    id: 'sardet-demo',
    inputs: [tool],
    checkpoint: 'checkpoint.json',
    log: 'train.log',
    train: (j) => ['node', tool, 'calibrate', '--config', j.config, '--data', j.dataRoot, '--split', j.split, ...limit(j.limit), '--out', j.checkpoint, ...(j.log ? ['--log', j.log] : []), ...cfgOptionArgs(j.cfgOptions), ...j.args],
    test: (j) => ['node', tool, 'evaluate', '--config', j.config, '--checkpoint', j.checkpoint, '--data', j.dataRoot, '--split', j.split, ...limit(j.limit), '--out', j.metrics, ...cfgOptionArgs(j.cfgOptions), ...j.args],
  };
}

export interface MmdetOptions {
  /** The Python interpreter for the jobs and for reading configs (default: `SBUILD_PYTHON`, else `python3`). */
  python?: string;
  trainScript?: string;
  testScript?: string;
  /**
   * Checkpoint file name the training leaves in `--work-dir` (default `latest.pth`). MMEngine
   * (MMDetection 3.x) writes `epoch_N.pth` / `iter_N.pth`: say `{final}.pth`, or e.g.
   * `epoch_{train_cfg.max_epochs}.pth`.
   */
  checkpoint?: string;
  /** Pass the test script `--out-metrics FILE --split SPLIT` (default true: the SARDet repository's tools/test.py takes them). */
  metricsArgs?: boolean;
  /**
   * How tools/train.py continues an interrupted training from its work dir (default MMEngine's,
   * MMDetection 3.x: `--resume`, which reads `last_checkpoint`). MMDetection 2.x:
   * `{ args: ['--auto-resume'], marker: 'latest.pth' }`. `false`: always start from scratch.
   */
  resume?: { args: string[]; marker?: string } | false;
  /**
   * How a training on more than one GPU starts its processes (always with a free, distinct
   * MASTER_PORT per job): `sbuild` (default: `sbuild launch`, which sets torch.distributed's
   * env:// variables itself), `torchrun`, or `dist_train` (the repository's
   * `tools/dist_train.sh CONFIG GPUS`, which reads PORT).
   */
  launcher?: 'sbuild' | 'torchrun' | 'dist_train';
}

/** A `--cfg-options` value as MMEngine's DictAction parses it back (what `-S` values are read as). */
export function cfgOptionValue(v: PyValue): string {
  return cfgValueText(v);
}

function cfgOptionArgs(options: Record<string, PyValue>): string[] {
  const keys = Object.keys(options).sort();
  return keys.length ? ['--cfg-options', ...keys.map((k) => `${k}=${cfgOptionValue(options[k]!)}`)] : [];
}

/** The dotted path of the dataset a dataloader reads, through wrappers (`RepeatDataset`, `ClassBalancedDataset`). */
function innerDataset(values: Record<string, PyValue>, loader: string): string | undefined {
  let key = `${loader}.dataset`;
  let d = configValue(values, key);
  while (d && typeof d === 'object' && !Array.isArray(d)) {
    const inner = (d as Record<string, PyValue>).dataset;
    if (!inner || typeof inner !== 'object' || Array.isArray(inner)) return key;
    key += '.dataset';
    d = inner;
  }
  return undefined;
}

/**
 * A small run of an MMEngine config: one epoch (or `limit` iterations) on the first `limit`
 * images of each split (`indices`, which every MMEngine BaseDataset takes).
 */
export function mmengineLimitOptions(values: Record<string, PyValue>, limit: number, job: 'train' | 'test'): Record<string, PyValue> {
  const out: Record<string, PyValue> = {};
  const loaders = job === 'train' ? ['train_dataloader', 'val_dataloader'] : ['val_dataloader', 'test_dataloader'];
  for (const l of loaders) {
    const ds = innerDataset(values, l);
    if (ds) out[`${ds}.indices`] = limit;
  }
  if (job === 'train') {
    const loop = configValue(values, 'train_cfg');
    const iterBased = loop && typeof loop === 'object' && !Array.isArray(loop) && (typeof loop.max_iters === 'number' || (typeof loop.type === 'string' && /Iter/.test(loop.type)));
    if (iterBased) {
      out['train_cfg.max_iters'] = limit;
      out['train_cfg.val_interval'] = limit;
    } else if (loop && typeof loop === 'object') out['train_cfg.max_epochs'] = 1;
  }
  return out;
}

/**
 * MMDetection: `python tools/train.py CONFIG --work-dir DIR` and
 * `python tools/test.py CONFIG CKPT --work-dir DIR --out-metrics FILE --split SPLIT`, with
 * `--cfg-options` making a smoke run small. Training reads the train script, evaluation the
 * test script: changing one reruns only its jobs. The test script is expected to write the
 * metrics JSON it is given (as the SARDet paper repository's does).
 */
export function mmdetRunner(o: MmdetOptions = {}): Runner {
  const python = o.python ?? defaultPython();
  const trainScript = o.trainScript ?? 'tools/train.py';
  const testScript = o.testScript ?? 'tools/test.py';
  const metricsArgs = o.metricsArgs ?? true;
  return {
    id: 'mmdetection',
    python,
    inputs: [trainScript, testScript],
    trainInputs: o.launcher === 'dist_train' ? [trainScript, 'tools/dist_train.sh'] : [trainScript],
    testInputs: [testScript],
    checkpoint: o.checkpoint ?? 'latest.pth',
    ...(o.resume === false ? {} : { resume: o.resume ?? { args: ['--resume'], marker: 'last_checkpoint' } }),
    runFolders: true,
    limitOptions: mmengineLimitOptions,
    train: (j) => {
      const rest = ['--work-dir', j.workDir, ...cfgOptionArgs(j.cfgOptions), ...j.args];
      if (j.gpus < 2) return [python, trainScript, j.config, ...rest];
      // One process per GPU, each told its rank by the environment (MMEngine: --launcher pytorch).
      if (o.launcher === 'torchrun') return ['sbuild', 'launch', '--torchrun', '--', trainScript, j.config, '--launcher', 'pytorch', ...rest];
      if (o.launcher === 'dist_train') return ['sbuild', 'launch', '--port-only', '--', 'bash', 'tools/dist_train.sh', j.config, String(j.gpus), ...rest];
      return ['sbuild', 'launch', '--', python, trainScript, j.config, '--launcher', 'pytorch', ...rest];
    },
    test: (j) => [python, testScript, j.config, j.checkpoint, '--work-dir', j.workDir, ...(metricsArgs ? ['--out-metrics', j.metrics, '--split', j.split] : []), ...cfgOptionArgs(j.cfgOptions), ...j.args],
  };
}
