// `sbuild launch`: a distributed job's processes started by sbuild itself, each rank with
// torch.distributed's env:// variables and a MASTER_PORT of its own job's. Two 2-process
// gloo jobs on the CPU at once (Debian's python3-torch, under /usr/bin/python3) must both
// complete, on different ports, every rank on its own device id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { useRigs } from '../helpers/rig.js';
import { slurmAvailable, startSlurm } from '../helpers/slurm.js';
import { experiment, mmdetRunner } from '../../rules/index.js';

const rig = useRigs();
const PY = '/usr/bin/python3';
const torch = spawnSync(PY, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()'], { encoding: 'utf8' });
const noTorch = torch.status === 0 ? false : `Debian's python3-torch is not installed for ${PY} (apt-get install python3-torch)`;

const DIST_PY = `import os, sys, json, time, torch, torch.distributed as dist
dist.init_process_group('gloo', init_method='env://')
r, w = dist.get_rank(), dist.get_world_size()
t = torch.tensor([r + 1.0]); dist.all_reduce(t)
start = time.time(); time.sleep(1.5); dist.barrier()
dev = os.environ['CUDA_VISIBLE_DEVICES'].split(',')[int(os.environ['LOCAL_RANK'])]
info = {'rank': r, 'world': w, 'sum': t.item(), 'port': os.environ['MASTER_PORT'], 'device': dev, 'start': start, 'end': time.time()}
objs = [None] * w; dist.all_gather_object(objs, info)
if r == 0: json.dump(objs, open(sys.argv[1], 'w'))
dist.destroy_process_group()
`;

test('two concurrent 2-process gloo jobs both complete, each on its own free port, each rank on its own device id', { skip: noTorch }, () => {
  const r = rig();
  r.write('dist.py', DIST_PY);
  const job = (n: string) => `{ name: '${n}', inputs: ['dist.py'], outputs: ['out/${n}.json'], resources: { gpu: 2 }, run: ['sbuild', 'launch', '--', '${PY}', 'dist.py', 'out/${n}.json'] }`;
  r.config(`{ targets: [${job('a')}, ${job('b')}] }`);
  // A MASTER_PORT in the environment sbuild was started with is what made two jobs collide.
  const res = r.run(['-j', '2', '--gpus', '0,1,2,3', 'a', 'b'], { MASTER_PORT: '29500' });
  assert.equal(res.code, 0, res.stdout + res.stderr + r.read('.sbuild/logs/a.log') + r.read('.sbuild/logs/b.log'));
  const a = JSON.parse(r.read('out/a.json')) as Array<Record<string, number | string>>;
  const b = JSON.parse(r.read('out/b.json')) as Array<Record<string, number | string>>;
  for (const ranks of [a, b]) {
    assert.deepEqual(ranks.map((x) => [x.rank, x.world, x.sum]), [[0, 2, 3], [1, 2, 3]]);
    assert.equal(new Set(ranks.map((x) => x.port)).size, 1);
  }
  assert.notEqual(a[0]!.port, b[0]!.port, 'each job has its own MASTER_PORT');
  assert.ok(a[0]!.port !== '29500' && b[0]!.port !== '29500');
  assert.deepEqual([...a, ...b].map((x) => x.device).sort(), ['0', '1', '2', '3'], 'every rank its own device id');
  // They ran at the same time: each job started before the other ended.
  assert.ok((a[0]!.start as number) < (b[0]!.end as number) && (b[0]!.start as number) < (a[0]!.end as number), 'the two jobs overlapped');
  assert.match(r.read('.sbuild/logs/a.log'), /sbuild launch: 2 process\(es\), MASTER_PORT=\d+, CUDA_VISIBLE_DEVICES=[0-3],[0-3]/);
});

test('a failing rank ends the launch with its status and stops the others', () => {
  const r = rig();
  r.write('rank.sh', 'if [ "$RANK" = 1 ]; then echo "rank 1 of $WORLD_SIZE fails" >&2; exit 3; fi\nexec sleep 60\n');
  const t0 = Date.now();
  const res = r.run(['launch', '--nproc', '2', '--', 'sh', 'rank.sh']);
  assert.equal(res.code, 3, res.stdout + res.stderr);
  assert.match(res.stderr, /rank 1 of 2 fails/);
  assert.ok(Date.now() - t0 < 20_000, 'rank 0 was stopped, not waited for');
});

test('launch: a usage error names the flag, exit 2; --port-only sets PORT and MASTER_PORT for dist_train.sh', () => {
  const r = rig();
  let res = r.run(['launch', '--nproc', 'two', '--', 'true']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--nproc takes a whole number ≥ 1 \(processes to start\), got 'two'\. Usage: sbuild launch/);
  res = r.run(['launch', '--', ]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /`sbuild launch` needs the command to start after `--`/);
  res = r.run(['launch', '--port-only', '--', 'sh', '-c', 'echo "$PORT $MASTER_PORT $MASTER_ADDR"']);
  assert.equal(res.code, 0, res.stderr);
  const [port, master, addr] = res.stdout.trim().split(' ');
  assert.equal(port, master);
  assert.ok(Number(port) > 0);
  assert.equal(addr, '127.0.0.1');
});

test('the MMDetection runner starts a multi-GPU training through sbuild launch (or torchrun, or dist_train.sh)', () => {
  const job = { config: 'c.py', workDir: 'wd', checkpoint: 'wd/e.pth', log: undefined, dataRoot: '', variant: 'full', split: 'train', limit: undefined, args: [], cfgOptions: {}, values: {} };
  assert.deepEqual(mmdetRunner({ python: 'py' }).train({ ...job, gpus: 1 }), ['py', 'tools/train.py', 'c.py', '--work-dir', 'wd']);
  assert.deepEqual(mmdetRunner({ python: 'py' }).train({ ...job, gpus: 2 }), ['sbuild', 'launch', '--', 'py', 'tools/train.py', 'c.py', '--launcher', 'pytorch', '--work-dir', 'wd']);
  assert.deepEqual(mmdetRunner({ python: 'py', launcher: 'torchrun' }).train({ ...job, gpus: 4 }), ['sbuild', 'launch', '--torchrun', '--', 'tools/train.py', 'c.py', '--launcher', 'pytorch', '--work-dir', 'wd']);
  assert.deepEqual(mmdetRunner({ python: 'py', launcher: 'dist_train' }).train({ ...job, gpus: 2 }), ['sbuild', 'launch', '--port-only', '--', 'bash', 'tools/dist_train.sh', 'c.py', '2', '--work-dir', 'wd']);
});

test('on Slurm: --gres=gpu:2 and the same launcher start two ranks, each on its own device id', { skip: slurmAvailable(), timeout: 120_000 }, async () => {
  const cluster = await startSlurm({ gpus: 2 });
  try {
    const r = rig();
    const rank = 'echo "rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE dev=$(echo "$CUDA_VISIBLE_DEVICES" | cut -d, -f$((LOCAL_RANK+1))) port=$MASTER_PORT" >> out/ranks.txt';
    r.config(`{ slurm: { settleSeconds: 5 }, targets: [{ name: 'dist', outputs: ['out/ranks.txt'], resources: { gpu: 2 }, executor: 'slurm', run: ['sbuild', 'launch', '--', 'sh', '-c', ${JSON.stringify(rank)}] }] }`);
    const res = r.run(['dist'], cluster.env);
    assert.equal(res.code, 0, res.stdout + res.stderr + (r.exists('.sbuild/logs/dist.log') ? r.read('.sbuild/logs/dist.log') : ''));
    const lines = r.read('out/ranks.txt').trim().split('\n').sort();
    assert.equal(lines.length, 2);
    const parsed = lines.map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('='))));
    assert.deepEqual(parsed.map((x) => [x.rank, x.local, x.world]), [['0', '0', '2'], ['1', '1', '2']]);
    assert.notEqual(parsed[0]!.dev, parsed[1]!.dev);
    assert.ok(parsed[0]!.dev !== '' && parsed[1]!.dev !== '');
    assert.equal(parsed[0]!.port, parsed[1]!.port);
  } finally {
    await cluster.stop();
  }
});

test('a distributed training (2+ GPUs) does not claim a CPU fallback; a 1-GPU one does', () => {
  const train = (trainGpus: number) => experiment({ name: 'd', config: 'configs/d.py', runner: mmdetRunner({ python: 'py' }), trainGpus, root: '/nonexistent' }).variants.full!.train;
  assert.deepEqual([train(2).resources, train(2).cpuFallback], [{ gpu: 2 }, false]);
  assert.deepEqual([train(1).resources, train(1).cpuFallback], [{ gpu: 1 }, true]);
});
