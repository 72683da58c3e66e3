// The "pretrained weights" of the detectors: clutter statistics of a split's background, i.e. every
// pixel at least 3 px away from a ground-truth box. The speckle's number of looks is estimated
// locally (median over 8×8 background blocks of mean²/variance), because the pooled moments also
// hold the reflectivity's variation across images and regions; both are reported.
import { ToolError } from './args.js';
import type { Prior } from './model.js';
import { readImage, readSplit } from './io.js';

export function computePrior(dataDir: string, split: string, log: (line: string) => void): Prior {
  const s = readSplit(dataDir, split);
  const hist = new Float64Array(256);
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  const imageMeans: number[] = [];
  const blockLooks: number[] = [];
  for (const im of s.images) {
    const img = readImage(im.file);
    const { width, height, data } = img;
    const bg = new Uint8Array(width * height).fill(1);
    for (const g of im.gt) {
      const [x, y, w, h] = g.bbox;
      for (let yy = Math.max(0, Math.floor(y) - 3); yy < Math.min(height, Math.ceil(y + h) + 3); yy++) {
        for (let xx = Math.max(0, Math.floor(x) - 3); xx < Math.min(width, Math.ceil(x + w) + 3); xx++) bg[yy * width + xx] = 0;
      }
    }
    let in_ = 0;
    let isum = 0;
    for (let i = 0; i < data.length; i++) {
      if (!bg[i]) continue;
      const v = data[i]!;
      hist[Math.min(255, Math.max(0, Math.round(v)))]!++;
      isum += v;
      sum2 += v * v;
      in_++;
    }
    n += in_;
    sum += isum;
    if (in_) imageMeans.push(isum / in_);
    for (let by = 0; by + 8 <= height; by += 8) {
      for (let bx = 0; bx + 8 <= width; bx += 8) {
        let bs = 0;
        let bs2 = 0;
        let clean = true;
        for (let y = by; y < by + 8 && clean; y++) {
          for (let x = bx; x < bx + 8; x++) {
            const i = y * width + x;
            if (!bg[i]) {
              clean = false;
              break;
            }
            bs += data[i]!;
            bs2 += data[i]! * data[i]!;
          }
        }
        if (!clean) continue;
        const m = bs / 64;
        const v = bs2 / 64 - m * m;
        if (m > 0 && v > 0) blockLooks.push((m * m) / v);
      }
    }
  }
  if (n === 0) throw new ToolError(`split ${split} of ${dataDir} has no background pixels`);
  const mean = sum / n;
  const variance = sum2 / n - mean * mean;
  const pct = (q: number): number => {
    const target = q * n;
    let acc = 0;
    for (let v = 0; v < 256; v++) {
      acc += hist[v]!;
      if (acc >= target) return v;
    }
    return 255;
  };
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const at = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
  const looks = at(sorted(blockLooks), 0.5);
  const means = sorted(imageMeans);
  log(`${split}: ${s.images.length} images, ${n} background pixels, mean ${mean.toFixed(2)}, looks ${looks.toFixed(2)}`);
  return {
    kind: 'sardet-clutter-prior',
    split,
    images: s.images.length,
    background_pixels: n,
    mean,
    std: Math.sqrt(variance),
    gamma_shape: (mean * mean) / variance,
    gamma_scale: variance / mean,
    looks,
    percentiles: { p1: pct(0.01), p5: pct(0.05), p25: pct(0.25), p50: pct(0.5), p75: pct(0.75), p95: pct(0.95), p99: pct(0.99), p99_9: pct(0.999) },
    image_mean: { min: means[0] ?? 0, p10: at(means, 0.1), p50: at(means, 0.5), p90: at(means, 0.9), max: means[means.length - 1] ?? 0 },
  };
}
