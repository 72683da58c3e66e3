// The local content-addressed cache: reverting restores earlier outputs without running;
// every restored blob is verified; small files are kept in their action entry and checked
// with it; corrupt entries are survived with a one-line message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
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
        run: ${JSON.stringify(sh('train', `cat cfg.txt cfg.txt > w/model.bin; head -c ${PAD} /dev/zero >> w/model.bin; mkdir -p w/logs/sub; echo log > w/logs/sub/a.log; chmod 755 w/model.bin`))} },
      { name: 'eval', inputs: ['w/model.bin'], outputs: ['w/metrics.json'], run: ${JSON.stringify(sh('eval', 'wc -c < w/model.bin > w/metrics.json'))} },
      { name: 'all', deps: ['eval'] },
      ${extra}
    ],
  }`);
  return r;
}

/** The model is larger than what an entry keeps inline (4 KiB): a blob. The metrics and the log are kept in their entries. */
const PAD = 5000;
const model = (cfg: string) => cfg + cfg + '\0'.repeat(PAD);

function blobs(r: Rig): string[] {
  const cas = r.path('.sbuild/cache/cas');
  return fs.readdirSync(cas).flatMap((d) => fs.readdirSync(path.join(cas, d)).map((f) => path.join(cas, d, f)));
}

type Entry = { outputs: Record<string, { kind: string; hash: string; size: number; data?: string; files?: Record<string, { hash: string; data?: string }> }> };

function entries(r: Rig): Array<{ file: string; entry: Entry }> {
  const ac = r.path('.sbuild/cache/ac');
  return fs.readdirSync(ac).map((f) => ({ file: path.join(ac, f), entry: JSON.parse(fs.readFileSync(path.join(ac, f), 'utf8')) as Entry }));
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
  assert.equal(blobs(r).length, 2, 'the two models are blobs');
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

test('small outputs are kept in their action entry, one file per cached target, and restored byte for byte', () => {
  const r = setup();
  r.run([]);
  const lock = JSON.parse(r.read('sbuild.lock'));
  const byOutput = new Map(entries(r).flatMap(({ entry }) => Object.entries(entry.outputs)));
  const metrics = byOutput.get('w/metrics.json')!;
  assert.equal(Buffer.from(metrics.data!, 'base64').toString(), r.read('w/metrics.json'));
  assert.equal(metrics.hash, lock.targets.eval.outputs['w/metrics.json'].hash);
  assert.equal(Buffer.from(byOutput.get('w/logs')!.files!['sub/a.log']!.data!, 'base64').toString(), 'log\n', 'a folder\'s small files too');
  assert.equal(byOutput.get('w/model.bin')!.data, undefined, 'the model is a blob');
  assert.deepEqual(blobs(r).map((b) => path.basename(b)), [lock.targets.train.outputs['w/model.bin'].hash]);
  fs.rmSync(r.path('w'), { recursive: true });
  const res = r.run([]);
  assert.match(res.stdout, /0 ran, 2 restored, 0 fresh/);
  assert.deepEqual(r.takeRuns(), ['eval', 'train'], 'only the first build ran');
  assert.equal(r.read('w/metrics.json'), `${model('lr=1\n').length}\n`);
  assert.equal(r.read('w/logs/sub/a.log'), 'log\n');
  assert.equal(r.read('w/model.bin'), model('lr=1\n'));
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
  assert.deepEqual(r.takeRuns(), ['train'], 'the same model again: eval restored from its entry');
  assert.equal(r.read('w/model.bin'), model('lr=1\n'));
  // Inline bytes tampered with: same length, other bytes.
  r.write('cfg.txt', 'lr=7\n');
  r.run([]);
  r.takeRuns();
  for (const { file, entry } of entries(r)) {
    const m = entry.outputs['w/metrics.json'];
    if (!m) continue;
    m.data = Buffer.alloc(m.size, 0x39).toString('base64');
    fs.writeFileSync(file, JSON.stringify(entry));
  }
  r.write('cfg.txt', 'lr=1\n');
  const res1 = r.run([]);
  assert.equal(res1.code, 0, res1.stdout + res1.stderr);
  assert.match(res1.stdout, /^warning: cache entry [0-9a-f]{12} was refused \(its inline copy of 'w\/metrics\.json' is not the 5 bytes its hash [0-9a-f]{12} names\); deleted it$/m);
  assert.deepEqual(r.takeRuns(), ['eval'], 'train restored; eval rebuilt rather than trusting the bytes');
  assert.equal(r.read('w/metrics.json'), `${model('lr=1\n').length}\n`);
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

test('gc prunes least recently used blobs and inline entries down to --max-size and drops results that lost blobs', () => {
  const r = setup();
  for (const v of ['1', '2', '3']) {
    r.write('cfg.txt', `lr=${v}\n`);
    r.run([]);
  }
  r.takeRuns();
  assert.equal(blobs(r).length, 3, 'three models; the metrics and logs are kept in their entries');
  assert.equal(entries(r).length, 6);
  // Every entry keeps a file inline, so all nine files count. The first model is made the least
  // recently used; room for all but one byte removes it, and the entry that needed it.
  const items = [...blobs(r), ...entries(r).map((e) => e.file)];
  const all = items.reduce((a, f) => a + fs.statSync(f).size, 0);
  const first = createHash('sha256').update(model('lr=1\n')).digest('hex');
  const t = Date.now() / 1000 - 500;
  for (const f of items) fs.utimesSync(f, t, t);
  const firstBlob = blobs(r).find((b) => path.basename(b) === first)!;
  fs.utimesSync(firstBlob, t - 500, t - 500);
  const some = r.run(['gc', '--max-size', String(all - 1)]);
  assert.equal(some.code, 0, some.stdout + some.stderr);
  assert.match(some.stdout, /removed 1 blob\(s\) and 1 action result\(s\)/);
  assert.ok(!fs.existsSync(firstBlob));
  for (const v of ['2', '3']) {
    fs.rmSync(r.path('w'), { recursive: true });
    r.write('cfg.txt', `lr=${v}\n`);
    assert.match(r.run([]).stdout, /0 ran, 2 restored/);
  }
  r.write('cfg.txt', 'lr=1\n');
  r.run([]);
  assert.deepEqual(r.takeRuns(), ['train'], 'its model was pruned; eval is restored from the entry gc kept');
  const res = r.run(['gc', '--max-size', '0']);
  assert.equal(res.code, 0);
  assert.match(res.stdout, /removed 3 blob\(s\) and 6 action result\(s\)/);
  assert.equal(blobs(r).length, 0);
  assert.equal(entries(r).length, 0);
  r.write('cfg.txt', 'lr=2\n');
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
