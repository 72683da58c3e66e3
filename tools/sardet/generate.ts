// SARDet-mini: a deterministic synthetic SAR detection dataset in SARDet-100K's layout.
//
// Each image is multiplicative speckle (Gamma with L = 2..4 looks, unit mean) over a reflectivity
// map: a base level that varies from image to image, smooth undulations, sometimes a brighter
// "land" half-plane and bright clutter patches, and a few point scatterers (false-alarm bait).
// On top sit 1..6 targets of SARDet's six classes, each a bright shape of class-typical size and
// form whose reflectivity is a random 2.2..8 times the local clutter, speckled like the rest.
// Boxes are the tight pixel extents of the drawn shapes (COCO [x, y, w, h], area = pixel count).
import fs from 'node:fs';
import path from 'node:path';
import { ToolError } from './args.js';
import { CLASSES } from './classes.js';
import { encodeGrayPng, writeDirAtomic, type CocoAnnotation, type CocoFile, type CocoImage } from './io.js';
import { Rng, hashString, mixSeed } from './rng.js';

export interface GenerateOptions {
  out: string;
  seed: number;
  counts: { train: number; val: number; test: number };
  size: number;
  log: (line: string) => void;
}

export const SPLITS = ['train', 'val', 'test'] as const;

/** How often each class is drawn (ships dominate, as in SARDet-100K). */
const CLASS_WEIGHTS = [0.3, 0.15, 0.15, 0.15, 0.1, 0.15];

/** One part of a shape, in the object's frame (u along its heading, v across). */
interface Part {
  kind: 'rect' | 'ellipse';
  du: number; // centre offset
  dv: number;
  a: number; // half-length along u
  b: number; // half-width along v
}

interface Shape {
  parts: Part[];
  angle: number;
}

/** Draws the parts of one object of class `cls` (an index into CLASSES). */
function makeShape(rng: Rng, cls: number): Shape {
  const angle = rng.uniform(0, Math.PI);
  const rect = (du: number, dv: number, a: number, b: number): Part => ({ kind: 'rect', du, dv, a, b });
  switch (CLASSES[cls]) {
    case 'ship': // an elongated ellipse
      return { parts: [{ kind: 'ellipse', du: 0, dv: 0, a: rng.uniform(7, 15), b: rng.uniform(2, 3.5) }], angle };
    case 'aircraft': {
      // a plus: fuselage, wings crossing it ahead of the middle, a small tailplane
      const len = rng.uniform(14, 22);
      const span = len * rng.uniform(0.8, 1.1);
      const t = rng.uniform(1.2, 2);
      return {
        parts: [rect(0, 0, len / 2, t), rect(len * 0.1, 0, rng.uniform(1.3, 2.2), span / 2), rect(-len * 0.42, 0, 1.2, len * 0.18)],
        angle,
      };
    }
    case 'car': // a small rectangle
      return { parts: [rect(0, 0, rng.uniform(2.5, 4), rng.uniform(1.5, 2.3))], angle };
    case 'tank': {
      // a small square hull with a barrel
      const a = rng.uniform(3, 4.5);
      const barrel = rng.uniform(5, 8);
      return { parts: [rect(0, 0, a, a * rng.uniform(0.75, 1)), rect(a + barrel / 2 - 1, 0, barrel / 2, rng.uniform(0.7, 1))], angle };
    }
    case 'bridge': // a long thin bar
      return { parts: [rect(0, 0, rng.uniform(20, 40), rng.uniform(1.5, 2.5))], angle };
    case 'harbor': {
      // an L or a U of piers, axis-aligned in one of four orientations
      const t = rng.uniform(4, 7);
      const A = rng.uniform(24, 48);
      const B = rng.uniform(24, 48);
      const parts = [rect(A / 2, t / 2, A / 2, t / 2), rect(t / 2, B / 2, t / 2, B / 2)];
      if (rng.next() < 0.5) parts.push(rect(A - t / 2, B / 2, t / 2, B / 2));
      for (const p of parts) {
        p.du -= A / 2;
        p.dv -= B / 2;
      }
      return { parts, angle: (rng.int(0, 3) * Math.PI) / 2 };
    }
    default:
      throw new Error(`no shape for class ${cls}`);
  }
}

function radius(shape: Shape): number {
  let r = 0;
  for (const p of shape.parts) r = Math.max(r, Math.hypot(Math.abs(p.du) + p.a, Math.abs(p.dv) + p.b));
  return r;
}

function inside(shape: Shape, c: number, s: number, x: number, y: number): boolean {
  const u = x * c + y * s;
  const v = -x * s + y * c;
  for (const p of shape.parts) {
    const pu = (u - p.du) / p.a;
    const pv = (v - p.dv) / p.b;
    if (p.kind === 'rect' ? Math.abs(pu) <= 1 && Math.abs(pv) <= 1 : pu * pu + pv * pv <= 1) return true;
  }
  return false;
}

export interface SyntheticImage {
  pixels: Uint8Array;
  objects: { cls: number; bbox: [number, number, number, number]; area: number }[];
}

/** One image, fully determined by `seed`. */
export function makeImage(seed: number, size: number): SyntheticImage {
  const rng = new Rng(seed);
  const n = size * size;
  const looks = rng.int(2, 4);

  // Reflectivity: base level × smooth undulations × land × bright patches.
  const base = rng.logUniform(12, 42);
  const sigma = new Float32Array(n);
  const waves = [0, 1, 2].map(() => {
    const f = rng.uniform(0.5, 3) * ((2 * Math.PI) / size);
    const th = rng.uniform(0, 2 * Math.PI);
    return { fx: f * Math.cos(th), fy: f * Math.sin(th), ph: rng.uniform(0, 2 * Math.PI), amp: rng.uniform(0.05, 0.25) };
  });
  const land =
    rng.next() < 0.4
      ? { th: rng.uniform(0, 2 * Math.PI), off: rng.uniform(-0.3, 0.3) * size, gain: rng.uniform(1.8, 3), width: rng.uniform(3, 10) }
      : null;
  const patches = Array.from({ length: rng.int(0, 2) }, () => ({
    x: rng.uniform(0, size),
    y: rng.uniform(0, size),
    s: rng.uniform(6, 18),
    gain: rng.uniform(1.5, 2.5),
  }));
  // Undulations: cos(fx·x + fy·y + ph) = cos(fx·x + ph)·cos(fy·y) − sin(fx·x + ph)·sin(fy·y).
  const e = new Float64Array(n);
  const cx = new Float64Array(size);
  const sx = new Float64Array(size);
  for (const w of waves) {
    for (let x = 0; x < size; x++) {
      cx[x] = w.amp * Math.cos(w.fx * x + w.ph);
      sx[x] = w.amp * Math.sin(w.fx * x + w.ph);
    }
    for (let y = 0; y < size; y++) {
      const cy = Math.cos(w.fy * y);
      const sy = Math.sin(w.fy * y);
      const row = y * size;
      for (let x = 0; x < size; x++) e[row + x]! += cx[x]! * cy - sx[x]! * sy;
    }
  }
  const half = size / 2;
  const lc = land ? Math.cos(land.th) : 0;
  const ls = land ? Math.sin(land.th) : 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      let v = base * Math.exp(e[i]!);
      if (land) {
        const d = (x - half) * lc + (y - half) * ls - land.off;
        v *= 1 + (land.gain - 1) / (1 + Math.exp(-d / land.width));
      }
      sigma[i] = v;
    }
  }
  for (const p of patches) {
    const reach = 3 * p.s;
    for (let y = Math.max(0, Math.floor(p.y - reach)); y < Math.min(size, Math.ceil(p.y + reach)); y++) {
      for (let x = Math.max(0, Math.floor(p.x - reach)); x < Math.min(size, Math.ceil(p.x + reach)); x++) {
        const r2 = (x - p.x) ** 2 + (y - p.y) ** 2;
        if (r2 < reach * reach) sigma[y * size + x]! *= 1 + (p.gain - 1) * Math.exp(-r2 / (2 * p.s * p.s));
      }
    }
  }

  // Targets, placed without overlap (boxes at least 4 px apart).
  const objects: SyntheticImage['objects'] = [];
  const wanted = rng.int(1, 6);
  const taken: [number, number, number, number][] = [];
  for (let tries = 0; objects.length < wanted && tries < 60; tries++) {
    const cls = rng.pick(CLASS_WEIGHTS);
    const shape = makeShape(rng, cls);
    const r = radius(shape);
    const ox = rng.uniform(r + 2, size - r - 2);
    const oy = rng.uniform(r + 2, size - r - 2);
    const contrast = rng.logUniform(2.2, 8);
    if (ox > size - r - 2 || oy > size - r - 2) continue; // too big for the image
    const ca = Math.cos(shape.angle);
    const sa = Math.sin(shape.angle);
    const pix: number[] = [];
    let x0 = size;
    let y0 = size;
    let x1 = -1;
    let y1 = -1;
    for (let y = Math.max(0, Math.floor(oy - r - 1)); y <= Math.min(size - 1, Math.ceil(oy + r + 1)); y++) {
      for (let x = Math.max(0, Math.floor(ox - r - 1)); x <= Math.min(size - 1, Math.ceil(ox + r + 1)); x++) {
        if (!inside(shape, ca, sa, x + 0.5 - ox, y + 0.5 - oy)) continue;
        pix.push(y * size + x);
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
    if (pix.length < 4) continue;
    const box: [number, number, number, number] = [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
    const clash = taken.some((t) => x0 - 4 < t[0] + t[2] && t[0] - 4 < x1 + 1 && y0 - 4 < t[1] + t[3] && t[1] - 4 < y1 + 1);
    if (clash) continue;
    const level = sigma[Math.floor(oy) * size + Math.floor(ox)]! * contrast;
    for (const p of pix) sigma[p] = level;
    taken.push(box);
    objects.push({ cls, bbox: box, area: pix.length });
  }

  // Point scatterers away from the targets: bright, but one or two pixels.
  const points = rng.int(0, 3);
  for (let k = 0; k < points; k++) {
    const x = rng.int(2, size - 4);
    const y = rng.int(2, size - 4);
    const gain = rng.logUniform(4, 12);
    const w = rng.int(1, 2);
    if (taken.some((t) => x + w + 3 > t[0] && x - 3 < t[0] + t[2] && y + 4 > t[1] && y - 3 < t[1] + t[3])) continue;
    for (let dx = 0; dx < w; dx++) sigma[y * size + x + dx] = sigma[y * size + x + dx]! * gain;
  }

  // Speckle.
  const pixels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.round(sigma[i]! * rng.speckle(looks));
    pixels[i] = v > 255 ? 255 : v;
  }
  return { pixels, objects };
}

/** The 6-digit id of image `index` of split number `splitIndex`: train 000001.., val 100001.., test 200001... */
export function imageId(splitIndex: number, index: number): number {
  return splitIndex * 100000 + index + 1;
}

export function generate(opts: GenerateOptions): void {
  const { out, seed, size, log } = opts;
  const abs = path.resolve(out);
  if (fs.existsSync(abs)) {
    if (!fs.statSync(abs).isDirectory()) throw new ToolError(`--out ${out} exists and is not a folder`);
    const foreign = fs.readdirSync(abs).filter((e) => e !== 'Annotations' && e !== 'JPEGImages');
    if (foreign.length) {
      throw new ToolError(`refusing to replace ${out}: it holds files that generate did not write (${foreign.slice(0, 5).join(', ')})`);
    }
  }
  writeDirAtomic(abs, (tmp) => {
    for (const [splitIndex, split] of SPLITS.entries()) {
      const count = opts.counts[split];
      const dir = path.join(tmp, 'JPEGImages', split);
      fs.mkdirSync(dir, { recursive: true });
      const images: CocoImage[] = [];
      const annotations: CocoAnnotation[] = [];
      const perClass = CLASSES.map(() => 0);
      for (let i = 0; i < count; i++) {
        const id = imageId(splitIndex, i);
        const fileName = `${String(id).padStart(6, '0')}.png`;
        const img = makeImage(mixSeed(seed, hashString(split), i), size);
        fs.writeFileSync(path.join(dir, fileName), encodeGrayPng(size, size, img.pixels));
        images.push({ id, file_name: fileName, width: size, height: size });
        for (const o of img.objects) {
          annotations.push({ id: annotations.length + 1, image_id: id, category_id: o.cls + 1, bbox: o.bbox, area: o.area, iscrowd: 0 });
          perClass[o.cls]!++;
        }
      }
      const coco: CocoFile = { images, annotations, categories: CLASSES.map((name, i) => ({ id: i + 1, name })) };
      fs.mkdirSync(path.join(tmp, 'Annotations'), { recursive: true });
      fs.writeFileSync(path.join(tmp, 'Annotations', `${split}.json`), JSON.stringify(coco) + '\n');
      log(`${split}: ${count} images, ${annotations.length} objects (${CLASSES.map((c, k) => `${c} ${perClass[k]}`).join(', ')})`);
    }
  });
}
