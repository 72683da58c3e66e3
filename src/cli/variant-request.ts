// `sbuild exp/NAME/** -S key=value [--name V]`: the selected experiments' targets, as a variant
// with those settings. The config is loaded once as it is (to learn which experiments the
// selection names and which of their runs), then again with the variant added; the variant is
// recorded in sbuild.variants.json only once the workspace opened on that second load (its
// validation evaluates the variant), so a typo in a key or a bad value leaves the file as it was.
import type { LoadedConfig } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import type { Json } from '../config/types.js';
import { SbuildError } from '../errors.js';
import { parseSetting, type Setting } from '../config/settings.js';
import {
  autoVariantName, declaredExperiments, readVariants, resetExperiments, setVariantRequest, writeVariants,
  VARIANT_NAME, VARIANTS_FILE, type ExperimentInfo, type VariantDecl,
} from '../config/variants.js';
import { canonicalJson } from '../hashing/sha256.js';
import type { Options } from './args.js';

export interface VariantBuild {
  loaded: LoadedConfig;
  /** The selection, renamed into the variants' targets. */
  targets: string[];
  /** One line per variant: its name and settings. */
  summary: string[];
  /** Records the variants in sbuild.variants.json: a real build's, once its workspace opened (its validation evaluates the variant's config, so a bad key records nothing). */
  persist: () => void;
}

export async function variantRequest(loaded: LoadedConfig, opts: Options, cwd: string): Promise<VariantBuild> {
  const settings = opts.settings.map(parseSetting);
  const seenKeys = new Set<string>();
  for (const s of settings) {
    if (seenKeys.has(s.key)) throw new SbuildError('usage', `-S sets ${s.key} twice; give each key once.`);
    seenKeys.add(s.key);
  }
  if (!opts.targets.length) {
    throw new SbuildError('usage', `-S makes a variant of the experiments a selection names; name them, e.g. sbuild 'exp/cfar_os/**' -S ${opts.settings[0]} (or 'exp/cfar_os/full/**' for the full run only).`);
  }
  const { openWorkspace } = await import('../engine/workspace.js');
  const { roots, selection } = await import('../engine/selection.js');
  const ws = await openWorkspace(cwd, opts, loaded);
  const requested = [...selection(ws.graph, roots(ws, opts.targets, false)).requested].map((id) => ws.graph.nodes[id]!).filter((n) => !n.group);

  // Which experiment and run each selected target belongs to.
  const experiments = declaredExperiments();
  const owner = new Map<string, { info: ExperimentInfo; run: string }>();
  for (const info of experiments.values()) for (const [run, names] of Object.entries(info.runs)) for (const n of names) owner.set(n, { info, run });
  const strays = requested.filter((n) => !owner.has(n.name)).map((n) => n.name);
  if (strays.length) {
    throw new SbuildError(
      'usage',
      `-S varies experiments (the targets exp/NAME/… of the experiment rule), but the selection ${opts.targets.map((t) => `'${t}'`).join(' ')} names ${strays.slice(0, 5).map((n) => `'${n}'`).join(', ')}${strays.length > 5 ? ` and ${strays.length - 5} more` : ''}, which ${strays.length === 1 ? 'is not an experiment\'s target' : 'are not experiments\' targets'}. Select only experiments' targets, e.g. 'exp/cfar_os/**'.`,
    );
  }

  // One variant per experiment selected: its base experiment, settings and runs.
  const file = readVariants(loaded.root);
  const wanted = new Map<string, { base: string; set: Record<string, Json>; add: string[]; runs: Set<string> }>();
  for (const n of requested) {
    const { info, run } = owner.get(n.name)!;
    const base = info.variantOf ?? info.name;
    let w = wanted.get(info.name);
    if (!w) {
      const set: Record<string, Json> = { ...(info.set ?? {}) };
      const add = new Set(info.add ?? []);
      for (const s of settings) {
        set[s.key] = s.value;
        if (s.add) add.add(s.key);
      }
      w = { base, set, add: [...add].sort(), runs: new Set() };
      wanted.set(info.name, w);
    }
    w.runs.add(run);
  }
  if (opts.variantName !== undefined && wanted.size > 1) {
    throw new SbuildError('usage', `--name gives one variant a name, but the selection names ${wanted.size} experiments (${[...wanted.keys()].join(', ')}). Select one experiment, or leave --name out (each variant is then named EXPERIMENT@KEY=VALUE,…).`);
  }

  const decls: VariantDecl[] = [];
  const renamed = new Map<string, string>();
  for (const [from, w] of wanted) {
    const name = variantName(w.base, w.set, opts.variantName, file, settings);
    const clash = experiments.get(name);
    const sameAs = (d: { experiment?: string; variantOf?: string; set?: Record<string, Json> }) => (d.variantOf ?? d.experiment) === w.base && canonicalJson(d.set ?? {}) === canonicalJson(w.set);
    if (clash && !(clash.variantOf && sameAs(clash))) {
      throw new SbuildError('usage', `--name ${name}: an experiment of that name exists already${clash.variantOf ? ` (a variant of ${clash.variantOf} with ${settingsText(clash.set ?? {})})` : ''}. Choose another name.`);
    }
    renamed.set(from, name);
    // A variant selected beside its experiment can come out as the same variant: one entry.
    const twin = decls.findIndex((d) => d.name === name);
    if (twin >= 0) {
      const d = decls.splice(twin, 1)[0]!;
      for (const r of d.only ?? Object.keys(experiments.get(w.base)?.runs ?? {})) w.runs.add(r);
    }
    const prior = file.find((d) => d.name === name);
    const runs = [...w.runs];
    // Runs asked for before stay: the variant keeps its rows of the table.
    const only = prior && !prior.only ? undefined : [...new Set([...(prior?.only ?? []), ...runs])].sort();
    const allRuns = Object.keys(experiments.get(w.base)?.runs ?? {});
    decls.push({ name, experiment: w.base, set: w.set, ...(w.add.length ? { add: w.add } : {}), ...(only && only.length < allRuns.length ? { only } : {}) });
  }

  // The config again, with the variants: their targets now exist.
  setVariantRequest(decls);
  resetExperiments();
  let again: LoadedConfig;
  try {
    again = await loadConfig(cwd, opts, { generation: 1 });
  } finally {
    setVariantRequest(undefined);
  }
  const after = declaredExperiments();
  const targets: string[] = [];
  for (const n of requested) {
    const from = owner.get(n.name)!.info.name;
    const to = renamed.get(from)!;
    const name = `exp/${to}/${n.name.slice(`exp/${from}/`.length)}`;
    if (!n.name.startsWith(`exp/${from}/`) || !Object.values(after.get(to)?.runs ?? {}).some((names) => names.includes(name))) {
      throw new SbuildError('usage', `-S: the target '${n.name}' has no counterpart in the variant '${to}' (expected '${name}'). Select experiments by their exp/NAME/… targets.`);
    }
    targets.push(name);
  }
  return {
    loaded: again,
    targets,
    summary: decls.map((d) => `variant ${d.name}: ${d.experiment} with ${settingsText(d.set)}`),
    persist: () => {
      const current = readVariants(again.root);
      const byName = new Map(current.map((d) => [d.name, d]));
      for (const d of decls) byName.set(d.name, d);
      writeVariants(again.root, [...byName.values()]);
    },
  };
}

function settingsText(set: Record<string, Json>): string {
  return Object.keys(set).sort().map((k) => `${k}=${JSON.stringify(set[k])}`).join(', ');
}

/** `--name`, else a recorded variant with the same settings (no second copy of its work), else NAME@k=v,…. */
function variantName(base: string, set: Record<string, Json>, given: string | undefined, file: VariantDecl[], settings: Setting[]): string {
  if (given !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(given)) {
      throw new SbuildError('usage', `--name '${given}' cannot name a variant: use letters, digits, '.', '_' and '-', starting with a letter or digit (it names artifacts/work_dirs/<name>/ and the exp/<name>/… targets).`);
    }
    const prior = file.find((d) => d.name === given);
    if (prior && (prior.experiment !== base || canonicalJson(prior.set) !== canonicalJson(set))) {
      throw new SbuildError('usage', `--name ${given}: ${VARIANTS_FILE} has a variant of that name with other settings (${prior.experiment} with ${settingsText(prior.set)}). Choose another name, or remove that entry from ${VARIANTS_FILE} first.`);
    }
    return given;
  }
  const same = file.find((d) => d.experiment === base && canonicalJson(d.set) === canonicalJson(set));
  if (same) return same.name;
  const auto = autoVariantName(base, set);
  if (auto === undefined || !VARIANT_NAME.test(auto)) {
    const s = settings.find((x) => !/^[A-Za-z0-9._+-]+$/.test(String(x.value))) ?? settings[0]!;
    throw new SbuildError('usage', `-S ${s.key}=…: the value cannot be part of a variant's name (only letters, digits, '.', '_', '+' and '-' can). Name the variant: --name ${base}_v2 (any name of those characters).`);
  }
  return auto;
}
