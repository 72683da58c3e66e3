// Experiment variants: "the same experiment, with these settings" (`sbuild exp/NAME/** -S
// key=value`). A variant is recorded in `sbuild.variants.json` at the workspace root, committed
// beside sbuild.lock, so it stays part of the graph (its own targets, work dir, cache entries
// and a row of the results table) until it is removed from the file. The experiment rule reads
// the file while the config loads; the CLI adds the variant a command line asks for, and writes
// the file only once that config has loaded with it.
//
// Rules reach this module through the package name, which may be another copy than the CLI's
// (the CLI is bundled): the request and the registry live on process-wide symbols.
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from './types.js';
import { SbuildError } from '../errors.js';
import { noteConfigReads } from './reads.js';
import { cfgValueText } from './settings.js';

export const VARIANTS_FILE = 'sbuild.variants.json';

export interface VariantDecl {
  /** The variant's experiment name: `NAME@key=value,…`, or one given with `--name`. */
  name: string;
  /** The experiment it varies. */
  experiment: string;
  /** Dotted config keys and their values, applied to the merged config (MMEngine's `--cfg-options`). */
  set: { [key: string]: Json };
  /** Keys of `set` the config does not have (`-S +key=value`). */
  add?: string[];
  /** The experiment's runs (`smoke`, `full`) the variant has; all when absent. */
  only?: string[];
}

/** What an experiment tells the CLI about itself while the config loads. */
export interface ExperimentInfo {
  name: string;
  /** Its runs (`smoke`, `full`) and each run's target names. */
  runs: { [run: string]: string[] };
  /** Set on a variant: the experiment it varies, and its settings. */
  variantOf?: string;
  set?: { [key: string]: Json };
  add?: string[];
}

const REQUEST = Symbol.for('sbuild.variantRequest');
const REGISTRY = Symbol.for('sbuild.experiments');
type Global = { [REQUEST]?: VariantDecl[]; [REGISTRY]?: Map<string, ExperimentInfo> };
const g = globalThis as Global;

/** The variants a command line asks for, seen by the experiment rule while the config loads. */
export function setVariantRequest(decls: VariantDecl[] | undefined): void {
  g[REQUEST] = decls;
}

/** Called by the experiment rule: the variants of `experiment` (the file's, then the command line's). */
export function variantsOf(experiment: string, root: string): Array<VariantDecl & { fromFlag: boolean }> {
  const out = new Map<string, VariantDecl & { fromFlag: boolean }>();
  for (const d of readVariants(root)) if (d.experiment === experiment) out.set(d.name, { ...d, fromFlag: false });
  for (const d of g[REQUEST] ?? []) if (d.experiment === experiment) out.set(d.name, { ...d, fromFlag: true });
  return [...out.values()];
}

/** Called by the experiment rule for each experiment it declares (variants too). */
export function declareExperiment(info: ExperimentInfo): void {
  (g[REGISTRY] ??= new Map()).set(info.name, info);
}

/** Forgets what an earlier load declared; the next load fills it again. */
export function resetExperiments(): Map<string, ExperimentInfo> {
  const m = new Map<string, ExperimentInfo>();
  g[REGISTRY] = m;
  return m;
}

export function declaredExperiments(): Map<string, ExperimentInfo> {
  return g[REGISTRY] ?? new Map();
}

/** The name a variant gets without `--name`: `NAME@k=v,k2=v2` (keys sorted); undefined when a value cannot be part of a name. */
export function autoVariantName(experiment: string, set: { [key: string]: Json }): string | undefined {
  const parts: string[] = [];
  for (const key of Object.keys(set).sort()) {
    const text = cfgValueText(set[key]!);
    if (!/^[A-Za-z0-9._+-]+$/.test(text)) return undefined;
    parts.push(`${key}=${text}`);
  }
  return `${experiment}@${parts.join(',')}`;
}

/** A variant's name: what an experiment name may be, plus `@`, `=`, `,` and `+` after the first `@`. */
export const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:@[A-Za-z0-9._=,+-]+)?$/;

const memo = new Map<string, { key: string; decls: VariantDecl[] }>();

/** The variants recorded in the workspace's `sbuild.variants.json` (none when there is no file). */
export function readVariants(root: string): VariantDecl[] {
  const file = path.join(root, VARIANTS_FILE);
  // Creating, editing or removing the file reloads the config (watch, the no-op snapshot).
  noteConfigReads([file]);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    return [];
  }
  const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
  const hit = memo.get(file);
  if (hit?.key === key) return hit.decls;
  const decls = parseVariants(fs.readFileSync(file, 'utf8'), VARIANTS_FILE);
  memo.set(file, { key, decls });
  return decls;
}

function bad(where: string, what: string): never {
  throw new SbuildError('config-invalid', `${where}: ${what} Fix the file (it is written by \`sbuild … -S key=value\`; an entry is { "name", "experiment", "set": { "key": value }, "add"?: [keys], "only"?: ["smoke" | "full" …] }), or remove the entry to drop that variant.`, { location: where });
}

export function parseVariants(text: string, where: string): VariantDecl[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    bad(where, `not valid JSON (${(err as Error).message}).`);
  }
  const list = (doc as { variants?: unknown } | null)?.variants;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(list)) bad(where, 'expected an object { "variants": [ … ] }.');
  const seen = new Set<string>();
  return list.map((e: unknown, i) => {
    const at = `entry ${i + 1}`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) bad(where, `${at} is not an object.`);
    const d = e as Record<string, unknown>;
    if (typeof d.name !== 'string' || !VARIANT_NAME.test(d.name)) bad(where, `${at} has the name ${JSON.stringify(d.name)}; a variant's name is letters, digits, '.', '_', '-', then optionally '@' and settings.`);
    if (seen.has(d.name)) bad(where, `the variant '${d.name}' is listed twice.`);
    seen.add(d.name);
    if (typeof d.experiment !== 'string' || d.experiment === '') bad(where, `the variant '${d.name}' names no "experiment".`);
    if (typeof d.set !== 'object' || d.set === null || Array.isArray(d.set) || Object.keys(d.set).length === 0) bad(where, `the variant '${d.name}' has no settings ("set": { "key.path": value }).`);
    const add = d.add === undefined ? undefined : d.add;
    if (add !== undefined && (!Array.isArray(add) || add.some((k) => typeof k !== 'string' || !(k in (d.set as object))))) bad(where, `the variant '${d.name}' has an "add" that is not a list of its own keys.`);
    const only = d.only;
    if (only !== undefined && (!Array.isArray(only) || only.length === 0 || only.some((r) => typeof r !== 'string'))) bad(where, `the variant '${d.name}' has an "only" that is not a non-empty list of run names.`);
    return {
      name: d.name,
      experiment: d.experiment,
      set: d.set as { [key: string]: Json },
      ...(add?.length ? { add: add as string[] } : {}),
      ...(only ? { only: only as string[] } : {}),
    };
  });
}

/** Writes the file atomically, entries sorted by name, so that its diffs stay small. */
export function writeVariants(root: string, decls: VariantDecl[]): void {
  const file = path.join(root, VARIANTS_FILE);
  const sorted = [...decls].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const text = JSON.stringify({ variants: sorted.map((d) => ({ name: d.name, experiment: d.experiment, set: d.set, ...(d.add?.length ? { add: d.add } : {}), ...(d.only ? { only: d.only } : {}) })) }, null, 2) + '\n';
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  memo.delete(file);
}
