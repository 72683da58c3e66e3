// From a config file to a detector: the merged `model` dict becomes DetectorParams (unknown keys
// and wrong types are errors), `train_cfg` the calibration grid, `checkpoint` the clutter prior.
// Also the checkpoint file that calibrate writes and evaluate/vr/saliency read.
import fs from 'node:fs';
import path from 'node:path';
import { readMmConfig, type MmConfig, type PyValue } from '../../rules/mmconfig.js';
import { ToolError, UsageError } from './args.js';
import { DETECTOR_TYPES, FEATURES, type BoxOffsets, type DetectorParams, type DetectorType, type Prototype } from './detector.js';
import { readJson, round4 } from './io.js';

/** A config problem: exit 2, like a usage error. */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
}

const DEFAULTS: Omit<DetectorParams, 'type'> = {
  test_cell: 3,
  guard: 4,
  window: 12,
  rank: 0.75,
  pfa: 1e-4,
  min_area: 6,
  max_area: 5000,
  dilate: 1,
};

/** Keys the calibration may change; every other model key must match between config and checkpoint. */
export const CALIBRATED_KEYS = ['pfa', 'window'] as const;

export type CalibMetric = 'AP50' | 'F1';

export interface TrainCfg {
  pfa_grid: number[];
  window_grid: number[];
  metric: CalibMetric;
}

export interface ModelConfig {
  config: MmConfig;
  params: DetectorParams;
  train: TrainCfg;
  /** The prior named by `checkpoint`, resolved; null when the config names none. */
  priorPath: string | null;
  priorName: string | null;
}

let cfgOptions: Array<[string, PyValue]> = [];

/** `--cfg-options KEY=VALUE …`: applied over every config this process loads, as MMEngine applies them. */
export function setCfgOptions(options: Array<[string, PyValue]>): void {
  cfgOptions = options;
}

function withCfgOptions(config: MmConfig): MmConfig {
  if (!cfgOptions.length) return config;
  const values = structuredClone(config.values);
  for (const [dotted, v] of cfgOptions) {
    const keys = dotted.split('.');
    let cur: { [k: string]: PyValue } = values;
    for (const k of keys.slice(0, -1)) {
      const next = cur[k];
      if (!isDict(next)) cur[k] = {};
      cur = cur[k] as { [k: string]: PyValue };
    }
    cur[keys[keys.length - 1]!] = v;
  }
  return { ...config, values };
}

export function loadModelConfig(file: string, root: string | undefined): ModelConfig {
  const base = root ?? '.';
  const config = withCfgOptions(readMmConfig(file, root));
  const where = `config ${config.file}`;
  const model = config.values.model;
  if (!isDict(model)) throw new ConfigError(`${where}: no model = dict(type=...) (found ${show(model)})`);
  const type = model.type;
  if (typeof type !== 'string' || !(DETECTOR_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError(`${where}: model.type must be one of ${DETECTOR_TYPES.join(', ')} (found ${show(type)})`);
  }
  const params: DetectorParams = { type: type as DetectorType, ...DEFAULTS };
  for (const [k, v] of Object.entries(model)) {
    if (k === 'type') continue;
    if (!(k in DEFAULTS)) {
      throw new ConfigError(`${where}: unknown model key '${k}' (known: type, ${Object.keys(DEFAULTS).join(', ')})`);
    }
    const key = k as keyof typeof DEFAULTS;
    // Quantised as checkpoints store them, so a checkpoint always matches the config it came from.
    params[key] = key === 'pfa' ? checkNumber(where, `model.${k}`, v, key) : round4(checkNumber(where, `model.${k}`, v, key));
  }
  if (params.test_cell % 2 !== 1) throw new ConfigError(`${where}: model.test_cell must be odd (found ${params.test_cell})`);
  if (params.guard < (params.test_cell - 1) / 2) {
    throw new ConfigError(`${where}: model.guard (${params.guard}) must cover the test cell (at least ${(params.test_cell - 1) / 2})`);
  }
  if (params.window <= params.guard) throw new ConfigError(`${where}: model.window (${params.window}) must exceed model.guard (${params.guard})`);
  if (params.max_area < params.min_area) throw new ConfigError(`${where}: model.max_area is below model.min_area`);

  const trainRaw = config.values.train_cfg ?? {};
  if (!isDict(trainRaw)) throw new ConfigError(`${where}: train_cfg must be a dict (found ${show(trainRaw)})`);
  const train: TrainCfg = { pfa_grid: [params.pfa], window_grid: [params.window], metric: 'AP50' };
  for (const [k, v] of Object.entries(trainRaw)) {
    if (k === 'metric') {
      if (v !== 'AP50' && v !== 'F1') throw new ConfigError(`${where}: train_cfg.metric must be 'AP50' or 'F1' (found ${show(v)})`);
      train.metric = v;
    } else if (k === 'pfa_grid' || k === 'window_grid') {
      if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${where}: train_cfg.${k} must be a non-empty list (found ${show(v)})`);
      train[k] = v.map((x, i) => checkNumber(where, `train_cfg.${k}[${i}]`, x, k === 'pfa_grid' ? 'pfa' : 'window'));
      if (k === 'window_grid' && train.window_grid.some((w) => w <= params.guard)) {
        throw new ConfigError(`${where}: every train_cfg.window_grid entry must exceed model.guard (${params.guard})`);
      }
    } else {
      throw new ConfigError(`${where}: unknown train_cfg key '${k}' (known: pfa_grid, window_grid, metric)`);
    }
  }

  const ckpt = config.values.checkpoint;
  let priorPath: string | null = null;
  let priorName: string | null = null;
  if (ckpt !== undefined && ckpt !== null) {
    if (typeof ckpt !== 'string') throw new ConfigError(`${where}: checkpoint must be a path string (found ${show(ckpt)})`);
    priorName = ckpt;
    priorPath = path.resolve(base, ckpt);
  }
  return { config, params, train, priorPath, priorName };
}

function checkNumber(where: string, name: string, v: PyValue | undefined, key: keyof typeof DEFAULTS): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}: ${name} must be a number (found ${show(v)})`);
  const ints: (keyof typeof DEFAULTS)[] = ['test_cell', 'guard', 'window', 'min_area', 'max_area', 'dilate'];
  if (ints.includes(key) && !Number.isInteger(v)) throw new ConfigError(`${where}: ${name} must be an integer (found ${v})`);
  const ok =
    key === 'pfa' ? v > 0 && v < 1 : key === 'rank' ? v >= 0 && v <= 1 : key === 'dilate' ? v >= 0 && v <= 4 : key === 'test_cell' || key === 'window' ? v >= 1 && v <= 64 : v >= 0;
  if (!ok) throw new ConfigError(`${where}: ${name} is out of range (found ${v})`);
  return v;
}

function isDict(v: PyValue | undefined): v is { [k: string]: PyValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: PyValue | undefined): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------
// The clutter prior ("pretrained weights") and the checkpoint

export interface Prior {
  kind: 'sardet-clutter-prior';
  split: string;
  images: number;
  background_pixels: number;
  mean: number;
  std: number;
  gamma_shape: number;
  gamma_scale: number;
  looks: number;
  percentiles: Record<string, number>;
  image_mean: Record<string, number>;
}

export function readPrior(m: ModelConfig): Prior | null {
  if (m.priorPath === null) return null;
  if (!fs.existsSync(m.priorPath)) {
    throw new ToolError(
      `config ${m.config.file} names checkpoint '${m.priorName}', which does not exist (${m.priorPath}); build it with 'sardet prior' first`,
    );
  }
  const raw = readJson(m.priorPath, 'clutter prior') as Partial<Prior>;
  if (raw?.kind !== 'sardet-clutter-prior' || typeof raw.looks !== 'number' || typeof raw.mean !== 'number') {
    throw new ToolError(`checkpoint ${m.priorPath} is not a clutter prior written by 'sardet prior'`);
  }
  return raw as Prior;
}

export const CHECKPOINT_FORMAT = 'sardet-mini-detector/1';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  detector: DetectorType;
  config: { file: string; chain: string[]; model: PyValue; train_cfg: PyValue; checkpoint: string | null };
  /** The clutter the detector assumes: the prior's, or looks estimated on the training images. */
  clutter: { source: string; looks: number; mean: number | null };
  params: Omit<DetectorParams, 'pfa'> & { log10_pfa: number };
  alpha: number;
  score_thr: number;
  box_offsets: BoxOffsets;
  features: string[];
  prototypes: Prototype[];
  calibration: unknown;
}

export function readCheckpoint(file: string): Checkpoint {
  const raw = readJson(file, 'checkpoint') as Partial<Checkpoint>;
  if (raw?.format !== CHECKPOINT_FORMAT) throw new ToolError(`checkpoint ${file} was not written by 'sardet calibrate' (format ${JSON.stringify(raw?.format)})`);
  if (JSON.stringify(raw.features) !== JSON.stringify(FEATURES)) throw new ToolError(`checkpoint ${file} uses other blob features; recalibrate`);
  return raw as Checkpoint;
}

/** The params a checkpoint was calibrated to, checked against the config given now. */
export function paramsFromCheckpoint(m: ModelConfig, ckpt: Checkpoint, ckptFile: string): DetectorParams {
  if (m.params.type !== ckpt.detector) {
    throw new ConfigError(`checkpoint ${ckptFile} was calibrated for ${ckpt.detector}, but config ${m.config.file} says model.type='${m.params.type}'`);
  }
  const { log10_pfa, ...rest } = ckpt.params;
  const params: DetectorParams = { ...rest, pfa: 10 ** log10_pfa };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if ((CALIBRATED_KEYS as readonly string[]).includes(key)) continue;
    if (params[key] !== m.params[key]) {
      throw new ConfigError(
        `checkpoint ${ckptFile} was calibrated with model.${key}=${params[key]}, but config ${m.config.file} says ${m.params[key]}; calibrate again`,
      );
    }
  }
  return params;
}
