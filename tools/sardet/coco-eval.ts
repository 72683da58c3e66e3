// COCO-style box AP, computed the way pycocotools' COCOeval does for bbox at area "all":
//   - per class and image, detections sorted by score (stable) and cut to the best `maxDets`;
//   - for each IoU threshold t in 0.50:0.05:0.95, each detection in score order is matched greedily
//     to the unmatched ground truth of its image and class with the highest IoU >= t (a tie goes
//     to the later box, as in COCOeval); unmatched detections are false positives;
//   - over all images, detections in score order (ties by image id, then rank in the image) give
//     the precision/recall curve; precision is made monotone (the envelope from the right) and read
//     at the 101 recall points 0, 0.01, ..., 1 (the first point whose recall reaches r; 0 past the
//     curve's end); AP for (class, t) is their mean;
//   - a class with no ground truth has no AP (null) and is left out of every mean.
// Simplification: ground truth marked iscrowd is dropped instead of becoming an ignore region
// (SARDet has none). Pure: no I/O, inputs are not changed.

export type Box = readonly [number, number, number, number]; // [x, y, w, h]

export interface GtBox {
  image_id: number;
  cls: string;
  bbox: Box;
  iscrowd?: boolean;
}

export interface DetBox {
  image_id: number;
  cls: string;
  bbox: Box;
  score: number;
}

export interface CocoMetrics {
  /** Mean over IoU thresholds 0.50:0.95 and over classes with ground truth; null when none has any. */
  AP: number | null;
  AP50: number | null;
  AP75: number | null;
  /** AP at 0.50:0.95 of each class; null for a class without ground truth. */
  per_class_AP: Record<string, number | null>;
  /** AP of each class at each IoU threshold (rows follow `iouThresholds`). */
  per_class_curve: Record<string, number[] | null>;
}

export interface CocoEvalOptions {
  iouThresholds?: readonly number[];
  maxDets?: number;
}

/** 0.50, 0.55, ..., 0.95, written exactly. */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (50 + 5 * i) / 100);

export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/** AP of one ranked list: `tp[i]` says whether the i-th best detection is a true positive. */
export function averagePrecision101(tp: readonly boolean[], numGt: number): number {
  if (numGt === 0) throw new Error('AP needs ground truth');
  const n = tp.length;
  const rc = new Float64Array(n);
  const pr = new Float64Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    if (tp[i]) t++;
    rc[i] = t / numGt;
    pr[i] = t / (i + 1);
  }
  for (let i = n - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
  let sum = 0;
  let k = 0;
  for (let r = 0; r <= 100; r++) {
    const thr = r / 100;
    while (k < n && rc[k]! < thr) k++;
    if (k < n) sum += pr[k]!;
  }
  return sum / 101;
}

/** One detection of a ranked list: its score and, per IoU threshold, whether it matched. */
export interface RankedDet {
  score: number;
  tp: boolean[];
}

/**
 * Matches one class's detections to its ground truth, image by image, at each threshold, and
 * returns them in COCO's global order (score, then image id, then rank in the image) with the
 * number of ground-truth boxes. `cls` undefined matches every class (class-agnostic).
 */
export function rankedMatches(
  gt: readonly GtBox[],
  dets: readonly DetBox[],
  cls: string | undefined,
  thresholds: readonly number[],
  maxDets = 100,
): { ranked: RankedDet[]; numGt: number } {
  const gtByImage = new Map<number, Box[]>();
  let numGt = 0;
  for (const g of gt) {
    if ((cls !== undefined && g.cls !== cls) || g.iscrowd) continue;
    const list = gtByImage.get(g.image_id) ?? [];
    list.push(g.bbox);
    gtByImage.set(g.image_id, list);
    numGt++;
  }
  // Each image's detections of this class, best first, at most maxDets.
  const detsByImage = new Map<number, { bbox: Box; score: number; order: number }[]>();
  dets.forEach((d, order) => {
    if (cls !== undefined && d.cls !== cls) return;
    const list = detsByImage.get(d.image_id) ?? [];
    list.push({ bbox: d.bbox, score: d.score, order });
    detsByImage.set(d.image_id, list);
  });
  const all: (RankedDet & { image: number; rank: number })[] = [];
  for (const [imageId, list] of detsByImage) {
    list.sort((a, b) => b.score - a.score || a.order - b.order);
    const kept = list.slice(0, maxDets);
    const gts = gtByImage.get(imageId) ?? [];
    const ious = kept.map((d) => gts.map((g) => iou(d.bbox, g)));
    const flags = kept.map(() => [] as boolean[]);
    for (const t of thresholds) {
      const used = gts.map(() => false);
      for (let di = 0; di < kept.length; di++) {
        let best = Math.min(t, 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < gts.length; gi++) {
          if (used[gi]) continue;
          const v = ious[di]![gi]!;
          if (v < best) continue;
          best = v;
          m = gi;
        }
        if (m >= 0) used[m] = true;
        flags[di]!.push(m >= 0);
      }
    }
    kept.forEach((d, i) => all.push({ score: d.score, tp: flags[i]!, image: imageId, rank: i }));
  }
  all.sort((a, b) => b.score - a.score || a.image - b.image || a.rank - b.rank);
  return { ranked: all.map(({ score, tp }) => ({ score, tp })), numGt };
}

export function cocoEvaluate(
  gt: readonly GtBox[],
  dets: readonly DetBox[],
  classes: readonly string[],
  options: CocoEvalOptions = {},
): CocoMetrics {
  const thresholds = options.iouThresholds ?? COCO_IOU_THRESHOLDS;
  const perClassAP: Record<string, number | null> = {};
  const perClassCurve: Record<string, number[] | null> = {};
  const curves: number[][] = [];
  for (const cls of classes) {
    const { ranked, numGt } = rankedMatches(gt, dets, cls, thresholds, options.maxDets);
    if (numGt === 0) {
      perClassAP[cls] = null;
      perClassCurve[cls] = null;
      continue;
    }
    const curve = thresholds.map((_, ti) => averagePrecision101(ranked.map((r) => r.tp[ti]!), numGt));
    perClassCurve[cls] = curve;
    perClassAP[cls] = mean(curve);
    curves.push(curve);
  }
  const at = (t: number): number | null => {
    const i = thresholds.findIndex((x) => Math.abs(x - t) < 1e-9);
    return i < 0 || curves.length === 0 ? null : mean(curves.map((c) => c[i]!));
  };
  return {
    AP: curves.length ? mean(curves.map(mean)) : null,
    AP50: at(0.5),
    AP75: at(0.75),
    per_class_AP: perClassAP,
    per_class_curve: perClassCurve,
  };
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
