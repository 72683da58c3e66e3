// The config corpus run: evaluates every MMEngine config of a real repository the way
// `experiment()` does (rules/mmconfig.ts: one Python process per batch, cached under
// `<repo>/.sbuild/mmconfig/`), cold and cached, and reports what loads, the time per config,
// and every config that does not load with its reason.
//
//   node bench/configs.mjs PATH [--python python3] [--mmengine auto|off|require] [--compare] [--json]
//
// PATH is a checkout (its `configs/` folder is read) or a folder of configs. Example, with
// MMDetection's tree: node bench/configs.mjs /tmp/mmdetection
// --compare also evaluates every config with mmengine (`require`: it must import in that
// interpreter) and with the built-in rules (`off`), and counts the configs whose merged values
// or errors differ: the check that the built-in rules are MMEngine's.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
if (args.length === 0 || args.includes('--help')) {
  process.stdout.write('usage: node bench/configs.mjs PATH [--python python3] [--mmengine auto|off|require] [--compare] [--json]\n');
  process.exit(args.length === 0 ? 2 : 0);
}
const target = path.resolve(args[0]);
const python = flag('--python', process.env.SBUILD_PYTHON || 'python3');
const mmengine = flag('--mmengine', 'auto');
const dist = path.join(here, '..', 'dist', 'rules', 'mmconfig.js');
if (!fs.existsSync(dist)) {
  process.stderr.write(`sbuild is not built (${dist} is missing): run \`npm run build\` first\n`);
  process.exit(2);
}
const { readMmConfigs } = await import(dist);
const { mmconfigCacheDir } = await import(path.join(here, '..', 'dist', 'src', 'engine', 'state-paths.js'));

const root = fs.existsSync(path.join(target, 'configs')) ? target : path.dirname(target);
const configsDir = fs.existsSync(path.join(target, 'configs')) ? path.join(target, 'configs') : target;
const files = [];
const walk = (dir) => {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) walk(p);
    else if (d.name.endsWith('.py') && d.name !== '__init__.py') files.push(path.relative(root, p));
  }
};
walk(configsDir);
files.sort();

fs.rmSync(mmconfigCacheDir(root), { recursive: true, force: true });
const t0 = performance.now();
const cold = readMmConfigs(files, { root, python, mmengine });
const coldMs = performance.now() - t0;
const t1 = performance.now();
const cached = readMmConfigs(files, { root, python, mmengine });
const cachedMs = performance.now() - t1;

const ok = cold.filter((r) => !(r instanceof Error));
const failed = cold.map((r, i) => [files[i], r]).filter(([, r]) => r instanceof Error);
const same = cold.every((r, i) => (r instanceof Error) === (cached[i] instanceof Error) && (r instanceof Error || r.digest === cached[i].digest));
const byReason = new Map();
for (const [, e] of failed) {
  const kind = /^(\w+Error)/.exec(e.message)?.[1] ?? 'Error';
  byReason.set(kind, (byReason.get(kind) ?? 0) + 1);
}
let comparison;
if (args.includes('--compare')) {
  const t2 = performance.now();
  const real = readMmConfigs(files, { root, python, mmengine: 'require' });
  const realMs = performance.now() - t2;
  const builtin = readMmConfigs(files, { root, python, mmengine: 'off' });
  const key = (r) => (r instanceof Error ? `error ${r.message.split(':')[0]} at ${r.location ?? ''}` : `ok ${r.digest}`);
  const differ = files.filter((_, i) => key(real[i]) !== key(builtin[i]));
  comparison = {
    mmengine: real.find((r) => !(r instanceof Error))?.evaluator ?? 'mmengine did not load',
    mmengineSeconds: +(realMs / 1000).toFixed(2),
    differ: differ.length,
    examples: differ.slice(0, 10).map((f) => ({ config: f, mmengine: key(real[files.indexOf(f)]), builtin: key(builtin[files.indexOf(f)]) })),
  };
}
const version = spawnSync(python, ['--version'], { encoding: 'utf8' });
const summary = {
  path: target,
  configs: files.length,
  loaded: ok.length,
  failed: failed.length,
  evaluator: ok[0]?.evaluator ?? 'n/a',
  python: `${python} (${(version.stdout || version.stderr).trim()})`,
  coldSeconds: +(coldMs / 1000).toFixed(2),
  coldMsPerConfig: +(coldMs / files.length).toFixed(2),
  cachedSeconds: +(cachedMs / 1000).toFixed(3),
  cachedMsPerConfig: +(cachedMs / files.length).toFixed(3),
  cachedEqualsCold: same,
  failuresByType: Object.fromEntries(byReason),
  failures: failed.map(([f, e]) => ({ config: f, at: e.location ?? null, error: e.message.split('\n')[0] })),
  ...(comparison ? { comparison } : {}),
};
if (args.includes('--json')) {
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
} else {
  process.stdout.write(
    [
      `${summary.configs} configs under ${path.relative(process.cwd(), configsDir) || configsDir}, evaluated by ${summary.evaluator} in ${summary.python}`,
      `loaded: ${summary.loaded}, failed: ${summary.failed}${byReason.size ? ` (${[...byReason].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`,
      `cold:   ${summary.coldSeconds} s (${summary.coldMsPerConfig} ms per config, one Python process)`,
      `cached: ${summary.cachedSeconds} s (${summary.cachedMsPerConfig} ms per config, no Python start); same results: ${same}`,
      ...summary.failures.map((f) => `  ${f.at ?? f.config}: ${f.error}`),
      ...(comparison
        ? [`compared with ${comparison.mmengine} (${comparison.mmengineSeconds} s cold): ${comparison.differ} config(s) differ`, ...comparison.examples.map((x) => `  ${x.config}: mmengine ${x.mmengine}, built-in ${x.builtin}`)]
        : []),
      '',
    ].join('\n'),
  );
}
