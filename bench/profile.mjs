#!/usr/bin/env node
// Profiles sbuild's no-op build on the generated N-experiment workspace (default N=1000):
// builds once, then runs `node --cpu-prof … sbuild release` R times and sums the V8 CPU
// profiles into self time and inclusive time per function (and self time per file).
//
//   node bench/profile.mjs [--n 1000] [--case noop|edit|cold] [--runs 5] [--interval-us 250]
//        [--top 20] [--dir DIR] [--keep] [--sbuild-repo DIR] [--live] [--unbundled]
//
// --unbundled starts the CLI from dist/src (one file per source module) instead of the
// shipped bin/ entry, which may load an esbuild bundle (dist/cli): slower start, but every
// function in the profile is attributed to its own src/ file.
//
// --case cold profiles a cold build (every output and sbuild's state deleted before each run).
// --case edit profiles the one-config-edit build instead (a config's content changes before
// every run, so each run reruns that experiment's chain, the table and the bundle).
//
// Also prints plain wall-clock medians of the no-op with and without profiling, and of
// `node -e 0`, so the profile's share of the total is clear.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { configText, expName, skeletonDirs, writeBuildFile, writeSources } from './lib/generate.mjs';
import { checkTools, fmtS, median, readLines, runTimed, snapshotPackage } from './lib/util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    case: { type: 'string', default: 'noop' },
    runs: { type: 'string', default: '5' },
    'interval-us': { type: 'string', default: '250' },
    top: { type: 'string', default: '20' },
    jobs: { type: 'string', short: 'j', default: '2' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'sbuild-repo': { type: 'string' },
    live: { type: 'boolean', default: false },
    unbundled: { type: 'boolean', default: false },
  },
});
const N = Number(a.n);
const RUNS = Number(a.runs);
const TOP = Number(a.top);
const SRC_REPO = path.resolve(a['sbuild-repo'] ?? path.join(HERE, '..'));
const problems = checkTools(['sbuild'], path.join(SRC_REPO, 'bin', 'sbuild.js')).filter((p) => !p.includes('hyperfine') && !p.startsWith('install'));
if (problems.length) {
  process.stderr.write(`profile: missing prerequisites:\n  - ${problems.join('\n  - ')}\n`);
  process.exit(2);
}
const note = (s) => process.stderr.write(`[profile] ${s}\n`);

const base = a.dir ? path.resolve(a.dir) : fs.mkdtempSync(path.join(os.tmpdir(), `sbuild-profile-n${N}-`));
const ws = path.join(base, 'sbuild');
fs.mkdirSync(base, { recursive: true });
const REPO = a.live ? SRC_REPO : snapshotPackage(SRC_REPO, path.join(base, 'sbuild-pkg'));
let BIN = path.join(REPO, 'bin', 'sbuild.js');
if (a.unbundled) {
  BIN = path.join(base, 'sbuild-unbundled.mjs');
  fs.writeFileSync(BIN, `import { main } from ${JSON.stringify(path.join(REPO, 'dist', 'src', 'cli', 'main.js'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
}
fs.rmSync(ws, { recursive: true, force: true });
writeSources(ws, N);
writeBuildFile(ws, N, 'sbuild', REPO);
const logs = path.join(base, 'logs');
const profDir = path.join(base, 'profiles');
fs.rmSync(profDir, { recursive: true, force: true });

const sb = (extra, label) => runTimed([process.execPath, ...extra, BIN, 'release', '-j', a.jobs, '--quiet'], { cwd: ws, logFile: path.join(logs, `${label}.log`) });
note(`N=${N} (${7 * N + 4} targets) in ${ws}`);
const cold = await sb([], 'cold');
if (cold.code !== 0) throw new Error(`cold build failed; see ${cold.logFile}`);
note(`cold build ${fmtS(cold.wall)}`);
// Two settling runs: the first re-hashes racily-clean stat entries left by the cold build.
for (let i = 0; i < 2; i++) await sb([], `settle-${i}`);

const EDIT = a.case === 'edit';
const COLD = a.case === 'cold';
if (!['noop', 'edit', 'cold'].includes(a.case)) throw new Error('--case is noop, edit or cold');
let rev = 0;
const mid = Math.floor(N / 2);
const prepare = () => {
  fs.rmSync(path.join(ws, 'actions.log'), { force: true });
  if (EDIT) fs.writeFileSync(path.join(ws, 'configs', `${expName(mid)}.py`), configText(mid, ++rev));
  if (COLD) {
    // As the benchmark's cold phase: every output and all of sbuild's state gone.
    for (const f of ['.sbuild', 'sbuild.lock', 'data', 'results', 'release', 'work_dirs', 'vis']) fs.rmSync(path.join(ws, f), { recursive: true, force: true });
    for (const d of skeletonDirs(N)) fs.mkdirSync(path.join(ws, d), { recursive: true });
  }
};
const plain = [];
const nodeOnly = [];
const profiled = [];
for (let i = 0; i < RUNS; i++) {
  prepare();
  plain.push((await sb([], `${a.case}-${i}`)).wall);
  nodeOnly.push((await runTimed([process.execPath, '-e', '0'], { cwd: ws, logFile: path.join(logs, `node-${i}.log`) })).wall);
  prepare();
  profiled.push((await sb(['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${a['interval-us']}`], `prof-${i}`)).wall);
  const ran = readLines(path.join(ws, 'actions.log'));
  const expected = EDIT ? 8 : COLD ? 6 * N + 3 : 0;
  if (ran.length !== expected) note(`warning: the ${a.case} build ran ${ran.length} action(s): ${ran.slice(0, 5).join(', ')}`);
}

// ---- aggregate the profiles -------------------------------------------------------------
const self = new Map();
const incl = new Map();
const byFile = new Map();
let totalUs = 0;
const shortUrl = (url) => {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + 1);
  if (u.startsWith(REPO + '/')) u = u.slice(REPO.length + 1);
  else if (u.startsWith(SRC_REPO + '/')) u = u.slice(SRC_REPO.length + 1);
  else if (u.startsWith(ws + '/')) u = `<workspace>/${u.slice(ws.length + 1)}`;
  return u;
};
const files = fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
for (const f of files) {
  const prof = JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map();
  for (const n of prof.nodes) {
    const cf = n.callFrame;
    const file = shortUrl(cf.url);
    keyOf.set(n.id, { fn: `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`, file: file || cf.functionName });
  }
  const { samples, timeDeltas } = prof;
  for (let i = 0; i < samples.length; i++) {
    const dt = timeDeltas[i + 1] ?? 0; // time until the next sample is spent in this one
    totalUs += dt;
    const k = keyOf.get(samples[i]);
    self.set(k.fn, (self.get(k.fn) ?? 0) + dt);
    byFile.set(k.file, (byFile.get(k.file) ?? 0) + dt);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const fn = keyOf.get(id).fn;
      if (seen.has(fn)) continue;
      seen.add(fn);
      incl.set(fn, (incl.get(fn) ?? 0) + dt);
    }
  }
  void nodes;
}
const per = (us) => `${(us / 1000 / files.length).toFixed(1)} ms`;
const pct = (us) => `${((100 * us) / totalUs).toFixed(1)}%`;
const table = (title, map, filter = () => true) => {
  const rows = [...map].filter(([k]) => filter(k)).sort((x, y) => y[1] - x[1]).slice(0, TOP);
  return [`#### ${title}`, '', '| per run | share | function / file |', '|---:|---:|---|', ...rows.map(([k, v]) => `| ${per(v)} | ${pct(v)} | \`${k}\` |`), ''].join('\n');
};
const out = [
  `### sbuild ${EDIT ? 'one-config-edit' : 'no-op'} profile, N = ${N} (${7 * N + 4} targets), ${files.length} profiled runs${a.unbundled ? ' (unbundled dist/src entry)' : ''}`,
  '',
  `Wall medians over ${RUNS}: ${a.case} ${fmtS(median(plain))}, \`node -e 0\` ${fmtS(median(nodeOnly))}, ${a.case} under --cpu-prof ${fmtS(median(profiled))}. ` +
    `Profiled CPU per run: ${per(totalUs)} (the profile starts after Node's own bootstrap).`,
  '',
  table('Self time by function', self),
  table('Inclusive time by function (sbuild code and its packages)', incl, (k) => !k.startsWith('(') && / (dist\/|node_modules\/|<workspace>)/.test(k)),
  table('Self time by file', byFile),
].join('\n');
process.stdout.write(out + '\n');
if (!a.keep) fs.rmSync(base, { recursive: true, force: true });
else note(`kept ${base} (profiles in ${profDir})`);
