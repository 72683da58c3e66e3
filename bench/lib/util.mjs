// Small helpers shared by run.mjs and profile.mjs: tool checks, timed child processes,
// output digests, statistics and formatting.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** Which external programs each tool needs; `apt` is the Debian package that provides it. */
export const REQUIREMENTS = {
  make: [{ bin: 'make', apt: 'make' }],
  ninja: [{ bin: 'ninja', apt: 'ninja-build' }],
  snakemake: [{ bin: 'snakemake', apt: 'snakemake' }],
  sbuild: [],
  common: [
    { bin: 'hyperfine', apt: 'hyperfine' },
    { bin: 'sha256sum', apt: 'coreutils' },
    { bin: 'tar', apt: 'tar' },
  ],
};

export function which(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Returns a list of human-readable problems (empty when everything is present). */
export function checkTools(tools, sbuildBin) {
  const problems = [];
  const missingApt = new Set();
  for (const req of [...REQUIREMENTS.common, ...tools.flatMap((t) => REQUIREMENTS[t] ?? [])]) {
    if (!which(req.bin)) {
      problems.push(`'${req.bin}' is not installed (Debian package: ${req.apt})`);
      missingApt.add(req.apt);
    }
  }
  if (tools.includes('sbuild')) {
    const dist = path.join(path.dirname(sbuildBin), '..', 'dist', 'src', 'cli', 'main.js');
    if (!fs.existsSync(dist)) problems.push(`sbuild is not built (${dist} is missing): run \`npx tsc -p tsconfig.json\` in the repository first`);
  }
  if (missingApt.size) problems.push(`install with: apt-get update && apt-get install -y ${[...missingApt].join(' ')}`);
  return problems;
}

/**
 * Runs argv in cwd, in its own process group; resolves with wall seconds (hrtime) and,
 * when /usr/bin/time is available, user+sys CPU seconds and max RSS of the whole tree.
 * On timeout the whole group is killed (SIGKILL) and `timedOut` is set.
 */
export function runTimed(argv, { cwd, logFile, timeoutS = 1800, env = process.env }) {
  const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const tfile = logFile + '.time';
  const full = timeBin ? [timeBin, '-f', '%e %U %S %M', '-o', tfile, ...argv] : argv;
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'w');
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      fs.closeSync(fd);
      let cpu;
      let rssMb;
      if (timeBin) {
        try {
          const last = fs.readFileSync(tfile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
          cpu = last[1] + last[2];
          rssMb = last[3] / 1024;
        } catch {
          /* killed before writing */
        }
      }
      resolve({ wall, cpu, rssMb, code, signal, timedOut, logFile });
    });
  });
}

/** Runs hyperfine (no intermediate shell) on commands in cwd; returns its per-command results. */
export function hyperfine(commands, { cwd, warmup, runs, jsonFile, logFile }) {
  const args = ['-N', '--warmup', String(warmup), '--runs', String(runs), '--export-json', jsonFile, '--style', 'basic'];
  for (const c of commands) args.push('-n', c.name, c.cmd);
  const r = spawnSync('hyperfine', args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  fs.writeFileSync(logFile, `$ hyperfine ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  if (r.status !== 0) throw new Error(`hyperfine failed (exit ${r.status}); see ${logFile}\n${r.stderr.slice(-2000)}`);
  return JSON.parse(fs.readFileSync(jsonFile, 'utf8')).results;
}

/** sha256 of every listed file (undefined when absent). */
export function digests(dir, rels) {
  const out = {};
  for (const r of rels) {
    try {
      out[r] = createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex');
    } catch {
      out[r] = undefined;
    }
  }
  return out;
}

export function readLines(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Seconds with about 3 significant digits. */
export function fmtS(s) {
  if (s === undefined || s === null || Number.isNaN(s)) return '—';
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${s.toFixed(3)} s`;
}

export function fmtRatio(a, b) {
  if (a === undefined || b === undefined || !b) return '—';
  const r = a / b;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export function toolVersion(tool) {
  const cmd = { make: ['make', '--version'], ninja: ['ninja', '--version'], snakemake: ['snakemake', '--version'], hyperfine: ['hyperfine', '--version'] }[tool];
  if (!cmd) return undefined;
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : undefined;
}

/**
 * Copies sbuild's built package (bin/, dist/ without tests, package.json, node_modules) to `dest`,
 * so that a rebuild of the repository's dist/ or an `npm install` during a long run cannot
 * change the program under test halfway. Returns `dest`.
 */
export function snapshotPackage(repo, dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(path.join(dest, 'dist'), { recursive: true });
  fs.cpSync(path.join(repo, 'bin'), path.join(dest, 'bin'), { recursive: true });
  // Everything built except the compiled tests (dist/src, and any bundle such as dist/cli).
  for (const e of fs.readdirSync(path.join(repo, 'dist'))) {
    if (e !== 'test') fs.cpSync(path.join(repo, 'dist', e), path.join(dest, 'dist', e), { recursive: true });
  }
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(dest, 'package.json'));
  // Dependencies are copied too (not linked): a package removed from the repository during
  // the run would otherwise break the snapshot's imports.
  fs.cpSync(path.join(repo, 'node_modules'), path.join(dest, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  return dest;
}

/** `--help`: prints the script's opening comment (its usage) and exits. */
export function printHeaderAndExit(moduleUrl) {
  const lines = fs.readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n').slice(1);
  process.stdout.write(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
