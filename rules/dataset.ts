// The `dataset` rule (replaces `setup_sardet_dataset.sh`): link an existing SARDet-100K-style
// dataset into `data/`, or generate SARDet-mini when none is given, then check its layout
// and write one manifest per split. Experiments depend on the manifests, not on the images:
// the manifest holds the split's tree hash (from sbuild's stat cache, so an unchanged tree
// of 100k images costs only stats) and changes exactly when an image or annotation does.
import fs from 'node:fs';
import path from 'node:path';
import { BadInputError, type ActionContext, type Target } from '../src/index.js';
import { workspaceRoot } from '../src/index.js';

export interface DatasetOptions {
  /** Name of the manifest target (default `dataset`); the link or generator is `<name>/source`. */
  name?: string;
  /** Environment variable naming an existing dataset folder (default `SARDET_ROOT`). */
  envVar?: string;
  /** Where the existing dataset is linked (default `data/SARDet-100K`). */
  link?: string;
  /**
   * How to generate a stand-in when the variable is unset: the command writes `dir` with
   * the same layout. Without it, the variable is required.
   */
  generate?: { dir: string; command: string[]; inputs?: string[] };
  /** Splits to check and describe (default train, val, test). */
  splits?: string[];
  /** The environment to read `envVar` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Workspace root `link` is relative to (default: the folder holding tasks.config.ts, found from the current one upwards). */
  root?: string;
}

export interface Dataset {
  targets: Target[];
  /** Workspace-relative folder holding `Annotations/` and `JPEGImages/`. */
  root: string;
  /** Manifest file per split (what experiments take as input). */
  manifests: Record<string, string>;
  /** Annotation file per split. */
  annotations: Record<string, string>;
  /** Whether this is the generated stand-in. */
  generated: boolean;
}

/** How many problems a bad layout lists before "and N more". */
const SHOWN_PROBLEMS = 8;

export function dataset(opts: DatasetOptions = {}): Dataset {
  const name = opts.name ?? 'dataset';
  const envVar = opts.envVar ?? 'SARDET_ROOT';
  const splits = opts.splits ?? ['train', 'val', 'test'];
  const env = opts.env ?? process.env;
  const external = env[envVar];
  let source: Target;
  let root: string;
  if (external) {
    root = opts.link ?? 'data/SARDet-100K';
    const link = root;
    // A build removes its outputs before it runs: a real folder where the link goes (a copied
    // dataset, the old setup script's output) would be deleted. Refused before anything runs.
    const linkAbs = path.resolve(opts.root ?? workspaceRoot(), link);
    const st = fs.lstatSync(linkAbs, { throwIfNoEntry: false });
    if (st && !st.isSymbolicLink()) {
      throw new BadInputError(
        `dataset(): ${link} already exists and is not a link, so linking $${envVar} there would delete what it holds. ` +
          `Move it out of the way (e.g. \`mv ${link} ${link}.orig\`) and point ${envVar} at it, or pass another \`link\` path.`,
      );
    }
    source = {
      name: `${name}/source`,
      outputs: [link],
      env: [envVar],
      params: { link },
      // Never copy a dataset into the cache: the link is the output, the images stay where they are.
      cache: false,
      rule: { id: 'sardet/dataset-link', version: 1, module: import.meta.url },
      description: `link $${envVar} into ${link}`,
      run: async (ctx) => linkDataset(ctx, external, envVar, link, splits),
    };
  } else if (opts.generate) {
    root = opts.generate.dir;
    source = {
      name: `${name}/source`,
      inputs: opts.generate.inputs ?? [],
      outputs: [root],
      run: opts.generate.command,
      description: `generate ${root} (no $${envVar} given)`,
    };
  } else {
    throw new BadInputError(`dataset(): $${envVar} is not set and no \`generate\` command was given. Set ${envVar} to the folder holding Annotations/ and JPEGImages/, or pass \`generate\`.`);
  }
  const manifestDir = `${root}.manifest`;
  const manifests = Object.fromEntries(splits.map((s) => [s, `${manifestDir}/${s}.json`]));
  const annotations = Object.fromEntries(splits.map((s) => [s, `${root}/Annotations/${s}.json`]));
  const check: Target = {
    name,
    inputs: splits.flatMap((s) => [annotations[s]!, `${root}/JPEGImages/${s}`]),
    outputs: splits.map((s) => manifests[s]!),
    params: { root, splits },
    rule: { id: 'sardet/dataset-manifest', version: 1, module: import.meta.url },
    description: `check ${root}'s layout and describe each split`,
    tags: ['data'],
    run: async (ctx) => writeManifests(ctx, root, splits, manifests, external ? `${envVar}=${external}` : undefined),
  };
  return { targets: [source, check], root, manifests, annotations, generated: !external };
}

async function linkDataset(ctx: ActionContext, target: string, envVar: string, link: string, splits: string[]): Promise<void> {
  const abs = path.resolve(ctx.root, target);
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (!st?.isDirectory()) {
    throw new BadInputError(`$${envVar} is '${target}', which is not a folder. Point ${envVar} at the SARDet-100K folder that holds Annotations/ and JPEGImages/.`);
  }
  // Checked before linking: a broken dataset never reaches data/.
  const { problems } = inspectLayout(abs, splits);
  if (problems.length) throw layoutError(problems, link, `${envVar}=${target}`);
  const dest = ctx.path(link);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  // Atomic replacement: a new link under a temporary name, renamed over the old one.
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(abs, tmp, 'dir');
  fs.renameSync(tmp, dest);
  ctx.log(`linked ${link} -> ${abs}`);
}

interface CocoFile {
  images?: Array<{ id?: unknown; file_name?: unknown }>;
  annotations?: Array<{ image_id?: unknown; category_id?: unknown; bbox?: unknown }>;
  categories?: Array<{ id?: unknown; name?: unknown }>;
}

/** Problems of a dataset folder's layout (first ones), and a description of each split. */
function inspectLayout(rootAbs: string, splits: string[], hashes: Record<string, string> = {}, rootRel = ''): { problems: string[]; described: Array<[string, object]> } {
  const problems: string[] = [];
  const described: Array<[string, object]> = [];
  for (const split of splits) {
    const imgDir = path.join(rootAbs, 'JPEGImages', split);
    if (!fs.statSync(imgDir, { throwIfNoEntry: false })?.isDirectory()) problems.push(`missing folder JPEGImages/${split}/`);
    let coco: CocoFile;
    try {
      coco = JSON.parse(fs.readFileSync(path.join(rootAbs, 'Annotations', `${split}.json`), 'utf8')) as CocoFile;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push(e.code === 'ENOENT' ? `missing Annotations/${split}.json` : `Annotations/${split}.json is not readable JSON (${e.message})`);
      continue;
    }
    if (!Array.isArray(coco?.images) || !Array.isArray(coco.annotations) || !Array.isArray(coco.categories)) {
      problems.push(`Annotations/${split}.json lacks the COCO arrays images, annotations and categories`);
      continue;
    }
    const ids = new Set<unknown>();
    for (const im of coco.images) {
      // A null or non-object entry is a problem to list, not a crash.
      if (typeof im !== 'object' || im === null || typeof im.file_name !== 'string' || im.file_name.includes('..') || path.isAbsolute(im.file_name)) {
        problems.push(`${split}: image ${String(im?.id)} has a bad file_name ${JSON.stringify(im?.file_name)}`);
        continue;
      }
      ids.add(im.id);
      // Past a few dozen problems the list is long enough; stop probing the disk.
      if (problems.length < SHOWN_PROBLEMS * 4 && !fs.existsSync(path.join(imgDir, im.file_name))) {
        problems.push(`${split}: image ${String(im.id)} points at JPEGImages/${split}/${im.file_name}, which does not exist`);
      }
    }
    for (const a of coco.annotations) {
      if (typeof a !== 'object' || a === null) problems.push(`${split}: an annotation is ${JSON.stringify(a)}, not an object`);
      else if (!ids.has(a.image_id)) problems.push(`${split}: an annotation refers to image_id ${String(a.image_id)}, which is not in images`);
      else if (!Array.isArray(a.bbox) || a.bbox.length !== 4) problems.push(`${split}: an annotation of image ${String(a.image_id)} has no [x, y, w, h] bbox`);
    }
    described.push([split, {
      split,
      images: coco.images.length,
      annotations: coco.annotations.length,
      categories: coco.categories.map((c) => c?.name ?? null),
      annotations_sha256: hashes[`${rootRel}/Annotations/${split}.json`] ?? null,
      images_tree_sha256: hashes[`${rootRel}/JPEGImages/${split}`] ?? null,
    }]);
  }
  return { problems, described };
}

function layoutError(problems: string[], root: string, origin: string | undefined): BadInputError {
  const shown = problems.slice(0, SHOWN_PROBLEMS).map((p) => `  - ${p}`).join('\n');
  const more = problems.length > SHOWN_PROBLEMS ? `\n  … and ${problems.length - SHOWN_PROBLEMS} more` : '';
  return new BadInputError(
    `The dataset at ${root}${origin ? ` (${origin})` : ''} does not have the SARDet-100K layout (Annotations/<split>.json in COCO format, JPEGImages/<split>/ holding every image they name):\n${shown}${more}\nFix the dataset, or point the variable at the right folder.`,
  );
}

/** Checks the layout again (the tree may have changed since it was linked) and writes one manifest per split. */
async function writeManifests(ctx: ActionContext, root: string, splits: string[], manifests: Record<string, string>, origin: string | undefined): Promise<void> {
  const { problems, described } = inspectLayout(ctx.path(root), splits, ctx.hashes, root);
  if (problems.length) throw layoutError(problems, root, origin);
  for (const [split, body] of described) await ctx.writeFile(manifests[split]!, JSON.stringify(body, null, 2) + '\n');
  ctx.log(`checked ${splits.length} split(s) of ${root}`);
}
