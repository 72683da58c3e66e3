// The local content-addressed cache: reverting restores earlier outputs without running;
// every restored blob is verified; corrupt entries are survived with a one-line message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Rig, sh, useRigs } from '../helpers/rig.js';

const rig = useRigs();

function setup(extra = ''): Rig {
  const r = rig();
  r.write('cfg.txt', 'lr=1\n');
  r.config(`{
    default: 'all',
    targets: [
      { name: 'train', inputs: ['cfg.txt'], outputs: ['w/model.bin', 'w/logs'], params: { epochs: 1 },
        run: ${JSON.stringify(sh('train', 'cat cfg.txt cfg.txt > w/model.bin; mkdir -p w/logs/sub; echo log > w/logs/sub/a.log; chmod 755 w/model.bin'))} },
      { name: 'eval', inputs: ['w/model.bin'], outputs: ['w/metrics.json'], run: ${JSON.stringify(sh('eval', 'wc -c < w/model.bin > w/metrics.json'))} },
      { name: 'all', deps: ['eval'] },
      ${extra}
    ],
  }`);
  return r;
}

function blobs(r: Rig): string[] {
  const cas = r.path('.sbuild/cache/cas');
  return fs.readdirSync(cas).flatMap((d) => fs.readdirSync(path.join(cas, d)).map((f) => path.join(cas, d, f)));
}

test('reverting a config restores the earlier outputs from the cache with zero runs', () => {
  const r = setup();
  r.run([]);
  const before = { model: r.read('w/model.bin'), log: r.read('w/logs/sub/a.log'), metrics: r.read('w/metrics.json') };
  r.write('cfg.txt', 'lr=22\n');
  r.run([]);
  assert.deepEqual(r.takeRuns(), ['eval', 'eval', 'train', 'train']);
  r.write('cfg.txt', 'lr=1\n');
  const res = r.run([]);
  assert.equal(res.code, 0);
  assert.deepEqual(r.takeRuns(), [], 'nothing ran');
  assert.match(res.stdout, /↺ train restored from cache \(fingerprint [0-9a-f]{12}\) — input cfg\.txt changed/);
  assert.match(res.stdout, /0 ran, 2 restored, 0 fresh/);
  assert.deepEqual({ model: r.read('w/model.bin'), log: r.read('w/logs/sub/a.log'), metrics: r.read('w/metrics.json') }, before);
  assert.equal(fs.statSync(r.path('w/model.bin')).mode & 0o777, 0o755, 'file mode restored');
  // Restored files are copies: editing one never reaches the store.
  const ino = fs.statSync(r.path('w/model.bin')).ino;
  assert.ok(blobs(r).every((b) => fs.statSync(b).ino !== ino));
  assert.match(r.run([]).stdout, /^sbuild: 0 ran, 2 fresh in \d+ms$/m);
  assert.deepEqual(r.takeRuns(), []);
});

test('a param reverted restores too; cache: false always runs', () => {
  const r = setup(`{ name: 'nocache', inputs: ['cfg.txt'], outputs: ['w/nc.txt'], cache: false, run: ${JSON.stringify(sh('nocache', 'cp cfg.txt w/nc.txt'))} },`);
  r.run(['all', 'nocache']);
  r.write('cfg.txt', 'lr=3\n');
  r.run(['all', 'nocache']);
  r.takeRuns();
  r.write('cfg.txt', 'lr=1\n');
  r.run(['all', 'nocache']);
  assert.deepEqual(r.takeRuns(), ['nocache']);
  assert.equal(r.read('w/nc.txt'), 'lr=1\n');
});

test('a corrupt blob or action entry is reported in one line, deleted, and the target runs', () => {
  const r = setup();
  r.run([]);
  r.write('cfg.txt', 'lr=5\n');
  r.run([]);
  r.takeRuns();
  // Tamper with every blob: same size, other bytes.
  for (const b of blobs(r)) fs.writeFileSync(b, Buffer.alloc(fs.statSync(b).size, 0x41));
  r.write('cfg.txt', 'lr=1\n');
  const res = r.run([]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /^warning: cache blob [0-9a-f]{12} was corrupt \(its content hashes to [0-9a-f]{12}\); deleted it$/m);
  assert.deepEqual(r.takeRuns(), ['eval', 'train']);
  assert.equal(r.read('w/model.bin'), 'lr=1\nlr=1\n');
  // A truncated action entry.
  r.write('cfg.txt', 'lr=6\n');
  r.run([]);
  r.takeRuns();
  const ac = r.path('.sbuild/cache/ac');
  for (const f of fs.readdirSync(ac)) fs.writeFileSync(path.join(ac, f), '{"outputs":{"w/mo');
  r.write('cfg.txt', 'lr=1\n');
  const res2 = r.run([]);
  assert.equal(res2.code, 0);
  assert.match(res2.stdout, /^warning: cache entry [0-9a-f]{12} was corrupt; deleted it$/m);
  assert.deepEqual(r.takeRuns(), ['eval', 'train']);
});

test('gc prunes least recently used blobs down to --max-size and drops results that lost blobs', () => {
  const r = setup();
  for (const v of ['1', '2', '3']) {
    r.write('cfg.txt', `lr=${v}\n`);
    r.run([]);
  }
  r.takeRuns();
  const all = blobs(r).length;
  assert.equal(all, 5, 'three models; the identical log and metrics files are stored once');
  const res = r.run(['gc', '--max-size', '0']);
  assert.equal(res.code, 0);
  assert.match(res.stdout, new RegExp(`removed ${all} blob\\(s\\) and 6 action result\\(s\\)`));
  assert.equal(blobs(r).length, 0);
  r.write('cfg.txt', 'lr=1\n');
  r.run([]);
  assert.deepEqual(r.takeRuns(), ['eval', 'train'], 'nothing left to restore: it runs');
  assert.equal(r.run(['gc', '--max-size', 'lots']).code, 2);
});

test('a dry run says which stale targets the cache would restore, and what their dependents would do', () => {
  const r = setup();
  r.run([]);
  r.write('cfg.txt', 'lr=2\n');
  r.run([]);
  r.takeRuns();
  r.write('cfg.txt', 'lr=1\n');
  const dry = r.run(['-n']);
  assert.match(dry.stdout, /^would restore train from cache\n\s+input cfg\.txt changed/m);
  assert.match(dry.stdout, /^would restore eval from cache\n\s+input w\/model\.bin changed/m, 'eval is judged against the restored model, not assumed to run');
  assert.match(r.run(['explain', 'train']).stdout, /^train: would restore from cache \(stale\)$/m);
  assert.deepEqual(r.takeRuns(), []);
});
