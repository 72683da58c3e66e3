#!/usr/bin/env node
// Simultaneous invocations in one workspace: each round starts K `sbuild -j2 all` processes
// that are released by a shared barrier within about a millisecond of each other (see
// lib/barrier.mjs), on a chain of T targets whose commands append their name to runs.log and
// whose outputs grow along the chain. Every round changes the chain's input (so all of it
// must run, exactly once); every --fresh-every'th round also starts from an empty .sbuild/
// and no sbuild.lock (so the config is compiled by all K at once too). After each round:
//   double runs   targets that ran more than once in the round (two writers at once)
//   missing runs  targets that did not run at all
//   wrong outputs a file that differs from what one clean build writes
//   exit≠0        an invocation that failed (a waiter must wait, then find everything fresh)
//   not 0 ran     the next plain run still had something to do
//
//   node bench/stress-concurrent.mjs [--rounds 100] [--procs 4] [--targets 8] [-j 2]
//        [--fresh-every 5] [--dir DIR] [--keep] [--json FILE] [--sbuild-repo DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { printHeaderAndExit } from './lib/util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    rounds: { type: 'string', default: '100' },
    procs: { type: 'string', default: '4' },
    targets: { type: 'string', default: '8' },
    jobs: { type: 'string', short: 'j', default: '2' },
    'fresh-every': { type: 'string', default: '5' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    'sbuild-repo': { type: 'string', default: path.resolve(HERE, '..') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) printHeaderAndExit(import.meta.url);

const ROUNDS = Number(a.rounds);
const PROCS = Number(a.procs);
const T = Number(a.targets);
const FRESH_EVERY = Number(a['fresh-every']);
const REPO = path.resolve(a['sbuild-repo']);
const CLI = path.join(REPO, 'bin', 'sbuild.js');
const BARRIER = path.join(HERE, 'lib', 'barrier.mjs');

const top = a.dir ? path.resolve(a.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-stress-'));
const ws = path.join(top, 'ws');
fs.mkdirSync(path.join(ws, 'node_modules'), { recursive: true });
fs.rmSync(path.join(ws, 'node_modules', 'sbuild'), { force: true });
fs.symlinkSync(REPO, path.join(ws, 'node_modules', 'sbuild'), 'dir');

// t0 copies the input; t_i copies t_{i-1} and appends its own name. A target run twice at
// once (or a half-run one taken for done) leaves a duplicated or missing line.
const names = Array.from({ length: T }, (_, i) => `t${i}`);
const targets = names.map((n, i) => {
  const src = i === 0 ? 'in.txt' : `o/t${i - 1}`;
  const run = `echo ${n} >> runs.log; mkdir -p o; cat ${src} > o/${n}.tmp; sleep 0.01; echo ${n} >> o/${n}.tmp; mv o/${n}.tmp o/${n}`;
  return `    { name: '${n}', inputs: ['${src}'], outputs: ['o/${n}'], run: ${JSON.stringify(run)} },`;
});
fs.writeFileSync(path.join(ws, 'tasks.config.ts'), `import { defineConfig } from 'sbuild';
export default defineConfig({
  default: 'all',
  targets: [
${targets.join('\n')}
    { name: 'all', deps: ['t${T - 1}'] },
  ],
});
`);

const expected = (input) => {
  const out = {};
  let text = input;
  for (const n of names) out[n] = text += `${n}\n`;
  return out;
};

function startOne(barrier) {
  const child = spawn(process.execPath, ['--import', BARRIER, CLI, '-j', a.jobs, 'all'], {
    cwd: ws,
    env: { ...process.env, CI: '1', SBUILD_BARRIER: barrier },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const totals = { rounds: 0, doubleRuns: 0, roundsWithDoubleRuns: 0, missingRuns: 0, wrongOutputs: 0, failedInvocations: 0, notZeroRan: 0, maxSpreadMs: 0 };
const problems = [];
const spreads = [];
const t0 = performance.now();

for (let r = 1; r <= ROUNDS; r++) {
  if (FRESH_EVERY > 0 && (r === 1 || r % FRESH_EVERY === 0)) {
    for (const f of ['.sbuild', 'sbuild.lock', 'o']) fs.rmSync(path.join(ws, f), { recursive: true, force: true });
  }
  fs.rmSync(path.join(ws, 'runs.log'), { force: true });
  const input = `round ${r} ${Math.random().toString(36).slice(2)}\n`;
  fs.writeFileSync(path.join(ws, 'in.txt'), input);
  // The input must look older than the stat cache's racy-clean slack, like an edited file.
  const past = new Date(Date.now() - 10_000);
  fs.utimesSync(path.join(ws, 'in.txt'), past, past);
  const barrier = path.join(top, `barrier-${r}`);
  fs.rmSync(barrier, { recursive: true, force: true });
  fs.mkdirSync(barrier);
  const runs = Array.from({ length: PROCS }, () => startOne(barrier));
  while (fs.readdirSync(barrier).filter((f) => f.startsWith('ready-')).length < PROCS) await sleep(2);
  fs.writeFileSync(path.join(barrier, 'go'), '');
  const results = await Promise.all(runs);
  const released = fs.readdirSync(barrier).filter((f) => f.startsWith('released-')).map((f) => Number(fs.readFileSync(path.join(barrier, f), 'utf8')));
  const spread = released.length ? Math.max(...released) - Math.min(...released) : NaN;
  totals.maxSpreadMs = Math.max(totals.maxSpreadMs, spread);
  spreads.push(spread);
  fs.rmSync(barrier, { recursive: true, force: true });

  const log = fs.existsSync(path.join(ws, 'runs.log')) ? fs.readFileSync(path.join(ws, 'runs.log'), 'utf8').split('\n').filter(Boolean) : [];
  const count = Object.fromEntries(names.map((n) => [n, 0]));
  for (const l of log) count[l] = (count[l] ?? 0) + 1;
  const doubles = names.filter((n) => count[n] > 1);
  const missing = names.filter((n) => count[n] === 0);
  const want = expected(input);
  const wrong = names.filter((n) => {
    try {
      return fs.readFileSync(path.join(ws, 'o', n), 'utf8') !== want[n];
    } catch {
      return true;
    }
  });
  const failed = results.filter((x) => x.code !== 0);
  fs.rmSync(path.join(ws, 'runs.log'), { force: true });
  const next = spawnSync(process.execPath, [CLI, 'all'], { cwd: ws, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  const nextRan = fs.existsSync(path.join(ws, 'runs.log'));
  const notZero = next.status !== 0 || !/\b0 ran\b/.test(next.stdout) || nextRan;

  totals.rounds++;
  totals.doubleRuns += doubles.reduce((s, n) => s + count[n] - 1, 0);
  if (doubles.length) totals.roundsWithDoubleRuns++;
  totals.missingRuns += missing.length;
  if (wrong.length) totals.wrongOutputs++;
  totals.failedInvocations += failed.length;
  if (notZero) totals.notZeroRan++;
  if (doubles.length || missing.length || wrong.length || failed.length || notZero) {
    const p = { round: r, doubles, missing, wrong, failed: failed.map((x) => ({ code: x.code, stderr: x.stderr.trim().slice(-400) })), next: notZero ? (next.stdout + next.stderr).trim().slice(-300) : undefined };
    problems.push(p);
    console.log(`round ${r}: ${JSON.stringify(p)}`);
  }
  if (r % 10 === 0 || r === ROUNDS) process.stderr.write(`… ${r}/${ROUNDS} rounds, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

const secs = (performance.now() - t0) / 1000;
const median = [...spreads].sort((x, y) => x - y)[spreads.length >> 1] ?? NaN;
totals.medianSpreadMs = median;
console.log(`rounds: ${totals.rounds} of ${PROCS} simultaneous invocations (${T}-target chain, -j ${a.jobs}; released within ${median.toFixed(1)} ms of each other (median round), ${totals.maxSpreadMs.toFixed(1)} ms at most)`);
console.log(`double runs: ${totals.doubleRuns} (in ${totals.roundsWithDoubleRuns} round(s))`);
console.log(`missing runs: ${totals.missingRuns}`);
console.log(`wrong outputs: ${totals.wrongOutputs} round(s)`);
console.log(`failed invocations: ${totals.failedInvocations}`);
console.log(`next run not "0 ran": ${totals.notZeroRan} round(s)`);
console.log(`time: ${secs.toFixed(1)} s (${(secs / totals.rounds).toFixed(2)} s a round)`);
if (a.json) fs.writeFileSync(a.json, JSON.stringify({ procs: PROCS, targets: T, jobs: Number(a.jobs), ...totals, seconds: secs, problems }, null, 2));
if (!a.keep && !a.dir) fs.rmSync(top, { recursive: true, force: true });
const bad = totals.doubleRuns + totals.missingRuns + totals.wrongOutputs + totals.failedInvocations + totals.notZeroRan;
process.exit(bad ? 1 : 0);
