// The zip and release rules (sbuild/rules) through the real CLI: deterministic zips, the
// release check's problem lines, the release bundle's manifest and checksums, the source the
// manifest records (commit, dirty, changed files) in and out of git, and gitCommit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { REPO, Rig, useRigs } from '../helpers/rig.js';
import { inspectZip, writeZip } from '../../rules/zip.js';
import { gitCommit } from '../../rules/git.js';

const rig = useRigs();
const RULES = "import { zipFiles, metricsZip, releaseCheck, releaseBundle, gitCommit } from 'sbuild/rules';\n";

function has(cmd: string): boolean {
  return spawnSync(cmd, ['--help'], { stdio: 'ignore' }).error === undefined;
}

function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

function out(res: { stdout: string; stderr: string }): string {
  return res.stdout + res.stderr;
}

function ok(r: Rig, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const res = r.run(args, env);
  assert.equal(res.code, 0, out(res));
  return res;
}

interface CdEntry {
  name: string;
  method: number;
  mode: number;
  dosTime: number;
  dosDate: number;
  extraLen: number;
}

/** The central directory's records, parsed independently of the rule's reader. */
function centralDirectory(file: string): CdEntry[] {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'end of central directory');
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (buf.readUInt32LE(eocd - 20) === 0x07064b50) {
    const rec = Number(buf.readBigUInt64LE(eocd - 20 + 8));
    assert.equal(buf.readUInt32LE(rec), 0x06064b50, 'zip64 end record');
    count = Number(buf.readBigUInt64LE(rec + 32));
    offset = Number(buf.readBigUInt64LE(rec + 48));
  }
  const entries: CdEntry[] = [];
  let p = offset;
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    entries.push({
      name: buf.subarray(p + 46, p + 46 + nameLen).toString('utf8'),
      method: buf.readUInt16LE(p + 10),
      dosTime: buf.readUInt16LE(p + 12),
      dosDate: buf.readUInt16LE(p + 14),
      mode: buf.readUInt32LE(p + 38) >>> 16,
      extraLen,
    });
    p += 46 + nameLen + extraLen + buf.readUInt16LE(p + 32);
  }
  return entries;
}

/** Every file under a folder, relative, with its bytes (for byte-identity checks). */
function folderBytes(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else m.set(r, fs.readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return m;
}

/** A workspace with data files and a zip of `data/` (entry names relative to data/). */
function zipRig(extra = '', mtimeOffset = 0): Rig {
  const r = rig();
  r.write('data/b.txt', 'bravo\n'.repeat(100));
  r.write('data/a.txt', 'alpha\n');
  fs.mkdirSync(r.path('data/sub'));
  fs.writeFileSync(r.path('data/sub/c.bin'), Buffer.from([0, 1, 2, 3, 255]));
  r.write('data/run.sh', '#!/bin/sh\necho hi\n');
  fs.chmodSync(r.path('data/run.sh'), 0o755);
  for (const f of ['data/b.txt', 'data/a.txt', 'data/sub/c.bin', 'data/run.sh']) {
    const t = new Date(Date.UTC(2021, 5, 1) + mtimeOffset);
    fs.utimesSync(r.path(f), t, t);
  }
  r.config(
    `{
    default: 'z',
    targets: [
      zipFiles({ name: 'z', inputs: ['data'], output: 'artifacts/release_assets/data.zip', base: 'data' }),
      zipFiles({ name: 'zs', inputs: ['data/*.txt'], output: 'out/stored.zip', store: true }),
      ${extra}
    ],
  }`,
    RULES,
  );
  return r;
}

test('the rule library loads without the zip libraries: yazl loads when a zip is written, yauzl when one is read', () => {
  // Every sbuild command loads the config, and with it the rules it imports: the zip
  // libraries are left until an action needs them (about half of the rules' load time).
  const url = (rel: string) => JSON.stringify(pathToFileURL(path.join(REPO, rel)).href);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-lazy-zip-'));
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const loaded = () => [...new Set(Object.keys(require.cache).flatMap((k) => /node_modules\\/(yazl|yauzl)\\//.exec(k)?.[1] ?? []))].sort().join(',') || '-';
    const lines = [];
    await import(${url('dist/rules/index.js')});
    lines.push(loaded());
    const { writeZip } = await import(${url('dist/rules/zip.js')});
    await writeZip([{ name: 'a.txt', abs: process.argv[1] + '/a.txt', size: 2 }], process.argv[1] + '/a.zip');
    lines.push(loaded());
    const { zipEntryHashes } = await import(${url('dist/src/release/zip-entries.js')});
    lines.push((await zipEntryHashes(process.argv[1] + '/a.zip')).map((e) => e.name).join(','));
    lines.push(loaded());
    console.log(lines.join(' '));`;
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), '- yazl a.txt yauzl,yazl');
});

test('zipFiles: sorted entry names relative to base, fixed time and mode, byte-identical across workspaces and time zones', () => {
  const a = zipRig();
  const b = zipRig('', 86_400_000 * 400); // other mtimes
  ok(a, ['z', 'zs'], { TZ: 'UTC' });
  ok(b, ['z', 'zs'], { TZ: 'Pacific/Kiritimati' });
  const za = fs.readFileSync(a.path('artifacts/release_assets/data.zip'));
  const zb = fs.readFileSync(b.path('artifacts/release_assets/data.zip'));
  assert.ok(za.equals(zb), 'same inputs give the same zip bytes');
  assert.ok(fs.readFileSync(a.path('out/stored.zip')).equals(fs.readFileSync(b.path('out/stored.zip'))));

  const entries = centralDirectory(a.path('artifacts/release_assets/data.zip'));
  assert.deepEqual(entries.map((e) => e.name), ['a.txt', 'b.txt', 'run.sh', 'sub/c.bin']);
  for (const e of entries) {
    assert.equal(e.mode, 0o100644, `${e.name}: mode 0644 (executable bits are not kept)`);
    assert.equal(e.dosDate, (0 << 9) | (1 << 5) | 1, `${e.name}: 1980-01-01`);
    assert.equal(e.dosTime, 0, `${e.name}: 00:00:00`);
    assert.equal(e.extraLen, 0, `${e.name}: no extended timestamp field`);
    assert.equal(e.method, 8, 'deflated');
  }
  const stored = centralDirectory(a.path('out/stored.zip'));
  assert.deepEqual(stored.map((e) => [e.name, e.method]), [['data/a.txt', 0], ['data/b.txt', 0]], 'store: entries kept uncompressed, names workspace-relative');

  // A third build in another zone, rebuilt from scratch (-B), still gives the same bytes.
  ok(a, ['-B', 'z'], { TZ: 'America/Los_Angeles' });
  assert.ok(fs.readFileSync(a.path('artifacts/release_assets/data.zip')).equals(za));
  assert.match(ok(a, ['z']).stdout, /0 ran/);

  if (has('unzip')) {
    const t = spawnSync('unzip', ['-t', a.path('artifacts/release_assets/data.zip')], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    const x = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-unzip-'));
    try {
      assert.equal(spawnSync('unzip', ['-q', a.path('artifacts/release_assets/data.zip'), '-d', x]).status, 0);
      assert.equal(fs.readFileSync(path.join(x, 'b.txt'), 'utf8'), 'bravo\n'.repeat(100));
      assert.deepEqual([...fs.readFileSync(path.join(x, 'sub/c.bin'))], [0, 1, 2, 3, 255]);
    } finally {
      fs.rmSync(x, { recursive: true, force: true });
    }
  }
});

test('zipFiles: a file outside base is refused with its name and the base (exit 2); a missing input blocks the zip (exit 1)', () => {
  const r = rig();
  r.write('data/a.txt', 'a\n');
  r.write('other/b.txt', 'b\n');
  r.config(`{ targets: [ zipFiles({ name: 'z', inputs: ['data/a.txt', 'other/b.txt'], output: 'out/z.zip', base: 'data' }) ] }`, RULES);
  const res = r.run(['z']);
  assert.equal(res.code, 2, out(res));
  assert.match(out(res), /zip 'out\/z\.zip': this file lies outside the base 'data', so its entry would escape the archive: 'other\/b\.txt'\. Move it under 'data', or set `base` to a folder that holds every input\./);
  assert.ok(!out(res).includes('at zipAction'), 'no stack trace');
  assert.ok(!r.exists('out/z.zip'), 'no archive written');
  assert.deepEqual(fs.readdirSync(r.path('out')), [], 'no temp file left behind');

  const m = rig();
  m.config(`{ targets: [ zipFiles({ name: 'z', inputs: ['nope.txt'], output: 'out/z.zip' }) ] }`, RULES);
  const miss = m.run(['z']);
  assert.equal(miss.code, 1);
  assert.match(out(miss), /blocked: missing input 'nope\.txt' of target 'z'/);
  assert.ok(!m.exists('out/z.zip'), 'no archive written');

  const bad = rig();
  bad.config(`{ targets: [ zipFiles({ name: 'z', inputs: ['a'], output: '../z.zip' }) ] }`, RULES);
  const b = bad.run([]);
  assert.equal(b.code, 2);
  assert.match(out(b), /zipFiles\("z"\): `output` leaves the workspace/);
});

test('zipFiles: zip64 records when forced; the archive passes unzip -t and the reader sees zip64', async () => {
  const r = rig();
  r.write('data/a.txt', 'alpha\n');
  r.write('data/b.txt', 'bravo\n');
  r.config(`{ targets: [ zipFiles({ name: 'z64', inputs: ['data'], output: 'out/z64.zip', forceZip64: true, store: true }) ] }`, RULES);
  ok(r, ['z64']);
  const info = await inspectZip(r.path('out/z64.zip'));
  assert.deepEqual({ entries: info.entries, zip64: info.zip64 }, { entries: 2, zip64: true });
  assert.equal(info.bytes, fs.statSync(r.path('out/z64.zip')).size);
  const buf = fs.readFileSync(r.path('out/z64.zip'));
  // zip64 end record + locator, and the classic record's fields saturated.
  const eocd = buf.length - 22;
  assert.equal(buf.readUInt32LE(eocd), 0x06054b50);
  assert.equal(buf.readUInt16LE(eocd + 10), 0xffff);
  assert.equal(buf.readUInt32LE(eocd - 20), 0x07064b50);
  assert.deepEqual(centralDirectory(r.path('out/z64.zip')).map((e) => e.name), ['data/a.txt', 'data/b.txt']);
  if (has('unzip')) {
    const t = spawnSync('unzip', ['-t', r.path('out/z64.zip')], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /No errors detected/);
  }
  // The streaming writer, directly: a file read in pieces, compressed and stored.
  const big = path.join(r.dir, 'big.bin');
  fs.writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 7));
  await writeZip([{ name: 'big.bin', abs: big, size: 3 * 1024 * 1024 }], path.join(r.dir, 'big.zip'));
  assert.equal((await inspectZip(path.join(r.dir, 'big.zip'))).entries, 1);
  // A file whose size changed after it was listed is an error, and leaves nothing behind.
  await assert.rejects(writeZip([{ name: 'big.bin', abs: big, size: 5 }], path.join(r.dir, 'bad.zip')), /changed size/);
  assert.ok(!fs.readdirSync(r.dir).some((f) => f.includes('bad.zip')));
});

test('metricsZip: experiment and VR metrics JSONs in one zip; either kind may be absent', () => {
  const r = rig();
  r.write('artifacts/work_dirs/cfar_ca/full/val_metrics.json', '{"ap":0.5}\n');
  r.write('artifacts/work_dirs/cfar_os/smoke/smoke_metrics.json', '{"ap":0.1}\n');
  r.write('artifacts/work_dirs/cfar_ca/full/model.pth', 'weights');
  r.config(`{ targets: [ metricsZip() ] }`, RULES);
  ok(r, ['metrics-zip']);
  const zip = 'artifacts/release_assets/metrics_jsons.zip';
  assert.deepEqual(centralDirectory(r.path(zip)).map((e) => e.name), [
    'artifacts/work_dirs/cfar_ca/full/val_metrics.json',
    'artifacts/work_dirs/cfar_os/smoke/smoke_metrics.json',
  ]);
  r.write('artifacts/visualizations/VR/cfar_ca/test/metrics.json', '{"n":500}\n');
  r.write('artifacts/visualizations/VR/cfar_ca/test/img_0001.png', 'png');
  const again = ok(r, ['metrics-zip']);
  assert.match(again.stdout, /1 ran/);
  assert.deepEqual(centralDirectory(r.path(zip)).map((e) => e.name), [
    'artifacts/visualizations/VR/cfar_ca/test/metrics.json',
    'artifacts/work_dirs/cfar_ca/full/val_metrics.json',
    'artifacts/work_dirs/cfar_os/smoke/smoke_metrics.json',
  ]);
  assert.match(ok(r, ['metrics-zip']).stdout, /0 ran/);
});

test('releaseCheck: every problem listed at once, one line each; a missing asset is named; a good check records size, sha256 and entries', () => {
  const r = rig();
  r.write('data/a.txt', 'a\n');
  r.write('assets/empty.zip', '');
  r.write('assets/junk.zip', 'this is not a zip\n');
  // A valid zip with no entries: only the end-of-central-directory record.
  fs.writeFileSync(r.path('assets/none.zip'), Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
  // A zip cut short: its end record is gone.
  r.config(
    `{ targets: [
      zipFiles({ name: 'z', inputs: ['data'], output: 'out/good.zip' }),
      releaseCheck({ assets: ['out/good.zip', 'assets/empty.zip', 'assets/junk.zip', 'assets/none.zip'] }),
    ] }`,
    RULES,
  );
  const res = r.run(['release-check']);
  assert.equal(res.code, 2, out(res));
  const text = out(res);
  assert.match(
    text,
    /the release check found 3 problems:\n {2}assets\/empty\.zip: empty file \(0 bytes\)\n {2}assets\/junk\.zip: not a zip archive \(no end-of-central-directory record; truncated or another format\)\n {2}assets\/none\.zip: a zip archive with no entries\nRebuild or replace those assets, or drop them from `assets`\./,
  );
  assert.ok(!r.exists('artifacts/release_assets/release_check.json'));

  // A truncated zip.
  const good = fs.readFileSync(r.path('out/good.zip'));
  fs.writeFileSync(r.path('assets/cut.zip'), good.subarray(0, good.length - 10));
  r.config(`{ targets: [ releaseCheck({ assets: ['assets/cut.zip'] }) ] }`, RULES);
  const cut = r.run(['release-check']);
  assert.equal(cut.code, 2);
  assert.match(out(cut), /the release check found 1 problem:\n {2}assets\/cut\.zip: not a zip archive \(no end-of-central-directory record; truncated or another format\)\nRebuild or replace that asset/);

  // A missing asset that no target produces: named, and the check blocked (nothing written).
  r.config(`{ targets: [ releaseCheck({ assets: ['assets/ckpt.zip'] }) ] }`, RULES);
  const miss = r.run(['release-check']);
  assert.equal(miss.code, 1);
  assert.match(out(miss), /blocked: missing input 'assets\/ckpt\.zip' of target 'release-check'/);

  r.config(
    `{ targets: [
      zipFiles({ name: 'z', inputs: ['data'], output: 'out/good.zip' }),
      releaseCheck({ assets: ['out/good.zip'] }),
    ] }`,
    RULES,
  );
  ok(r, ['release-check']);
  const rec = JSON.parse(r.read('artifacts/release_assets/release_check.json'));
  const bytes = fs.readFileSync(r.path('out/good.zip'));
  assert.deepEqual(rec, { assets: [{ name: 'out/good.zip', bytes: bytes.length, sha256: sha256(bytes), entries: 1 }] });
  assert.ok(r.read('artifacts/release_assets/release_check.json').endsWith('}\n'));
});

interface BundleOpts {
  /** The `commit` option; left out when undefined. */
  commit?: string | null;
  version?: string;
  extraAsset?: boolean;
  /** zip/data also reads configs/exp.py (an experiment config). */
  configInput?: boolean;
}

/** A workspace with two zips, a check and a bundle. */
function bundleRig(opts: BundleOpts = {}): Rig {
  const r = rig();
  r.write('data/a.txt', 'alpha\n');
  r.write('ckpt/model.pth', 'weights '.repeat(1000));
  bundleConfig(r, opts);
  return r;
}

function bundleConfig(r: Rig, opts: BundleOpts): void {
  const commit = opts.commit === undefined ? '' : `, commit: ${JSON.stringify(opts.commit)}`;
  const dataInputs = JSON.stringify(opts.configInput ? ['data', 'configs/exp.py'] : ['data']);
  r.config(
    `{
    default: 'release',
    targets: [
      zipFiles({ name: 'zip/data', inputs: ${dataInputs}, output: 'artifacts/release_assets/data.zip' }),
      zipFiles({ name: 'zip/ckpt', inputs: ['ckpt'], output: 'artifacts/release_assets/ckpt.zip', store: true }),
      releaseCheck({ assets: ['artifacts/release_assets/data.zip', 'artifacts/release_assets/ckpt.zip'] }),
      releaseBundle({
        version: ${JSON.stringify(opts.version ?? 'v1.0.0')},
        assets: ['artifacts/release_assets/data.zip', 'artifacts/release_assets/ckpt.zip'${opts.extraAsset ? ", 'notes/README.txt'" : ''}],
        check: 'artifacts/release_assets/release_check.json'${commit},
      }),
      { name: 'release', deps: ['release-bundle'] },
    ],
  }`,
    RULES,
  );
}

test('releaseBundle: manifest ties each file to its target and fingerprint in sbuild.lock; SHA256SUMS verifies; byte-identical across workspaces', () => {
  const commit = 'a'.repeat(40);
  const a = bundleRig({ commit });
  const b = bundleRig({ commit });
  ok(a, [], { TZ: 'UTC' });
  ok(b, [], { TZ: 'Asia/Kolkata' });
  const dir = 'artifacts/release/v1.0.0';
  assert.deepEqual(fs.readdirSync(a.path(dir)).sort(), ['SHA256SUMS', 'ckpt.zip', 'data.zip', 'manifest.json']);

  const lock = JSON.parse(a.read('sbuild.lock')).targets as Record<string, { fingerprint: string }>;
  const manifest = JSON.parse(a.read(`${dir}/manifest.json`));
  const file = (n: string) => fs.readFileSync(a.path(n));
  assert.deepEqual(manifest, {
    version: 'v1.0.0',
    folder: dir,
    commit,
    dirty: null,
    changed: null,
    files: [
      { path: 'ckpt.zip', bytes: file(`${dir}/ckpt.zip`).length, sha256: sha256(file(`${dir}/ckpt.zip`)), source: 'artifacts/release_assets/ckpt.zip', target: 'zip/ckpt', fingerprint: lock['zip/ckpt']!.fingerprint },
      { path: 'data.zip', bytes: file(`${dir}/data.zip`).length, sha256: sha256(file(`${dir}/data.zip`)), source: 'artifacts/release_assets/data.zip', target: 'zip/data', fingerprint: lock['zip/data']!.fingerprint },
    ],
    lineage: ['release-check', 'zip/ckpt', 'zip/data'].map((t) => ({ target: t, fingerprint: lock[t]!.fingerprint })),
  });
  assert.ok(file(`${dir}/data.zip`).equals(file('artifacts/release_assets/data.zip')), 'a copy of the asset');
  assert.equal(a.read(`${dir}/manifest.json`), JSON.stringify(manifest, null, 2) + '\n');
  assert.doesNotMatch(a.read(`${dir}/manifest.json`), /\d{4}-\d\d-\d\dT/, 'no timestamps');

  const sums = a.read(`${dir}/SHA256SUMS`);
  assert.match(sums, /^[0-9a-f]{64} {2}ckpt\.zip\n[0-9a-f]{64} {2}data\.zip\n[0-9a-f]{64} {2}manifest\.json\n$/);
  if (has('sha256sum')) {
    const c = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: a.path(dir), encoding: 'utf8' });
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /manifest\.json: OK/);
  }

  const fa = folderBytes(a.path(dir));
  const fb = folderBytes(b.path(dir));
  assert.deepEqual([...fa.keys()], [...fb.keys()]);
  for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), `${k} is byte-identical`);
  assert.equal(a.read('artifacts/release_assets/release_check.json'), b.read('artifacts/release_assets/release_check.json'));
});

test('releaseBundle: a zip given as its zipFiles target is described entry by entry (workspace path, SHA-256, target, fingerprint); bad asset targets and unpack keys are refused', () => {
  const r = rig();
  r.write('cfg.txt', 'lr=1\n');
  r.config(
    `{
    default: 'release-bundle',
    targets: [
      { name: 'train', inputs: ['cfg.txt'], outputs: ['work/a/model.bin', 'work/a/train.log'], run: 'mkdir -p work/a && cat cfg.txt cfg.txt > work/a/model.bin && echo done > work/a/train.log' },
      ckpt,
      releaseBundle({ version: 'v1.0.0', assets: [ckpt] }),
    ],
  }`,
    RULES + "const ckpt = zipFiles({ name: 'zip/ckpt', inputs: ['work/a'], output: 'artifacts/release_assets/ckpt.zip', base: 'work' });\n",
  );
  ok(r);
  const lock = JSON.parse(r.read('sbuild.lock')).targets;
  const manifest = JSON.parse(r.read('artifacts/release/v1.0.0/manifest.json'));
  const content = (rel: string, entry: string) => ({ entry, path: rel, bytes: fs.statSync(r.path(rel)).size, sha256: sha256(fs.readFileSync(r.path(rel))), target: 'train', fingerprint: lock.train.fingerprint });
  assert.deepEqual(manifest.files[0].unpack, { base: 'work', files: [content('work/a/model.bin', 'a/model.bin'), content('work/a/train.log', 'a/train.log')] });
  // The recorded entry hashes are the train target's recorded outputs.
  assert.equal(manifest.files[0].unpack.files[0].sha256, lock.train.outputs['work/a/model.bin'].hash);
  assert.deepEqual(lock['release-bundle'].params.unpack, { 'artifacts/release_assets/ckpt.zip': 'work' });

  r.config(`{ targets: [releaseBundle({ version: 'v1.0.0', assets: [{ name: 'x', outputs: ['a.zip'] }] })] }`, RULES);
  let bad = r.run(['list']);
  assert.equal(bad.code, 2, out(bad));
  assert.match(bad.stderr, /releaseBundle\("release-bundle"\): an asset given as a target must be a zipFiles\(\.\.\.\) target \(its archive is shipped\); got "x"\. Give other files by path\./);
  r.config(`{ targets: [releaseBundle({ version: 'v1.0.0', assets: ['a.zip'], unpack: { 'b.zip': 'work' } })] }`, RULES);
  bad = r.run(['list']);
  assert.equal(bad.code, 2, out(bad));
  assert.match(bad.stderr, /`unpack` names 'b\.zip', which is not one of the assets; list it in `assets` or drop it from `unpack`\./);
});

test('releaseBundle: fresh on a second build; stale after a change of the `commit` option or the version; an unchecked asset is refused', () => {
  const r = bundleRig({ commit: '1'.repeat(40) });
  ok(r);
  assert.match(ok(r).stdout, /0 ran, 4 fresh/);
  const lock0 = JSON.parse(r.read('sbuild.lock')).targets;
  bundleConfig(r, { commit: '2'.repeat(40) });
  const second = ok(r);
  assert.match(second.stdout, /1 ran, 3 fresh/);
  assert.match(second.stdout, /release-bundle — param commit changed/);
  assert.equal(JSON.parse(r.read('artifacts/release/v1.0.0/manifest.json')).commit, '2'.repeat(40));
  const lock1 = JSON.parse(r.read('sbuild.lock')).targets;
  assert.equal(lock1['zip/data'].fingerprint, lock0['zip/data'].fingerprint);
  assert.notEqual(lock1['release-bundle'].fingerprint, lock0['release-bundle'].fingerprint);

  // An input change upstream: the zip, the check and the bundle rerun.
  r.write('data/a.txt', 'alpha 2\n');
  assert.match(ok(r).stdout, /3 ran, 1 fresh/);

  // A new version: a new folder, the old one's record gone from the lock.
  bundleConfig(r, { commit: '2'.repeat(40), version: 'v1.1.0' });
  assert.match(ok(r).stdout, /1 ran, 3 fresh/);
  assert.equal(JSON.parse(r.read('artifacts/release/v1.1.0/manifest.json')).version, 'v1.1.0');

  // An asset the check did not see.
  const u = bundleRig({ commit: 'abc', extraAsset: true });
  u.write('notes/README.txt', 'read me\n');
  const res = u.run([]);
  assert.equal(res.code, 2, out(res));
  assert.match(out(res), /release bundle v1\.0\.0: 1 problem with the assets:\n {2}notes\/README\.txt: not checked by artifacts\/release_assets\/release_check\.json/);
  assert.ok(!u.exists('artifacts/release/v1.0.0'));
  assert.deepEqual(fs.readdirSync(u.path('artifacts/release')), [], 'no temp folder left behind');
});

test('releaseBundle: a bad version or colliding assets are config errors naming the option', () => {
  for (const [version, assets, pattern] of [
    ['../v1', "['a.zip']", /releaseBundle\("release-bundle"\): `version` must be a non-empty string of letters, digits, '\.', '_' and '-' without '\.\.' \(it names the bundle folder\); got "\.\.\/v1"\. Use e\.g\. 'v1\.0\.0'\./],
    ['', "['a.zip']", /`version` must be a non-empty string/],
    ['v 1', "['a.zip']", /got "v 1"/],
    ['v1', "['x/a.zip', 'y/a.zip']", /the assets 'x\/a\.zip' and 'y\/a\.zip' would both be 'a\.zip' in the bundle; rename one of them\./],
    ['v1', "['x/manifest.json']", /would overwrite the bundle's own manifest\.json/],
    ['v1', "['x/*.zip']", /is not a file path; list each asset file/],
    ['v1', "['a.zip'], commit: ''", /releaseBundle\("release-bundle"\): `commit` must be a commit id string, or null to record none; got ""\. Leave it out to record the checked-out commit and the changed files when the bundle is built\./],
    ['v1', "['a.zip'], commit: 7", /`commit` must be a commit id string, or null to record none; got 7\./],
  ] as const) {
    const r = rig();
    const commit = assets.includes('commit:') ? '' : ', commit: null';
    r.config(`{ targets: [ releaseBundle({ version: ${JSON.stringify(version)}, assets: ${assets}${commit} }) ] }`, RULES);
    const res = r.run([]);
    assert.equal(res.code, 2, out(res));
    assert.match(out(res), pattern);
  }
});

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

test('gitCommit: branches, detached HEAD, packed refs, worktrees; null outside a repository or before the first commit', { skip: !has('git') && 'git is not installed' }, () => {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-git-')));
  try {
    const repo = path.join(tmp, 'repo');
    fs.mkdirSync(path.join(repo, 'sub/deeper'), { recursive: true });
    assert.equal(gitCommit(repo), null, 'not a repository');
    git(repo, 'init', '-q', '-b', 'main');
    assert.equal(gitCommit(repo), null, 'unborn branch');
    fs.writeFileSync(path.join(repo, 'f.txt'), '1\n');
    git(repo, 'add', 'f.txt');
    git(repo, 'commit', '-q', '-m', 'one');
    const c1 = git(repo, 'rev-parse', 'HEAD');
    assert.equal(gitCommit(repo), c1);
    assert.equal(gitCommit(path.join(repo, 'sub/deeper')), c1, 'found from a folder below the root');
    fs.writeFileSync(path.join(repo, 'f.txt'), '2\n');
    git(repo, 'commit', '-q', '-am', 'two');
    const c2 = git(repo, 'rev-parse', 'HEAD');
    assert.equal(gitCommit(repo), c2);

    git(repo, 'checkout', '-q', '--detach', c1);
    assert.equal(gitCommit(repo), c1, 'detached HEAD');
    git(repo, 'checkout', '-q', 'main');

    git(repo, 'pack-refs', '--all');
    assert.ok(!fs.existsSync(path.join(repo, '.git/refs/heads/main')), 'the loose ref is gone');
    assert.match(fs.readFileSync(path.join(repo, '.git/packed-refs'), 'utf8'), /refs\/heads\/main/);
    assert.equal(gitCommit(repo), c2, 'packed refs');

    const wt = path.join(tmp, 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'side', wt, c1);
    assert.ok(fs.statSync(path.join(wt, '.git')).isFile(), 'a .git file');
    assert.equal(gitCommit(wt), c1, 'worktree on its own branch');
    fs.writeFileSync(path.join(wt, 'g.txt'), 'g\n');
    git(wt, 'add', 'g.txt');
    git(wt, 'commit', '-q', '-m', 'side');
    assert.equal(gitCommit(wt), git(wt, 'rev-parse', 'HEAD'));
    assert.equal(gitCommit(repo), c2, 'the main tree keeps its HEAD');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

const MANIFEST = 'artifacts/release/v1.0.0/manifest.json';

/** The manifest's source fields. */
function sourceOf(r: Rig): { commit: unknown; dirty: unknown; changed: unknown } {
  const m = JSON.parse(r.read(MANIFEST));
  return { commit: m.commit, dirty: m.dirty, changed: m.changed };
}

/**
 * A bundle workspace in a new git repository, its sources committed. Only node_modules (the
 * rig's link to sbuild) is ignored: outputs, sbuild.lock and .sbuild/ all show in `git
 * status`, so leaving them out of the manifest is the rule's doing.
 */
function gitBundleRig(): { r: Rig; c1: string } {
  const r = bundleRig({ configInput: true });
  r.write('configs/exp.py', 'lr = 0.1\n');
  r.write('data/gone.txt', 'to be deleted\n');
  r.write('.gitignore', 'node_modules\n');
  git(r.dir, 'init', '-q', '-b', 'main');
  git(r.dir, 'add', '-A');
  git(r.dir, 'commit', '-q', '-m', 'sources');
  return { r, c1: git(r.dir, 'rev-parse', 'HEAD') };
}

/** Commits the results and sbuild.lock (all but .sbuild/), as a paper repository does; the new HEAD. */
function commitResults(r: Rig, message: string): string {
  git(r.dir, 'add', '-A', '--', '.', ':!.sbuild');
  git(r.dir, 'commit', '-q', '-m', message);
  return git(r.dir, 'rev-parse', 'HEAD');
}

const noGit = !has('git') && 'git is not installed';

test('releaseBundle in git: a clean tree records HEAD and dirty false (outputs, sbuild.lock, .sbuild/ are not source); a new commit leaves the bundle fresh; -B records the new one', { skip: noGit }, () => {
  const { r, c1 } = gitBundleRig();
  ok(r);
  const st = git(r.dir, 'status', '--porcelain', '--untracked-files=all');
  for (const derived of [/^\?\? sbuild\.lock$/m, /^\?\? \.sbuild\/.+$/m, /^\?\? artifacts\/release_assets\/data\.zip$/m, /^\?\? artifacts\/release\/v1\.0\.0\/manifest\.json$/m]) {
    assert.match(st, derived, 'git lists the derived files as untracked');
  }
  assert.deepEqual(sourceOf(r), { commit: c1, dirty: false, changed: [] });

  // The results and the lock committed: the build changes neither, and stays fresh.
  const c2 = commitResults(r, 'results');
  assert.match(ok(r).stdout, /0 ran, 4 fresh/);
  assert.equal(r.run(['status', '--exit-code', 'release']).code, 0);
  assert.equal(git(r.dir, 'status', '--porcelain', '--', '.', ':!.sbuild'), '', 'sbuild.lock and the results match their commit');
  git(r.dir, 'commit', '-q', '--allow-empty', '-m', 'docs');
  const c3 = git(r.dir, 'rev-parse', 'HEAD');
  assert.match(ok(r).stdout, /0 ran, 4 fresh/, 'a commit alone changes no byte of the bundle');
  assert.deepEqual(sourceOf(r), { commit: c1, dirty: false, changed: [] }, 'the bundle still names the source its bytes came from');
  assert.notEqual(c2, c3);

  // -B re-records: the bundle's own tracked files, deleted before it runs, are not source either.
  const forced = ok(r, ['-B', 'release-bundle']);
  assert.match(forced.stdout, /1 ran, 3 fresh/);
  assert.deepEqual(sourceOf(r), { commit: c3, dirty: false, changed: [] });

  // An untracked file that no target reads: the bundle stays fresh until -B lists it.
  r.write('NOTES.md', 'notes\n');
  assert.match(ok(r).stdout, /0 ran, 4 fresh/);
  assert.equal(sourceOf(r).dirty, false);
  ok(r, ['-B', 'release-bundle']);
  assert.deepEqual(sourceOf(r), { commit: c3, dirty: true, changed: [{ path: 'NOTES.md', status: 'untracked', sha256: sha256('notes\n') }] });
});

test('releaseBundle in git: an uncommitted config edit makes it dirty, listing exactly the changed sources with the SHA-256 of their bytes', { skip: noGit }, () => {
  const { r } = gitBundleRig();
  ok(r);
  const c2 = commitResults(r, 'results');

  // Temp files a crashed writer left beside the lock and an output are not source either.
  r.write('sbuild.lock.tmp-99-0', '{}');
  r.write('artifacts/release_assets/.data.zip.tmp-99-ab', 'partial');
  // A tracked config edited and built, not committed: its outputs and the lock change too.
  const edited = 'lr = 0.2\n';
  r.write('configs/exp.py', edited);
  assert.match(ok(r).stdout, /3 ran, 1 fresh/);
  const st = git(r.dir, 'status', '--porcelain', '--', '.', ':!.sbuild');
  for (const m of [/^\?\? sbuild\.lock\.tmp-99-0$/m, /^\?\? artifacts\/release_assets\/\.data\.zip\.tmp-99-ab$/m, /^ M configs\/exp\.py$/m, /^ M artifacts\/release_assets\/data\.zip$/m, /^ M artifacts\/release_assets\/release_check\.json$/m, /^ M sbuild\.lock$/m]) assert.match(st, m);
  assert.deepEqual(sourceOf(r), { commit: c2, dirty: true, changed: [{ path: 'configs/exp.py', status: 'modified', sha256: sha256(edited) }] });

  // Untracked, added, deleted and renamed sources, all read by zip/data.
  r.write('data/extra.txt', 'extra\n');
  r.write('data/staged.txt', 'staged\n');
  git(r.dir, 'add', 'data/staged.txt');
  fs.rmSync(r.path('data/gone.txt'));
  git(r.dir, 'mv', 'data/a.txt', 'data/renamed.txt');
  assert.match(ok(r).stdout, /3 ran, 1 fresh/);
  const text = r.read(MANIFEST);
  assert.deepEqual(sourceOf(r), {
    commit: c2,
    dirty: true,
    changed: [
      { path: 'configs/exp.py', status: 'modified', sha256: sha256(edited) },
      { path: 'data/extra.txt', status: 'untracked', sha256: sha256('extra\n') },
      { path: 'data/gone.txt', status: 'deleted', sha256: null },
      { path: 'data/renamed.txt', status: 'renamed', from: 'data/a.txt', sha256: sha256('alpha\n') },
      { path: 'data/staged.txt', status: 'added', sha256: sha256('staged\n') },
    ],
  });
  // The same tree gives the same manifest, byte for byte.
  ok(r, ['-B', 'release-bundle']);
  assert.equal(r.read(MANIFEST), text);

  // Committed: the bundle stays fresh and keeps the truth about its bytes until -B.
  const c3 = commitResults(r, 'edits');
  assert.match(ok(r).stdout, /0 ran, 4 fresh/);
  assert.equal(sourceOf(r).commit, c2);
  ok(r, ['-B', 'release-bundle']);
  assert.deepEqual(sourceOf(r), { commit: c3, dirty: false, changed: [] });
});

test('releaseBundle: dirty is null (unknown) outside a repository, without a git program, or with `commit` given; the build succeeds and its log says why', { skip: noGit }, () => {
  const log = (r: Rig) => r.read('.sbuild/logs/release-bundle.log');
  const outside = bundleRig();
  assert.equal(gitCommit(outside.dir), null, 'the temp folder is in no repository');
  ok(outside);
  assert.deepEqual(sourceOf(outside), { commit: null, dirty: null, changed: null });
  assert.match(log(outside), /source: not inside a git repository, so whether the tree differs from its commit is unknown \(dirty: null\)/);

  const { r, c1 } = gitBundleRig();
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'sbuild-nogit-'));
  try {
    ok(r, [], { PATH: empty });
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
  assert.deepEqual(sourceOf(r), { commit: c1, dirty: null, changed: null }, 'the commit is read from the repository files');
  assert.match(log(r), /source: no `git` program on the PATH, so whether/);

  bundleConfig(r, { configInput: true, commit: 'f'.repeat(40) });
  assert.match(ok(r).stdout, /1 ran, 3 fresh/);
  assert.deepEqual(sourceOf(r), { commit: 'f'.repeat(40), dirty: null, changed: null });
  assert.match(log(r), /source: the commit given in the config; the work tree is not compared with it \(dirty: null\)/);
});
