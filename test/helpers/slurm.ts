// A real single-node Slurm cluster (Debian's slurm-wlm + munge) on the loopback interface,
// for the Slurm executor's tests: its own munged, slurmctld and slurmd, all state in a temp
// dir, free ports, no systemd. GPUs are GRES entries backed by links to /dev/null, so
// `--gres=gpu:N` allocates distinct ids and sets CUDA_VISIBLE_DEVICES in the job.
import fs from 'node:fs';
import { before, after } from 'node:test';
import net from 'node:net';
import dns from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface SlurmCluster {
  /** The temp dir holding slurm.conf, gres.conf, state, spool, pid and log files. */
  dir: string;
  /** Path of slurm.conf. */
  conf: string;
  /** Environment for sbatch / squeue / sbuild: process.env without SLURM_* / SBATCH_* etc., plus SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  /** Number of GRES GPUs on the node. */
  gpus: number;
  stop(): Promise<void>;
}

const SEARCH = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin'];

function which(name: string): string | undefined {
  for (const d of SEARCH) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'slurmstepd'] as const;
const CLIENTS = ['sbatch', 'sinfo', 'squeue', 'scancel'] as const;

/** undefined when the Slurm and munge binaries are installed; otherwise why the tests skip. */
export function slurmAvailable(): string | undefined {
  if (process.platform !== 'linux') return 'Slurm tests need Linux';
  const missing = [...DAEMONS, ...CLIENTS].filter((b) => !which(b));
  if (missing.length) return `Slurm is not installed (missing ${missing.join(', ')}; apt-get install -y slurm-wlm munge)`;
  return undefined;
}

async function freePort(avoid: number[] = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!avoid.includes(port)) return port;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(none)';
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Signals a daemon's whole process group (it was started detached, so pgid = pid). */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      /* gone */
    }
  }
}

async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (!alive(child)) {
    signal(child, 'SIGKILL'); // helpers it forked (slurmctld's slurmscriptd) share its group
    return;
  }
  const exited = new Promise((r) => child.once('exit', r));
  signal(child, 'SIGTERM');
  const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  signal(child, 'SIGKILL');
}

/**
 * slurmstepd (one per job step) detaches from slurmd into its own session, so killing slurmd
 * leaves it and the job's processes running. Ours are found by an open file under `dir` (the
 * slurmd log); their whole session is killed.
 */
function killStepds(dir: string): void {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  const sessions = new Set<number>();
  const sessionOf = (pid: string): number | undefined => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    } catch {
      return undefined;
    }
  };
  for (const pid of pids) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('slurmstepd')) continue;
      const ours = fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir + path.sep);
        } catch {
          return false;
        }
      });
      const sid = ours ? sessionOf(pid) : undefined;
      if (sid) sessions.add(sid);
    } catch {
      /* exited meanwhile */
    }
  }
  if (!sessions.size) return;
  for (const pid of pids) {
    const sid = sessionOf(pid);
    if (sid !== undefined && sessions.has(sid) && Number(pid) !== process.pid) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** The address this host's short name resolves to, if it is a loopback one. */
async function loopbackAddrOf(host: string): Promise<string | undefined> {
  try {
    const { address } = await dns.lookup(host, { family: 4 });
    return address.startsWith('127.') ? address : undefined;
  } catch {
    return undefined;
  }
}

function cleanEnv(conf: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SACCT)_/.test(k)) env[k] = v;
  }
  env.SLURM_CONF = conf;
  return env;
}

export async function startSlurm(opts: { gpus?: number; cpus?: number } = {}): Promise<SlurmCluster> {
  const why = slurmAvailable();
  if (why) throw new Error(why);
  const bin = Object.fromEntries([...DAEMONS, ...CLIENTS].map((b) => [b, which(b)!])) as Record<(typeof DAEMONS)[number] | (typeof CLIENTS)[number], string>;
  const gpus = opts.gpus ?? 2;
  const cpus = opts.cpus ?? os.availableParallelism();

  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-slurm-')));
  fs.chmodSync(dir, 0o755);
  const p = (rel: string) => path.join(dir, rel);
  for (const d of ['munge', 'state', 'spool', 'dev']) fs.mkdirSync(p(d), { mode: 0o755 });
  fs.chmodSync(p('munge'), 0o755); // munged refuses a socket dir writable by others; clients need to reach it
  const key = randomBytes(1024); // munged wants its own key, owned by us, not readable by others
  fs.writeFileSync(p('munge.key'), key, { mode: 0o400 });
  const socket = p('munge/munge.socket');

  const uid = process.getuid?.() ?? 0;
  const user = uid === 0 ? 'root' : os.userInfo().username;
  const host = os.hostname().split('.')[0]!;
  // With the hostname on a loopback address, the daemons bind that address only (the
  // CommunicationParameters below); otherwise they listen on any address but are only
  // ever contacted on 127.0.0.1.
  const hostAddr = await loopbackAddrOf(host);
  const addr = hostAddr ?? '127.0.0.1';
  const ctldPort = await freePort();
  const slurmdPort = await freePort([ctldPort]);

  const gresLines: string[] = ['AutoDetect=off'];
  for (let i = 0; i < gpus; i++) {
    // A count needs device files or the node is invalid, and gres.conf refuses the same file
    // twice, so each GPU is its own link to /dev/null (a character device, as slurmd checks).
    fs.symlinkSync('/dev/null', p(`dev/nvidia${i}`));
    gresLines.push(`Name=gpu File=${p(`dev/nvidia${i}`)}`);
  }
  fs.writeFileSync(p('gres.conf'), gresLines.join('\n') + '\n');
  fs.writeFileSync(p('plugstack.conf'), '');
  const conf = p('slurm.conf');
  fs.writeFileSync(
    conf,
    [
      `ClusterName=sbuild${ctldPort}`,
      `SlurmctldHost=${host}(${addr})`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      ...(hostAddr ? ['CommunicationParameters=NoCtldInAddrAny,NoInAddrAny'] : []),
      `SlurmUser=${user}`,
      `SlurmdUser=${user}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${p('state')}`,
      `SlurmdSpoolDir=${p('spool')}`,
      `SlurmctldPidFile=${p('slurmctld.pid')}`,
      `SlurmdPidFile=${p('slurmd.pid')}`,
      `SlurmctldLogFile=${p('slurmctld.log')}`,
      `SlurmdLogFile=${p('slurmd.log')}`,
      'SlurmctldDebug=info',
      'SlurmdDebug=info',
      `PlugStackConfig=${p('plugstack.conf')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'SchedulerType=sched/backfill',
      // Schedule a submitted batch job at once, not on the default 3 s batch_sched_delay grid.
      'SchedulerParameters=batch_sched_delay=0',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      // Trust the node line (CPUs may exceed the hardware's) instead of draining the node.
      'SlurmdParameters=config_overrides',
      'MailProg=/bin/true',
      // Finished jobs leave slurmctld after 4 s; `sbatch --wait` polls with a step that grows
      // towards MinJobAge/2, so the default 300 makes it return many seconds late.
      'MinJobAge=4',
      'ReturnToService=2',
      'KillWait=5',
      'GresTypes=gpu',
      `NodeName=${host} NodeAddr=${addr} CPUs=${cpus} RealMemory=1000${gpus > 0 ? ` Gres=gpu:${gpus}` : ''} State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = cleanEnv(conf);

  const children: { name: string; child: ChildProcess }[] = [];
  const launch = (name: string, file: string, args: string[]): ChildProcess => {
    const out = fs.openSync(p(`${name}.out`), 'a');
    const child = spawn(file, args, { env, detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.on('error', () => {}); // surfaces as an early exit below
    if (child.pid) fs.appendFileSync(p('daemons.pids'), `${child.pid}\n`);
    children.push({ name, child });
    return child;
  };

  // If this process exits without stop(), nothing of ours keeps running: an 'exit' handler,
  // and for deaths that skip it (a signal, SIGKILL) a detached watchdog that polls our pid.
  fs.writeFileSync(
    p('watchdog.cjs'),
    `'use strict';
const fs = require('node:fs'), path = require('node:path');
const parent = Number(process.argv[2]), dir = process.argv[3];
const killStepds = ${killStepds.toString()};
setInterval(() => {
  try { process.kill(parent, 0); return; } catch {}
  let groups = [];
  try { groups = fs.readFileSync(path.join(dir, 'daemons.pids'), 'utf8').split('\\n').filter(Boolean).map(Number); } catch {}
  for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch {} }
  killStepds(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}, 500);
`,
  );
  const watchdog = spawn(process.execPath, [p('watchdog.cjs'), String(process.pid), dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  const onExit = () => {
    watchdog.kill('SIGKILL');
    for (const { child } of children) signal(child, 'SIGKILL');
    killStepds(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      watchdog.kill('SIGKILL');
      const ctld = children.find((c) => c.name === 'slurmctld')?.child;
      if (ctld && alive(ctld)) {
        // Cancel every job first: slurmstepd outlives slurmd, so jobs must end before it does.
        spawnSync(bin.scancel, ['--partition=debug'], { env, stdio: 'ignore', timeout: 10_000 });
        for (let i = 0; i < 50; i++) {
          const q = spawnSync(bin.squeue, ['-h'], { env, encoding: 'utf8', timeout: 10_000 });
          if (q.status !== 0 || !q.stdout.trim()) break;
          await sleep(100);
        }
      }
      for (const name of ['slurmd', 'slurmctld', 'munged']) {
        const c = children.find((x) => x.name === name);
        if (c) await terminate(c.child, 5_000);
      }
      killStepds(dir);
      process.off('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    })());

  const failure = async (what: string): Promise<never> => {
    const logs = ['munged.out', 'slurmctld.out', 'slurmctld.log', 'slurmd.out', 'slurmd.log']
      .map((f) => `--- ${f} ---\n${tail(p(f))}`)
      .join('\n');
    const confText = fs.readFileSync(conf, 'utf8');
    await stop();
    throw new Error(`${what}\n--- slurm.conf ---\n${confText}${logs}`);
  };

  // munged -F stays in the foreground (so its pid is ours) and logs to stderr.
  const munged = launch('munged', bin.munged, [
    '-F',
    ...(uid === 0 ? ['--force'] : []),
    `--socket=${socket}`,
    `--key-file=${p('munge.key')}`,
    `--pid-file=${p('munge/munged.pid')}`,
    `--log-file=${p('munged.log')}`,
    `--seed-file=${p('munge/munged.seed')}`,
  ]);
  for (let i = 0; !fs.existsSync(socket); i++) {
    if (!alive(munged) || i > 100) await failure('munged did not start');
    await sleep(50);
  }

  // -c: clear saved state; -D: foreground, so the pid we hold is the daemon's.
  const ctld = launch('slurmctld', bin.slurmctld, ['-D', '-c', '-f', conf]);
  const slurmd = launch('slurmd', bin.slurmd, ['-D', '-f', conf]);

  const deadline = Date.now() + 30_000;
  let state = '';
  for (;;) {
    for (const [name, c] of [['munged', munged], ['slurmctld', ctld], ['slurmd', slurmd]] as const) {
      if (!alive(c)) await failure(`${name} exited (code ${c.exitCode}, signal ${c.signalCode}) before the node became idle`);
    }
    const r = spawnSync(bin.sinfo, ['-h', '-o', '%T'], { env, encoding: 'utf8', timeout: 10_000 });
    state = r.status === 0 ? r.stdout.trim() : `sinfo failed: ${(r.stderr ?? '').trim()}`;
    if (state === 'idle') break;
    if (Date.now() > deadline) await failure(`the Slurm node did not become idle within 30 s (last: ${state})`);
    await sleep(100);
  }

  return { dir, conf, env, gpus, stop };
}

/**
 * One cluster for a test file: started before its tests when Slurm is installed, stopped
 * after them. Returns why the tests skip (undefined: they run) and the cluster.
 */
export function useSlurmCluster(opts: { gpus?: number; cpus?: number } = {}): { skip: string | undefined; cluster: () => SlurmCluster } {
  const skip = slurmAvailable();
  let cluster: SlurmCluster | undefined;
  before(async () => {
    if (!skip) cluster = await startSlurm(opts);
  });
  after(async () => {
    await cluster?.stop();
  });
  return { skip, cluster: () => cluster! };
}
