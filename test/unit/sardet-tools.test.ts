// The demo's experiment programs, run as the build runs them: `node dist/tools/sardet.js ...` in a temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMetrics, type Metrics } from '../../rules/metrics-format.js';
import { readMmConfig } from '../../rules/mmconfig.js';
import { cocoEvaluate, type DetBox, type GtBox } from '../../tools/sardet/coco-eval.js';
import { readImage } from '../../tools/sardet/io.js';
import { Rng } from '../../tools/sardet/rng.js';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';

const here = path.dirname(fileURLToPath(import.meta.url));
const TOOL = path.resolve(here, '../../tools/sardet.js');
const REPO = path.resolve(here, '../../..');
const CLASSES = ['ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor'];

function sardet(cwd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TOOL, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(cwd: string, ...args: string[]): string {
  const r = sardet(cwd, ...args);
  assert.equal(r.code, 0, `sardet ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-sardet-'));
}

/** Every file under a folder, with its bytes. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function writeConfigs(root: string): void {
  const put = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  put(
    'configs/_base_/cfar.py',
    "model = dict(type='CACFAR', test_cell=3, guard=5, window=12, pfa=1e-4, min_area=6, max_area=5000, dilate=1)\n" +
      'train_cfg = dict(pfa_grid=[1e-2, 1e-3, 1e-4, 1e-6], metric=\'AP50\')\n' +
      "checkpoint = 'weights/prior.json'\n",
  );
  put('configs/ca.py', "_base_ = ['_base_/cfar.py']\n");
  put('configs/global.py', "_base_ = ['_base_/cfar.py']\nmodel = dict(type='GlobalThreshold')\n");
  put('configs/os.py', "_base_ = ['_base_/cfar.py']\nmodel = dict(type='OSCFAR', rank=0.75)\n");
  put('configs/bad_type.py', "_base_ = ['_base_/cfar.py']\nmodel = dict(type='YOLO')\n");
  put('configs/bad_key.py', "_base_ = ['_base_/cfar.py']\nmodel = dict(gaurd=3)\n");
  put('configs/no_prior.py', "_base_ = ['_base_/cfar.py']\ncheckpoint = 'weights/missing.json'\n");
}

test('generate is byte-deterministic, and the seed matters', () => {
  const dir = tmp();
  const args = ['--train', '3', '--val', '2', '--test', '2', '--size', '128'];
  ok(dir, 'generate', '--out', 'a', ...args);
  ok(dir, 'generate', '--out', 'b', ...args);
  ok(dir, 'generate', '--out', 'c', '--seed', '1', ...args);
  const a = files(path.join(dir, 'a'));
  const b = files(path.join(dir, 'b'));
  const c = files(path.join(dir, 'c'));
  assert.deepEqual([...a.keys()], [
    'Annotations/test.json',
    'Annotations/train.json',
    'Annotations/val.json',
    'JPEGImages/test/200001.png',
    'JPEGImages/test/200002.png',
    'JPEGImages/train/000001.png',
    'JPEGImages/train/000002.png',
    'JPEGImages/train/000003.png',
    'JPEGImages/val/100001.png',
    'JPEGImages/val/100002.png',
  ]);
  for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${k} differs between two runs`);
  assert.ok(!a.get('JPEGImages/train/000001.png')!.equals(c.get('JPEGImages/train/000001.png')!), 'another seed gives another image');

  const coco = JSON.parse(a.get('Annotations/train.json')!.toString()) as {
    images: { id: number; file_name: string; width: number; height: number }[];
    annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: number }[];
    categories: { id: number; name: string }[];
  };
  assert.deepEqual(coco.categories, CLASSES.map((name, i) => ({ id: i + 1, name })));
  assert.deepEqual(coco.images[0], { id: 1, file_name: '000001.png', width: 128, height: 128 });
  for (const im of coco.images) {
    const n = coco.annotations.filter((x) => x.image_id === im.id).length;
    assert.ok(n >= 1 && n <= 6, `image ${im.id} has ${n} objects`);
  }
  for (const an of coco.annotations) {
    assert.equal(an.iscrowd, 0);
    assert.ok(an.category_id >= 1 && an.category_id <= 6);
    const [x, y, w, h] = an.bbox as [number, number, number, number];
    assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 128 && y + h <= 128, `box ${an.bbox} inside the image`);
    assert.ok(an.area > 0 && an.area <= w * h);
  }
  // 8-bit grayscale PNG: colour type 0, bit depth 8 (IHDR bytes 24 and 25).
  const png = a.get('JPEGImages/train/000001.png')!;
  assert.equal(png[24], 8);
  assert.equal(png[25], 0);
});

test('generate -> prior -> calibrate -> evaluate / vr / saliency on a tiny dataset', () => {
  const dir = tmp();
  writeConfigs(dir);
  ok(dir, 'generate', '--out', 'data', '--train', '24', '--val', '12', '--test', '2', '--size', '160');
  ok(dir, 'prior', '--data', 'data', '--split', 'train', '--out', 'weights/prior.json');
  const prior = JSON.parse(fs.readFileSync(path.join(dir, 'weights/prior.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(prior.kind, 'sardet-clutter-prior');
  assert.ok((prior.looks as number) > 1.5 && (prior.looks as number) < 5, `looks ${prior.looks}`);

  const metrics: Record<string, Record<string, unknown>> = {};
  for (const name of ['ca', 'global', 'os']) {
    const log = ok(dir, 'calibrate', '--config', `configs/${name}.py`, '--data', 'data', '--split', 'train', '--out', `wd/${name}/ckpt.json`, '--log', `wd/${name}/train.log`, '--root', '.');
    assert.match(log, /chosen: window 12 pfa/);
    // The log file holds the progress lines but no timings, so it is reproducible.
    const logFile = fs.readFileSync(path.join(dir, `wd/${name}/train.log`), 'utf8');
    assert.match(logFile, /chosen: window 12 pfa/);
    assert.doesNotMatch(logFile, /done in/);
    ok(dir, 'evaluate', '--config', `configs/${name}.py`, '--checkpoint', `wd/${name}/ckpt.json`, '--data', 'data', '--split', 'val', '--out', `wd/${name}/val.json`, '--predictions', `wd/${name}/pred.json`);
    const text = fs.readFileSync(path.join(dir, `wd/${name}/val.json`), 'utf8');
    const m = JSON.parse(text) as Record<string, unknown>;
    metrics[name] = m;
    assert.deepEqual(Object.keys(m), ['detector', 'split', 'images', 'AP', 'AP50', 'AP75', 'per_class_AP']);
    assert.equal(text, formatMetrics(m as unknown as Metrics), 'written by the shared metrics formatter');
    assert.equal(m.split, 'val');
    assert.equal(m.images, 12);
    assert.deepEqual(Object.keys(m.per_class_AP as object), CLASSES);
    for (const k of ['AP', 'AP50', 'AP75'] as const) {
      const v = m[k] as number;
      assert.ok(v >= 0 && v <= 1, `${name} ${k} = ${v}`);
      assert.equal(v, Math.round(v * 1e4) / 1e4, 'rounded to 4 decimals');
    }
    for (const v of Object.values(m.per_class_AP as Record<string, number | null>)) assert.ok(v === null || (v >= 0 && v <= 1));
    const pred = JSON.parse(fs.readFileSync(path.join(dir, `wd/${name}/pred.json`), 'utf8')) as { image_id: number; category_id: number; score: number }[];
    assert.ok(pred.every((p) => p.category_id >= 1 && p.category_id <= 6 && p.score >= 0 && p.score <= 1));
  }
  assert.equal(metrics.ca!.detector, 'CACFAR');
  assert.equal(metrics.global!.detector, 'GlobalThreshold');
  assert.equal(metrics.os!.detector, 'OSCFAR');

  // Chance: as many boxes as CA-CFAR's average per image, of ground-truth sizes, at random places and classes.
  const val = JSON.parse(fs.readFileSync(path.join(dir, 'data/Annotations/val.json'), 'utf8')) as {
    images: { id: number }[];
    annotations: { image_id: number; category_id: number; bbox: [number, number, number, number] }[];
  };
  const gt: GtBox[] = val.annotations.map((a) => ({ image_id: a.image_id, cls: CLASSES[a.category_id - 1]!, bbox: a.bbox }));
  const rng = new Rng(7);
  const random: DetBox[] = val.images.flatMap((im) =>
    Array.from({ length: 10 }, () => {
      const [, , w, h] = val.annotations[rng.int(0, val.annotations.length - 1)]!.bbox;
      return { image_id: im.id, cls: CLASSES[rng.int(0, 5)]!, bbox: [rng.uniform(0, 160 - w), rng.uniform(0, 160 - h), w, h] as const, score: rng.next() };
    }),
  );
  const chance = cocoEvaluate(gt, random, CLASSES);
  const ca = metrics.ca!;
  assert.ok((ca.AP50 as number) > Math.max(0.3, 5 * (chance.AP50 ?? 0)), `CA-CFAR AP50 ${ca.AP50} vs chance ${chance.AP50}`);
  assert.ok((ca.AP as number) > 3 * (chance.AP ?? 0), `CA-CFAR AP ${ca.AP} vs chance ${chance.AP}`);
  assert.ok((ca.AP as number) > (metrics.global!.AP as number), 'CA-CFAR beats the global threshold');

  // Calibration is deterministic too.
  const first = fs.readFileSync(path.join(dir, 'wd/ca/ckpt.json'));
  ok(dir, 'calibrate', '--config', 'configs/ca.py', '--data', 'data', '--split', 'train', '--out', 'wd/ca/again.json', '--root', '.');
  assert.ok(first.equals(fs.readFileSync(path.join(dir, 'wd/ca/again.json'))));

  // vr: one RGB PNG per image plus metrics.json equal to evaluate's.
  ok(dir, 'vr', '--config', 'configs/ca.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'data', '--split', 'val', '--out', 'wd/ca/vr', '--limit', '5');
  const vr = fs.readdirSync(path.join(dir, 'wd/ca/vr')).sort();
  assert.deepEqual(vr, ['100001.png', '100002.png', '100003.png', '100004.png', '100005.png', 'metrics.json']);
  const vrPng = fs.readFileSync(path.join(dir, 'wd/ca/vr/100001.png'));
  assert.equal(vrPng[25], 2, 'RGB PNG');
  assert.equal(vrPng.readUInt32BE(16), 160);
  const vrMetrics = JSON.parse(fs.readFileSync(path.join(dir, 'wd/ca/vr/metrics.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(vrMetrics), Object.keys(metrics.ca!));
  assert.equal(vrMetrics.images, 5);
  // A second export replaces the folder: no stale images survive. --metrics puts the metrics elsewhere.
  ok(dir, 'vr', '--config', 'configs/ca.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'data', '--split', 'val', '--out', 'wd/ca/vr', '--limit', '2', '--metrics', 'wd/ca/vr_metrics.json');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'wd/ca/vr')).sort(), ['100001.png', '100002.png']);
  assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'wd/ca/vr_metrics.json'), 'utf8')) as { images: number }).images, 2);

  // saliency: one overlay per listed stem.
  fs.writeFileSync(path.join(dir, 'list.txt'), '100002\n# a comment\n100001\n\n');
  ok(dir, 'saliency', '--config', 'configs/ca.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'data', '--split', 'val', '--images', 'list.txt', '--out', 'wd/ca/sal');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'wd/ca/sal')).sort(), ['100001.png', '100002.png']);
  fs.writeFileSync(path.join(dir, 'bad_list.txt'), '100001\n999999\n');
  const bad = sardet(dir, 'saliency', '--config', 'configs/ca.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'data', '--split', 'val', '--images', 'bad_list.txt', '--out', 'wd/ca/sal2');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /1 image\(s\) not in split val: 999999/);

  // Errors that need a dataset: unreadable image formats, configs, checkpoints.
  const err = (code: number, pattern: RegExp, ...args: string[]): void => {
    const r = sardet(dir, ...args);
    assert.equal(r.code, code, `exit code of sardet ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  };
  const ann = JSON.parse(fs.readFileSync(path.join(dir, 'data/Annotations/val.json'), 'utf8')) as { images: { file_name: string }[] };
  ann.images[0]!.file_name = '100001.tif';
  fs.mkdirSync(path.join(dir, 'tif/Annotations'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'tif/Annotations/val.json'), JSON.stringify(ann));
  err(1, /unsupported image format '\.tif' for .*100001\.tif \(expected \.png, \.jpg or \.jpeg\)/,
    'evaluate', '--config', 'configs/ca.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'tif', '--split', 'val', '--out', 'x.json');
  err(2, /model\.type must be one of GlobalThreshold, CACFAR, OSCFAR \(found "YOLO"\)/,
    'calibrate', '--config', 'configs/bad_type.py', '--data', 'data', '--split', 'train', '--out', 'x.json');
  err(2, /unknown model key 'gaurd'/, 'calibrate', '--config', 'configs/bad_key.py', '--data', 'data', '--split', 'train', '--out', 'x.json');
  err(1, /names checkpoint 'weights\/missing\.json', which does not exist/,
    'calibrate', '--config', 'configs/no_prior.py', '--data', 'data', '--split', 'train', '--out', 'x.json');
  err(2, /config file not found: configs\/nope\.py/, 'calibrate', '--config', 'configs/nope.py', '--data', 'data', '--split', 'train', '--out', 'x.json');
  err(2, /was calibrated for CACFAR, but config configs\/os\.py says model\.type='OSCFAR'/,
    'evaluate', '--config', 'configs/os.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'data', '--split', 'val', '--out', 'x.json');
  err(1, /annotation file not found: .*Annotations\/nosplit\.json/,
    'evaluate', '--config', 'configs/ca.py', '--checkpoint', 'wd/ca/ckpt.json', '--data', 'data', '--split', 'nosplit', '--out', 'x.json');
  err(1, /checkpoint not found: wd\/none\.json/,
    'evaluate', '--config', 'configs/ca.py', '--checkpoint', 'wd/none.json', '--data', 'data', '--split', 'val', '--out', 'x.json');
});

test('bad arguments: a message and exit 2', () => {
  const dir = tmp();
  const usage = (pattern: RegExp, ...args: string[]): void => {
    const r = sardet(dir, ...args);
    assert.equal(r.code, 2, `exit code of sardet ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  };
  usage(/sardet: error: no command given\nusage: sardet <command>/);
  usage(/sardet: error: unknown command 'train'/, 'train');
  usage(/sardet generate: error: missing required flag --out\nusage: sardet generate --out DIR/, 'generate');
  usage(/unknown flag --outdir \(known: --out, --seed, --train, --val, --test, --size\)/, 'generate', '--outdir', 'x');
  usage(/flag --train must be an integer, got 'many'/, 'generate', '--out', 'x', '--train', 'many');
  usage(/flag --size must be between 96 and 4096, got 16/, 'generate', '--out', 'x', '--size', '16');
  usage(/flag --out needs a value/, 'generate', '--out');
  usage(/flag --seed given twice/, 'generate', '--out', 'x', '--seed', '1', '--seed', '2');
  usage(/unexpected argument 'extra'/, 'prior', 'extra');
  usage(/missing required flag --checkpoint/, 'evaluate', '--config', 'c.py', '--data', 'd', '--split', 'val', '--out', 'm.json');
  usage(/flag --limit must be between 1 and 1000000, got 0/, 'calibrate', '--config', 'c.py', '--data', 'd', '--split', 'train', '--limit', '0', '--out', 'o.json');
  assert.ok(!fs.existsSync(path.join(dir, 'x')), 'nothing written on a usage error');
});

test("the demo's configs parse, inherit their bases and name the clutter prior", () => {
  const types: Record<string, string> = { global_threshold: 'GlobalThreshold', cfar_ca: 'CACFAR', cfar_os: 'OSCFAR' };
  for (const [name, type] of Object.entries(types)) {
    const cfg = readMmConfig(`configs/sardet_mini/${name}.py`, REPO);
    assert.deepEqual(cfg.chain, [
      `configs/sardet_mini/${name}.py`,
      'configs/_base_/models/cfar.py',
      'configs/_base_/datasets/sardet_mini.py',
      'configs/_base_/default_runtime.py',
    ]);
    const model = cfg.values.model as Record<string, unknown>;
    assert.equal(model.type, type);
    assert.equal(model.guard, 5, 'the model base is merged, not replaced');
    assert.equal(cfg.values.data_root, 'data/SARDet-mini/');
    assert.equal(cfg.values.seed, 0);
    assert.deepEqual(cfg.weights, ['artifacts/weights/sardet_mini_clutter_prior.json']);
  }
});

test('images: grayscale and RGB PNG, JPEG, as luminance; other formats are refused by name', () => {
  const dir = tmp();
  const w = 4;
  const h = 2;
  const rgba = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([i * 30, i * 30, i * 30, 255], 4 * i);
  rgba.set([255, 0, 0, 255], 0); // one red pixel: luminance 0.299 * 255
  const png = new pngjs.PNG({ width: w, height: h });
  png.data = rgba;
  fs.writeFileSync(path.join(dir, 'rgb.png'), pngjs.PNG.sync.write(png));
  const a = readImage(path.join(dir, 'rgb.png'));
  assert.equal(a.width, w);
  assert.equal(a.height, h);
  assert.ok(Math.abs(a.data[0]! - 0.299 * 255) < 1e-3);
  assert.equal(a.data[5], 150);

  // A flat grey JPEG decodes to (nearly) that grey.
  const flat = Buffer.alloc(16 * 16 * 4, 128);
  fs.writeFileSync(path.join(dir, 'grey.JPG'), jpeg.encode({ width: 16, height: 16, data: flat }, 95).data);
  const j = readImage(path.join(dir, 'grey.JPG'));
  assert.equal(j.width, 16);
  assert.ok(Math.abs(j.data[100]! - 128) <= 2, `JPEG pixel ${j.data[100]}`);

  fs.writeFileSync(path.join(dir, 'x.bmp'), 'BM');
  assert.throws(() => readImage(path.join(dir, 'x.bmp')), /unsupported image format '\.bmp' for .*x\.bmp/);
  assert.throws(() => readImage(path.join(dir, 'missing.png')), /image not found: .*missing\.png/);
  fs.writeFileSync(path.join(dir, 'broken.png'), 'not a png');
  assert.throws(() => readImage(path.join(dir, 'broken.png')), /cannot decode image .*broken\.png/);
});
