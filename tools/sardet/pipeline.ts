// One image through a calibrated detector: blobs of its statistic map, boxes, scores, classes.
import { CLASSES } from './classes.js';
import type { DetBox, GtBox } from './coco-eval.js';
import {
  blobBox,
  blobFeatures,
  blobScore,
  classify,
  estimateClutter,
  findBlobs,
  type Blob,
  type BoxOffsets,
  type Clutter,
  type DetectorParams,
  type Prototype,
} from './detector.js';
import type { Gray, Split } from './io.js';

/** The clutter a detector assumes for one image: the stored looks, and the stored mean or the image's own. */
export function clutterFor(img: Gray, stored: { looks: number; mean: number | null }): Clutter {
  return { looks: stored.looks, mean: stored.mean ?? estimateClutter(img).mean };
}

export interface Detected {
  blob: Blob;
  bbox: [number, number, number, number];
  score: number;
  cls: string;
}

export function detect(
  T: Float32Array,
  img: Gray,
  params: DetectorParams,
  alpha: number,
  offsets: BoxOffsets,
  protos: readonly Prototype[] | null,
): Detected[] {
  return findBlobs(T, img.width, img.height, alpha, params).map((blob) => ({
    blob,
    bbox: blobBox(blob, offsets),
    // Rounded as the predictions file writes it, so metrics recomputed from that file agree.
    score: Math.round(blobScore(blob, alpha) * 1e4) / 1e4,
    cls: protos ? (classify(blobFeatures(blob), protos) ?? CLASSES[0]) : 'object',
  }));
}

export function splitGt(split: Split): GtBox[] {
  return split.images.flatMap((im) => im.gt.map((g) => ({ image_id: im.id, cls: g.cls, bbox: g.bbox, iscrowd: g.iscrowd })));
}

export function toDetBoxes(imageId: number, dets: Detected[]): DetBox[] {
  return dets.map((d) => ({ image_id: imageId, cls: d.cls, bbox: d.bbox, score: d.score }));
}
