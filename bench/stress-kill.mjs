#!/usr/bin/env node
// Crash safety under kill -9: ROUNDS rounds of "start a build, kill -9 its whole process group
// at a random moment (jobs running in most rounds; in half of them sbuild's watchdog is
// killed too), maybe edit an input, rerun" in one workspace (see lib/kill-rounds.mjs). After
// each rerun every output must equal what a clean build writes, a third run must run
// nothing, and no process of the killed build may be left. Linux (it reads /proc).
//
//   node bench/stress-kill.mjs [--rounds 100] [--seed N] [--dir DIR] [--keep] [--json] [--sbuild-repo DIR]
// --sbuild-repo runs another checkout's built sbuild (an older commit, to see the harness fail).
// Exit code 1 when any round went wrong.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { killRounds } from './lib/kill-rounds.mjs';

const { values: a } = parseArgs({
  options: {
    rounds: { type: 'string', default: '100' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'sbuild-repo': { type: 'string' },
  },
});
const REPO = a['sbuild-repo'] ? path.resolve(a['sbuild-repo']) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!fs.existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) {
  console.error('sbuild is not built: run `npm run build` in the repository first');
  process.exit(2);
}
const top = a.dir ? path.resolve(a.dir) : fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-stress-kill-')));
const dir = path.join(top, 'ws');
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(path.join(top, 'node_modules'), { recursive: true });
fs.rmSync(path.join(top, 'node_modules', 'sbuild'), { force: true });
fs.symlinkSync(REPO, path.join(top, 'node_modules', 'sbuild'), 'dir');
fs.mkdirSync(dir);
const t0 = Date.now();
const s = await killRounds({
  dir, cli: path.join(REPO, 'bin', 'sbuild.js'), rounds: Number(a.rounds),
  ...(a.seed !== undefined ? { seed: Number(a.seed) } : {}),
  log: a.json ? () => {} : (line) => console.log(line),
});
if (a.json) console.log(JSON.stringify(s));
else {
  console.log(`\nseed ${s.seed}: ${s.rounds} rounds in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`kills                      ${s.kills} (${s.finishedFirst} build(s) finished before their kill moment and were followed by another)`);
  console.log(`kills with jobs running    ${s.killsWithJobsRunning} (${s.jobsAliveAtKill} jobs alive at the kills)`);
  console.log(`watchdog killed too        ${s.watchdogKilled}; reruns that stopped leftover processes: ${s.stoppedByNextBuild}`);
  console.log(`wrong bytes                ${s.wrongBytes}`);
  console.log(`wrong fresh                ${s.wrongFresh}`);
  console.log(`third run not a no-op      ${s.unsettled}`);
  console.log(`reruns failed              ${s.rerunFailed}`);
  console.log(`processes left running     ${s.survivors}`);
  for (const p of s.problems) console.log(`  ${p}`);
}
if (!a.keep && !a.dir) fs.rmSync(top, { recursive: true, force: true });
process.exitCode = s.problems.length ? 1 : 0;
