// The three classical detectors and what they share:
//   - a test statistic T per pixel: the mean intensity of a small test cell over a clutter level,
//       GlobalThreshold: the clutter level is one number (the prior's background mean, else the image's);
//       CACFAR: the mean of the training ring (a window minus its guard area), by integral images;
//       OSCFAR: an order statistic of cell means sampled on the ring (16 samples, on a stride-2 grid),
//               divided by that order statistic's expected value under gamma clutter;
//   - a threshold alpha from a false-alarm probability: with L-look speckle, a test cell of M pixels
//     over the true clutter mean is Gamma(M·L, 1/(M·L)), so alpha is its upper pfa-quantile;
//   - blobs: 8-connected components of T > alpha after a small dilation (fragments of one target
//     join), measured on the undilated pixels; a box per blob, moved by learned edge offsets;
//   - a score: 1 - alpha / (peak T of the blob), in [0, 1);
//   - a class: a diagonal-Gaussian (naive Bayes) classifier on blob features, learned in calibration.
import { gammaUpperQuantile } from './gamma.js';
import type { Gray } from './io.js';

export const DETECTOR_TYPES = ['GlobalThreshold', 'CACFAR', 'OSCFAR'] as const;
export type DetectorType = (typeof DETECTOR_TYPES)[number];

/** The detector's hyper-parameters (the config's `model`, with calibrated values filled in). */
export interface DetectorParams {
  type: DetectorType;
  /** Side of the square test cell, odd. */
  test_cell: number;
  /** Half-width of the guard area (the target's own pixels must not count as clutter). */
  guard: number;
  /** Half-width of the training window around the test cell. */
  window: number;
  /** OS-CFAR: which order statistic of the ring samples, as a fraction (0.75 = upper quartile). */
  rank: number;
  /** False-alarm probability per test cell that sets the threshold. */
  pfa: number;
  /** Smallest and largest blob (pixels above threshold) kept as a detection. */
  min_area: number;
  max_area: number;
  /** Dilation radius joining fragments of one target before labelling. */
  dilate: number;
}

/** What the detectors know about the clutter: from the prior, or estimated per image without one. */
export interface Clutter {
  looks: number;
  mean: number;
}

/** Box edge offsets added to a blob's pixel extent: [left, top, right, bottom]. */
export type BoxOffsets = [number, number, number, number];

export function alphaFor(p: DetectorParams, looks: number, pfa = p.pfa): number {
  return gammaUpperQuantile(p.test_cell * p.test_cell * looks, pfa);
}

/** Summed-area table of an image: sums over boxes in O(1). */
function integral(width: number, height: number, data: ArrayLike<number>): Float64Array {
  const stride = width + 1;
  const sums = new Float64Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += data[y * width + x]!;
      sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1]! + row;
    }
  }
  return sums;
}

/** For a box of half-width r around each coordinate, its clipped [start, end) in integral-table units. */
function spans(n: number, r: number): [Int32Array, Int32Array] {
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    lo[i] = Math.max(0, i - r);
    hi[i] = Math.min(n - 1, i + r) + 1;
  }
  return [lo, hi];
}

/** The mean over the (2r+1)² box around every pixel, clipped to the image. */
function boxMeans(sums: Float64Array, width: number, height: number, r: number): Float32Array {
  const { sum, count } = boxSums(sums, width, height, r);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = sum[i]! / count[i]!;
  return out;
}

/** The box sums (not means) and pixel counts over the (2r+1)² box around every pixel. */
function boxSums(sums: Float64Array, width: number, height: number, r: number): { sum: Float64Array; count: Float64Array } {
  const sum = new Float64Array(width * height);
  const count = new Float64Array(width * height);
  const s = width + 1;
  const [xa, xb] = spans(width, r);
  const [ya, yb] = spans(height, r);
  for (let y = 0; y < height; y++) {
    const a = ya[y]! * s;
    const b = yb[y]! * s;
    const h = yb[y]! - ya[y]!;
    for (let x = 0; x < width; x++) {
      const l = xa[x]!;
      const rr = xb[x]!;
      sum[y * width + x] = sums[b + rr]! - sums[a + rr]! - sums[b + l]! + sums[a + l]!;
      count[y * width + x] = (rr - l) * h;
    }
  }
  return { sum, count };
}

/** Estimates the clutter of one image (used when no prior is named): looks from 8×8 blocks, the mean of its pixels. */
export function estimateClutter(img: Gray): Clutter {
  const { width, height, data } = img;
  const ls: number[] = [];
  let total = 0;
  for (let i = 0; i < data.length; i++) total += data[i]!;
  for (let by = 0; by + 8 <= height; by += 8) {
    for (let bx = 0; bx + 8 <= width; bx += 8) {
      let s = 0;
      let s2 = 0;
      for (let y = by; y < by + 8; y++) {
        for (let x = bx; x < bx + 8; x++) {
          const v = data[y * width + x]!;
          s += v;
          s2 += v * v;
        }
      }
      const m = s / 64;
      const v = s2 / 64 - m * m;
      if (m > 0 && v > 0) ls.push((m * m) / v);
    }
  }
  ls.sort((a, b) => a - b);
  const looks = ls.length ? ls[Math.floor(ls.length / 2)]! : 1;
  return { looks: Math.min(16, Math.max(0.5, looks)), mean: Math.max(1e-3, total / data.length) };
}

/** The test statistic T for every pixel. */
export function statMap(img: Gray, p: DetectorParams, clutter: Clutter): Float32Array {
  const { width, height } = img;
  const sums = integral(width, height, img.data);
  const cells = boxMeans(sums, width, height, (p.test_cell - 1) / 2);
  const out = new Float32Array(width * height);
  const floor = 0.5; // an all-black ring must not divide by zero
  if (p.type === 'GlobalThreshold') {
    const inv = 1 / Math.max(clutter.mean, floor);
    for (let i = 0; i < out.length; i++) out[i] = cells[i]! * inv;
  } else if (p.type === 'CACFAR') {
    const outer = boxSums(sums, width, height, p.window);
    const guard = boxSums(sums, width, height, p.guard);
    for (let i = 0; i < out.length; i++) {
      const n = outer.count[i]! - guard.count[i]!;
      const ring = n > 0 ? (outer.sum[i]! - guard.sum[i]!) / n : outer.sum[i]! / outer.count[i]!;
      out[i] = cells[i]! / (ring > floor ? ring : floor);
    }
  } else {
    // OS-CFAR: 8 directions at two radii in the training ring.
    const r1 = p.guard + Math.max(1, Math.ceil((p.window - p.guard) / 2));
    const r2 = p.window;
    const offsets: [number, number][] = [];
    for (const r of [r1, r2]) for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]] as const) offsets.push([dx * r, dy * r]);
    const k = Math.min(offsets.length - 1, Math.max(0, Math.round(p.rank * (offsets.length - 1))));
    // The expected value of that order statistic, in units of the clutter mean (cells are Gamma(M·L)).
    const scale = gammaUpperQuantile(p.test_cell * p.test_cell * clutter.looks, 1 - (k + 0.5) / offsets.length);
    // The k-th smallest of n samples, by keeping only the k+1 smallest (or the n-k largest) sorted.
    const n = offsets.length;
    const small = k + 1 <= n - k;
    const keep = small ? k + 1 : n - k;
    const sample = new Float64Array(keep);
    const linear = offsets.map(([dx, dy]) => dy * width + dx);
    const reach = r2;
    const est = new Float32Array(width * height);
    for (let y = 0; y < height; y += 2) {
      const innerY = y >= reach && y < height - reach;
      for (let x = 0; x < width; x += 2) {
        const interior = innerY && x >= reach && x < width - reach;
        const at = y * width + x;
        let filled = 0;
        for (let j = 0; j < n; j++) {
          let v: number;
          if (interior) {
            v = cells[at + linear[j]!]!;
          } else {
            const [dx, dy] = offsets[j]!;
            const sx = Math.min(width - 1, Math.max(0, x + dx));
            const sy = Math.min(height - 1, Math.max(0, y + dy));
            v = cells[sy * width + sx]!;
          }
          // In "small" mode the kept values are ascending and v must beat the largest kept;
          // otherwise they are descending and v must beat the smallest kept.
          let i: number;
          if (filled < keep) {
            i = filled++ - 1;
          } else if (small ? v < sample[keep - 1]! : v > sample[keep - 1]!) {
            i = keep - 2;
          } else {
            continue;
          }
          while (i >= 0 && (small ? sample[i]! > v : sample[i]! < v)) {
            sample[i + 1] = sample[i]!;
            i--;
          }
          sample[i + 1] = v;
        }
        const e = sample[keep - 1]! / scale;
        est[y * width + x] = e;
        if (x + 1 < width) est[y * width + x + 1] = e;
        if (y + 1 < height) {
          est[(y + 1) * width + x] = e;
          if (x + 1 < width) est[(y + 1) * width + x + 1] = e;
        }
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = cells[i]! / Math.max(est[i]!, floor);
  }
  return out;
}

/** One connected blob of T > alpha. Coordinates are inclusive pixel extents. */
export interface Blob {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  count: number;
  peak: number;
  meanT: number;
  /** Second central moments of the pixel positions. */
  mxx: number;
  myy: number;
  mxy: number;
}

/** Scratch buffers reused across calls (one image size at a time). */
let scratch: { n: number; mask: Uint8Array; joined: Uint8Array; label: Int32Array; stack: Int32Array; hits: Int32Array; gen: number } | null = null;

/** Blobs of T > alpha, in raster order of their first pixel; sizes outside [min_area, max_area] dropped. */
export function findBlobs(T: Float32Array, width: number, height: number, alpha: number, p: DetectorParams): Blob[] {
  const n = width * height;
  if (!scratch || scratch.n !== n) {
    scratch = { n, mask: new Uint8Array(n), joined: new Uint8Array(n), label: new Int32Array(n), stack: new Int32Array(n), hits: new Int32Array(n), gen: 0 };
  }
  const { mask, joined, label, stack, hits } = scratch;
  // Pixels above threshold, listed (masks are sparse).
  let nh = 0;
  for (let i = 0; i < n; i++) {
    if (T[i]! > alpha) {
      mask[i] = 1;
      hits[nh++] = i;
    }
  }
  // Dilation: every pixel within `dilate` of a hit joins (only around hits, so the cost follows them).
  const r = p.dilate;
  const joinedList: number[] = [];
  for (let k = 0; k < nh; k++) {
    const i = hits[k]!;
    const x = i % width;
    const y = (i - x) / width;
    for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
      for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++) {
        const j = yy * width + xx;
        if (!joined[j]) {
          joined[j] = 1;
          joinedList.push(j);
        }
      }
    }
  }
  joinedList.sort((a, b) => a - b);
  const gen = ++scratch.gen;
  const blobs: Blob[] = [];
  for (const start of joinedList) {
    if (label[start] === gen) continue;
    let sp = 0;
    stack[sp++] = start;
    label[start] = gen;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    let count = 0;
    let peak = 0;
    let sumT = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    while (sp > 0) {
      const i = stack[--sp]!;
      const x = i % width;
      const y = (i - x) / width;
      if (mask[i]) {
        count++;
        const t = T[i]!;
        sumT += t;
        if (t > peak) peak = t;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
      }
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (joined[j] && label[j] !== gen) {
            label[j] = gen;
            stack[sp++] = j;
          }
        }
      }
    }
    if (count < p.min_area || count > p.max_area) continue;
    const mx = sx / count;
    const my = sy / count;
    blobs.push({
      x0,
      y0,
      x1,
      y1,
      count,
      peak,
      meanT: sumT / count,
      mxx: sxx / count - mx * mx,
      myy: syy / count - my * my,
      mxy: sxy / count - mx * my,
    });
  }
  // Leave the scratch masks clear for the next call.
  for (let k = 0; k < nh; k++) mask[hits[k]!] = 0;
  for (const j of joinedList) joined[j] = 0;
  return blobs;
}

/** The box of a blob, [x, y, w, h], with the learned edge offsets applied. */
export function blobBox(b: Blob, off: BoxOffsets): [number, number, number, number] {
  const l = b.x0 + off[0];
  const t = b.y0 + off[1];
  const r = Math.max(l + 1, b.x1 + 1 + off[2]);
  const d = Math.max(t + 1, b.y1 + 1 + off[3]);
  return [l, t, r - l, d - t];
}

export function blobScore(b: Blob, alpha: number): number {
  return Math.max(0, 1 - alpha / b.peak);
}

/** Names of the blob features, in the order of `blobFeatures`. */
export const FEATURES = ['log_area', 'log_elongation', 'log_length', 'fill', 'log_mean_T'] as const;

export function blobFeatures(b: Blob): number[] {
  // Eigenvalues of the position covariance (plus a pixel's own variance, 1/12).
  const tr = b.mxx + b.myy + 2 / 12;
  const det = (b.mxx + 1 / 12) * (b.myy + 1 / 12) - b.mxy * b.mxy;
  const disc = Math.sqrt(Math.max(0, (tr * tr) / 4 - det));
  const l1 = tr / 2 + disc;
  const l2 = Math.max(1e-6, tr / 2 - disc);
  const bw = b.x1 - b.x0 + 1;
  const bh = b.y1 - b.y0 + 1;
  return [Math.log(b.count), 0.5 * Math.log(l1 / l2), 0.5 * Math.log(l1), b.count / (bw * bh), Math.log(b.meanT)];
}

/** A class's feature distribution: per-feature mean and spread, and how many blobs taught it. */
export interface Prototype {
  name: string;
  count: number;
  mean: number[];
  std: number[];
}

/** The most likely class of a feature vector (diagonal Gaussians, class frequencies as priors). */
export function classify(f: readonly number[], protos: readonly Prototype[]): string | null {
  const total = protos.reduce((s, p) => s + p.count, 0);
  let best: string | null = null;
  let bestCost = Infinity;
  for (const p of protos) {
    if (p.count === 0) continue;
    let cost = -2 * Math.log(p.count / total);
    for (let k = 0; k < f.length; k++) {
      const s = p.std[k]!;
      const z = (f[k]! - p.mean[k]!) / s;
      cost += z * z + 2 * Math.log(s);
    }
    if (cost < bestCost) {
      bestCost = cost;
      best = p.name;
    }
  }
  return best;
}

/** Fits prototypes from labelled feature vectors; spreads are floored so one sample cannot make a spike. */
export function fitPrototypes(names: readonly string[], samples: { cls: string; f: number[] }[]): Prototype[] {
  const dims = FEATURES.length;
  // Pooled spread of each feature, for the floor.
  const pooled = Array.from({ length: dims }, (_, k) => spread(samples.map((s) => s.f[k]!)));
  return names.map((name) => {
    const xs = samples.filter((s) => s.cls === name).map((s) => s.f);
    const mean = Array.from({ length: dims }, (_, k) => (xs.length ? xs.reduce((a, x) => a + x[k]!, 0) / xs.length : 0));
    const std = Array.from({ length: dims }, (_, k) => Math.max(xs.length > 1 ? spread(xs.map((x) => x[k]!)) : 0, 0.2 * pooled[k]!, 1e-3));
    return { name, count: xs.length, mean, std };
  });
}

function spread(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}
