// Resumable trainings (a target's `resume`, which the rule library's MMDetection trainings
// declare): a crash, a kill -9 or a failure continues on the next build from that run's own
// last checkpoint; a config edit starts from scratch and never reads the old partial work,
// which is set aside (and taken back when the config comes back). The fake tools/train.py
// behaves like MMEngine's: `--resume` reads `<work_dir>/last_checkpoint`, and it refuses
// (exit 3) a checkpoint trained with another config, which is what a wrong resume would be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { killWithJobs, useRigs, waitFor, type Rig } from '../helpers/rig.js';

const rig = useRigs();

const TRAIN_PY = `import sys, os, json, time, hashlib
cfg = sys.argv[1]; wd = sys.argv[sys.argv.index('--work-dir') + 1]
resume = '--resume' in sys.argv
src = open(cfg, 'rb').read()
ident = hashlib.sha256(src).hexdigest()[:12]
ns = {}
exec(src, ns)
epochs = ns['train_cfg']['max_epochs']
start = 1
if resume and os.path.exists(os.path.join(wd, 'last_checkpoint')):
    ck = json.load(open(open(os.path.join(wd, 'last_checkpoint')).read().strip()))
    if ck['config'] != ident:
        open('mixed.log', 'a').write('%s resumed from a checkpoint of another config\\n' % os.path.basename(cfg))
        sys.exit(3)
    start = ck['epoch'] + 1
open('runs.log', 'a').write('train %s start=%d resume=%s\\n' % (os.path.basename(cfg), start, resume))
os.makedirs(wd, exist_ok=True)
for e in range(start, epochs + 1):
    if os.environ.get('CRASH_AT') == str(e):
        sys.exit(1)
    time.sleep(float(os.environ.get('EPOCH_SECONDS', '0')))
    p = os.path.join(wd, 'epoch_%d.pth' % e)
    json.dump({'config': ident, 'epoch': e, 'weights': hashlib.sha256((ident + str(e)).encode()).hexdigest()}, open(p, 'w'))
    open(os.path.join(wd, 'last_checkpoint'), 'w').write(p)
`;

const TEST_PY = `import sys, json, os
ckpt = sys.argv[2]; out = sys.argv[sys.argv.index('--out-metrics') + 1]
open('runs.log', 'a').write('test %s\\n' % os.path.basename(sys.argv[1]))
json.dump({'AP': int(json.load(open(ckpt))['weights'][:4], 16) / 65536}, open(out, 'w'))
`;

const CONFIG = `import { defineConfig } from 'sbuild';
import { experiment, mmdetRunner } from 'sbuild/rules';
const runner = mmdetRunner({ checkpoint: 'epoch_{train_cfg.max_epochs}.pth' });
const variants = { full: { evals: [{ name: 'eval-val', split: 'val', metrics: 'val_metrics.json' }] } };
const e = experiment({ name: 'det', config: 'configs/det.py', runner, variants, workDir: 'work_dirs/{name}' });
export default defineConfig({ targets: [...e.targets, { name: 'all', deps: e.targets.map((t) => t.name) }], default: 'all' });
`;

const CFG_A = "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4)\noptim_wrapper = dict(optimizer=dict(lr=0.02))\n";
const CFG_B = CFG_A.replace('lr=0.02', 'lr=0.01');

function workspace(): Rig {
  const r = rig();
  r.write('tools/train.py', TRAIN_PY);
  r.write('tools/test.py', TEST_PY);
  r.write('configs/det.py', CFG_A);
  r.write('tasks.config.ts', CONFIG);
  return r;
}

/** The checkpoint a clean, uninterrupted training of this config writes. */
function cleanCheckpoint(cfg: string): string {
  const r = workspace();
  r.write('configs/det.py', cfg);
  const res = r.run(['exp/det/full/train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  return r.read('work_dirs/det/epoch_4.pth');
}

const log = (r: Rig) => r.read('.sbuild/logs/exp/det/full/train.log');
const partials = (r: Rig) => (r.exists('.sbuild/partial') ? fs.readdirSync(r.path('.sbuild/partial/exp%2Fdet%2Ffull%2Ftrain')).sort() : []);

test('a training that crashed resumes from its own last checkpoint; the result equals an uninterrupted one', () => {
  const r = workspace();
  let res = r.run([], { CRASH_AT: '3' });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['train det.py start=1 resume=False']);
  // The partial work stays in the work dir (not moved to .sbuild/failed/ like other partial outputs).
  assert.ok(r.exists('work_dirs/det/epoch_2.pth') && r.exists('work_dirs/det/last_checkpoint'));
  assert.ok(!r.exists('.sbuild/failed/exp%2Fdet%2Ffull%2Ftrain'));
  res = r.run(['status']);
  assert.match(res.stdout, /exp\/det\/full\/train — .*\n\s+— would resume the unfinished run of this fingerprint in work_dirs\/det\/ \(--resume\)/);

  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['test det.py', 'train det.py start=3 resume=True']);
  assert.match(log(r), /^\$ .*tools\/train\.py configs\/det\.py --work-dir work_dirs\/det --resume\n/);
  assert.match(log(r), /sbuild: resuming the partial work of this fingerprint in work_dirs\/det\//);
  assert.equal(r.read('work_dirs/det/epoch_4.pth'), cleanCheckpoint(CFG_A));
  assert.ok(!r.exists('mixed.log'));

  // Finished: fresh, and a forced rerun starts from scratch (a finished run is not partial work).
  assert.equal(r.run([]).code, 0);
  assert.deepEqual(r.takeRuns(), []);
  res = r.run(['-B', 'exp/det/full/train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['train det.py start=1 resume=False']);
  assert.doesNotMatch(log(r).split('\n')[0]!, /--resume/);
  assert.deepEqual(partials(r), ['old']);
});

test('after a config edit training starts from scratch and never reads the old partial work; changing back takes it up again', () => {
  const r = workspace();
  assert.equal(r.run([], { CRASH_AT: '3' }).code, 1);
  r.takeRuns();
  const fpA = JSON.parse(r.read('.sbuild/resume/exp%2Fdet%2Ffull%2Ftrain.json')).fingerprint as string;

  r.write('configs/det.py', CFG_B);
  let res = r.run(['explain', 'exp/det/full/train']);
  assert.match(res.stdout, new RegExp(`  resume: would start from scratch; the unfinished run of fingerprint ${fpA.slice(0, 12)} in work_dirs/det/ is set aside first, never resumed by this one`));
  res = r.run([], { CRASH_AT: '2' });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['train det.py start=1 resume=False']);
  assert.doesNotMatch(log(r).split('\n')[0]!, /--resume/);
  assert.match(log(r), /the partial work of fingerprint [0-9a-f]{12} in work_dirs\/det\/ was set aside to \.sbuild\/partial\/exp%2Fdet%2Ffull%2Ftrain\/[0-9a-f]{64}\//);
  assert.ok(!r.exists('mixed.log'), 'the old config\'s checkpoint was never read');
  assert.deepEqual(partials(r), [fpA]);
  assert.ok(r.exists(`.sbuild/partial/exp%2Fdet%2Ffull%2Ftrain/${fpA}/epoch_2.pth`));

  // B finishes from its own epoch 1.
  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['test det.py', 'train det.py start=2 resume=True']);
  assert.equal(r.read('work_dirs/det/epoch_4.pth'), cleanCheckpoint(CFG_B));

  // Back to A: its partial work comes back and continues from epoch 3; B's finished run goes aside.
  r.write('configs/det.py', CFG_A);
  assert.match(r.run(['explain', 'exp/det/full/train']).stdout, /  resume: would take back this fingerprint's partial work from \.sbuild\/partial\/ and resume it/);
  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['test det.py', 'train det.py start=3 resume=True']);
  assert.match(log(r), /the partial work of this fingerprint \([0-9a-f]{12}\) was moved back into work_dirs\/det\//);
  assert.equal(r.read('work_dirs/det/epoch_4.pth'), cleanCheckpoint(CFG_A));
  assert.ok(!r.exists('mixed.log'));
  assert.deepEqual(partials(r), ['old']);

  // gc removes what was set aside, and says so.
  res = r.run(['gc']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /removed 1 set-aside partial training folder\(s\) from \.sbuild\/partial\/ \(\d+\.\d MB\)/);
  assert.ok(!r.exists('.sbuild/partial'));
});

test('kill -9 of sbuild and the training mid-run: the next build continues from the last checkpoint', async () => {
  const r = workspace();
  const child = r.spawn(['exp/det/full/train'], { EPOCH_SECONDS: '0.6' });
  await waitFor(() => r.exists('work_dirs/det/epoch_2.pth'));
  // Asked meanwhile (it needs no lock), status says who is building it.
  let st = r.run(['status']);
  assert.match(st.stdout, new RegExp(`running exp/det/full/train — being built now by another sbuild \\(pid ${child.pid}\\)`));
  assert.match(st.stdout, /, 1 running/);
  await killWithJobs(child, 'tools/train.py configs/det.py', r.dir);
  st = r.run(['status']);
  assert.match(st.stdout, /running exp\/det\/full\/train — interrupted: a killed sbuild left its job; the next build stops what is left of it and runs it again \(a resumable one continues\)/);
  r.takeRuns();
  const done = JSON.parse(r.read(r.read('work_dirs/det/last_checkpoint').trim())).epoch as number;
  assert.ok(done >= 2 && done < 4, `killed after epoch ${done}`);
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['test det.py', `train det.py start=${done + 1} resume=True`]);
  assert.equal(r.read('work_dirs/det/epoch_4.pth'), cleanCheckpoint(CFG_A));
});

test('outputs of other targets in the work dir stay put; a cache restore sets another fingerprint\'s partial work aside', () => {
  const r = workspace();
  assert.equal(r.run([]).code, 0);
  r.takeRuns();
  const metricsA = r.read('work_dirs/det/val_metrics.json');

  // B crashes after one epoch: A's finished checkpoints go aside, the evaluation's metrics stay.
  r.write('configs/det.py', CFG_B);
  assert.equal(r.run([], { CRASH_AT: '2' }).code, 1);
  assert.deepEqual(r.takeRuns(), ['train det.py start=1 resume=False']);
  assert.equal(r.read('work_dirs/det/val_metrics.json'), metricsA);
  assert.ok(r.exists('.sbuild/partial/exp%2Fdet%2Ffull%2Ftrain/old/epoch_4.pth'));
  assert.ok(!r.exists('work_dirs/det/epoch_3.pth'));

  // Back to A: restored from the cache, nothing trains; B's partial work is set aside, not mixed in.
  r.write('configs/det.py', CFG_A);
  let res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), []);
  assert.match(res.stdout, /restored/);
  assert.ok(!r.exists('work_dirs/det/last_checkpoint'), 'B\'s partial work is not left beside A\'s restored checkpoint');
  assert.equal(r.read('work_dirs/det/epoch_4.pth'), cleanCheckpoint(CFG_A));

  // B again: its own partial work comes back and continues.
  r.write('configs/det.py', CFG_B);
  res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['test det.py', 'train det.py start=2 resume=True']);
  assert.equal(r.read('work_dirs/det/epoch_4.pth'), cleanCheckpoint(CFG_B));
});

test('bad resume declarations are refused with the target and the fix, exit 2', () => {
  const r = rig();
  const cases: Array<[string, RegExp]> = [
    [`{ name: 't', outputs: ['w/o'], run: async () => {}, resume: { dir: 'w' } }`, /target 't': `resume` needs a command \(`run` as an array or a shell string\)/],
    [`{ name: 't', outputs: ['w/o'], run: 'true', resume: { dir: '../w' } }`, /target 't': resume\.dir "\.\.\/w" must be a folder inside the workspace/],
    [`{ name: 't', outputs: ['w/o'], run: 'true', resume: { dir: 'w', marker: '../x' } }`, /target 't': resume\.marker "\.\.\/x" must be a file name relative to resume\.dir/],
    [`{ name: 't', inputs: ['w/cfg.py'], outputs: ['w/o'], run: 'true', resume: { dir: 'w' } }`, /target 't': its input 'w\/cfg\.py' overlaps its resume folder 'w'/],
    [`{ name: 't', outputs: ['w/o'], run: 'true', resume: { dir: 'w', arg: [] } }`, /target 't': `resume` has an unknown field `arg`\. Did you mean 'args'\?/],
    [`{ name: 't', outputs: ['w/o'], run: 'true', resume: { dir: 'w' } }, { name: 'u', outputs: ['w/a/o'], run: 'true', resume: { dir: 'w/a' } }`, /targets 't' and 'u' keep their partial work in overlapping folders \('w' and 'w\/a'\)/],
    [`{ name: 't', outputs: ['w/o'], run: 'true', resume: { dir: 'w/in' } }, { name: 'u', outputs: ['w'], run: 'true' }`, /target 't': its resume folder 'w\/in' lies inside 'w', an output of 'u'/],
  ];
  for (const [targets, want] of cases) {
    r.config(`{ targets: [${targets}] }`);
    const res = r.run(['-n']);
    assert.equal(res.code, 2, targets + '\n' + res.stdout + res.stderr);
    assert.match(res.stderr, want);
  }
});

test('a plain target whose output is its work folder: a crash keeps the folder, the retry resumes with the args and SBUILD_RESUME', () => {
  const r = rig();
  r.write('train.sh', [
    'echo "resume=$SBUILD_RESUME dir=$SBUILD_RESUME_DIR args=$*" >> runs.log',
    'mkdir -p wd; n=$(cat wd/n 2>/dev/null || echo 0)',
    'while [ "$n" -lt 3 ]; do n=$((n+1)); echo "$n" > wd/n; if [ "$CRASH_AT" = "$n" ]; then exit 1; fi; done',
    'echo finished > wd/final',
  ].join('\n') + '\n');
  r.config(`{ targets: [{ name: 'train', inputs: ['train.sh'], outputs: ['wd'], run: 'sh train.sh', resume: { dir: 'wd', args: ['--resume', 'from last'] } }] }`);
  let res = r.run(['train'], { CRASH_AT: '2' });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['resume=0 dir=wd args=']);
  assert.equal(r.read('wd/n'), '2\n', 'the work folder (a declared output) stays for the retry');
  assert.doesNotMatch(res.stdout + res.stderr, /moved to \.sbuild\/failed/);
  res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['resume=1 dir=wd args=--resume from last']);
  assert.equal(r.read('wd/final'), 'finished\n');
  assert.equal(r.read('wd/n'), '3\n');
  assert.equal(r.run(['train']).code, 0);
  assert.deepEqual(r.takeRuns(), []);
  // The script changes: a new fingerprint starts in an empty folder.
  r.write('train.sh', r.read('train.sh') + '# v2\n');
  res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['resume=0 dir=wd args=']);
});

const otherDevice = (() => {
  try {
    return fs.statSync('/dev/shm').dev !== fs.statSync(os.tmpdir()).dev;
  } catch {
    return false;
  }
})();

test('a work folder linked to another device: the partial work set aside is copied across, kept, and taken back', { skip: !otherDevice && 'needs /dev/shm on another file system than the temp folder' }, () => {
  const r = workspace();
  const ext = fs.mkdtempSync('/dev/shm/sbuild-wd-');
  try {
    fs.symlinkSync(ext, r.path('work_dirs'));
    r.write('tasks.config.ts', CONFIG.replace("default: 'all' });", "default: 'all', linkedFolders: ['work_dirs'] });"));
    let res = r.run([], { CRASH_AT: '3' });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    r.takeRuns();
    assert.ok(fs.existsSync(`${ext}/det/epoch_2.pth`), 'the training wrote through the link');
    const fpA = JSON.parse(r.read('.sbuild/resume/exp%2Fdet%2Ffull%2Ftrain.json')).fingerprint as string;
    r.write('configs/det.py', CFG_B);
    res = r.run([]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(r.takeRuns(), ['test det.py', 'train det.py start=1 resume=False']);
    assert.ok(r.exists(`.sbuild/partial/exp%2Fdet%2Ffull%2Ftrain/${fpA}/epoch_2.pth`), 'set aside across devices, not deleted');
    r.write('configs/det.py', CFG_A);
    res = r.run([]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(r.takeRuns(), ['test det.py', 'train det.py start=3 resume=True']);
    assert.equal(fs.readFileSync(`${ext}/det/epoch_4.pth`, 'utf8'), cleanCheckpoint(CFG_A));
    assert.ok(!r.exists('mixed.log'));
  } finally {
    fs.rmSync(ext, { recursive: true, force: true });
  }
});
