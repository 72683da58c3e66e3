// A resumable training on a real single-node Slurm (Debian's slurm-wlm, started by the test
// on 127.0.0.1) killed by its `--time` limit continues on the next build from where it was
// killed, not from scratch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRigs } from '../helpers/rig.js';
import { useSlurmCluster } from '../helpers/slurm.js';

const rig = useRigs();
const { skip, cluster: slurm } = useSlurmCluster();

test('a training killed by Slurm\'s time limit resumes from its last epoch on the next build', { skip, timeout: 180_000 }, () => {
  const r = rig();
  r.write('train.sh', [
    'mkdir -p wd; n=0',
    'if [ "$SBUILD_RESUME" = 1 ]; then n=$(cat wd/n); fi',
    'echo "start=$((n+1)) resume=$SBUILD_RESUME args=$*" >> runs.log',
    // Each epoch's record is written whole (a kill between truncating and writing it left it empty).
    'while [ "$n" -lt 200 ]; do n=$((n+1)); sleep "${EPOCH_SECONDS:-0}"; echo "$n" > wd/n.tmp; mv wd/n.tmp wd/n; done',
    'echo "$n" > wd/final',
  ].join('\n') + '\n');
  // Slurm takes `--time=0:05` as five seconds; its controller enforces limits every 30 s or so.
  r.config(`{ targets: [{ name: 'train', inputs: ['train.sh'], outputs: ['wd/final'], executor: 'slurm', slurm: { time: '0:05' },
    run: 'sh train.sh', resume: { dir: 'wd', args: ['--resume'], marker: 'n' } }] }`);
  let res = r.run(['train'], { ...slurm().env, EPOCH_SECONDS: '0.5' });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['start=1 resume=0 args=']);
  const killedAt = Number(r.read('wd/n'));
  assert.ok(killedAt >= 2 && killedAt < 200, `killed after epoch ${killedAt}`);
  assert.match(r.read('.sbuild/logs/train.log'), /DUE TO TIME LIMIT/);
  res = r.run(['train'], { ...slurm().env, EPOCH_SECONDS: '0' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const runs = r.takeRuns();
  assert.equal(runs.length, 1);
  const start = Number(/^start=(\d+) resume=1 args=--resume$/.exec(runs[0]!)?.[1]);
  assert.ok(start >= killedAt + 1 && start <= killedAt + 2, `${runs[0]} after being killed at epoch ${killedAt}`);
  assert.equal(r.read('wd/final'), '200\n');
});
