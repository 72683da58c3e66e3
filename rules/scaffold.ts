// `sbuild init` in a repository of MMEngine configs: a first, short tasks.config.ts that
// declares every leaf config as an experiment in the repository's own layout
// (`work_dirs/<config name>/`, MMEngine's checkpoint names, its tools/train.py and
// tools/test.py), with the results table and the ledger. Leaves are found by evaluating every
// config with Python (rules/mmconfig.ts): a config another config reads is a base, not an
// experiment.
import fs from 'node:fs';
import path from 'node:path';
import { readMmConfigs, MmConfigError, defaultPython, type MmConfig } from './mmconfig.js';
import { STATE_DIR } from '../src/engine/state-paths.js';

export interface Scaffold {
  /** The text of tasks.config.ts. */
  text: string;
  /** Experiments declared: name → config. */
  experiments: Array<{ name: string; config: string }>;
  /** Configs left out because they do not evaluate, with the reason. */
  skipped: Array<{ config: string; reason: string }>;
  /** Where the configs were found. */
  configDirs: string[];
}

const SKIP_DIRS = new Set(['node_modules', '.git', STATE_DIR, 'work_dirs', 'data', 'dist', '__pycache__', '.venv', 'venv']);

/** Folders named like `configs` (configs/, local_configs/, …) at the top of the repository. */
function configDirs(root: string): string[] {
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !SKIP_DIRS.has(d.name) && /configs?$/i.test(d.name))
    .map((d) => d.name)
    .sort();
}

function pyFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${d.name}`;
      if (d.isDirectory() && !SKIP_DIRS.has(d.name)) walk(child);
      else if (d.isFile() && d.name.endsWith('.py') && d.name !== '__init__.py') out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/** A name that is one path segment: the file's base name, made unique with its folders when needed. */
function names(configs: string[]): string[] {
  const base = (c: string) => path.basename(c, '.py').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  const counts = new Map<string, number>();
  for (const c of configs) counts.set(base(c), (counts.get(base(c)) ?? 0) + 1);
  return configs.map((c) => (counts.get(base(c))! > 1 ? c.replace(/\.py$/, '').split('/').slice(1).join('_').replace(/[^A-Za-z0-9._-]/g, '_') : base(c)));
}

export function scaffoldConfig(root: string, python: string = defaultPython()): Scaffold {
  const dirs = configDirs(root);
  const files = dirs.flatMap((d) => pyFiles(root, d));
  if (files.length === 0) {
    throw new MmConfigError(`no MMEngine configs found: ${root} has no configs/ folder (or another folder whose name ends in 'configs') holding .py files. Run \`sbuild init\` at the root of the repository, or write tasks.config.ts by hand (see the README).`);
  }
  const results = readMmConfigs(files, { root, python });
  const bases = new Set<string>();
  const skipped: Scaffold['skipped'] = [];
  for (const [i, r] of results.entries()) {
    if (r instanceof MmConfigError) continue;
    for (const f of r.chain) if (f !== files[i]) bases.add(f);
  }
  const leaves: string[] = [];
  for (const [i, r] of results.entries()) {
    const f = files[i]!;
    if (bases.has(f) || f.split('/').includes('_base_')) continue;
    if (r instanceof MmConfigError) skipped.push({ config: f, reason: `${r.location ? `${r.location}: ` : ''}${r.message}` });
    else if (isExperiment(r)) leaves.push(f);
  }
  const testScript = 'tools/test.py';
  const hasTrain = fs.existsSync(path.join(root, 'tools/train.py'));
  const testText = fs.existsSync(path.join(root, testScript)) ? fs.readFileSync(path.join(root, testScript), 'utf8') : '';
  const metricsArgs = testText.includes('out-metrics');
  const ns = names(leaves);
  const experiments = leaves.map((config, i) => ({ name: ns[i]!, config }));
  const lines = [
    `// Written by \`sbuild init\`: every leaf config under ${dirs.map((d) => `${d}/`).join(', ')} as an experiment,`,
    `// in this repository's layout (work_dirs/<config name>/, MMEngine's checkpoint names).`,
    `// \`npx sbuild status\` shows what stands; \`npx sbuild list --inputs\` what each job reads.`,
    ...(hasTrain ? [] : [`// NOTE: tools/train.py was not found; set trainScript in mmdetRunner().`]),
    ...(metricsArgs ? [] : [`// NOTE: ${testScript} does not take --out-metrics FILE --split SPLIT: evaluations need a test`, `// script that writes the metrics JSON they declare (see docs/RESULTS_BUNDLE.md).`]),
    ...(skipped.length ? [`// Left out (they do not evaluate; fix them, then add them below):`, ...skipped.map((s) => `//   ${s.config}: ${s.reason.split('\n')[0]}`)] : []),
    `import { defineConfig } from 'sbuild';`,
    `import { experiment, mmdetRunner, resultsTable, ledger } from 'sbuild/rules';`,
    ``,
    `const runner = mmdetRunner({ python: ${JSON.stringify(python)}, checkpoint: '{final}.pth'${metricsArgs ? '' : ', metricsArgs: false'} });`,
    `const workDir = { full: 'work_dirs/{name}', smoke: 'work_dirs/smoke/{name}' };`,
    `const configs: Record<string, string> = {`,
    ...experiments.map((e) => `  ${/^[A-Za-z_$][\w$]*$/.test(e.name) ? e.name : JSON.stringify(e.name)}: ${JSON.stringify(e.config)},`),
    `};`,
    `const experiments = Object.entries(configs).map(([name, config]) => experiment({ name, config, runner, workDir }));`,
    ``,
    `export default defineConfig({`,
    `  default: 'tables',`,
    `  targets: [`,
    `    ...experiments.flatMap((e) => e.targets),`,
    `    resultsTable({ experiments }),`,
    `    ledger({ experiments }),`,
    `    { name: 'tables', deps: ['results/table', 'results/ledger'], description: 'the results table and the ledger' },`,
    `  ],`,
    `});`,
    ``,
  ];
  return { text: lines.join('\n'), experiments, skipped, configDirs: dirs };
}

/** A config that trains something: it has a model (a base of only runtime settings does not). */
function isExperiment(c: MmConfig): boolean {
  return typeof c.values.model === 'object' && c.values.model !== null;
}
