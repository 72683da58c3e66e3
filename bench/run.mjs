#!/usr/bin/env node
// sbuild vs GNU Make, Ninja and Snakemake on one generated graph of N experiments
// (7N+4 targets, 6N+3 actions; see lib/generate.mjs). In one run, for every tool:
//   cold   build from scratch (-j J), median of --cold-reps
//   no-op  nothing changed: hyperfine --warmup, median (plus bare `node -e 0` for reference)
//   edit   one experiment's config changes content: exactly its chain (6) + table + bundle rerun
//   touch  every config's mtime changes, content does not: a content-hashed tool reruns nothing
// Each action appends its name to actions.log, so the number of actions run is counted, and
// every tool's outputs are compared byte for byte after each phase.
//
//   node bench/run.mjs --n 100 --tools sbuild,make,ninja,snakemake [-j 2] [--reps 3]
//        [--cold-reps R] [--touch-reps R] [--noop-runs 10] [--timeout 1800] [--dir DIR]
//        [--keep] [--json FILE] [--md FILE] [--sbuild-repo DIR] [--live]
// sbuild is measured from a snapshot of the repository's built package (bin/, dist/ but its
// tests, package.json, node_modules) copied into the bench folder, so a rebuild of dist/ or an
// npm install during a long run cannot change the program under test halfway; --live uses
// the repository in place (node_modules/sbuild then links to the repository itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TOOLS, actions, allOutputs, configText, expName, skeletonDirs, writeBuildFile, writeSources } from './lib/generate.mjs';
import { checkTools, snapshotPackage, digests, fmtRatio, fmtS, hyperfine, machine, median, printHeaderAndExit, readLines, runTimed, toolVersion } from './lib/util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '100' },
    tools: { type: 'string', default: TOOLS.join(',') },
    jobs: { type: 'string', short: 'j', default: '2' },
    reps: { type: 'string', default: '3' },
    'cold-reps': { type: 'string' },
    'touch-reps': { type: 'string' },
    'noop-runs': { type: 'string', default: '10' },
    timeout: { type: 'string', default: '1800' },
    phases: { type: 'string', default: 'cold,noop,edit,touch' },
    dir: { type: 'string' },
    'sbuild-repo': { type: 'string' },
    live: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    md: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) printHeaderAndExit(import.meta.url);

const N = Number(a.n);
const J = Number(a.jobs);
const REPS = Number(a.reps);
const COLD_REPS = Number(a['cold-reps'] ?? (N > 300 ? 1 : REPS));
const TOUCH_REPS = Number(a['touch-reps'] ?? (N > 300 ? 1 : REPS));
const NOOP_RUNS = Number(a['noop-runs']);
const TIMEOUT = Number(a.timeout);
const PHASES = new Set(a.phases.split(','));
const tools = a.tools.split(',').map((s) => s.trim()).filter(Boolean);
for (const t of tools) if (!TOOLS.includes(t)) fail(`unknown tool '${t}'; choose from ${TOOLS.join(', ')}`);
if (!Number.isInteger(N) || N < 1) fail('--n takes a whole number ≥ 1');

const SRC_REPO = path.resolve(a['sbuild-repo'] ?? path.join(HERE, '..'));
const problems = checkTools(tools, path.join(SRC_REPO, 'bin', 'sbuild.js'));
if (problems.length) fail(`missing prerequisites:\n  - ${problems.join('\n  - ')}\n(the benchmark does not install anything itself)`);

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
const note = (s) => process.stderr.write(`[bench] ${s}\n`);

const base = a.dir ? path.resolve(a.dir) : fs.mkdtempSync(path.join(os.tmpdir(), `sbuild-bench-n${N}-`));
fs.mkdirSync(base, { recursive: true });
const logs = path.join(base, 'logs');
const ws = Object.fromEntries(tools.map((t) => [t, path.join(base, t)]));
const REPO = tools.includes('sbuild') && !a.live ? snapshotPackage(SRC_REPO, path.join(base, 'sbuild-pkg')) : SRC_REPO;
const SBUILD_BIN = path.join(REPO, 'bin', 'sbuild.js');
const sbuildVersion = tools.includes('sbuild') ? describeRepo(SRC_REPO) : undefined;

const argvOf = {
  sbuild: [process.execPath, SBUILD_BIN, 'release', '-j', String(J), '--quiet'],
  make: ['make', '-j', String(J), 'release'],
  ninja: ['ninja', '-j', String(J), 'release'],
  snakemake: ['snakemake', '-j', String(J), 'release'],
};
const stateOf = {
  sbuild: ['sbuild.lock', '.sbuild'],
  make: [],
  ninja: ['.ninja_log', '.ninja_deps'],
  snakemake: ['.snakemake'],
};

note(`N=${N}: ${7 * N + 4} targets, ${6 * N + 3} actions; tools ${tools.join(', ')}; -j ${J}; workspaces under ${base}`);
for (const t of tools) {
  fs.rmSync(ws[t], { recursive: true, force: true });
  writeSources(ws[t], N);
  writeBuildFile(ws[t], N, t, REPO);
}

const OUTPUTS = allOutputs(N);
const MID = expName(Math.floor(N / 2));
const EDIT_EXPECTED = [...actions(N).filter((x) => x.exp === MID).map((x) => x.name), 'table', 'bundle'].sort();
const results = Object.fromEntries(tools.map((t) => [t, { cold: [], coldCpu: [], edit: [], editActions: [], touch: [], touchActions: [], noop: undefined, dead: undefined }]));
const issues = [];
let nodeStartup;

function clean(t) {
  for (const d of ['data', 'work_dirs', 'vis', 'results', 'release', 'actions.log', ...stateOf[t]]) fs.rmSync(path.join(ws[t], d), { recursive: true, force: true });
  for (const d of skeletonDirs(N)) fs.mkdirSync(path.join(ws[t], d), { recursive: true });
}

/** Runs the tool's build once; returns timing and the actions it ran (sorted). */
async function build(t, label) {
  const logFile = path.join(ws[t], 'actions.log');
  fs.rmSync(logFile, { force: true });
  const r = await runTimed(argvOf[t], { cwd: ws[t], logFile: path.join(logs, `${t}-${label}.log`), timeoutS: TIMEOUT });
  const ran = readLines(logFile).sort();
  if (r.timedOut) {
    results[t].dead = `${label}: timed out after ${TIMEOUT} s`;
    issues.push(`${t} ${label}: timed out after ${TIMEOUT} s (later phases skipped for ${t})`);
  } else if (r.code !== 0) {
    results[t].dead = `${label}: exit ${r.code}`;
    issues.push(`${t} ${label}: exit code ${r.code ?? r.signal}; log ${r.logFile} (later phases skipped for ${t})`);
  }
  return { ...r, ran };
}

/** Every live tool's outputs must equal the first live tool's. */
function compareOutputs(phase) {
  const live = tools.filter((t) => !results[t].dead);
  if (live.length < 2) return;
  const ref = digests(ws[live[0]], OUTPUTS);
  for (const t of live.slice(1)) {
    const d = digests(ws[t], OUTPUTS);
    const diff = OUTPUTS.filter((o) => d[o] !== ref[o]);
    if (diff.length) issues.push(`after ${phase}: ${t}'s outputs differ from ${live[0]}'s in ${diff.length} file(s), e.g. ${diff.slice(0, 3).join(', ')}`);
  }
}

const live = () => tools.filter((t) => !results[t].dead);

// Cold builds start from nothing (no outputs, no tool state); the last one leaves a built tree.
{
  // Without the cold phase, one unreported cold build still prepares the tree.
  for (let rep = 0; rep < (PHASES.has('cold') ? COLD_REPS : 1); rep++) {
    for (const t of live()) {
      clean(t);
      const r = await build(t, `cold-${rep}`);
      if (r.timedOut || r.code !== 0) continue;
      if (PHASES.has('cold')) {
        results[t].cold.push(r.wall);
        results[t].coldCpu.push(r.cpu);
      }
      if (r.ran.length !== 6 * N + 3) issues.push(`${t} cold: ran ${r.ran.length} actions, expected ${6 * N + 3}`);
      note(`cold   ${t.padEnd(9)} ${fmtS(r.wall)} (cpu ${fmtS(r.cpu)}, ${r.ran.length} actions)`);
    }
    compareOutputs(`cold build ${rep}`);
  }
}

if (PHASES.has('noop')) {
  for (const t of live()) {
    // One timed run first: it must run no action, and it sizes the hyperfine run count.
    const probe = await build(t, 'noop-probe');
    if (probe.timedOut || probe.code !== 0) continue;
    if (probe.ran.length) issues.push(`${t} no-op: ran ${probe.ran.length} action(s) with nothing changed: ${probe.ran.slice(0, 5).join(', ')}`);
    const runs = Math.max(3, Math.min(NOOP_RUNS, Math.round(20 / Math.max(probe.wall, 0.01))));
    const warmup = probe.wall > 2 ? 1 : 3;
    const cmds = [{ name: t, cmd: argvOf[t].join(' ') }];
    if (t === 'sbuild') cmds.push({ name: 'node -e 0', cmd: `${process.execPath} -e 0` });
    const hf = hyperfine(cmds, { cwd: ws[t], warmup, runs, jsonFile: path.join(logs, `${t}-noop.json`), logFile: path.join(logs, `${t}-noop.log`) });
    const mine = hf.find((x) => x.command === t);
    results[t].noop = { median: mine.median, min: mine.min, mean: mine.mean, stddev: mine.stddev, runs, user: mine.user, system: mine.system };
    const nodeRes = hf.find((x) => x.command === 'node -e 0');
    if (nodeRes) nodeStartup = { median: nodeRes.median, min: nodeRes.min };
    const after = readLines(path.join(ws[t], 'actions.log'));
    if (after.length) issues.push(`${t} no-op (hyperfine): ${after.length} action(s) ran during the no-op timings`);
    note(`no-op  ${t.padEnd(9)} median ${fmtS(mine.median)} over ${runs} runs${nodeRes ? `; node -e 0 ${fmtS(nodeRes.median)}` : ''}`);
  }
  if (!nodeStartup) {
    const hf = hyperfine([{ name: 'node -e 0', cmd: `${process.execPath} -e 0` }], { cwd: base, warmup: 3, runs: NOOP_RUNS, jsonFile: path.join(logs, 'node-noop.json'), logFile: path.join(logs, 'node-noop.log') });
    nodeStartup = { median: hf[0].median, min: hf[0].min };
  }
}

if (PHASES.has('edit')) {
  const cfg = `configs/${MID}.py`;
  const k = Math.floor(N / 2);
  for (let rep = 0; rep < REPS; rep++) {
    for (const t of live()) {
      fs.writeFileSync(path.join(ws[t], cfg), configText(k, rep + 1));
      const r = await build(t, `edit-${rep}`);
      if (r.timedOut || r.code !== 0) continue;
      results[t].edit.push(r.wall);
      results[t].editActions.push(r.ran.length);
      const extra = r.ran.filter((x) => !EDIT_EXPECTED.includes(x));
      const missed = EDIT_EXPECTED.filter((x) => !r.ran.includes(x));
      if (extra.length || missed.length) {
        issues.push(`${t} edit ${rep}: ran ${r.ran.length} actions; unexpected: [${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}], missed: [${missed.join(', ')}]`);
      }
      note(`edit   ${t.padEnd(9)} ${fmtS(r.wall)} (${r.ran.length} actions)`);
    }
    compareOutputs(`edit ${rep}`);
  }
}

if (PHASES.has('touch')) {
  for (let rep = 0; rep < TOUCH_REPS; rep++) {
    for (const t of live()) {
      const now = new Date();
      for (let k = 0; k < N; k++) fs.utimesSync(path.join(ws[t], `configs/${expName(k)}.py`), now, now);
      const r = await build(t, `touch-${rep}`);
      if (r.timedOut || r.code !== 0) continue;
      results[t].touch.push(r.wall);
      results[t].touchActions.push(r.ran.length);
      if (t === 'sbuild' && r.ran.length) issues.push(`sbuild touch ${rep}: ran ${r.ran.length} action(s), expected 0: ${r.ran.slice(0, 5).join(', ')}`);
      note(`touch  ${t.padEnd(9)} ${fmtS(r.wall)} (${r.ran.length} actions)`);
    }
    compareOutputs(`touch ${rep}`);
  }
}

/** Commit of the sbuild under test, and whether src/ or dist/ differ from it. */
function describeRepo(repo) {
  const git = (...args) => spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
  const newest = (dir) => {
    let t = 0;
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else t = Math.max(t, fs.statSync(f).mtimeMs);
      }
    };
    try { walk(dir); } catch { /* absent */ }
    return t;
  };
  if (newest(path.join(repo, 'src')) > newest(path.join(repo, 'dist', 'src'))) {
    note(`warning: ${repo}/src is newer than dist/: the measured build may be stale (run npx tsc -p tsconfig.json)`);
  }
  return `${head}${dirty ? ` + ${dirty} uncommitted src file(s)` : ''}`;
}

// ---- report ----------------------------------------------------------------------------
const m = machine();
const med = (t, k) => median(results[t][k]);
const peer = tools.includes('ninja') && !results.ninja.dead ? 'ninja' : tools.includes('make') ? 'make' : undefined;
const acts = (xs) => (xs.length ? (new Set(xs).size === 1 ? String(xs[0]) : xs.join('/')) : '—');
const md = [];
md.push(`### N = ${N} (${7 * N + 4} targets, ${6 * N + 3} actions), -j ${J}`);
md.push('');
md.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memGb} GiB, ${m.kernel}; Node ${m.node}. ` +
  `Tools: ${tools.map((t) => (t === 'sbuild' ? `sbuild ${sbuildVersion}` : t === 'ninja' ? `Ninja ${toolVersion(t)}` : t === 'snakemake' ? `Snakemake ${toolVersion(t)}` : toolVersion(t) ?? t)).join(', ')}; ${toolVersion('hyperfine')}. ` +
  `Medians: cold ×${COLD_REPS}, edit ×${REPS}, touch ×${TOUCH_REPS}; no-op via hyperfine (runs shown).`);
md.push('');
md.push('| tool | cold build | no-op (hyperfine median) | one-config edit | actions (edit) | touch all configs | actions (touch) |');
md.push('|---|---:|---:|---:|---:|---:|---:|');
for (const t of tools) {
  const r = results[t];
  const noop = r.noop ? `${fmtS(r.noop.median)} (${r.noop.runs} runs)` : '—';
  md.push(`| ${t} | ${fmtS(med(t, 'cold'))} | ${noop} | ${fmtS(med(t, 'edit'))} | ${acts(r.editActions)} | ${fmtS(med(t, 'touch'))} | ${acts(r.touchActions)} |`);
}
if (nodeStartup) md.push(`| \`node -e 0\` | | ${fmtS(nodeStartup.median)} | | | | |`);
md.push('');
if (peer) {
  md.push(`Ratios to ${peer} in the same run (lower is better for the tool):`);
  md.push('');
  md.push(`| tool | cold | no-op | edit | touch |`);
  md.push('|---|---:|---:|---:|---:|');
  for (const t of tools) {
    if (t === peer) continue;
    md.push(`| ${t} / ${peer} | ${fmtRatio(med(t, 'cold'), med(peer, 'cold'))} | ${fmtRatio(results[t].noop?.median, results[peer].noop?.median)} | ${fmtRatio(med(t, 'edit'), med(peer, 'edit'))} | ${fmtRatio(med(t, 'touch'), med(peer, 'touch'))} |`);
  }
  md.push('');
}
if (tools.includes('sbuild')) {
  const s = results.sbuild;
  const lines = [];
  if (s.noop && nodeStartup) lines.push(`sbuild no-op ${fmtS(s.noop.median)} = Node startup ${fmtS(nodeStartup.median)} + ${fmtS(s.noop.median - nodeStartup.median)} of sbuild's own work (CPU user+sys per run: ${fmtS(s.noop.user + s.noop.system)}).`);
  if (s.noop) lines.push(`Goal no-op < 0.3 s: ${s.noop.median < 0.3 ? 'met' : 'NOT met'} (${fmtS(s.noop.median)}).`);
  if (med('sbuild', 'edit') !== undefined && tools.includes('ninja') && med('ninja', 'edit') !== undefined) {
    const r = med('sbuild', 'edit') / med('ninja', 'edit');
    lines.push(`Goal edit ≤ 2× Ninja: ${r <= 2 ? 'met' : 'NOT met'} (${r.toFixed(2)}×).`);
  }
  if (s.touchActions.length) lines.push(`Goal touch-only reruns 0 actions: ${s.touchActions.every((x) => x === 0) ? 'met' : 'NOT met'} (${acts(s.touchActions)}).`);
  md.push(...lines.map((l) => `- ${l}`));
  md.push('');
}
md.push(issues.length ? `Problems seen:\n${issues.map((i) => `- ${i}`).join('\n')}` : 'Correctness: every tool ran exactly the expected actions, and all outputs agreed byte for byte after every phase.');
md.push('');
const text = md.join('\n');
process.stdout.write(text);
if (a.md) fs.writeFileSync(a.md, text);
if (a.json) fs.writeFileSync(a.json, JSON.stringify({ n: N, jobs: J, machine: m, results, nodeStartup, issues }, null, 2));
if (!a.keep && !issues.length) fs.rmSync(base, { recursive: true, force: true });
else note(`kept ${base}${issues.length ? ' (problems were seen: logs are in logs/)' : ''}`);
