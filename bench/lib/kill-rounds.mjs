// Rounds of `kill -9` of a whole sbuild process group at a random moment, then a rerun, in
// one workspace. Shared by bench/stress-kill.mjs (the long run) and
// test/integration/orphans.test.ts (a few rounds).
//
// The workspace: three slow shell targets a, b, c (each writes its output in steps and reads
// its input last) and d, which copies a's and b's outputs into a folder, slowly; -j 2. Each
// job logs "start NAME PID" and "end NAME PID" to runs.log. A round:
//   1. edit the inputs of a random non-empty subset of a, b, c;
//   2. start `sbuild` in its own process group; kill -9 the group at a random moment (a
//      quarter of the rounds within 0.4 s of the start, the rest within 1.2 s of the first
//      job's start); in half the rounds sbuild's watchdog is killed -9 first, so the next
//      build has to find and stop the jobs itself. A build that finished before its moment
//      is followed by another (steps 1 and 2 again, at most three builds a round);
//   3. in half the rounds edit an input again;
//   4. rerun `sbuild --json`: it must succeed and every output must equal what a clean build
//      of the current inputs writes (else "wrong bytes"; a target it called fresh with wrong
//      bytes is a "wrong fresh");
//   5. a third run must run nothing (a "0 ran" with wrong bytes is a wrong fresh too);
//   6. no process of the killed round may be alive: neither the recorded pids, nor any member
//      of their process groups, nor any process whose environment names this workspace.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const NAMES = ['a', 'b', 'c'];

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const job = (n) =>
  `echo "start ${n} $$" >> runs.log; echo begin > o/${n}.txt; for i in 1 2 3 4 5 6 7 8; do sleep 0.1; echo step$i >> o/${n}.txt; done; ` +
  `cat in/${n}.txt >> o/${n}.txt; echo end >> o/${n}.txt; echo "end ${n} $$" >> runs.log`;
const joinJob =
  'echo "start d $$" >> runs.log; mkdir -p o/d; cat o/a.txt > o/d/x.txt; sleep 0.2; cat o/b.txt > o/d/y.txt; echo "end d $$" >> runs.log';

/** Writes the workspace's config (the caller links node_modules/sbuild). */
export function writeWorkspace(dir) {
  const targets = [
    ...NAMES.map((n) => `{ name: '${n}', inputs: ['in/${n}.txt'], outputs: ['o/${n}.txt'], run: ['sh', '-c', ${JSON.stringify(job(n))}] },`),
    `{ name: 'd', inputs: ['o/a.txt', 'o/b.txt'], outputs: ['o/d'], run: ${JSON.stringify(joinJob)} },`,
    `{ name: 'all', deps: ['c', 'd'] },`,
  ];
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  fs.writeFileSync(path.join(dir, 'tasks.config.ts'), `import { defineConfig } from 'sbuild';\nexport default defineConfig({ default: 'all', targets: [\n  ${targets.join('\n  ')}\n] });\n`);
  fs.mkdirSync(path.join(dir, 'in'), { recursive: true });
  for (const n of NAMES) fs.writeFileSync(path.join(dir, 'in', `${n}.txt`), `${n} initial\n`);
}

/** What a clean build of the current inputs writes, by output file. */
function expected(dir) {
  const out = {};
  for (const n of NAMES) out[`o/${n}.txt`] = `begin\n${[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `step${i}\n`).join('')}${fs.readFileSync(path.join(dir, 'in', `${n}.txt`), 'utf8')}end\n`;
  out['o/d/x.txt'] = out['o/a.txt'];
  out['o/d/y.txt'] = out['o/b.txt'];
  return out;
}

/** Output files whose bytes differ from a clean build's, by target name. */
function wrongTargets(dir) {
  const bad = new Set();
  for (const [rel, want] of Object.entries(expected(dir))) {
    let got;
    try {
      got = fs.readFileSync(path.join(dir, rel), 'utf8');
    } catch {
      got = undefined;
    }
    if (got !== want) bad.add(rel.startsWith('o/d/') ? 'd' : rel.slice(2, 3));
  }
  return bad;
}

function stat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0], pgid: Number(f[2]) };
  } catch {
    return undefined;
  }
}

function procs() {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map((n) => stat(Number(n))).filter(Boolean);
}

const running = (p) => p && p.state !== 'Z' && p.state !== 'X';

/** Processes of the workspace still running: the given pids, their groups' members, anything with SBUILD_ROOT=dir. */
export function survivors(dir, pids) {
  if (process.platform !== 'linux') {
    return pids.filter((p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    });
  }
  const mark = Buffer.from(`SBUILD_ROOT=${dir}\0`);
  const out = new Set();
  const groups = new Set(pids);
  for (const p of procs()) {
    if (!running(p)) continue;
    if (groups.has(p.pid) || groups.has(p.pgid)) out.add(p.pid);
    try {
      const env = fs.readFileSync(`/proc/${p.pid}/environ`);
      if (env.indexOf(mark) === 0 || env.indexOf(Buffer.concat([Buffer.from('\0'), mark])) > 0) out.add(p.pid);
    } catch {
      /* not ours */
    }
  }
  return [...out];
}

function watchdogs(dir) {
  if (process.platform !== 'linux') return [];
  const out = [];
  for (const p of procs()) {
    if (!running(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes('sbuild-watchdog') && argv.includes(dir)) out.push(p.pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

function runsLog(dir) {
  try {
    return fs.readFileSync(path.join(dir, 'runs.log'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
  } catch {
    return [];
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `rounds` rounds in `dir` (a workspace with node_modules/sbuild linked) with the CLI at
 * `cli`. Returns the counts and a line per problem found.
 */
export async function killRounds({ dir, cli, rounds, seed = Date.now() % 1e9, log = () => {} }) {
  const rnd = mulberry32(seed);
  const env = { ...process.env, CI: '1' };
  const sbuild = (args) => spawnSync(process.execPath, [cli, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  writeWorkspace(dir);
  const first = sbuild([]);
  const stats = { seed, rounds, kills: 0, finishedFirst: 0, killsWithJobsRunning: 0, jobsAliveAtKill: 0, watchdogKilled: 0, stoppedByNextBuild: 0, wrongBytes: 0, wrongFresh: 0, unsettled: 0, rerunFailed: 0, survivors: 0, problems: [] };
  if (first.status !== 0 || wrongTargets(dir).size) {
    stats.problems.push(`the first (clean) build failed or wrote other bytes: ${first.stdout}${first.stderr}`);
    return stats;
  }
  fs.rmSync(path.join(dir, 'runs.log'), { force: true });
  for (let r = 1; r <= rounds; r++) {
    const edit = () => {
      const pick = NAMES.filter(() => rnd() < 0.5);
      for (const n of pick.length ? pick : [NAMES[Math.floor(rnd() * 3)]]) fs.writeFileSync(path.join(dir, 'in', `${n}.txt`), `${n} round ${r} ${Math.floor(rnd() * 1e6)}\n`);
    };
    // A build that finishes before its kill moment is followed by another (new edits, a new
    // moment), up to three, so that nearly every round kills one.
    let child;
    let exited = false;
    let killedLive = false;
    let killWatchdog = false;
    let dogKilled = false;
    let killAt = 0;
    let t0 = 0;
    for (let attempt = 0; attempt < 3 && !killedLive; attempt++) {
      fs.rmSync(path.join(dir, 'runs.log'), { force: true }); // an earlier attempt's build finished cleanly
      edit();
      // sbuild in its own process group, as `setsid sbuild` in a shell.
      child = spawn(process.execPath, [cli, '-j', '2'], { cwd: dir, env, stdio: 'ignore', detached: true });
      exited = false;
      child.on('exit', () => (exited = true));
      const early = rnd() < 0.25;
      t0 = Date.now();
      if (!early) {
        while (!exited && !runsLog(dir).some((l) => l[0] === 'start') && Date.now() - t0 < 10_000) await sleep(5);
      }
      const delay = rnd() * (early ? 400 : 1200);
      const t1 = Date.now();
      while (!exited && Date.now() - t1 < delay) await sleep(Math.min(5, delay));
      killWatchdog = rnd() < 0.5;
      killAt = Date.now() - t0;
      if (!exited) {
        const dogs = killWatchdog ? watchdogs(dir) : [];
        dogKilled = dogs.length > 0;
        if (dogKilled) stats.watchdogKilled++;
        if (killWatchdog) {
          for (const w of dogs) {
            try {
              process.kill(w, 'SIGKILL');
            } catch {
              /* it had just exited */
            }
          }
        }
        try {
          process.kill(-child.pid, 'SIGKILL');
          killedLive = true;
        } catch {
          /* it had just finished */
        }
      }
      if (!killedLive) {
        stats.finishedFirst++;
        await new Promise((res) => (exited ? res() : child.on('exit', res)));
      }
    }
    const lines = runsLog(dir);
    const started = lines.filter((l) => l[0] === 'start');
    const alive = started.filter((s) => !lines.some((l) => l[0] === 'end' && l[2] === s[2]));
    if (killedLive) {
      stats.kills++;
      stats.jobsAliveAtKill += alive.length;
      if (alive.length) stats.killsWithJobsRunning++;
    }
    const pids = started.map((s) => Number(s[2]));
    await new Promise((res) => (exited ? res() : child.on('exit', res)));
    if (rnd() < 0.5) edit();
    const rerun = sbuild(['--json']);
    const tag = `round ${r} (seed ${seed}, kill ${killedLive ? `${killAt} ms after the start` : 'too late: the build had finished'}, ${alive.length} job(s) running, watchdog ${dogKilled ? 'killed' : 'left alone'})`;
    if (rerun.status !== 0) {
      stats.rerunFailed++;
      stats.problems.push(`${tag}: the rerun failed (exit ${rerun.status}): ${rerun.stdout.slice(-2000)}${rerun.stderr.slice(-2000)}`);
    }
    if (/stopped \d+ process\(es\) left running by a killed sbuild/.test(rerun.stdout)) stats.stoppedByNextBuild++;
    const events = rerun.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const calledFresh = new Set(events.filter((e) => e.type === 'skipped').map((e) => e.name));
    const bad = wrongTargets(dir);
    if (bad.size) {
      stats.wrongBytes++;
      stats.problems.push(`${tag}: wrong bytes after the rerun in ${[...bad].join(', ')}`);
    }
    const third = sbuild([]);
    const noneRan = /sbuild: 0 ran/.test(third.stdout);
    if ([...bad].some((t) => calledFresh.has(t)) || (bad.size && noneRan)) {
      stats.wrongFresh++;
      stats.problems.push(`${tag}: a target with wrong bytes was called fresh`);
    }
    if (!noneRan) {
      stats.unsettled++;
      stats.problems.push(`${tag}: the third run still ran something: ${third.stdout.trim()}`);
    }
    const left = survivors(dir, pids);
    if (left.length) {
      stats.survivors += left.length;
      const what = left.map((p) => {
        try {
          return `${p} [${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 80)}] ${fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ').slice(0, 4).join(' ')}`;
        } catch {
          return String(p);
        }
      });
      stats.problems.push(`${tag}: process(es) of the killed build still run after the rerun: ${what.join('; ')}`);
      for (const p of left) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    fs.rmSync(path.join(dir, 'runs.log'), { force: true });
    log(`${tag}: ${bad.size ? 'WRONG BYTES' : 'ok'}${left.length ? ', SURVIVORS' : ''}`);
  }
  return stats;
}
