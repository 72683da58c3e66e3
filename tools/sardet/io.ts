// Files in and out: atomic writes (temp file + rename), JSON with numbers rounded to 4 decimals,
// PNG/JPEG images as luminance, COCO annotation files with their layout checked.
import fs from 'node:fs';
import path from 'node:path';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { ToolError } from './args.js';
import { CLASSES, type ClassName } from './classes.js';

const { PNG } = pngjs;

/** Writes `data` to `file` through a temp file in the same folder, creating parent folders. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Fills a folder atomically: `fill` writes into a fresh temp sibling, which then replaces `dir`
 * (so the folder holds exactly this run's files, and never a half-written set).
 */
export function writeDirAtomic(dir: string, fill: (tmp: string) => void): void {
  const abs = path.resolve(dir);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${abs}.old-${process.pid}`;
  if (fs.existsSync(abs)) fs.renameSync(abs, old);
  fs.renameSync(tmp, abs);
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * Rounds every number to 4 decimals (and -0 to 0), recursively. With `keepTiny`, non-zero numbers
 * below 0.001 keep 4 significant digits instead (a false-alarm rate of 1e-6 must not become 0).
 */
export function round4<T>(v: T, keepTiny = false): T {
  if (typeof v === 'number') {
    if (keepTiny && v !== 0 && Math.abs(v) < 1e-3) return Number(v.toPrecision(4)) as T;
    const r = Math.round(v * 1e4) / 1e4;
    return (Object.is(r, -0) ? 0 : r) as T;
  }
  if (Array.isArray(v)) return v.map((x: unknown) => round4(x, keepTiny)) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = round4(x, keepTiny);
    return out as T;
  }
  return v;
}

export function writeJson(file: string, value: unknown, options: { keepTiny?: boolean } = {}): void {
  writeFileAtomic(file, JSON.stringify(round4(value, options.keepTiny), null, 2) + '\n');
}

export function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ToolError(`${what} not found: ${file}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ToolError(`${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A grayscale image: `data[y * width + x]` in [0, 255]. */
export interface Gray {
  width: number;
  height: number;
  data: Float32Array;
}

/** Reads a PNG or JPEG file (grayscale or colour) as luminance. */
export function readImage(file: string): Gray {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.jpg' && ext !== '.jpeg') {
    throw new ToolError(`unsupported image format '${ext || '(none)'}' for ${file} (expected .png, .jpg or .jpeg)`);
  }
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    throw new ToolError(`image not found: ${file}`);
  }
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (ext === '.png') {
      const png = PNG.sync.read(buf);
      ({ width, height } = png);
      rgba = png.data;
    } else {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      ({ width, height } = img);
      rgba = img.data;
    }
  } catch (e) {
    throw new ToolError(`cannot decode image ${file}: ${(e as Error).message}`);
  }
  const data = new Float32Array(width * height);
  for (let i = 0, j = 0; i < data.length; i++, j += 4) {
    const r = rgba[j] as number;
    const g = rgba[j + 1] as number;
    const b = rgba[j + 2] as number;
    data[i] = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
  }
  return { width, height, data };
}

/** An 8-bit grayscale PNG. */
export function encodeGrayPng(width: number, height: number, pixels: Uint8Array): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 6 });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  // Speckle gains little from PNG's row filters; trying all five per row would dominate the run time.
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 6, filterType: 0 });
}

/** An 8-bit RGB PNG from `rgb` (3 bytes per pixel). */
export function encodeRgbPng(width: number, height: number, rgb: Uint8Array): Buffer {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6 });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6 });
}

// ---------------------------------------------------------------------------------------------
// COCO annotations

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0 | 1;
}

export interface CocoFile {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: { id: number; name: string }[];
}

/** A split as the tools use it: images sorted by id, each with its ground truth by class name. */
export interface Split {
  name: string;
  annotationFile: string;
  imageDir: string;
  images: SplitImage[];
}

export interface SplitImage {
  id: number;
  file: string; // path of the image file
  stem: string; // file name without extension
  width: number;
  height: number;
  gt: { cls: ClassName; bbox: [number, number, number, number]; iscrowd: boolean }[];
}

/** Reads `DATA/Annotations/<split>.json` and locates the images under `DATA/JPEGImages/<split>/`. */
export function readSplit(dataDir: string, split: string, limit?: number): Split {
  const annotationFile = path.join(dataDir, 'Annotations', `${split}.json`);
  const imageDir = path.join(dataDir, 'JPEGImages', split);
  if (!fs.existsSync(dataDir)) throw new ToolError(`data folder not found: ${dataDir}`);
  const raw = readJson(annotationFile, 'annotation file');
  const bad = (what: string): never => {
    throw new ToolError(`annotation file ${annotationFile} is not COCO-shaped: ${what}`);
  };
  if (!raw || typeof raw !== 'object') bad('not an object');
  const coco = raw as Partial<CocoFile>;
  if (!Array.isArray(coco.images)) bad('"images" is not a list');
  if (!Array.isArray(coco.annotations)) bad('"annotations" is not a list');
  if (!Array.isArray(coco.categories)) bad('"categories" is not a list');
  const byCat = new Map<number, ClassName>();
  for (const c of coco.categories as CocoFile['categories']) {
    const name = String(c?.name ?? '').toLowerCase();
    const cls = (CLASSES as readonly string[]).includes(name) ? (name as ClassName) : undefined;
    if (cls === undefined || typeof c.id !== 'number') {
      bad(`category ${JSON.stringify(c)} is not one of ${CLASSES.join(', ')}`);
    }
    byCat.set(c.id, cls as ClassName);
  }
  const images = new Map<number, SplitImage>();
  for (const im of coco.images as CocoImage[]) {
    if (typeof im?.id !== 'number' || typeof im.file_name !== 'string') bad(`image entry ${JSON.stringify(im)} lacks id or file_name`);
    if (images.has(im.id)) bad(`image id ${im.id} appears twice`);
    images.set(im.id, {
      id: im.id,
      file: path.join(imageDir, im.file_name),
      stem: path.basename(im.file_name, path.extname(im.file_name)),
      width: im.width,
      height: im.height,
      gt: [],
    });
  }
  for (const a of coco.annotations as CocoAnnotation[]) {
    const im = images.get(a?.image_id);
    if (!im) bad(`annotation ${a?.id} names unknown image ${a?.image_id}`);
    const cls = byCat.get(a.category_id);
    if (!cls) bad(`annotation ${a.id} names unknown category ${a.category_id}`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || a.bbox.some((x) => typeof x !== 'number')) {
      bad(`annotation ${a.id} has no [x, y, w, h] bbox`);
    }
    (im as SplitImage).gt.push({ cls: cls as ClassName, bbox: a.bbox, iscrowd: a.iscrowd === 1 });
  }
  const sorted = [...images.values()].sort((a, b) => a.id - b.id);
  return { name: split, annotationFile, imageDir, images: limit === undefined ? sorted : sorted.slice(0, limit) };
}
