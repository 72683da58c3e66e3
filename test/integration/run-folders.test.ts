// `runFolders`: a run that creates a folder of its own (MMEngine's timestamped log folder) has
// that folder recorded with its outputs: checked like them, cached and restored with them;
// a new run records its own folder, and a cache entry naming anything else is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useRigs, type Rig } from '../helpers/rig.js';

const rig = useRigs();

function workspace(): Rig {
  const r = rig();
  r.write('cfg', 'lr=0.01\n');
  r.write('train.sh', [
    'echo train >> runs.log',
    'd=logs/run-$(date +%s%N); mkdir -p "$d" out',
    'echo "log of $(cat cfg)" > "$d/log.txt"',
    'cat cfg > out/model',
  ].join('\n') + '\n');
  r.config(`{ targets: [{ name: 'train', inputs: ['cfg', 'train.sh'], outputs: ['out/model'], runFolders: ['logs'], run: 'sh train.sh' }] }`);
  return r;
}

const recorded = (r: Rig) => { const t = JSON.parse(r.read('sbuild.lock')).targets.train; return [...Object.keys(t.outputs), ...Object.keys(t.runOutputs ?? {})].sort(); };

test('the folder a run creates is recorded, checked and restored with its outputs; a new run records its own', () => {
  const r = workspace();
  let res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const [folder] = fs.readdirSync(r.path('logs'));
  assert.deepEqual(recorded(r), [`logs/${folder}`, 'out/model']);
  assert.equal(JSON.parse(r.read('sbuild.lock')).targets.train.runOutputs[`logs/${folder}`].files, 1);
  assert.match(r.run(['train']).stdout, /0 ran, 1 fresh/);

  // Deleted: stale for that reason, and it comes back from the cache without a run.
  fs.rmSync(r.path(`logs/${folder}`), { recursive: true });
  assert.match(r.run(['status']).stdout, new RegExp(`missing train — output logs/${folder} is missing`));
  res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /↺ train restored from cache/);
  assert.equal(r.read(`logs/${folder}/log.txt`), 'log of lr=0.01\n');
  assert.deepEqual(r.takeRuns(), ['train']);

  // A new fingerprint's run records the folder it made, not the old one (which stays on disk).
  r.write('cfg', 'lr=0.02\n');
  res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const now = fs.readdirSync(r.path('logs')).filter((f) => f !== folder);
  assert.equal(now.length, 1);
  assert.deepEqual(recorded(r), [`logs/${now[0]}`, 'out/model']);
  assert.equal(r.read(`logs/${now[0]}/log.txt`), 'log of lr=0.02\n');

  // Back to the first config: restored from the cache, its own log folder with it.
  r.write('cfg', 'lr=0.01\n');
  fs.rmSync(r.path(`logs/${folder}`), { recursive: true });
  res = r.run(['train']);
  assert.match(res.stdout, /↺ train restored from cache/);
  assert.equal(r.read(`logs/${folder}/log.txt`), 'log of lr=0.01\n');
  assert.deepEqual(r.takeRuns(), ['train']);
});

test('a cache entry that names an output outside the run folders is refused', () => {
  const r = workspace();
  assert.equal(r.run(['train']).code, 0);
  const fp = JSON.parse(r.read('sbuild.lock')).targets.train.fingerprint as string;
  const ac = r.path(`.sbuild/cache/ac/${fp}.json`);
  const entry = JSON.parse(fs.readFileSync(ac, 'utf8'));
  const [folder] = Object.keys(entry.outputs).filter((k: string) => k.startsWith('logs/'));
  entry.outputs[`elsewhere/${folder!.slice(5)}`] = entry.outputs[folder!];
  fs.writeFileSync(ac, JSON.stringify(entry));
  fs.rmSync(r.path('out/model'));
  r.takeRuns();
  const res = r.run(['train']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(r.takeRuns(), ['train'], 'not restored: run again');
  assert.ok(!fs.existsSync(r.path('elsewhere')));
});

test('a bad runFolders entry is refused with the target and the fix, exit 2', () => {
  const r = rig();
  r.config(`{ targets: [{ name: 't', outputs: ['o'], run: 'true', runFolders: ['logs/*'] }] }`);
  const res = r.run(['-n']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /target 't': runFolders entry 'logs\/\*' must be a folder inside the workspace \(not the workspace itself, \.sbuild or \.git, and not a glob\)/);
});
