// The demo workspace end to end, on a fresh copy of what git tracks (as a clone has it):
// `sbuild release` writes a bundle that `sha256sum -c` accepts; a second run does nothing;
// editing one experiment's config reruns only that experiment's chain and what collects it;
// editing a base config reruns every heir; deleted checkpoints come back from the cache
// without training; two clean workspaces give byte-identical bundles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/rig.js';
import { useClones } from '../helpers/clone.js';

const freshClone = useClones();

interface Outcome {
  code: number | null;
  ran: string[];
  restored: string[];
  out: string;
}

function sbuild(dir: string, args: string[]): Outcome {
  const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'sbuild.js'), ...args, '--json'], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', SARDET_ROOT: '' }, timeout: 300_000,
  });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; name?: string });
  const names = (type: string) => events.filter((e) => e.type === type).map((e) => e.name!).sort();
  return { code: r.status, ran: names('done'), restored: names('restored'), out: r.stdout + r.stderr };
}

const EXPERIMENTS = ['global_threshold', 'cfar_ca', 'cfar_os'];
const trains = (exps: string[]) => exps.flatMap((e) => [`exp/${e}/full/train`, `exp/${e}/smoke/train`]).sort();
const bundleDir = (dir: string) => path.join(dir, 'artifacts/release/v0.1.0');
const readBundle = (dir: string) => Object.fromEntries(fs.readdirSync(bundleDir(dir)).sort().map((f) => [f, fs.readFileSync(path.join(bundleDir(dir), f))]));

/** Replaces one line of a config file, failing loudly when the line is not there. */
function edit(dir: string, rel: string, from: RegExp, to: string): void {
  const file = path.join(dir, rel);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, from, `${rel} no longer has the line this test edits`);
  fs.writeFileSync(file, text.replace(from, to));
}

test('the demo release: fresh clone, no-op, one config, a base config, deleted checkpoints, identical bundles', { timeout: 900_000 }, () => {
  const a = freshClone();
  let r = sbuild(a, ['release']);
  assert.equal(r.code, 0, r.out);
  assert.ok(r.ran.includes('release/bundle'));
  assert.deepEqual(r.ran.filter((n) => n.endsWith('/train')), trains(EXPERIMENTS), 'a clone has no checkpoints: the bundle needs them');
  const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: bundleDir(a), encoding: 'utf8' });
  assert.equal(sums.status, 0, sums.stdout + sums.stderr);
  assert.match(sums.stdout, /sardet_mini_checkpoints\.zip: OK/);
  const manifest = JSON.parse(fs.readFileSync(path.join(bundleDir(a), 'manifest.json'), 'utf8'));
  const lock = JSON.parse(fs.readFileSync(path.join(a, 'sbuild.lock'), 'utf8'));
  assert.equal(manifest.version, 'v0.1.0');
  for (const f of manifest.files) if (f.target) assert.equal(f.fingerprint, lock.targets[f.target].fingerprint, f.path);
  // The committed paper-facing files came out the same: the demo is deterministic.
  const changed = spawnSync('git', ['diff', '--no-index', '--stat', path.join(REPO, 'artifacts/experiments'), path.join(a, 'artifacts/experiments')], { encoding: 'utf8' });
  assert.equal(changed.stdout, '', 'the results table and ledger match the committed ones');
  const first = readBundle(a);

  r = sbuild(a, ['release']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual([r.ran, r.restored], [[], []]);

  // One experiment's own config: only its chain, and what collects its results.
  edit(a, 'configs/sardet_mini/cfar_os.py', /^model = dict\(.*$/m, "model = dict(type='OSCFAR', rank=0.6)");
  r = sbuild(a, ['release']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.ran.filter((n) => n.endsWith('/train')), trains(['cfar_os']));
  const allowed = /^(exp\/cfar_os\/|vis\/cfar_os\/|results\/table$|release\/)/;
  assert.deepEqual(r.ran.filter((n) => !allowed.test(n)), [], 'nothing of the other experiments reruns');
  assert.ok(r.ran.includes('results/table') && r.ran.includes('release/bundle'));

  // The base every CFAR config inherits: every heir retrains.
  edit(a, 'configs/_base_/models/cfar.py', /^(\s*)guard\s*=\s*\d+/m, '$1guard=3');
  r = sbuild(a, ['release']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.ran.filter((n) => n.endsWith('/train')), trains(EXPERIMENTS));

  // Checkpoints deleted: restored from the local cache, nothing trains.
  for (const e of EXPERIMENTS) for (const v of ['smoke', 'full']) fs.rmSync(path.join(a, `artifacts/work_dirs/${e}/${v}/checkpoint.json`));
  r = sbuild(a, ['release']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.ran, []);
  assert.deepEqual(r.restored, trains(EXPERIMENTS));
  for (const e of EXPERIMENTS) assert.ok(fs.existsSync(path.join(a, `artifacts/work_dirs/${e}/full/checkpoint.json`)));
  // After all those edits the manifest's provenance is still the lock's, upstream targets included.
  const lockNow = JSON.parse(fs.readFileSync(path.join(a, 'sbuild.lock'), 'utf8'));
  const manifestNow = JSON.parse(fs.readFileSync(path.join(bundleDir(a), 'manifest.json'), 'utf8'));
  assert.ok(manifestNow.lineage.some((l: { target: string }) => l.target === 'exp/cfar_os/full/train'));
  for (const l of manifestNow.lineage) assert.equal(l.fingerprint, lockNow.targets[l.target].fingerprint, l.target);

  // A second clean workspace builds the same bundle, byte for byte.
  const b = freshClone();
  r = sbuild(b, ['release']);
  assert.equal(r.code, 0, r.out);
  const second = readBundle(b);
  assert.deepEqual(Object.keys(second), Object.keys(first));
  for (const f of Object.keys(first)) assert.ok(first[f]!.equals(second[f]!), `${f} differs between two clean builds`);
});
