// "Training": calibrates a detector on the first N images of a split.
//   1. For each (window, pfa) of the grid (train_cfg.window_grid × train_cfg.pfa_grid): threshold
//      the statistic maps, fit the box edge offsets (median gap between blob and box edges over
//      blob/box pairs with IoU >= 0.3), and score class-agnostic AP50 (or best F1) with them.
//   2. Keep the best grid point (the first one on ties).
//   3. Learn the blob classifier from the blobs matched to ground-truth boxes, and the operating
//      score threshold that maximises class-agnostic F1 at IoU 0.5.
import { ToolError } from './args.js';
import { CLASSES } from './classes.js';
import { cocoEvaluate, iou, rankedMatches, type GtBox } from './coco-eval.js';
import { FEATURES, alphaFor, blobBox, blobFeatures, estimateClutter, fitPrototypes, statMap, type BoxOffsets, type DetectorParams } from './detector.js';
import { readImage, readSplit, writeJson, type Gray } from './io.js';
import { CHECKPOINT_FORMAT, loadModelConfig, readPrior, type Checkpoint } from './model.js';
import { clutterFor, detect, splitGt, toDetBoxes, type Detected } from './pipeline.js';

export interface CalibrateOptions {
  config: string;
  data: string;
  split: string;
  limit: number | undefined;
  out: string;
  root: string | undefined;
  log: (line: string) => void;
}

const MATCH_IOU = 0.3;

/** One-to-one pairs of detections and ground-truth boxes of an image, best IoU first. */
function pairs(dets: readonly { bbox: readonly number[] }[], gts: readonly GtBox[], minIou: number): [number, number][] {
  const cand: [number, number, number][] = [];
  dets.forEach((d, i) =>
    gts.forEach((g, j) => {
      const v = iou(d.bbox as [number, number, number, number], g.bbox);
      if (v >= minIou) cand.push([v, i, j]);
    }),
  );
  cand.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const usedD = new Set<number>();
  const usedG = new Set<number>();
  const out: [number, number][] = [];
  for (const [, i, j] of cand) {
    if (usedD.has(i) || usedG.has(j)) continue;
    usedD.add(i);
    usedG.add(j);
    out.push([i, j]);
  }
  return out;
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median gaps between the ground-truth box edges and the blob extents they were matched to. */
function fitOffsets(perImage: Detected[][], gtPerImage: GtBox[][]): BoxOffsets {
  const d: number[][] = [[], [], [], []];
  perImage.forEach((dets, k) => {
    for (const [i, j] of pairs(dets, gtPerImage[k]!, MATCH_IOU)) {
      const b = dets[i]!.blob;
      const g = gtPerImage[k]![j]!.bbox;
      d[0]!.push(g[0] - b.x0);
      d[1]!.push(g[1] - b.y0);
      d[2]!.push(g[0] + g[2] - (b.x1 + 1));
      d[3]!.push(g[1] + g[3] - (b.y1 + 1));
    }
  });
  return d.map((x) => Math.round(median(x) * 4) / 4) as BoxOffsets;
}

function withOffsets(dets: Detected[], off: BoxOffsets): Detected[] {
  return dets.map((x) => ({ ...x, bbox: blobBox(x.blob, off) }));
}

/** The best F1 over score thresholds (class-agnostic, IoU 0.5) and the threshold reaching it. */
function bestF1(gt: GtBox[], dets: ReturnType<typeof toDetBoxes>): { f1: number; thr: number } {
  const { ranked, numGt } = rankedMatches(gt, dets, undefined, [0.5]);
  let tp = 0;
  let best = { f1: 0, thr: 1 };
  ranked.forEach((r, i) => {
    if (r.tp[0]) tp++;
    const next = ranked[i + 1];
    if (next && next.score === r.score) return; // a threshold cannot split equal scores
    const f1 = (2 * tp) / (i + 1 + numGt);
    if (f1 > best.f1) best = { f1, thr: r.score };
  });
  return best;
}

export function calibrate(opts: CalibrateOptions): void {
  const { log } = opts;
  const m = loadModelConfig(opts.config, opts.root);
  const prior = readPrior(m);
  const split = readSplit(opts.data, opts.split, opts.limit);
  if (split.images.length === 0) throw new ToolError(`split ${opts.split} of ${opts.data} has no images`);
  const images: Gray[] = split.images.map((im) => readImage(im.file));
  const gt = splitGt(split);
  const gtPerImage = split.images.map((im) => gt.filter((g) => g.image_id === im.id));
  const agnosticGt = gt.map((g) => ({ ...g, cls: 'object' }));
  const stored = prior
    ? { source: m.priorName ?? '', looks: prior.looks, mean: prior.mean }
    : { source: 'estimated on the calibration images', looks: median(images.map((im) => estimateClutter(im).looks)), mean: null };
  log(`${m.params.type}: ${split.images.length} ${opts.split} images, clutter looks ${stored.looks.toFixed(2)} (${prior ? `prior ${m.priorName}` : 'no prior'})`);

  const grid: { window: number; log10_pfa: number; alpha: number; value: number; offsets: BoxOffsets }[] = [];
  let best: (typeof grid)[number] | undefined;
  let bestMaps: Float32Array[] = [];
  for (const window of m.train.window_grid) {
    const params: DetectorParams = { ...m.params, window };
    const maps = images.map((img) => statMap(img, params, clutterFor(img, stored)));
    for (const pfa of m.train.pfa_grid) {
      const alpha = Math.round(alphaFor(params, stored.looks, pfa) * 1e4) / 1e4;
      const raw = maps.map((T, k) => detect(T, images[k]!, params, alpha, [0, 0, 0, 0], null));
      const offsets = fitOffsets(raw, gtPerImage);
      const dets = raw.flatMap((d, k) => toDetBoxes(split.images[k]!.id, withOffsets(d, offsets)));
      const value =
        m.train.metric === 'AP50' ? (cocoEvaluate(agnosticGt, dets, ['object'], { iouThresholds: [0.5] }).AP50 ?? 0) : bestF1(agnosticGt, dets).f1;
      const point = { window, log10_pfa: Math.log10(pfa), alpha, value, offsets };
      grid.push(point);
      log(`  window ${window} pfa ${pfa.toExponential(0)} alpha ${alpha.toFixed(3)}: ${m.train.metric} ${value.toFixed(4)} (${dets.length} detections)`);
      if (!best || value > best.value) {
        best = point;
        bestMaps = maps;
      }
    }
  }
  const chosen = best!;
  const params: DetectorParams = { ...m.params, window: chosen.window, pfa: 10 ** chosen.log10_pfa };
  const alpha = chosen.alpha;
  const maps = bestMaps;
  const perImage = maps.map((T, k) => withOffsets(detect(T, images[k]!, params, alpha, [0, 0, 0, 0], null), chosen.offsets));

  // The classifier, from blobs matched to ground-truth boxes.
  const samples: { cls: string; f: number[] }[] = [];
  perImage.forEach((dets, k) => {
    for (const [i, j] of pairs(dets, gtPerImage[k]!, MATCH_IOU)) samples.push({ cls: gtPerImage[k]![j]!.cls, f: blobFeatures(dets[i]!.blob) });
  });
  const prototypes = fitPrototypes(CLASSES, samples).map((p) => ({
    ...p,
    mean: p.mean.map((x) => Math.round(x * 1e4) / 1e4),
    std: p.std.map((x) => Math.round(x * 1e4) / 1e4),
  }));
  log(`classifier: ${prototypes.map((p) => `${p.name} ${p.count}`).join(', ')} matched blobs`);

  const agnostic = perImage.flatMap((d, k) => toDetBoxes(split.images[k]!.id, d));
  const op = bestF1(agnosticGt, agnostic);
  const scoreThr = Math.floor(op.thr * 1e4) / 1e4;
  const classed = maps.flatMap((T, k) => toDetBoxes(split.images[k]!.id, detect(T, images[k]!, params, alpha, chosen.offsets, prototypes)));
  const metrics = cocoEvaluate(gt, classed, CLASSES);
  log(
    `chosen: window ${chosen.window} pfa ${params.pfa.toExponential(0)} alpha ${alpha.toFixed(4)} offsets [${chosen.offsets.join(', ')}], ` +
      `score_thr ${scoreThr.toFixed(4)} (F1 ${op.f1.toFixed(4)}); ${opts.split} AP ${(metrics.AP ?? 0).toFixed(4)} AP50 ${(metrics.AP50 ?? 0).toFixed(4)}`,
  );

  const { pfa: _pfa, ...rest } = params;
  const ckpt: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    detector: params.type,
    config: {
      file: m.config.file,
      chain: m.config.chain,
      model: m.config.values.model ?? null,
      train_cfg: m.config.values.train_cfg ?? null,
      checkpoint: m.priorName,
    },
    clutter: stored,
    params: { ...rest, log10_pfa: Math.log10(params.pfa) },
    alpha,
    score_thr: scoreThr,
    box_offsets: chosen.offsets,
    features: [...FEATURES],
    prototypes,
    calibration: {
      split: opts.split,
      images: split.images.length,
      metric: m.train.metric,
      grid: grid.map(({ window, log10_pfa, alpha: a, value }) => ({ window, log10_pfa, alpha: a, value })),
      operating_f1: op.f1,
      train_AP: metrics.AP,
      train_AP50: metrics.AP50,
      train_AP75: metrics.AP75,
    },
  };
  writeJson(opts.out, ckpt, { keepTiny: true });
}
