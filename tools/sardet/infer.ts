// evaluate, vr and saliency: a calibrated detector run over a split.
import fs from 'node:fs';
import path from 'node:path';
import { ToolError } from './args.js';
import { CLASSES } from './classes.js';
import { cocoEvaluate, type DetBox } from './coco-eval.js';
import { statMap, type DetectorParams } from './detector.js';
import { drawBox, heatOverlay, toRgb } from './draw.js';
import { formatMetrics, type Metrics } from '../../rules/metrics-format.js';
import { encodeRgbPng, readImage, readSplit, round4, writeDirAtomic, writeFileAtomic, writeJson, type Split, type SplitImage } from './io.js';
import { loadModelConfig, paramsFromCheckpoint, readCheckpoint, type Checkpoint } from './model.js';
import { clutterFor, detect, splitGt, toDetBoxes, type Detected } from './pipeline.js';

export interface RunOptions {
  config: string;
  checkpoint: string;
  data: string;
  split: string;
  limit: number | undefined;
  root: string | undefined;
  log: (line: string) => void;
}

interface Loaded {
  ckpt: Checkpoint;
  params: DetectorParams;
  split: Split;
}

function load(opts: RunOptions): Loaded {
  const m = loadModelConfig(opts.config, opts.root);
  const ckpt = readCheckpoint(opts.checkpoint);
  const params = paramsFromCheckpoint(m, ckpt, opts.checkpoint);
  const split = readSplit(opts.data, opts.split, opts.limit);
  return { ckpt, params, split };
}

function runImage(l: Loaded, im: SplitImage): { img: ReturnType<typeof readImage>; T: Float32Array; dets: Detected[] } {
  const img = readImage(im.file);
  const T = statMap(img, l.params, clutterFor(img, l.ckpt.clutter));
  const dets = detect(T, img, l.params, l.ckpt.alpha, l.ckpt.box_offsets, l.ckpt.prototypes);
  return { img, T, dets };
}

/** METRICS.json: exactly these keys, in this order. */
export interface MetricsFile {
  detector: string;
  split: string;
  images: number;
  AP: number | null;
  AP50: number | null;
  AP75: number | null;
  per_class_AP: Record<string, number | null>;
}

function metricsFile(l: Loaded, dets: DetBox[]): MetricsFile {
  const m = cocoEvaluate(splitGt(l.split), dets, CLASSES);
  return {
    detector: l.ckpt.detector,
    split: l.split.name,
    images: l.split.images.length,
    AP: m.AP,
    AP50: m.AP50,
    AP75: m.AP75,
    per_class_AP: Object.fromEntries(CLASSES.map((c) => [c, m.per_class_AP[c] ?? null])),
  };
}

/**
 * The metrics JSON's text: rounded here, serialised by the one formatter the rule library also
 * uses to materialize metrics from the results table (so both give the same bytes).
 */
function formatMetricsFile(m: MetricsFile): string {
  // The shared type has numbers; null (a split without any ground truth) passes through as JSON null.
  return formatMetrics(round4(m) as Metrics, [...CLASSES]);
}

function logMetrics(log: (line: string) => void, m: MetricsFile): void {
  const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));
  log(`${m.detector} ${m.split} (${m.images} images): AP ${f(m.AP)} AP50 ${f(m.AP50)} AP75 ${f(m.AP75)}`);
  log(`  per class: ${CLASSES.map((c) => `${c} ${f(m.per_class_AP[c] ?? null)}`).join(', ')}`);
}

export function evaluate(opts: RunOptions & { out: string; predictions: string | undefined }): void {
  const l = load(opts);
  const all: DetBox[] = [];
  for (const im of l.split.images) all.push(...toDetBoxes(im.id, runImage(l, im).dets));
  const metrics = metricsFile(l, all);
  logMetrics(opts.log, metrics);
  writeFileAtomic(opts.out, formatMetricsFile(metrics));
  if (opts.predictions !== undefined) {
    // COCO results format, with the category ids of the split's own annotation file.
    const raw = JSON.parse(fs.readFileSync(l.split.annotationFile, 'utf8')) as { categories: { id: number; name: string }[] };
    const catId = new Map(raw.categories.map((c) => [c.name.toLowerCase(), c.id]));
    const results = all.map((d) => ({ image_id: d.image_id, category_id: catId.get(d.cls) ?? null, bbox: d.bbox, score: d.score }));
    writeJson(opts.predictions, results);
  }
}

const GREEN = [0, 255, 0] as const;
const RED = [255, 0, 0] as const;

/** Writes the images to `out`, and the metrics to `metrics` (default: `out/metrics.json`). */
export function vr(opts: RunOptions & { out: string; metrics: string | undefined }): void {
  const l = load(opts);
  const all: DetBox[] = [];
  let drawn = 0;
  let metrics: MetricsFile | undefined;
  writeDirAtomic(opts.out, (tmp) => {
    for (const im of l.split.images) {
      const { img, dets } = runImage(l, im);
      all.push(...toDetBoxes(im.id, dets));
      const rgb = toRgb(img);
      for (const g of im.gt) drawBox(rgb, img.width, img.height, g.bbox, GREEN);
      for (const d of dets) {
        if (d.score < l.ckpt.score_thr) continue;
        drawBox(rgb, img.width, img.height, d.bbox, RED);
        drawn++;
      }
      fs.writeFileSync(path.join(tmp, `${im.stem}.png`), encodeRgbPng(img.width, img.height, rgb));
    }
    metrics = metricsFile(l, all);
    if (opts.metrics === undefined) fs.writeFileSync(path.join(tmp, 'metrics.json'), formatMetricsFile(metrics));
  });
  logMetrics(opts.log, metrics!);
  if (opts.metrics !== undefined) writeFileAtomic(opts.metrics, formatMetricsFile(metrics!));
  opts.log(`vr: ${l.split.images.length} images, ${drawn} boxes above score ${l.ckpt.score_thr} -> ${opts.out}`);
}

export function saliency(opts: RunOptions & { out: string; images: string }): void {
  const l = load(opts);
  let text: string;
  try {
    text = fs.readFileSync(opts.images, 'utf8');
  } catch {
    throw new ToolError(`image list not found: ${opts.images}`);
  }
  const stems = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
  const byStem = new Map(l.split.images.map((im) => [im.stem, im]));
  const unknown = stems.filter((s) => !byStem.has(s));
  if (unknown.length) {
    throw new ToolError(`${opts.images}: ${unknown.length} image(s) not in split ${opts.split}: ${unknown.slice(0, 5).join(', ')}`);
  }
  writeDirAtomic(opts.out, (tmp) => {
    for (const stem of [...new Set(stems)].sort()) {
      const { img, T } = runImage(l, byStem.get(stem)!);
      fs.writeFileSync(path.join(tmp, `${stem}.png`), encodeRgbPng(img.width, img.height, heatOverlay(img, T, l.ckpt.alpha)));
    }
  });
  opts.log(`saliency: ${new Set(stems).size} maps -> ${opts.out}`);
}
