import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision101, cocoEvaluate, iou, type DetBox, type GtBox } from '../../tools/sardet/coco-eval.js';

const CLASSES = ['ship', 'car'];
const close = (actual: number | null, expected: number, what = ''): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what} expected ${expected}, got ${actual}`);
};
const gtBox = (image_id: number, cls: string, bbox: [number, number, number, number]): GtBox => ({ image_id, cls, bbox });
const det = (image_id: number, cls: string, bbox: [number, number, number, number], score: number): DetBox => ({ image_id, cls, bbox, score });

test('IoU of [x, y, w, h] boxes', () => {
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 20]), 0.5);
  assert.equal(iou([0, 0, 10, 10], [10, 0, 10, 10]), 0); // touching edges do not overlap
  assert.equal(iou([0, 0, 10, 10], [5, 5, 10, 10]), 25 / 175);
});

test('perfect detections give 1 everywhere; a class without ground truth is null', () => {
  const gt = [gtBox(1, 'ship', [10, 10, 20, 8]), gtBox(2, 'ship', [0, 0, 5, 5]), gtBox(2, 'car', [40, 40, 6, 4])];
  const dets = gt.map((g, i) => det(g.image_id, g.cls, [...g.bbox], 0.9 - i * 0.1));
  const m = cocoEvaluate(gt, dets, [...CLASSES, 'tank']);
  assert.equal(m.AP, 1);
  assert.equal(m.AP50, 1);
  assert.equal(m.AP75, 1);
  assert.deepEqual(m.per_class_AP, { ship: 1, car: 1, tank: null });
});

test('no detections give 0; no ground truth at all gives null', () => {
  const gt = [gtBox(1, 'ship', [10, 10, 20, 8])];
  const m = cocoEvaluate(gt, [], CLASSES);
  assert.equal(m.AP, 0);
  assert.equal(m.AP50, 0);
  assert.deepEqual(m.per_class_AP, { ship: 0, car: null });
  const none = cocoEvaluate([], [det(1, 'ship', [0, 0, 1, 1], 0.5)], CLASSES);
  assert.equal(none.AP, null);
  assert.equal(none.AP50, null);
});

test('a false positive ranked above the true positive: precision 1/2 at every recall point', () => {
  // One ground truth; detections FP (0.9), TP (0.8). Curve: recall [0, 1], precision [0, 1/2];
  // envelope [1/2, 1/2]; all 101 recall points read 1/2.
  const gt = [gtBox(1, 'ship', [10, 10, 20, 8])];
  const dets = [det(1, 'ship', [100, 100, 20, 8], 0.9), det(1, 'ship', [10, 10, 20, 8], 0.8)];
  const m = cocoEvaluate(gt, dets, CLASSES);
  close(m.AP50, 0.5);
  close(m.AP, 0.5);
  // Reordered by score, not by input order.
  close(cocoEvaluate(gt, [dets[1]!, dets[0]!], CLASSES).AP, 0.5);
});

test('101-point interpolation by hand: TP, FP, TP over two ground truths', () => {
  // Recall [1/2, 1/2, 1], precision [1, 1/2, 2/3]; envelope [1, 2/3, 2/3].
  // Recall points 0.00..0.50 (51 of them) read 1, points 0.51..1.00 (50) read 2/3:
  // AP = (51 + 50 * 2/3) / 101 = 253/303.
  close(averagePrecision101([true, false, true], 2), 253 / 303);
  const gt = [gtBox(1, 'ship', [0, 0, 10, 10]), gtBox(2, 'ship', [0, 0, 10, 10])];
  const dets = [det(1, 'ship', [0, 0, 10, 10], 0.9), det(1, 'ship', [50, 50, 10, 10], 0.8), det(2, 'ship', [0, 0, 10, 10], 0.7)];
  close(cocoEvaluate(gt, dets, CLASSES).AP, 253 / 303);
  // Recall that never reaches a point reads 0 there: one of two found, first -> (51 * 1) / 101.
  close(averagePrecision101([true], 2), 51 / 101);
});

test('IoU exactly at a threshold counts as a match', () => {
  // IoU 0.5 exactly: a match at 0.50 only -> AP50 1, AP75 0, AP 1/10.
  const gt = [gtBox(1, 'ship', [0, 0, 10, 10])];
  const half = cocoEvaluate(gt, [det(1, 'ship', [0, 0, 10, 20], 0.9)], CLASSES);
  assert.equal(half.AP50, 1);
  assert.equal(half.AP75, 0);
  close(half.AP, 0.1);
  // IoU 0.75 exactly (300 / 400): matches at 0.50..0.75, six of ten thresholds.
  const gt2 = [gtBox(1, 'ship', [0, 0, 30, 10])];
  const m = cocoEvaluate(gt2, [det(1, 'ship', [0, 0, 40, 10], 0.9)], CLASSES);
  assert.equal(m.AP75, 1);
  close(m.AP, 0.6);
  // Just below 0.5: no match anywhere.
  assert.equal(cocoEvaluate(gt, [det(1, 'ship', [0, 0, 10, 20.01], 0.9)], CLASSES).AP50, 0);
});

test('a class without ground truth is left out of the mean, even with detections', () => {
  const gt = [gtBox(1, 'ship', [0, 0, 10, 10])];
  const dets = [det(1, 'ship', [0, 0, 10, 10], 0.9), det(1, 'car', [30, 30, 5, 5], 0.95)];
  const m = cocoEvaluate(gt, dets, CLASSES);
  assert.deepEqual(m.per_class_AP, { ship: 1, car: null });
  assert.equal(m.AP, 1);
});

test('classes are matched separately; a duplicate is a false positive; other images never match', () => {
  const gt = [gtBox(1, 'ship', [0, 0, 10, 10]), gtBox(1, 'car', [20, 20, 4, 4])];
  // The car detection sits on the ship: wrong class, so the ship is found only by its own detection.
  const dets = [
    det(1, 'car', [0, 0, 10, 10], 0.99),
    det(1, 'ship', [0, 0, 10, 10], 0.9),
    det(1, 'ship', [0, 0, 10, 10], 0.8), // duplicate: FP after the TP, AP stays 1
    det(2, 'ship', [0, 0, 10, 10], 0.95), // same place, other image: FP ranked first
  ];
  const m = cocoEvaluate(gt, dets, CLASSES);
  close(m.per_class_AP.ship ?? null, 0.5); // FP then TP: 1/2 at every recall point
  assert.equal(m.per_class_AP.car, 0);
  close(m.AP, 0.25);
});

test('at most maxDets detections per image and class count', () => {
  const gt = [gtBox(1, 'ship', [0, 0, 10, 10])];
  const dets = [det(1, 'ship', [50, 50, 5, 5], 0.9), det(1, 'ship', [0, 0, 10, 10], 0.1)];
  assert.equal(cocoEvaluate(gt, dets, CLASSES, { maxDets: 1 }).AP50, 0);
  close(cocoEvaluate(gt, dets, CLASSES, { maxDets: 2 }).AP50, 0.5);
});
