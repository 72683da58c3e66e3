// Visualisation rules: the VR export (replaces `export_sardet_vr.sh`), the sample500 repack
// (replaces `repack_vr_sample500_from_subset.py`) and the Grad-CAM bundle (replaces
// `export_gradcam_sample500_bundle.py`). The subset is chosen once per split, from the
// annotation file, by a seeded hash of the image names, and recorded in a file: every
// experiment shows the same images, and adding an experiment does not change the subset.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BadInputError, type ActionContext, type Target } from '../src/index.js';
import type { Dataset } from './dataset.js';
import type { Experiment } from './experiment.js';
import { zipFiles } from './zip.js';

/** What a visualisation command is told; paths are workspace-relative. */
export interface VisJob {
  config: string;
  checkpoint: string;
  dataRoot: string;
  split: string;
  outDir: string;
  /** VR export: where its metrics JSON goes. */
  metrics?: string;
  /** Saliency: the file listing the image stems to draw. */
  images?: string;
}

export type VisCommand = (job: VisJob) => string[];

const VIS = 'artifacts/visualizations';

/** The demo's tool: `vr` draws boxes, `saliency` the detector's test statistic. */
export function demoVisCommands(tool = 'dist/demo/sardet.mjs'): { vr: VisCommand; saliency: VisCommand } {
  const common = (j: VisJob) => ['--config', j.config, '--checkpoint', j.checkpoint, '--data', j.dataRoot, '--split', j.split];
  return {
    vr: (j) => ['node', tool, 'vr', ...common(j), '--out', j.outDir, '--metrics', j.metrics!],
    saliency: (j) => ['node', tool, 'saliency', ...common(j), '--images', j.images!, '--out', j.outDir],
  };
}

interface ExpVisOptions {
  experiment: Experiment;
  dataset: Dataset;
  split: string;
  /** Which variant's checkpoint (default `full`). */
  variant?: string;
  command: VisCommand;
  /** Extra inputs of the command (the program). */
  inputs?: string[];
}

function checkpointOf(e: Experiment, variant: string, what: string): string {
  const v = e.variants[variant];
  if (!v) {
    const have = Object.keys(e.variants);
    throw new BadInputError(`${what}: experiment '${e.name}' has no variant '${variant}' (it has ${have.map((h) => `'${h}'`).join(', ') || 'none'}). Pass one of those as \`variant\`, or add '${variant}' to the experiment's \`variants\`.`);
  }
  return v.train.outputs![0]!;
}

/** The split's manifest: without it the export would not depend on the split's images, and would stay fresh when they change. */
function manifestOf(d: Dataset, split: string, what: string): string {
  const m = d.manifests[split];
  if (!m) throw new BadInputError(`${what}: the dataset has no split '${split}' (it has ${Object.keys(d.manifests).map((k) => `'${k}'`).join(', ')}). Pass one of those as \`split\`, or add '${split}' to the dataset's \`splits\`.`);
  return m;
}

export interface VrExport {
  target: Target;
  images: string;
  metrics: string;
}

/** `artifacts/visualizations/VR/<exp>/<split>/`: PNGs with ground-truth and predicted boxes, and `metrics.json` beside them. */
export function vrExport(o: ExpVisOptions): VrExport {
  const variant = o.variant ?? 'full';
  const dir = `${VIS}/VR/${o.experiment.name}/${o.split}`;
  const images = `${dir}/images`;
  const metrics = `${dir}/metrics.json`;
  const what = `vrExport(${o.experiment.name}, ${o.split})`;
  const checkpoint = checkpointOf(o.experiment, variant, what);
  const manifest = manifestOf(o.dataset, o.split, what);
  return {
    images,
    metrics,
    target: {
      name: `vis/${o.experiment.name}/vr-${o.split}`,
      inputs: [...o.experiment.configInputs, checkpoint, manifest, ...(o.inputs ?? [])],
      params: o.experiment.configParams,
      outputs: [images, metrics],
      run: o.command({ config: o.experiment.config, checkpoint, dataRoot: o.dataset.root, split: o.split, outDir: images, metrics }),
      resources: { gpu: 1 },
      cpuFallback: true,
      tags: ['vis', 'gpu'],
      description: `VR export of ${o.experiment.name} on ${o.split}`,
    },
  };
}

/** A fixed subset of a split's images: `count` of them (all when fewer), chosen by a seeded hash of their names. */
export function subset(o: { dataset: Dataset; split: string; count?: number; seed?: number; name?: string }): { target: Target; list: string } {
  const count = o.count ?? 500;
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(count) || count < 1) throw new BadInputError(`subset(${o.split}): \`count\` must be a whole number ≥ 1 (got ${JSON.stringify(o.count)}); it is how many images the subset holds.`);
  if (!Number.isSafeInteger(seed)) throw new BadInputError(`subset(${o.split}): \`seed\` must be a whole number (got ${JSON.stringify(o.seed)}).`);
  const list = `${VIS}/sample${count}/subsets/${o.split}.txt`;
  const annotations = o.dataset.annotations[o.split];
  if (!annotations) throw new BadInputError(`subset(): the dataset has no split '${o.split}' (it has ${Object.keys(o.dataset.annotations).map((k) => `'${k}'`).join(', ')}). Pass one of those as \`split\`, or add '${o.split}' to the dataset's \`splits\`.`);
  return {
    list,
    target: {
      name: o.name ?? `vis/subset-${o.split}`,
      inputs: [annotations],
      outputs: [list],
      params: { count, seed },
      rule: { id: 'sardet/subset', version: 1, module: import.meta.url },
      description: `the fixed sample${count} subset of ${o.split}`,
      tags: ['vis'],
      run: async (ctx) => {
        const fix = `Fix the annotations (COCO format: an "images" array whose entries have a "file_name"), or rebuild the dataset that wrote them.`;
        let coco: { images?: unknown };
        try {
          coco = JSON.parse(fs.readFileSync(ctx.path(annotations), 'utf8')) as typeof coco;
        } catch (err) {
          throw new BadInputError(`${annotations} is not readable JSON (${(err as Error).message}). ${fix}`);
        }
        // An empty or missing list would silently give every experiment an empty sample.
        const images = typeof coco === 'object' && coco !== null ? coco.images : undefined;
        if (!Array.isArray(images) || images.length === 0) throw new BadInputError(`${annotations} has no images to choose a subset from (no non-empty "images" array). ${fix}`);
        const bad = images.findIndex((im) => typeof (im as { file_name?: unknown })?.file_name !== 'string' || (im as { file_name: string }).file_name === '');
        if (bad >= 0) throw new BadInputError(`${annotations}: images[${bad}] has no "file_name" string. ${fix}`);
        const stems = images.map((im) => (im as { file_name: string }).file_name).map((f) => path.basename(f, path.extname(f)));
        const key = (s: string) => crypto.createHash('sha256').update(`${seed}:${s}`).digest('hex');
        const chosen = stems.map((s) => [key(s), s] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)).slice(0, count).map((x) => x[1]).sort();
        await ctx.writeFile(list, chosen.join('\n') + '\n');
        ctx.log(`chose ${chosen.length} of ${stems.length} images`);
      },
    },
  };
}

/** `artifacts/visualizations/sample<count>/<exp>/<split>/`: the VR images of the subset, repacked. */
export function sample500(o: { experiment: Experiment; vr: VrExport; split: string; subset: { list: string }; count?: number }): Target {
  const out = `${VIS}/sample${o.count ?? 500}/${o.experiment.name}/${o.split}`;
  return {
    name: `vis/${o.experiment.name}/sample${o.count ?? 500}-${o.split}`,
    inputs: [o.subset.list, o.vr.images],
    outputs: [out],
    rule: { id: 'sardet/sample500', version: 1, module: import.meta.url },
    description: `VR images of ${o.experiment.name} on the ${o.split} subset`,
    tags: ['vis'],
    run: async (ctx) => repack(ctx, o.subset.list, o.vr.images, out),
  };
}

async function repack(ctx: ActionContext, list: string, from: string, to: string): Promise<void> {
  const stems = fs.readFileSync(ctx.path(list), 'utf8').split('\n').filter(Boolean);
  const missing = stems.filter((s) => !fs.existsSync(ctx.path(`${from}/${s}.png`)));
  if (missing.length) {
    throw new BadInputError(`${from} lacks ${missing.length} image(s) of the subset ${list} (first: ${missing.slice(0, 3).map((s) => `${s}.png`).join(', ')}); the VR export and the subset disagree about the split. Make the VR export draw every image of the split (then rebuild it), or build the subset from the same split.`);
  }
  // Built in a temp folder and renamed: an interrupted repack leaves no half folder.
  const tmp = path.join(ctx.tmpDir, 'out');
  fs.mkdirSync(tmp, { recursive: true });
  for (const s of stems) fs.copyFileSync(ctx.path(`${from}/${s}.png`), path.join(tmp, `${s}.png`), fs.constants.COPYFILE_FICLONE);
  fs.mkdirSync(path.dirname(ctx.path(to)), { recursive: true });
  fs.renameSync(tmp, ctx.path(to));
  ctx.log(`repacked ${stems.length} image(s) into ${to}`);
}

/** Saliency overlays of the subset (the demo's Grad-CAM: the detector's test statistic), and their zip. */
export function gradcam(o: ExpVisOptions & { subset: { list: string }; count?: number }): { targets: Target[]; zip: string } {
  const variant = o.variant ?? 'full';
  const root = `${VIS}/gradcam_sample${o.count ?? 500}`;
  const dir = `${root}/${o.experiment.name}/${o.split}`;
  const zip = `${root}/${o.experiment.name}_${o.split}.zip`;
  const what = `gradcam(${o.experiment.name}, ${o.split})`;
  const checkpoint = checkpointOf(o.experiment, variant, what);
  const manifest = manifestOf(o.dataset, o.split, what);
  const maps: Target = {
    name: `vis/${o.experiment.name}/gradcam-${o.split}`,
    inputs: [...o.experiment.configInputs, checkpoint, o.subset.list, manifest, ...(o.inputs ?? [])],
    params: o.experiment.configParams,
    outputs: [dir],
    run: o.command({ config: o.experiment.config, checkpoint, dataRoot: o.dataset.root, split: o.split, outDir: dir, images: o.subset.list }),
    resources: { gpu: 1 },
    cpuFallback: true,
    tags: ['vis', 'gpu'],
    description: `saliency maps of ${o.experiment.name} on the ${o.split} subset`,
  };
  const bundle = zipFiles({ name: `vis/${o.experiment.name}/gradcam-${o.split}-zip`, inputs: [dir], output: zip, base: root, description: `Grad-CAM bundle of ${o.experiment.name} on ${o.split}`, tags: ['vis'] });
  return { targets: [maps, bundle], zip };
}
