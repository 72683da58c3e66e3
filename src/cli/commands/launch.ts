// `sbuild launch`: starts a distributed (torch.distributed) job on this node. A job of
// `resources: { gpu: N }` gets N device ids in CUDA_VISIBLE_DEVICES; this starts its N
// processes, each with the environment torch.distributed's `env://` init reads (MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE), rank i using device
// CUDA_VISIBLE_DEVICES[LOCAL_RANK] as torchrun's ranks do. MASTER_PORT is a port free on
// this machine when the job starts, picked afresh per job, so two distributed jobs at once
// never meet on a default port ("Address already in use").
//
//   sbuild launch [--nproc N] -- python train.py CFG --launcher pytorch
//   sbuild launch --torchrun [--nproc N] -- train.py CFG --launcher pytorch
//   sbuild launch --port-only -- bash tools/dist_train.sh CFG 2
//
// `--torchrun` hands the processes to torchrun (with the same port); `--port-only` runs the
// command once with MASTER_PORT and PORT set (MMDetection's dist_train.sh reads PORT). If a
// rank fails, the others are stopped and the launch exits with that rank's status.
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { SbuildError } from '../../errors.js';

const USAGE = 'sbuild launch [--nproc N] [--torchrun | --port-only] [--port P] -- COMMAND [ARGS…]';

interface LaunchOptions {
  nproc: number;
  mode: 'ranks' | 'torchrun' | 'port-only';
  port: number | undefined;
  command: string[];
}

function usage(msg: string): never {
  throw new SbuildError('usage', `${msg} Usage: ${USAGE}`);
}

export function parseLaunch(argv: string[], env: NodeJS.ProcessEnv): LaunchOptions {
  const sep = argv.indexOf('--');
  if (sep < 0 || sep === argv.length - 1) usage('`sbuild launch` needs the command to start after `--`.');
  const flags = argv.slice(0, sep);
  let nproc: number | undefined;
  let port: number | undefined;
  let mode: LaunchOptions['mode'] = 'ranks';
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    const value = () => {
      const v = flags[++i];
      if (v === undefined) usage(`${f} needs a value.`);
      return v!;
    };
    if (f === '--nproc') {
      nproc = Number(value());
      if (!Number.isInteger(nproc) || nproc < 1) usage(`--nproc takes a whole number ≥ 1 (processes to start), got '${flags[i]}'.`);
    } else if (f === '--port') {
      port = Number(value());
      if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`--port takes a TCP port (1–65535), got '${flags[i]}'.`);
    } else if (f === '--torchrun' || f === '--port-only') {
      if (mode !== 'ranks') usage('--torchrun and --port-only cannot be combined.');
      mode = f === '--torchrun' ? 'torchrun' : 'port-only';
    } else usage(`unknown flag '${f}' before \`--\`.`);
  }
  // One process per device id the job was given; a job without GPUs (CPU fallback) runs one.
  const ids = (env.CUDA_VISIBLE_DEVICES ?? '').split(',').filter((x) => x.trim() !== '');
  return { nproc: nproc ?? Math.max(1, ids.length), mode, port, command: argv.slice(sep + 1) };
}

/** A TCP port nothing listens on now (the kernel's pick for port 0 on the loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1 : 1;
  return 128 + n;
}

export async function launch(argv: string[], err: (s: string) => void): Promise<number> {
  const o = parseLaunch(argv, process.env);
  const port = o.port ?? (await freePort());
  const base = { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
  let runs: Array<{ argv: string[]; env: NodeJS.ProcessEnv }>;
  if (o.mode === 'port-only') runs = [{ argv: o.command, env: { ...base, PORT: String(port) } }];
  else if (o.mode === 'torchrun') {
    runs = [{ argv: ['torchrun', `--nproc_per_node=${o.nproc}`, '--nnodes=1', '--master_addr=127.0.0.1', `--master_port=${port}`, ...o.command], env: base }];
  } else {
    runs = Array.from({ length: o.nproc }, (_, rank) => ({
      argv: o.command,
      env: { ...base, WORLD_SIZE: String(o.nproc), RANK: String(rank), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(o.nproc), GROUP_RANK: '0' },
    }));
  }
  err(`sbuild launch: ${o.mode === 'ranks' ? `${o.nproc} process(es)` : o.mode}, MASTER_PORT=${port}, CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? ''}`);
  const children: ChildProcess[] = [];
  let first: number | undefined;
  const stopAll = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stopAll(sig));
  const ended = runs.map(
    (r) =>
      new Promise<number>((resolve) => {
        const c = spawn(r.argv[0]!, r.argv.slice(1), { env: r.env, stdio: ['ignore', 'inherit', 'inherit'] });
        children.push(c);
        c.on('error', (e) => {
          err(`sbuild launch: could not start '${r.argv[0]}': ${e.message}`);
          resolve(127);
        });
        c.on('exit', (code, signal) => resolve(exitStatus(code, signal)));
      }).then((status) => {
        // The first rank to fail ends the job: the others would wait for it forever.
        if (status !== 0 && first === undefined) {
          first = status;
          stopAll('SIGTERM');
        }
        return status;
      }),
  );
  await Promise.all(ended);
  return first ?? 0;
}
