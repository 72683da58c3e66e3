#!/usr/bin/env node
// The least a one-shot Node process must do to answer "is anything stale?" on the generated
// N-experiment workspace (default N=1000), measured beside Ninja and sbuild in one hyperfine run.
// A correct answer for a config that is code needs at least:
//   1. Node's own start                                (`node -e 0`)
//   2. the config evaluated                            (import of the compiled config, without
//                                                       loading sbuild's API module)
//   3. the config described, to compare with last time (JSON of its targets, SHA-256)
//   4. one stat of every path the last build recorded  (the no-op snapshot's 8,006 at N=1000)
// and an edit, besides running its jobs, at least records their results: sbuild.lock (4.7 MB at
// N=1000, committed, so current after every build) read and written again (to a copy here).
// Each step is a bare script here, with no sbuild code in between: their sum is a floor for any
// design that starts a process per command, evaluates the config and stats the files.
// The one-config edit's floor is that floor, plus the time Ninja's edit spends beyond its no-op
// (the 8 jobs themselves, which any tool runs), plus the lock's rewrite.
//
//   node bench/floor.mjs [--n 1000] [--runs 20] [--reps 5] [--dir DIR] [--keep] [--sbuild-repo DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { configText, expName, writeBuildFile, writeSources } from './lib/generate.mjs';
import { checkTools, fmtS, hyperfine, machine, median, printHeaderAndExit, runTimed, snapshotPackage } from './lib/util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '20' },
    reps: { type: 'string', default: '5' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'sbuild-repo': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) printHeaderAndExit(import.meta.url);
const N = Number(a.n);
const RUNS = Number(a.runs);
const REPS = Number(a.reps);
const SRC_REPO = path.resolve(a['sbuild-repo'] ?? path.join(HERE, '..'));
const problems = checkTools(['sbuild', 'ninja'], path.join(SRC_REPO, 'bin', 'sbuild.js'));
if (problems.length) {
  process.stderr.write(`floor: missing prerequisites:\n  - ${problems.join('\n  - ')}\n`);
  process.exit(2);
}
const note = (s) => process.stderr.write(`[floor] ${s}\n`);

const base = a.dir ? path.resolve(a.dir) : fs.mkdtempSync(path.join(os.tmpdir(), `sbuild-floor-n${N}-`));
fs.mkdirSync(base, { recursive: true });
const logs = path.join(base, 'logs');
const REPO = snapshotPackage(SRC_REPO, path.join(base, 'sbuild-pkg'));
const ws = { sbuild: path.join(base, 'sbuild'), ninja: path.join(base, 'ninja') };
const argvOf = {
  sbuild: [process.execPath, path.join(REPO, 'bin', 'sbuild.js'), 'release', '-j', '2', '--quiet'],
  ninja: ['ninja', '-j', '2', 'release'],
};
for (const t of ['sbuild', 'ninja']) {
  fs.rmSync(ws[t], { recursive: true, force: true });
  writeSources(ws[t], N);
  writeBuildFile(ws[t], N, t, REPO);
}

async function build(t, label) {
  const r = await runTimed(argvOf[t], { cwd: ws[t], logFile: path.join(logs, `${t}-${label}.log`) });
  if (r.code !== 0) throw new Error(`${t} ${label} failed (exit ${r.code}); see ${r.logFile}`);
  return r.wall;
}

note(`N=${N} (${7 * N + 4} targets) under ${base}: cold builds`);
await build('ninja', 'cold');
await build('sbuild', 'cold');
// Settling runs: the first re-hashes racily-clean stat entries left by the cold build.
for (let i = 0; i < 2; i++) await build('sbuild', `settle-${i}`);

// What the floor scripts read: the compiled config and the paths the last build recorded.
const configDir = path.join(ws.sbuild, '.sbuild', 'config');
const bundle = fs.readdirSync(configDir).find((f) => /^bundle-.*\.mjs$/.test(f));
const snapshot = JSON.parse(fs.readFileSync(path.join(ws.sbuild, '.sbuild', 'noop.json'), 'utf8'));
const paths = Object.keys(snapshot.files);
if (!bundle || paths.length === 0) throw new Error(`sbuild left no config bundle or no no-op snapshot in ${ws.sbuild}/.sbuild`);
const listFile = path.join(base, 'paths.txt');
fs.writeFileSync(listFile, paths.join('\n'));
const script = (name, body) => {
  const file = path.join(base, name);
  fs.writeFileSync(file, body);
  return file;
};
// The config as sbuild compiled it imports sbuild's API (defineConfig and the rest); a copy with
// defineConfig written inline measures the evaluation alone, without loading that module.
const bundleText = fs.readFileSync(path.join(configDir, bundle), 'utf8');
const bare = bundleText.replace(/^import \{ defineConfig \} from "sbuild";$/m, 'const defineConfig = (c) => c;');
if (bare === bundleText) throw new Error(`the compiled config no longer starts with sbuild's defineConfig import; update ${path.basename(fileURLToPath(import.meta.url))}`);
const bareBundle = path.join(base, 'config-bare.mjs');
fs.writeFileSync(bareBundle, bare);
const importConfig = `const { default: config } = await import(${JSON.stringify(bareBundle)});\n`;
const importWithApi = `await import(${JSON.stringify(path.join(configDir, bundle))});\n`;
const describe = `import { createHash } from 'node:crypto';\ncreateHash('sha256').update(JSON.stringify(config)).digest('hex');\n`;
const stats = `import fs from 'node:fs';\nfor (const p of fs.readFileSync(${JSON.stringify(listFile)}, 'utf8').split('\\n')) fs.statSync(p, { throwIfNoEntry: false });\n`;
const lockCopy = path.join(base, 'lock-copy');
const lock = `import fs from 'node:fs';\nconst text = fs.readFileSync('sbuild.lock', 'utf8');\nfs.writeFileSync(${JSON.stringify(lockCopy + '.tmp')}, text);\nfs.renameSync(${JSON.stringify(lockCopy + '.tmp')}, ${JSON.stringify(lockCopy)});\n`;
const floorScripts = {
  'stats only': script('stats.mjs', stats),
  'config with sbuild\'s API module': script('config-api.mjs', importWithApi),
  'config only (defineConfig inline)': script('config.mjs', importConfig),
  'config + described': script('described.mjs', importConfig + describe),
  'floor: config + described + stats': script('floor.mjs', importConfig + describe + stats),
  'sbuild.lock read and rewritten': script('lock.mjs', lock),
};

note(`no-op: hyperfine, ${RUNS} runs each (${paths.length} recorded paths)`);
const cmds = [
  { name: 'node -e 0', cmd: `${process.execPath} -e 0` },
  ...Object.entries(floorScripts).map(([name, file]) => ({ name, cmd: `${process.execPath} ${file}` })),
  { name: 'ninja no-op', cmd: `ninja -C ${ws.ninja} -j 2 release` },
  { name: 'sbuild no-op', cmd: argvOf.sbuild.join(' ') },
];
const hf = hyperfine(cmds, { cwd: ws.sbuild, warmup: 3, runs: RUNS, jsonFile: path.join(logs, 'noop.json'), logFile: path.join(logs, 'noop.log') });
const med = Object.fromEntries(hf.map((r) => [r.command, r.median]));

note(`one config edited, ${REPS} reps alternating`);
const edits = { ninja: [], sbuild: [] };
const k = Math.floor(N / 2);
for (let rep = 0; rep < REPS; rep++) {
  for (const t of ['ninja', 'sbuild']) {
    fs.writeFileSync(path.join(ws[t], 'configs', `${expName(k)}.py`), configText(k, rep + 1));
    edits[t].push(await build(t, `edit-${rep}`));
  }
}
const edit = { ninja: median(edits.ninja), sbuild: median(edits.sbuild) };

const node0 = med['node -e 0'];
const own = (name) => med[name] - node0;
const ninjaNoop = med['ninja no-op'];
const floorName = 'floor: config + described + stats';
const jobs = Math.max(0, edit.ninja - ninjaNoop);
const lockName = 'sbuild.lock read and rewritten';
const editFloor = med[floorName] + jobs + own(lockName);
const md = [];
md.push(`### The one-shot floor, N = ${N} (${paths.length} recorded paths)`, '');
const m = machine();
md.push(`${m.cpu}, ${m.cores} cores, Node ${m.node}; hyperfine medians over ${RUNS} runs; edits: medians of ${REPS} alternating runs.`, '');
md.push('| command | wall (median) | above `node -e 0` | ÷ Ninja\'s no-op |', '|---|---:|---:|---:|');
for (const r of hf) {
  const above = r.command === 'node -e 0' || r.command === 'ninja no-op' ? '' : fmtS(own(r.command));
  const ratio = above && r.command !== lockName ? `${(own(r.command) / ninjaNoop).toFixed(2)}×` : r.command === 'ninja no-op' ? '1.00×' : '';
  md.push(`| ${r.command} | ${fmtS(r.median)} | ${above} | ${ratio} |`);
}
md.push('');
md.push(`- No-op goal (sbuild's work above \`node -e 0\` ≤ Ninja's no-op, ${fmtS(ninjaNoop)}): the floor's own work is **${fmtS(own(floorName))}** (${(own(floorName) / ninjaNoop).toFixed(2)}×); sbuild's is ${fmtS(own('sbuild no-op'))} (${(own('sbuild no-op') / ninjaNoop).toFixed(2)}×).`);
md.push(`- Edit goal (≤ 2× Ninja's edit, ${fmtS(edit.ninja)}: **${fmtS(2 * edit.ninja)}**): the floor is the no-op floor (${fmtS(med[floorName])}) plus what Ninja's edit spends beyond its no-op (${fmtS(jobs)}), plus the lock's rewrite (${fmtS(own(lockName))}): **${fmtS(editFloor)}** (${(editFloor / edit.ninja).toFixed(2)}×); sbuild's edit took ${fmtS(edit.sbuild)} (${(edit.sbuild / edit.ninja).toFixed(2)}×).`);
process.stdout.write(md.join('\n') + '\n');
if (!a.keep && !a.dir) fs.rmSync(base, { recursive: true, force: true });
